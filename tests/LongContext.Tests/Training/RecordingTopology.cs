using LongContext.Core.Attention;
using LongContext.Training.Data;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

/// <summary>
/// A topology that records every seam call in order and otherwise behaves as one process, unless a test replaces a
/// seam (to play the other ranks: a peer's NaN, a peer's stop, a peer's larger plan, a sequence shard).
/// </summary>
internal sealed class RecordingTopology : ITrainingTopology
{
    readonly SingleProcessTopology one = SingleProcessTopology.Instance;

    public List<string> Calls { get; } = [];
    public Func<IReadOnlyList<TrainingBatch>, IReadOnlyList<TrainingBatch>>? Shard { get; init; }
    public Func<StepDecision, StepDecision>? Decide { get; init; }
    public Func<Tensor, Tensor>? Norm { get; init; }
    public Func<int, int>? Plan { get; init; }

    public int Rank => one.Rank;
    public int WorldSize => one.WorldSize;

    public IReadOnlyList<TrainingBatch> ShardBatch(IReadOnlyList<TrainingBatch> step)
    {
        Calls.Add($"ShardBatch({step.Count})");
        return Shard?.Invoke(step) ?? one.ShardBatch(step);
    }

    public long GlobalTokenCount(long localPredictedTokens)
    {
        Calls.Add("GlobalTokenCount");
        return one.GlobalTokenCount(localPredictedTokens);
    }

    public void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable)
    {
        Calls.Add("SyncGradients");
        one.SyncGradients(trainable);
    }

    public Tensor GlobalGradNorm(Tensor localNorm)
    {
        Calls.Add("GlobalGradNorm");
        return Norm?.Invoke(localNorm) ?? one.GlobalGradNorm(localNorm);
    }

    public StepDecision Agree(StepDecision local)
    {
        Calls.Add(local == StepDecision.StopCheck(local.StopRequested) ? "Agree(stop check)" : "Agree(step)");
        return Decide?.Invoke(local) ?? one.Agree(local);
    }

    public int AgreeRecomputedLayers(int proposed)
    {
        Calls.Add($"AgreeRecomputedLayers({proposed})");
        return Plan?.Invoke(proposed) ?? one.AgreeRecomputedLayers(proposed);
    }

    /// <summary>Cuts every row to its first <paramref name="tokens"/> tokens, as a sequence shard (global RoPE length and document starts kept).</summary>
    public static IReadOnlyList<TrainingBatch> Prefix(IReadOnlyList<TrainingBatch> step, int tokens) => step.Select(b =>
    {
        var shard = new SequenceShard(b.SequenceLength, [new TokenRange(0, tokens)]);
        long[] Cut(long[] rows) => Enumerable.Range(0, b.BatchSize).SelectMany(r => shard.Take<long>(rows.AsSpan(r * b.SequenceLength, b.SequenceLength))).ToArray();
        return b with { InputIds = Cut(b.InputIds), Labels = Cut(b.Labels), PositionIds = Cut(b.PositionIds), SequenceLength = tokens, Shard = shard };
    }).ToList();
}
