using LongContext.Core.Inference;

namespace LongContext.Tests.Server;

/// <summary>
/// The tiny Llama fixtures with the fixture tokenizer, copied into a loadable folder: tests/fixtures/hf/models/NAME
/// (random weights, recorded against transformers), or <see cref="ToolCaller"/>, tests/fixtures/tool_call_model
/// (trained by tools/fixtures/make_tool_call_model.cs to call get_weather; its own Qwen2.5 chat template).
/// </summary>
internal static class TinyModel
{
    public const string ToolCaller = "tool_call_model";
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<string>> Dirs = new();

    /// <summary>A loadable folder for the fixture NAME, shared by the tests of this process (read-only use).</summary>
    public static string Dir(string name = "llama_default") => Dirs.GetOrAdd(name, n => new Lazy<string>(() =>
    {
        var dir = Directory.CreateTempSubdirectory("lc-serve-model-").FullName;
        var fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures");
        var source = n == ToolCaller ? Path.Combine(fixtures, n) : Path.Combine(fixtures, "hf", "models", n);
        foreach (var f in new[] { "config.json", "model.safetensors", "generation_config.json" })
            File.Copy(Path.Combine(source, f), Path.Combine(dir, f));
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(fixtures, "hf", "tokenizer", f), Path.Combine(dir, f));
        // A model fixture's own template replaces the tokenizer's.
        var template = Path.Combine(source, "chat_template.jinja");
        if (File.Exists(template)) File.Copy(template, Path.Combine(dir, "chat_template.jinja"));
        return dir;
    })).Value;

    public static string Path_ => Dir();

    public static EngineSession Open(string name = "llama_default") => EngineSession.Open(Dir(name), "cpu");

    /// <summary>Greedy generation straight on the engine with a fresh KV cache: the reference for every served result.</summary>
    public static List<int> ColdGreedy(EngineSession session, IReadOnlyList<int> prompt, int maxNewTokens) =>
        session.Generator.Generate(prompt, new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = session.StopTokenIds }).ToList();

    /// <summary>The text a stream of these ids yields (what the server sends: incremental decode, special tokens skipped).</summary>
    public static string StreamText(EngineSession session, IEnumerable<int> ids)
    {
        var decoder = session.Tokenizer.CreateStreamDecoder();
        return string.Concat(ids.Select(id => decoder.Push(id) ?? ""));
    }

    /// <summary>Deterministic filler text of roughly <paramref name="words"/> words.</summary>
    public static string Filler(int words, int seed = 1)
    {
        string[] vocab = ["alpha", "river", "stone", "cloud", "seven", "green", "table", "window", "light", "orange", "paper", "north", "music", "garden", "silver", "data"];
        var rng = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => vocab[rng.Next(vocab.Length)]));
    }
}
