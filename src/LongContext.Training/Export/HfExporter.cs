using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Core.Weights;
using LongContext.Formats.Config;
using static TorchSharp.torch;

namespace LongContext.Training.Export;

/// <summary>What <see cref="HfExporter.Export"/> writes besides the weights.</summary>
public sealed record HfExportOptions
{
    /// <summary>Folder to copy tokenizer and generation files from (those of <see cref="HfExporter.TokenizerFiles"/> that exist).</summary>
    public string? TokenizerSourceDir { get; init; }
    /// <summary>New RoPE parameters (whole); applied before <see cref="RopeTheta"/>.</summary>
    public RopeParameters? Rope { get; init; }
    /// <summary>New rope_theta (e.g. the stage's θ after long-context training).</summary>
    public double? RopeTheta { get; init; }
    public int? MaxPositionEmbeddings { get; init; }
    /// <summary>Weights' dtype on disk; default the model's.</summary>
    public ScalarType? Dtype { get; init; }
    /// <summary>Above this, weights go into model-0000K-of-0000N.safetensors shards plus an index.</summary>
    public long MaxShardBytes { get; init; } = 5L << 30;
    /// <summary>Replace an existing output folder (it is only removed once the new one is complete).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>Where an export went.</summary>
public sealed record HfExportResult(string Directory, ModelConfig Config, IReadOnlyList<string> WeightFiles, IReadOnlyList<string> CopiedFiles);

/// <summary>
/// Writes a model as an HF folder that transformers' from_pretrained and <see cref="ModelLoader.Load"/> read:
/// config.json (ModelConfigWriter), model.safetensors (sharded above a size), tokenizer files copied from a source
/// folder. Written into `DIR.tmp/` and renamed, so a folder that exists is complete.
/// </summary>
public static class HfExporter
{
    public static readonly IReadOnlyList<string> TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "chat_template.jinja"];

    public static HfExportResult Export(LlamaForCausalLM model, string outDir, HfExportOptions? options = null) =>
        Export(model.NamedTensors(), model.Config, model.Dtype, outDir, options);

    /// <summary>
    /// Writes <paramref name="tensors"/> (HF names, e.g. LoRA-merged weights) with <paramref name="config"/> as an HF
    /// folder, without building a model around them.
    /// </summary>
    /// <param name="dtype">The tensors' dtype (the default dtype on disk).</param>
    public static HfExportResult Export(IReadOnlyDictionary<string, Tensor> tensors, ModelConfig config, ScalarType dtype, string outDir,
        HfExportOptions? options = null)
    {
        options ??= new HfExportOptions();
        dtype = options.Dtype ?? dtype;
        if (dtype is not (ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float32))
            throw new ConfigException($"export dtype {dtype} is not supported; use bfloat16, float16 or float32.");
        if (options.Rope is { } rope) config = config with { Rope = rope };
        if (options.RopeTheta is double theta)
        {
            if (!(double.IsFinite(theta) && theta > 0)) throw new ConfigException($"export rope_theta = {theta} must be a positive number.");
            config = config with { Rope = config.Rope with { RopeTheta = theta } };
        }
        if (options.MaxPositionEmbeddings is int maxPos)
        {
            if (maxPos <= 0) throw new ConfigException($"export max_position_embeddings = {maxPos} must be positive.");
            config = config with { MaxPositionEmbeddings = maxPos };
        }
        config = config with { TorchDtype = DtypeName(dtype) };
        if (options.TokenizerSourceDir is { } src && !Directory.Exists(src))
            throw new CheckpointException($"tokenizer source folder {src} does not exist; pass the folder of the model training started from.");

        var full = Path.GetFullPath(outDir);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !options.Overwrite)
            throw new CheckpointException($"{full} already exists and is not empty; choose another folder or allow overwriting.");
        var tmp = full.TrimEnd(Path.DirectorySeparatorChar) + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);

        ModelConfigWriter.WriteToDirectory(config, tmp);
        var weights = SafetensorsWriter.WriteSharded(tmp, tensors, options.MaxShardBytes, dtype);
        var copied = new List<string>();
        if (options.TokenizerSourceDir is { } source)
        {
            foreach (var name in TokenizerFiles)
            {
                var from = Path.Combine(source, name);
                if (!File.Exists(from)) continue;
                File.Copy(from, Path.Combine(tmp, name));
                copied.Add(name);
            }
        }

        if (Directory.Exists(full)) Directory.Delete(full, recursive: true);
        Directory.Move(tmp, full);
        return new HfExportResult(full, config, weights.Files, copied);
    }

    static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => "float32",
    };
}
