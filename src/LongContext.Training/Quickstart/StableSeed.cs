namespace LongContext.Training.Quickstart;

/// <summary>
/// A seed for <see cref="Random"/> from several integers that is the same in every process (SplitMix64 chained over
/// the parts). <see cref="HashCode.Combine{T1, T2}"/> is randomised per process, so rows and needle prompts seeded
/// with it changed from run to run despite a fixed --seed.
/// </summary>
internal static class StableSeed
{
    public static int Of(params ReadOnlySpan<long> parts)
    {
        ulong z = 0x243F6A8885A308D3UL;
        foreach (var part in parts) z = Mix(unchecked(z * 0x9E3779B97F4A7C15UL + (ulong)part));
        return (int)(z & 0x7FFFFFFF);
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }
}
