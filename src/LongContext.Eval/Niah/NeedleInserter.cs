using LongContext.Formats.Tokenization;

namespace LongContext.Eval.Niah;

/// <summary>
/// gkamradt/LLMTest_NeedleInAHaystack's context builder (MIT), in tokens of the evaluated model's tokenizer:
/// the essays are concatenated (files sorted by name, no separator) and repeated until they reach the length, cut to
/// the length, re-encoded, cut to length − buffer − needle tokens, and each needle is inserted at int(n·depth/100) after
/// walking back to the previous token that is one of encode("."); depth 100 appends. The multi-needle form (LangChain's,
/// llm_multi_needle_haystack_tester.py) puts the first needle at the depth and each next one (100 − depth)/k further,
/// on the growing token list. The result is decoded back to text.
/// </summary>
/// <remarks>The original reads files in glob (directory) order; sorting makes the haystack the same on every machine.</remarks>
public sealed class NeedleInserter(string haystackText, ITextTokenizer tokenizer)
{
    private readonly Dictionary<int, string> _trimmed = [];
    private HashSet<int>? _period;

    public string Context(int contextLength, double depthPercent, IReadOnlyList<string> needles, int buffer)
    {
        var tokens = tokenizer.Encode(Trimmed(contextLength), addSpecialTokens: false).ToList();
        var needleTokens = needles.Select(n => tokenizer.Encode(n, addSpecialTokens: false)).ToList();
        var budget = contextLength - buffer;
        var total = needleTokens.Sum(t => t.Count);
        if (tokens.Count + total > budget) tokens = tokens.GetRange(0, Math.Max(0, budget - total));
        var period = _period ??= tokenizer.Encode(".", addSpecialTokens: false).ToHashSet();
        var depth = depthPercent;
        var interval = (100 - depthPercent) / needles.Count;
        foreach (var needle in needleTokens)
        {
            if (depth == 100) tokens.AddRange(needle);
            else
            {
                var at = (int)(tokens.Count * (depth / 100));
                while (at > 0 && !period.Contains(tokens[at - 1])) at--;
                tokens.InsertRange(at, needle);
            }
            depth += interval;
        }
        return tokenizer.Decode(tokens);
    }

    /// <summary>read_context_files + encode_and_trim: the repeated essays cut to <paramref name="contextLength"/> tokens and decoded.</summary>
    private string Trimmed(int contextLength)
    {
        lock (_trimmed)
        {
            if (_trimmed.TryGetValue(contextLength, out var t)) return t;
            if (haystackText.Length == 0) throw new EvalException("The NIAH haystack is empty; give --essays DIR with the Paul Graham essays (.txt).");
            var text = new System.Text.StringBuilder();
            IReadOnlyList<int> ids;
            do
            {
                text.Append(haystackText);
                ids = tokenizer.Encode(text.ToString(), addSpecialTokens: false);
            } while (ids.Count < contextLength);
            t = ids.Count > contextLength ? tokenizer.Decode(ids.Take(contextLength)) : text.ToString();
            _trimmed[contextLength] = t;
            return t;
        }
    }
}
