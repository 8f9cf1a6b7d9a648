using System.CommandLine;
using System.Globalization;
using LongContext.Eval.Runs;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>Options shared by the commands that load a model.</summary>
public static class EngineOptions
{
    public static Option<string> Model() => new("--model") { Description = "HF model folder (config.json, tokenizer.json, *.safetensors)", Required = true };
    public static Option<string> Device() => new("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "auto" };
    public static Option<string?> Dtype() => new("--dtype") { Description = "float32, bfloat16 or float16 (default: bfloat16 on CUDA, float32 on CPU)" };
    public static Option<string> KvCache() => new("--kv-cache") { Description = "KV cache storage: model (the model's dtype) or fp8 (E4M3 codes, half the memory)", DefaultValueFactory = _ => "model" };

    /// <summary>Loads a model folder, showing the load's progress on stderr (stdout stays for results).</summary>
    public static Core.Inference.EngineSession Open(string modelDir, string device, string? dtype)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return ProgressView.Run(console, tasks =>
        {
            IProgressItem? item = null;
            var progress = new InlineProgress<Core.Weights.CheckpointLoadProgress>(p =>
            {
                item ??= tasks.Add(string.Create(CultureInfo.InvariantCulture, $"loading {Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir))} ({p.BytesTotal / 1e9:0.##} GB, tensors)"), p.Total);
                item.Update(p.Done);
            });
            var session = Core.Inference.EngineSession.Open(modelDir, device, dtype, progress);
            item?.Finish();
            return session;
        }, step: 25);
    }

    public static Core.Inference.KvCacheStorage ParseKvCache(string value) => value.Trim().ToLowerInvariant() switch
    {
        "model" or "bf16" or "bfloat16" => Core.Inference.KvCacheStorage.ModelDtype,
        "fp8" or "fp8-e4m3" or "e4m3" => Core.Inference.KvCacheStorage.Fp8E4M3,
        _ => throw new ConfigException($"--kv-cache {value}: use model or fp8"),
    };
}
