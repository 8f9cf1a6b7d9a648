namespace LongContext.Eval.Text;

/// <summary>
/// NumPy's legacy global generator (np.random.seed / RandomState: MT19937) for the draws benchmarks make with it, so
/// a port picks the same values as the original for the same seed: <see cref="Choice"/> is RandomState.choice over
/// n items (randint's masked rejection on 32-bit draws), <see cref="Uniform"/> is RandomState.uniform (53-bit doubles).
/// </summary>
public sealed class NumpyLegacyRandom
{
    private const int N = 624, M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index;

    /// <summary>np.random.seed(seed) for an integer seed: MT19937's init_genrand.</summary>
    public NumpyLegacyRandom(uint seed)
    {
        _mt[0] = seed;
        for (var i = 1; i < N; i++) _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        _index = N;
    }

    public uint NextUInt32()
    {
        if (_index >= N)
        {
            for (var k = 0; k < N; k++)
            {
                var y = (_mt[k] & 0x80000000u) | (_mt[(k + 1) % N] & 0x7fffffffu);
                _mt[k] = _mt[(k + M) % N] ^ (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
            }
            _index = 0;
        }
        var x = _mt[_index++];
        x ^= x >> 11;
        x ^= (x << 7) & 0x9d2c5680u;
        x ^= (x << 15) & 0xefc60000u;
        x ^= x >> 18;
        return x;
    }

    /// <summary>random_sample(): (a·2^26 + b) / 2^53 from two draws, a = first >> 5, b = second >> 6.</summary>
    public double NextDouble()
    {
        var a = NextUInt32() >> 5;
        var b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary>randint(0, n) / choice of n items: draws masked to the smallest 2^k − 1 ≥ n − 1 until one is below n.</summary>
    public int Choice(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), "choice needs at least one item");
        var max = (uint)(n - 1);
        if (max == 0) return 0;
        var mask = max;
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
        uint v;
        while ((v = NextUInt32() & mask) > max) { }
        return (int)v;
    }

    /// <summary>uniform(low, high) = low + (high − low) · random_sample().</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();
}
