namespace LongContext.Eval.Text;

/// <summary>Python-random-like helpers over System.Random (deterministic for a seed; not byte-identical to Python).</summary>
public static class RandomExtensions
{
    /// <summary>k distinct elements of 0..n-1 in random order (Python's random.sample(range(n), k)).</summary>
    public static int[] SampleIndices(this Random rng, int n, int k)
    {
        if (k > n) throw new ArgumentOutOfRangeException(nameof(k), $"cannot sample {k} of {n}");
        var pool = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < k; i++) { var j = rng.Next(i, n); (pool[i], pool[j]) = (pool[j], pool[i]); }
        return pool[..k];
    }

    public static void ShuffleInPlace<T>(this Random rng, IList<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--) { var j = rng.Next(i + 1); (list[i], list[j]) = (list[j], list[i]); }
    }

    /// <summary>A 7-digit number, RULER's "numbers" value type.</summary>
    public static string SevenDigits(this Random rng) => rng.Next(1_000_000, 10_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A random version-4 UUID in its 36-character lower-case form.</summary>
    public static string Uuid(this Random rng)
    {
        var b = new byte[16];
        rng.NextBytes(b);
        b[6] = (byte)((b[6] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        var h = Convert.ToHexStringLower(b);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }

    /// <summary>Stable 32-bit seed from parts (not string.GetHashCode, which is randomised per process).</summary>
    public static int MixSeed(params object[] parts)
    {
        var s = string.Join("|", parts);
        var h = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s));
        return BitConverter.ToInt32(h, 0) & int.MaxValue;
    }
}
