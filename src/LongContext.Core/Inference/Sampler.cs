using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>Greedy, temperature, top-k and top-p sampling over one row of fp32 logits, seeded and reproducible.</summary>
public sealed class Sampler
{
    readonly SamplingOptions options;
    readonly Generator? generator;

    public Sampler(SamplingOptions options)
    {
        this.options = options;
        if (!options.IsGreedy)
        {
            if (options.TopP <= 0 || options.TopP > 1) throw new ArgumentOutOfRangeException(nameof(options), "top_p must be in (0, 1]");
            generator = new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()));
        }
    }

    /// <param name="logits">[vocab] fp32 on any device.</param>
    public int Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        if (options.IsGreedy) return (int)logits.argmax().item<long>();
        // Sampling runs on the CPU: the generator is there, and one vocabulary row is cheap to move.
        var scores = logits.to(ScalarType.Float32).cpu() / options.Temperature;
        if (options.TopK > 0 && options.TopK < scores.shape[0])
        {
            var kth = scores.topk(options.TopK).values[-1];
            scores = scores.masked_fill(scores < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1)
        {
            var (sorted, order) = scores.sort(descending: true);
            var cumulative = sorted.softmax(0).cumsum(0);
            // Drop a token when the mass before it already reaches p (the top token always stays).
            var drop = (cumulative - sorted.softmax(0)) >= options.TopP;
            scores = scores.index_put_(full_like(sorted, double.NegativeInfinity).masked_select(drop), order.masked_select(drop));
        }
        return (int)multinomial(scores.softmax(0), 1, generator: generator).item<long>();
    }
}
