using LongContext.Core.Autograd;
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
        bool wantGrad = is_grad_enabled() && (hidden.requires_grad || weight.requires_grad);
        return CustomAutograd.Apply(() => ChunkedCrossEntropyFunction.apply(hidden.reshape(-1, h), weight, labels.reshape(-1), chunkTokens, wantGrad));
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

    /// <summary>
    /// The loss is the last op of the graph, so its gradient for an upstream gradient of 1 is known as soon as each
    /// chunk's logits exist: compute d(hidden) and d(weight) right there (Liger's fused linear cross-entropy) instead
    /// of recomputing every chunk's logits in backward. Backward only scales them by the upstream gradient.
    /// </summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (hidden, weight, labels) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        int chunk = (int)vars[3];
        bool wantGrad = (bool)vars[4];
        bool needHidden = wantGrad && hidden.requires_grad, needWeight = wantGrad && weight.requires_grad;
        var total = zeros([], ScalarType.Float32, hidden.device);
        var dHidden = needHidden ? empty(hidden.shape, weight.dtype, hidden.device) : null;
        // Sums over chunks in fp32 even when the weight is bf16 (its gradient is cast once at the end).
        var dWeight = needWeight ? zeros(weight.shape, ScalarType.Float32, weight.device) : null;
        foreach (var (start, length) in ChunkedCrossEntropy.Chunks(hidden.shape[0], chunk))
        {
            using var scope = NewDisposeScope();
            var h = hidden.narrow(0, start, length);
            var y = labels.narrow(0, start, length);
            var valid = y.ne(ChunkedCrossEntropy.IgnoreIndex);                                     // [c]
            var target = y.masked_fill(valid.logical_not(), 0).unsqueeze(1);                        // [c, 1]
            var logits = ChunkedCrossEntropy.ChunkLogits(h, weight);                                 // [c, V] fp32
            var lse = logits.logsumexp(-1, keepdim: true);                                           // [c, 1]
            var nll = (lse - logits.gather(1, target)).squeeze(1);
            total.add_(nll.masked_fill(valid.logical_not(), 0).sum());
            if (dHidden is null && dWeight is null) continue;
            // d(sum NLL)/d(logits) = softmax − one_hot(label) on predicted rows, 0 on ignored ones (in place).
            var dLogits = logits.sub_(lse).exp_();
            dLogits.scatter_add_(1, target, full([length, 1], -1.0f, ScalarType.Float32, hidden.device));
            dLogits.mul_(valid.unsqueeze(1).to(ScalarType.Float32));
            var d = dLogits.to(weight.dtype);
            if (dHidden is not null) dHidden.narrow(0, start, length).copy_(matmul(d, weight));     // [c, H]
            if (dWeight is not null) dWeight.add_(matmul(d.t(), h.to(weight.dtype)));              // [V, H]
        }
        ctx.save_for_backward([dHidden ?? empty(0), dWeight ?? empty(0)]);
        ctx.save_data("hidden", (dHidden is not null, hidden.dtype));
        ctx.save_data("weight", (dWeight is not null, weight.dtype));
        return total;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        CustomAutograd.Backward(gradOutput, () => Gradients(ctx, gradOutput));

    static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var (hasHidden, hiddenType) = ((bool, ScalarType))ctx.get_data("hidden");
        var (hasWeight, weightType) = ((bool, ScalarType))ctx.get_data("weight");
        using var outer = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var g = gradOutput.to(ScalarType.Float32);
        Tensor? dHidden = hasHidden ? (saved[0] * g).to(hiddenType).MoveToOuterDisposeScope() : null;
        Tensor? dWeight = hasWeight ? (saved[1] * g).to(weightType).MoveToOuterDisposeScope() : null;
        return [dHidden!, dWeight!, null!, null!, null!];
    }
}
