using LongContext.Eval.Backends;
using LongContext.Eval.Ruler;

namespace LongContext.Tests.Eval;

internal static class EvalFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "fixtures", "eval");
    public static string Essays => Path.Combine(Dir, "essays");
    public static string Squad => Path.Combine(Dir, "squad_mini.json");
    public static string Hotpot => Path.Combine(Dir, "hotpotqa_mini.json");

    public static RulerData AllData() => RulerData.Load(Essays, Squad, Hotpot, null);

    public static PromptMeasurer Measurer(LongContext.Formats.Tokenization.ITextTokenizer tok, IChatTemplate? template = null, PrefixPlacement placement = PrefixPlacement.AssistantTurn) =>
        new(tok, template ?? LongContext.Eval.Backends.ChatTemplates.Base, placement);

    /// <summary>The small Llama-3-layout byte-level BPE of tests/fixtures/tokenizer/llama3 (token counts vary with the text, as real ones do).</summary>
    public static LongContext.Formats.Tokenization.ITextTokenizer BpeTokenizer() =>
        LongContext.Formats.Tokenization.HfTokenizer.Load(Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", "llama3"));

    public static string TempDir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "longctx-eval-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }
}
