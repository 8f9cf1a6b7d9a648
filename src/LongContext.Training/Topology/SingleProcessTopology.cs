using LongContext.Training.Data;
using static TorchSharp.torch;

namespace LongContext.Training.Topology;

/// <summary>One process holding the whole model, every micro-batch and every token: each seam is the identity.</summary>
public sealed class SingleProcessTopology : ITrainingTopology
{
    public static readonly SingleProcessTopology Instance = new();

    public int Rank => 0;
    public int WorldSize => 1;
    public IReadOnlyList<TrainingBatch> ShardBatch(IReadOnlyList<TrainingBatch> step) => step;
    public long GlobalTokenCount(long localPredictedTokens) => localPredictedTokens;
    public void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) { }
    public Tensor GlobalGradNorm(Tensor localNorm) => localNorm;
    public StepDecision Agree(StepDecision local) => local;
    public int AgreeRecomputedLayers(int proposed) => proposed;
}
