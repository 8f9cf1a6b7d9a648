
namespace LongContext.Training.Lora;

/// <summary>
/// LoRA settings (PEFT's LoraConfig subset): rank r, alpha (scaling = alpha / r), dropout on the adapter input,
/// target modules by HF name, and extra base parameters to train as LongLoRA does (<c>--lora-trainable embed,norm</c>).
/// </summary>
public sealed record LoraOptions
{
    /// <summary>The attention projections: PEFT's usual Llama targets and LongLoRA's.</summary>
    public static readonly IReadOnlyList<string> AttentionModules = ["q_proj", "k_proj", "v_proj", "o_proj"];
    public static readonly IReadOnlyList<string> MlpModules = ["gate_proj", "up_proj", "down_proj"];
    /// <summary>Names accepted in <see cref="Trainable"/>: embed_tokens, every RMSNorm weight, an untied lm_head.</summary>
    public static readonly IReadOnlyList<string> TrainableChoices = ["embed", "norm", "lm_head"];

    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout on the adapter input while training. Activation checkpointing re-draws the mask on CUDA
    /// (TorchSharp cannot save CUDA RNG state), so keep 0 with checkpointing there.</summary>
    public double Dropout { get; init; }
    public IReadOnlyList<string> TargetModules { get; init; } = AttentionModules;
    /// <summary>Base parameters that stay trainable: any of <see cref="TrainableChoices"/>.</summary>
    public IReadOnlyList<string> Trainable { get; init; } = [];

    public double Scaling => Alpha / Rank;

    /// <summary>Parses a comma-separated list ("embed,norm"); empty or "none" gives an empty list.</summary>
    public static IReadOnlyList<string> ParseList(string? text) =>
        string.IsNullOrWhiteSpace(text) || text.Trim() == "none"
            ? []
            : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Throws <see cref="ConfigException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Rank < 1) throw new ConfigException($"LoRA rank must be at least 1; got {Rank}");
        if (!(Alpha > 0)) throw new ConfigException($"LoRA alpha must be positive; got {Alpha}");
        if (Dropout is < 0 or >= 1) throw new ConfigException($"LoRA dropout must be in [0, 1); got {Dropout}");
        if (TargetModules.Count == 0) throw new ConfigException("LoRA needs at least one target module (e.g. q_proj,k_proj,v_proj,o_proj)");
        var known = AttentionModules.Concat(MlpModules).ToHashSet();
        foreach (var m in TargetModules)
            if (!known.Contains(m))
                throw new ConfigException($"unknown LoRA target module '{m}'; choose from {string.Join(", ", known)}");
        foreach (var t in Trainable)
            if (!TrainableChoices.Contains(t))
                throw new ConfigException($"unknown --lora-trainable entry '{t}'; choose from {string.Join(", ", TrainableChoices)}");
    }
}
