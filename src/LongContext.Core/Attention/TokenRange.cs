namespace LongContext.Core.Attention;

/// <summary>Tokens <see cref="Start"/> … <see cref="Start"/> + <see cref="Length"/> − 1 of a row (global indices).</summary>
public readonly record struct TokenRange(long Start, long Length)
{
    public long End => Start + Length;
}
