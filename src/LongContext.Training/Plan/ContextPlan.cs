namespace LongContext.Training.Plan;

/// <summary>The planner's answer; serialises (snake_case) as the `--json` object of `longctx plan`.</summary>
public sealed record ContextPlan(
    PlanModel Model,
    PlanGpus Gpus,
    PlanLayout Layout,
    IReadOnlyList<StagePlan> Stages,
    PlanTotals Totals,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> Notes);

public sealed record PlanModel(
    string Name,
    string ModelType,
    long Parameters,
    long MatmulParameters,
    int Layers,
    int HiddenSize,
    int Heads,
    int KvHeads,
    int HeadDim,
    int VocabSize,
    long NativeLength,
    long TrainedLength,
    double RopeTheta,
    string RopeType);

public sealed record PlanGpus(int Count, string Type, long MemoryBytes, double PeakBf16Flops);

public sealed record PlanLayout(
    string Sharding,
    int? Ring,
    string ActivationCheckpointing,
    int MicroBatchSequences,
    int LmHeadChunkTokens,
    bool OffloadOptimizer,
    double Mfu,
    string ThetaRule,
    string Precision);

public sealed record StagePlan(
    int Index,
    long Length,
    double Theta,
    string RopeType,
    long Tokens,
    int BatchSequences,
    long Steps,
    int GradAccum,
    double LearningRate,
    int Ring,
    int DataParallel,
    MemoryEstimate Memory,
    bool Fits,
    long EvalKvCacheBytes,
    long EvalKvCachePerGpuBytes,
    double FlopsPerToken,
    double Flops,
    double TimeSeconds,
    double GpuHours);

public sealed record PlanTotals(long Tokens, long Steps, double Flops, double TimeSeconds, double GpuHours, bool AllFit);
