namespace LongContext.Tests.Formats.Config;

internal static class ConfigFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "configs");

    public static string Path_(string name) => Path.Combine(Dir, name);

    public static string Read(string name) => File.ReadAllText(Path_(name));

    public static readonly string[] All =
    [
        "llama-3-8b.json", "llama-3.1-8b.json", "llama-3.1-8b-v5.json", "llama-3.2-1b.json", "mistral-7b-v0.1.json",
        "mistral-7b-v0.3.json", "qwen2-7b.json", "qwen2.5-0.5b.json", "qwen2.5-7b-instruct-yarn.json",
        "phi3-style-longrope-llama.json",
    ];

    /// <summary>A minimal llama config with <paramref name="extra"/> JSON members appended.</summary>
    public static string Minimal(string extra = "", string modelType = "llama") =>
        $$"""
        {"model_type": "{{modelType}}", "vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2{{(extra.Length > 0 ? ", " + extra : "")}}}
        """;
}
