using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LongContext.Training.Optim;

namespace LongContext.Training.Loop;

/// <summary>
/// Options of one training run. JSON names are snake_case (a job config can be this record as JSON, unknown keys
/// rejected); validation errors name the JSON key. The "trajectory" options — those that change which numbers the
/// run computes — are fingerprinted into every checkpoint, and a resume with different ones is refused.
/// </summary>
public sealed record TrainingOptions
{
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; } = 2e-5;
    /// <summary>Cosine floor as a fraction of learning_rate (0.1 = decay to lr/10).</summary>
    [JsonPropertyName("min_lr_ratio")] public double MinLrRatio { get; init; } = 0.1;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; }
    [JsonPropertyName("schedule")] public LrScheduleKind Schedule { get; init; } = LrScheduleKind.Cosine;
    /// <summary>Optimizer steps of the whole run (a resumed run continues to this step).</summary>
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; } = 1000;
    /// <summary>Micro-batches accumulated into one optimizer step.</summary>
    [JsonPropertyName("gradient_accumulation")] public int GradientAccumulation { get; init; } = 1;
    /// <summary>Global gradient-norm clip (torch.nn.utils.clip_grad_norm_); 0 disables clipping.</summary>
    [JsonPropertyName("max_grad_norm")] public double MaxGradNorm { get; init; } = 1.0;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.999;
    [JsonPropertyName("eps")] public double Eps { get; init; } = 1e-8;
    /// <summary>Seed of the run's randomness that lives outside the loop (model init, data shuffling); the loop itself draws no random numbers. Recorded and checked on resume.</summary>
    [JsonPropertyName("seed")] public long Seed { get; init; }
    /// <summary>Save a checkpoint every this many steps; 0 saves only at the end and on interruption.</summary>
    [JsonPropertyName("save_every")] public int SaveEvery { get; init; } = 500;
    /// <summary>Complete checkpoints to keep (oldest deleted first); 0 keeps all.</summary>
    [JsonPropertyName("keep_last")] public int KeepLast { get; init; } = 2;
    /// <summary>Run folder: checkpoints/, metrics.jsonl, loss.png.</summary>
    [JsonPropertyName("out_dir")] public string OutDir { get; init; } = "runs/train";
    /// <summary>Peak FLOP/s of the hardware the run uses (e.g. 989e12 for one H100 bf16 dense); null leaves mfu out of the metrics.</summary>
    [JsonPropertyName("peak_flops")] public double? PeakFlopsPerSecond { get; init; }
    /// <summary>
    /// Packed-document masking: attention stays inside each document of a packed row (block-diagonal causal, from the
    /// batches' document segments), as Llama-3 and ProLong train. Position resets and boundary labels are the data
    /// packer's (<see cref="Data.PackingOptions"/>). Changes what the run computes, so it is part of the trajectory.
    /// </summary>
    [JsonPropertyName("document_mask")] public bool DocumentMask { get; init; }
    /// <summary>What a resume does when the newest checkpoint's files do not match their content hashes: skip to the previous one (default), fail, or use it anyway.</summary>
    [JsonPropertyName("damaged_checkpoint")] public Checkpoints.DamagedCheckpointPolicy DamagedCheckpoint { get; init; } = Checkpoints.DamagedCheckpointPolicy.Skip;
    /// <summary>Above this many bytes, model.safetensors in checkpoints is split into shards.</summary>
    [JsonPropertyName("max_shard_bytes")] public long MaxShardBytes { get; init; } = 5L << 30;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Throws a <see cref="ConfigException"/> naming the first invalid option.</summary>
    public TrainingOptions Validate()
    {
        Check(double.IsFinite(LearningRate) && LearningRate > 0, "learning_rate", LearningRate, "must be a positive number, e.g. 2e-5");
        Check(MinLrRatio is >= 0 and <= 1, "min_lr_ratio", MinLrRatio, "must be in [0, 1]");
        Check(MaxSteps >= 1, "max_steps", MaxSteps, "must be at least 1");
        Check(WarmupSteps >= 0 && WarmupSteps <= MaxSteps, "warmup_steps", WarmupSteps, $"must be in [0, max_steps = {MaxSteps}]");
        Check(Enum.IsDefined(Schedule), "schedule", Schedule, "must be cosine or constant");
        Check(GradientAccumulation >= 1, "gradient_accumulation", GradientAccumulation, "must be at least 1");
        Check(double.IsFinite(MaxGradNorm) && MaxGradNorm >= 0, "max_grad_norm", MaxGradNorm, "must be ≥ 0 (0 disables clipping)");
        Check(double.IsFinite(WeightDecay) && WeightDecay >= 0, "weight_decay", WeightDecay, "must be ≥ 0");
        Check(Beta1 is >= 0 and < 1, "beta1", Beta1, "must be in [0, 1)");
        Check(Beta2 is >= 0 and < 1, "beta2", Beta2, "must be in [0, 1)");
        Check(double.IsFinite(Eps) && Eps > 0, "eps", Eps, "must be positive, e.g. 1e-8");
        Check(SaveEvery >= 0, "save_every", SaveEvery, "must be ≥ 0 (0 saves only at the end)");
        Check(KeepLast >= 0, "keep_last", KeepLast, "must be ≥ 0 (0 keeps every checkpoint)");
        Check(!string.IsNullOrWhiteSpace(OutDir), "out_dir", OutDir, "must name a folder");
        Check(PeakFlopsPerSecond is null || (double.IsFinite(PeakFlopsPerSecond.Value) && PeakFlopsPerSecond > 0), "peak_flops", PeakFlopsPerSecond, "must be positive FLOP/s (e.g. 989e12) or left out");
        Check(MaxShardBytes > 0, "max_shard_bytes", MaxShardBytes, "must be positive");
        Check(Enum.IsDefined(DamagedCheckpoint), "damaged_checkpoint", DamagedCheckpoint, "must be skip, fail or use");
        return this;
    }

    static void Check(bool ok, string key, object? value, string rule)
    {
        if (!ok)
            throw new ConfigException($"training option {key} = {value ?? "null"} {rule}.");
    }

    /// <summary>The options that decide what the run computes (not where it writes or how often it saves).</summary>
    public IReadOnlyDictionary<string, string> TrajectoryFields()
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["learning_rate"] = R(LearningRate),
            ["min_lr_ratio"] = R(MinLrRatio),
            ["warmup_steps"] = WarmupSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["schedule"] = Schedule.ToString(),
            ["max_steps"] = MaxSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["gradient_accumulation"] = GradientAccumulation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["max_grad_norm"] = R(MaxGradNorm),
            ["weight_decay"] = R(WeightDecay),
            ["beta1"] = R(Beta1),
            ["beta2"] = R(Beta2),
            ["eps"] = R(Eps),
            ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        // Only when on, so checkpoints written before the option existed still resume.
        if (DocumentMask) fields["document_mask"] = "true";
        return fields;
    }

    /// <summary>SHA-256 (hex) over <see cref="TrajectoryFields"/>.</summary>
    public string TrajectoryHash() => Hash(TrajectoryFields());

    internal static string Hash(IReadOnlyDictionary<string, string> fields)
    {
        var text = string.Join("\n", fields.Select(kv => kv.Key + "=" + kv.Value));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public AdamWOptions ToAdamW() => new(Beta1, Beta2, Eps, WeightDecay);

    static string R(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
