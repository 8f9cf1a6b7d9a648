namespace LongContext.Training.Quickstart;

/// <summary>The machine-readable summary of a run (`--json`, and summary.json in the output folder). Accuracies in percent by length.</summary>
public sealed record QuickstartSummary(
    string OutputDir,
    string Report,
    IReadOnlyList<string> Heatmaps,
    int PretrainLength,
    int ExtendedLength,
    double ThetaBefore,
    double ThetaAfter,
    string ThetaRule,
    IReadOnlyDictionary<string, double> AccuracyBefore,
    IReadOnlyDictionary<string, double> AccuracyAfter,
    double ThetaOnlyAccuracyAtExtended,
    int PretrainSteps,
    double PretrainFinalLoss,
    int ExtendSteps,
    double ExtendFinalLoss,
    long Parameters,
    int Threads,
    double PretrainWallSeconds,
    double PretrainCpuSeconds,
    double ExtendWallSeconds,
    double ExtendCpuSeconds,
    double EvalWallSeconds,
    double EvalCpuSeconds,
    double TotalWallSeconds,
    double TotalCpuSeconds);
