namespace LongContext.Eval.Runs;

/// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder updates).</summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
