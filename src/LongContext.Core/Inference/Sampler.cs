using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>
/// Greedy, temperature, top-k and top-p sampling over one row of fp32 logits, seeded and reproducible. The warpers run
/// in transformers' order and with its semantics (TemperatureLogitsWarper → TopKLogitsWarper → TopPLogitsWarper,
/// min_tokens_to_keep = 1): top-k keeps every token scoring at least the k-th (ties included); top-p keeps the
/// smallest set of most likely tokens whose probability reaches p, always including the most likely one.
/// </summary>
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
            if (options.TopK < 0) throw new ArgumentOutOfRangeException(nameof(options), "top_k must be ≥ 0 (0 = off)");
            generator = new Generator((ulong)(options.Seed ?? Random.Shared.NextInt64()));
        }
    }

    /// <param name="logits">[vocab] fp32 on any device.</param>
    public int Next(Tensor logits)
    {
        using var scope = NewDisposeScope();
        if (options.IsGreedy) return (int)logits.argmax().item<long>();
        return (int)multinomial(Warp(logits).softmax(0), 1, generator: generator).item<long>();
    }

    /// <summary>
    /// The scores sampling draws from: logits / temperature with the tokens top-k and top-p remove set to −∞
    /// ([vocab], fp32, on the CPU: the generator lives there and one vocabulary row is cheap to move).
    /// </summary>
    public Tensor Warp(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32).cpu() / options.Temperature;
        long vocab = scores.shape[0];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var kth = scores.topk(options.TopK).values[-1];
            scores = scores.masked_fill(scores < kth, double.NegativeInfinity);
        }
        if (options.TopP < 1)
        {
            // Ascending order: a token goes when the mass of it and everything less likely is ≤ 1 − p, i.e. when the
            // more likely tokens already reach p. The last (most likely) token always stays.
            var (sorted, order) = scores.sort(descending: false);
            var removeSorted = (sorted.softmax(0).cumsum(0) <= 1 - options.TopP).logical_and(arange(vocab) < vocab - 1);
            var remove = removeSorted.scatter(0, order, removeSorted);   // back to vocabulary order (order is a permutation)
            scores = scores.masked_fill(remove, double.NegativeInfinity);
        }
        return scores.MoveToOuterDisposeScope();
    }
}
