using System.Security.Cryptography;
using LongContext.Core.Inference;
using LongContext.Eval.Backends;
using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Engine;

/// <summary>
/// The in-process backend's generator over our engine: greedy decoding with the model's tokenizer and chat template.
/// </summary>
/// <remarks>
/// One prompt at a time, on purpose. Batching would need per-row padding masks (the prompts of a run are fitted to a
/// token budget, so their lengths differ by a few tokens) and the attention seam (<c>IAttentionBackend</c>) takes no
/// mask; and at the lengths evaluation is about, one prompt's prefill already fills the device (compute-bound), while
/// the answers are short (RULER: ≤ 128 tokens), so batched decode would save little. <see cref="LocalBackend"/>
/// serialises calls to match.
/// </remarks>
public sealed class EngineLocalGenerator : ILocalGenerator, IDisposable
{
    readonly EngineSession session;

    public EngineLocalGenerator(EngineSession session)
    {
        this.session = session;
        var template = session.Tokenizer.ChatTemplate;
        ChatTemplate = template is null
            ? ChatTemplates.Base
            : new DelegateChatTemplate("model", (messages, addGenerationPrompt) => session.Tokenizer.ApplyChatTemplate(messages, addGenerationPrompt));
        ModelId = Fingerprint(session.ModelDir);
    }

    public ITextTokenizer Tokenizer => session.Tokenizer;
    public IChatTemplate ChatTemplate { get; }
    public int? MaxSequenceLength => null;
    /// <summary>The folder name and a fingerprint of its contents, so two checkpoints in same-named folders never share a run's config hash.</summary>
    public string ModelId { get; }

    /// <summary>Stops on the caller's ids and on every eos the tokenizer and generation_config.json name (e.g. Llama-3's &lt;|eot_id|&gt; and &lt;|end_of_text|&gt;).</summary>
    public IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyCollection<int> stopIds, CancellationToken ct) =>
        session.Generator.Generate(promptIds, new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = stopIds.Concat(session.StopTokenIds).ToHashSet() }, ct).ToList();

    /// <summary>
    /// "folder@hash": SHA-256 over config.json, generation_config.json, and for each *.safetensors its name, size
    /// and first and last 64 KiB (header included; cheap on multi-GB shards, yet differs between fine-tuned checkpoints).
    /// </summary>
    public static string Fingerprint(string modelDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in new[] { "config.json", "generation_config.json" })
        {
            var path = Path.Combine(modelDir, name);
            if (File.Exists(path)) sha.AppendData(File.ReadAllBytes(path));
        }
        const int sample = 64 * 1024;
        foreach (var path in Directory.GetFiles(modelDir, "*.safetensors").Order(StringComparer.Ordinal))
        {
            using var f = File.OpenRead(path);
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Path.GetFileName(path)}:{f.Length}"));
            var head = new byte[(int)Math.Min(f.Length, sample)];
            f.ReadExactly(head);
            sha.AppendData(head);
            if (f.Length > sample)
            {
                var tail = new byte[(int)Math.Min(f.Length - sample, sample)];
                f.Seek(-tail.Length, SeekOrigin.End);
                f.ReadExactly(tail);
                sha.AppendData(tail);
            }
        }
        var folder = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir)));
        return $"{folder}@{Convert.ToHexStringLower(sha.GetHashAndReset())[..12]}";
    }

    /// <summary>The engine's backends for the eval commands: --model DIR runs in-process (generation, per-token loss), --tokenizer DIR loads tokenizer.json.</summary>
    public static EvalBackends Backends(string device = "auto") => new(
        dir => new EngineLocalGenerator(EngineSession.Open(dir, device)),
        dir => HfTokenizer.Load(dir),
        dir =>
        {
            var tok = HfTokenizer.Load(dir);
            return tok.ChatTemplate is null ? null : new DelegateChatTemplate("model", (m, g) => tok.ApplyChatTemplate(m, g));
        },
        dir => new EngineTokenLossScorer(EngineSession.Open(dir, device)));

    public void Dispose() => session.Dispose();
}
