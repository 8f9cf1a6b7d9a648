using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;

namespace LongContext.Server.Scheduling;

/// <summary>
/// A submitted generation: text pieces arrive on <see cref="ReadTextAsync"/> as the engine produces them, then
/// <see cref="Completion"/> gives the summary. If generation fails or is cancelled, both throw.
/// </summary>
public sealed class GenerationHandle
{
    readonly Channel<string> pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<GenerationSummary> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal GenerationHandle(int promptTokens)
    {
        PromptTokens = promptTokens;
        // Observed here so a caller that stops reading early does not leave an unobserved faulted task.
        completion.Task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
    }

    public int PromptTokens { get; }
    public Task<GenerationSummary> Completion => completion.Task;

    /// <summary>Text pieces in order (never a stop string, never half a surrogate pair).</summary>
    public async IAsyncEnumerable<string> ReadTextAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var piece in pieces.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return piece;
    }

    /// <summary>Waits for the whole generation.</summary>
    public async Task<GenerationOutput> ReadToEndAsync(CancellationToken ct = default)
    {
        var text = new StringBuilder();
        await foreach (var piece in ReadTextAsync(ct).ConfigureAwait(false)) text.Append(piece);
        return new GenerationOutput(text.ToString(), await Completion.WaitAsync(ct).ConfigureAwait(false));
    }

    internal void Write(string piece)
    {
        if (piece.Length > 0) pieces.Writer.TryWrite(piece);
    }

    internal void Complete(GenerationSummary summary)
    {
        pieces.Writer.TryComplete();
        completion.TrySetResult(summary);
    }

    internal void Fail(Exception error)
    {
        pieces.Writer.TryComplete(error);
        if (error is OperationCanceledException oce) completion.TrySetCanceled(oce.CancellationToken);
        else completion.TrySetException(error);
    }
}
