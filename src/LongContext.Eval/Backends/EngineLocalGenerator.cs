using LongContext.Core.Inference;
using LongContext.Core.Tokenization;

namespace LongContext.Eval.Backends;

/// <summary>The in-process backend's generator over our engine: greedy decoding with the model's tokenizer and chat template.</summary>
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
    }

    public ITextTokenizer Tokenizer => session.Tokenizer;
    public IChatTemplate ChatTemplate { get; }
    public int? MaxSequenceLength => null;
    public string ModelId => Path.GetFileName(Path.TrimEndingDirectorySeparator(session.ModelDir));

    public IReadOnlyList<int> Generate(IReadOnlyList<int> promptIds, int maxNewTokens, IReadOnlyCollection<int> stopIds, CancellationToken ct) =>
        session.Generator.Generate(promptIds, new GenerationOptions { MaxNewTokens = maxNewTokens, StopTokenIds = stopIds }, ct).ToList();

    /// <summary>Points the evaluation factories at the engine: --model DIR and --tokenizer DIR.</summary>
    public static void Register(string device = "auto")
    {
        EvalBackends.LocalFactory = dir => new EngineLocalGenerator(EngineSession.Open(dir, device));
        EvalBackends.TokenizerFactory = dir => HfTokenizer.Load(dir);
        EvalBackends.ChatTemplateFactory = dir =>
        {
            var tok = HfTokenizer.Load(dir);
            return tok.ChatTemplate is null ? null : new DelegateChatTemplate("model", (m, g) => tok.ApplyChatTemplate(m, g));
        };
    }

    public void Dispose() => session.Dispose();
}
