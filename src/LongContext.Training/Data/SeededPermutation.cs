namespace LongContext.Training.Data;

/// <summary>
/// Fisher–Yates shuffle driven by SplitMix64: the same (seed, epoch) gives the same order on every machine and .NET
/// version (System.Random's seeded sequence is not a documented contract).
/// </summary>
internal static class SeededPermutation
{
    public static int[] Create(int count, long seed, long epoch)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        ulong state = Mix(unchecked((ulong)seed)) ^ Mix(unchecked((ulong)epoch) + 0x632BE59BD9B4E019UL);
        for (int i = count - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong r = Mix(state);
            int j = (int)Math.BigMul(r, (ulong)(i + 1), out _); // uniform in [0, i]
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
