using System.CommandLine;

namespace LongContext.Cli.Commands;

/// <summary>Options shared by the commands that load a model.</summary>
public static class EngineOptions
{
    public static Option<string> Model() => new("--model") { Description = "HF model folder (config.json, tokenizer.json, *.safetensors)", Required = true };
    public static Option<string> Device() => new("--device") { Description = "cpu, cuda, cuda:N or auto", DefaultValueFactory = _ => "auto" };
    public static Option<string?> Dtype() => new("--dtype") { Description = "float32, bfloat16 or float16 (default: bfloat16 on CUDA, float32 on CPU)" };
}
