using LongContext.Core.Attention;
using LongContext.Core.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Quickstart;

/// <summary>
/// Scores a next-token predictor on a <see cref="NeedleGrid"/>: a prompt counts as retrieved when the predicted
/// next token is the needle's value (greedy, over the whole vocabulary).
/// </summary>
public static class NeedleEvaluator
{
    /// <param name="predictNext">Next token for each prompt of a cell (all of one length).</param>
    /// <param name="progress">Cells done so far (out of lengths × depths).</param>
    public static NeedleGridResult Score(NeedleGrid grid, Func<IReadOnlyList<long[]>, long[]> predictNext, IProgress<int>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(predictNext);
        var acc = new double[grid.DepthPercents.Count, grid.Lengths.Count];
        var done = 0;
        for (var l = 0; l < grid.Lengths.Count; l++)
            for (var d = 0; d < grid.DepthPercents.Count; d++)
            {
                ct.ThrowIfCancellationRequested();
                var cases = grid.Cell(l, d);
                var predicted = predictNext(cases.Select(c => c.Prompt).ToArray());
                if (predicted.Length != cases.Count)
                    throw new InvalidOperationException($"the predictor returned {predicted.Length} tokens for {cases.Count} prompts.");
                acc[d, l] = 100.0 * cases.Where((c, i) => predicted[i] == c.Answer).Count() / cases.Count;
                progress?.Report(++done);
            }
        return new NeedleGridResult(grid.Lengths, grid.DepthPercents, acc, grid.SamplesPerCell);
    }

    /// <summary>Greedy next token of <paramref name="model"/> for equal-length prompts, in batches of at most <paramref name="maxBatchTokens"/> tokens.</summary>
    public static Func<IReadOnlyList<long[]>, long[]> ModelPredictor(LlamaForCausalLM model, IAttentionBackend backend, int maxBatchTokens = 16384)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(backend);
        return prompts =>
        {
            if (prompts.Count == 0) return [];
            var length = prompts[0].Length;
            if (prompts.Any(p => p.Length != length)) throw new ArgumentException("prompts of one batch must have the same length.", nameof(prompts));
            var perBatch = Math.Max(1, maxBatchTokens / length);
            var result = new long[prompts.Count];
            using var _ = no_grad();
            for (var start = 0; start < prompts.Count; start += perBatch)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(perBatch, prompts.Count - start);
                var flat = new long[n * length];
                for (var i = 0; i < n; i++) prompts[start + i].CopyTo(flat, i * length);
                var ids = tensor(flat, [n, length], dtype: ScalarType.Int64, device: model.Device);
                var hidden = model.Forward(ids, backend);                       // [n, L, H]
                var last = hidden.select(1, length - 1);                         // [n, H]
                var next = model.Logits(last).argmax(-1).cpu();                 // [n]
                var values = next.data<long>().ToArray();
                Array.Copy(values, 0, result, start, n);
            }
            return result;
        };
    }
}
