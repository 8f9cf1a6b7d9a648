using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Loss;

/// <summary>
/// LM head + cross-entropy over chunks of tokens, so [tokens, vocab] logits never exist at once: the forward computes
/// one chunk's fp32 logits at a time and keeps only the running sum; the backward recomputes each chunk's logits to
/// produce d(hidden) and accumulate d(weight). Peak extra memory is a few [chunk, vocab] fp32 buffers (plus a
/// [vocab, hidden] fp32 accumulator when the head weight is trained in a lower precision).
/// Numerically it is <c>cross_entropy(linear(hidden, weight).float(), labels, ignore_index: -100, reduction: sum)</c>.
/// </summary>
public static class ChunkedCrossEntropy
{
    /// <summary>The label that takes no part in the loss.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Default chunk: 4096 tokens × 128K vocab × 4 bytes = 2 GiB of logits per buffer.</summary>
    public const int DefaultChunkTokens = 4096;

    /// <summary>
    /// Sum of the negative log-likelihoods of every predicted token (labels ≠ −100), an fp32 scalar that is
    /// differentiable w.r.t. <paramref name="hidden"/> and <paramref name="weight"/>. Divide by the number of predicted
    /// tokens of the whole (accumulated) batch for the mean, so micro-batches combine exactly.
    /// </summary>
    /// <param name="hidden">Final hidden states after the final norm, [B, L, H] (or [N, H]).</param>
    /// <param name="weight">LM-head weight [V, H] (lm_head.weight, or embed_tokens.weight when tied).</param>
    /// <param name="labels">Target ids [B, L] (or [N]), int64, already shifted; −100 = ignored.</param>
    /// <param name="chunkTokens">Tokens whose logits exist at the same time.</param>
    public static Tensor Sum(Tensor hidden, Tensor weight, Tensor labels, int chunkTokens = DefaultChunkTokens)
    {
        if (chunkTokens < 1) throw new ArgumentOutOfRangeException(nameof(chunkTokens), chunkTokens, "chunk size must be at least one token");
        long h = hidden.shape[^1];
        if (weight.dim() != 2 || weight.shape[1] != h)
            throw new ArgumentException($"LM-head weight must be [vocab, {h}]; got [{string.Join(", ", weight.shape)}]", nameof(weight));
        if (labels.numel() * h != hidden.numel())
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] do not match hidden states [{string.Join(", ", hidden.shape)}]", nameof(labels));
        if (labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be int64; got {labels.dtype}", nameof(labels));
        return ChunkedCrossEntropyFunction.apply(hidden.reshape(-1, h), weight, labels.reshape(-1), chunkTokens);
    }

    /// <summary>Number of predicted tokens (labels ≠ −100). Reads the device: prefer the batch's host-side count.</summary>
    public static long Count(Tensor labels)
    {
        using var ne = labels.ne(IgnoreIndex);
        using var count = ne.sum();
        return count.item<long>();
    }

    /// <summary>Mean NLL over the predicted tokens of this call (0 when none is predicted).</summary>
    public static Tensor Mean(Tensor hidden, Tensor weight, Tensor labels, int chunkTokens = DefaultChunkTokens)
    {
        long count = Count(labels);
        var sum = Sum(hidden, weight, labels, chunkTokens);
        if (count <= 1) return sum;
        using (sum) return sum / count;
    }

    internal static IEnumerable<(long Start, long Length)> Chunks(long tokens, int chunkTokens)
    {
        for (long start = 0; start < tokens; start += chunkTokens)
            yield return (start, Math.Min(chunkTokens, tokens - start));
    }

    /// <summary>fp32 logits of one chunk, computed in the weight's dtype as the model's own LM head does.</summary>
    internal static Tensor ChunkLogits(Tensor hiddenChunk, Tensor weight) =>
        nn.functional.linear(hiddenChunk.to(weight.dtype), weight).to(ScalarType.Float32);
}

/// <summary>The autograd node behind <see cref="ChunkedCrossEntropy.Sum"/> (hidden [N, H], weight [V, H], labels [N]).</summary>
internal sealed class ChunkedCrossEntropyFunction : autograd.SingleTensorFunction<ChunkedCrossEntropyFunction>
{
    public override string Name => "ChunkedCrossEntropy";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (hidden, weight, labels) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        int chunk = (int)vars[3];
        var total = zeros([], ScalarType.Float32, hidden.device);
        foreach (var (start, length) in ChunkedCrossEntropy.Chunks(hidden.shape[0], chunk))
        {
            using var scope = NewDisposeScope();
            var logits = ChunkedCrossEntropy.ChunkLogits(hidden.narrow(0, start, length), weight);   // [c, V] fp32
            var nll = nn.functional.cross_entropy(logits, labels.narrow(0, start, length),
                ignore_index: ChunkedCrossEntropy.IgnoreIndex, reduction: nn.Reduction.Sum);
            total.add_(nll);
        }
        // Tensors saved here must outlive this call: they are inputs, owned by the caller.
        ctx.save_for_backward([hidden, weight, labels]);
        ctx.save_data("chunk", chunk);
        ctx.save_data("hiddenGrad", hidden.requires_grad);
        ctx.save_data("weightGrad", weight.requires_grad);
        return total;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        int chunk = (int)ctx.get_data("chunk");
        bool needHidden = (bool)ctx.get_data("hiddenGrad"), needWeight = (bool)ctx.get_data("weightGrad");
        using var outer = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (hidden, weight, labels) = (saved[0], saved[1], saved[2]);
        var g = gradOutput.to(ScalarType.Float32);
        var dHidden = needHidden ? empty_like(hidden) : null;
        // Sums over chunks in fp32 even when the weight is bf16 (its gradient is cast once at the end).
        var dWeight = needWeight ? zeros(weight.shape, ScalarType.Float32, weight.device) : null;
        foreach (var (start, length) in ChunkedCrossEntropy.Chunks(hidden.shape[0], chunk))
        {
            using var scope = NewDisposeScope();
            var h = hidden.narrow(0, start, length);
            var y = labels.narrow(0, start, length);
            var valid = y.ne(ChunkedCrossEntropy.IgnoreIndex);                                    // [c]
            // d(sum NLL)/d(logits) = softmax − one_hot(label) on predicted rows, 0 on ignored ones.
            var dLogits = ChunkedCrossEntropy.ChunkLogits(h, weight).softmax(-1);                   // [c, V] fp32
            var target = y.masked_fill(valid.logical_not(), 0).unsqueeze(1);
            dLogits.scatter_add_(1, target, full([length, 1], -1.0f, ScalarType.Float32, hidden.device));
            dLogits.mul_(valid.unsqueeze(1).to(ScalarType.Float32) * g);
            var d = dLogits.to(weight.dtype);
            if (dHidden is not null) dHidden.narrow(0, start, length).copy_(matmul(d, weight));    // [c, H]
            if (dWeight is not null) dWeight.add_(matmul(d.t(), h.to(weight.dtype)));             // [V, H]
        }
        dHidden?.MoveToOuterDisposeScope();
        var dW = dWeight is null ? null : (weight.dtype == ScalarType.Float32 ? dWeight : dWeight.to(weight.dtype)).MoveToOuterDisposeScope();
        return [dHidden!, dW!, null!, null!];
    }
}
