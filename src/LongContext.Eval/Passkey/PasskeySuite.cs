using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Backends;
using LongContext.Eval.Niah;
using LongContext.Eval.Ruler;
using LongContext.Eval.Runs;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Eval.Passkey;

/// <summary>
/// Passkey retrieval over lengths × depths: raw completion prompts (no chat template, BOS as the tokenizer adds it),
/// filler fitted with the model's tokenizer so that prompt + answer budget fits each length. Scored by exact match:
/// the first run of digits in the continuation must equal the key (YaRN's and LongLoRA's rule, re.search(r'\d+')).
/// The report is NIAH's depth × length table and heatmap.
/// </summary>
public static partial class PasskeySuite
{
    public const string SuiteName = "passkey";
    public const string Placement = "raw_completion";

    public static (RunManifest Manifest, List<EvalItemPlan> Plans) Plan(PasskeyOptions options, EvalSession session)
    {
        if (options.Samples < 1) throw new EvalException("--samples must be at least 1.");
        if (options.Digits is < 1 or > 9) throw new EvalException("--digits must be between 1 and 9.");
        var depths = NiahGrid.Depths(options.DepthCount, DepthSpacing.Linear);
        var tokenizer = session.Measurer.Tokenizer;
        var config = new JsonObject
        {
            ["suite"] = SuiteName,
            ["format"] = "landmark",
            ["seed"] = options.Seed,
            ["digits"] = options.Digits,
            ["max_new_tokens"] = options.MaxNewTokens,
            ["backend"] = session.Backend.Describe,
            ["tokenizer"] = session.TokenizerId,
            ["chat_template"] = "none",
        };
        var hash = RunManifest.Hash(config);
        var fitter = new FillerFitter(tokenizer, options.MaxNewTokens, LongestKey(options.Digits));
        var plans = new List<EvalItemPlan>();
        foreach (var length in options.Lengths)
            foreach (var depth in depths)
                for (var s = 0; s < options.Samples; s++)
                {
                    var (len, d, sample) = (length, depth, s);
                    var index = $"{d.ToString("0.###", CultureInfo.InvariantCulture)}%/{sample}";
                    plans.Add(new EvalItemPlan(SuiteName, SuiteName, len, index, d, () =>
                    {
                        var rng = new Random(RandomExtensions.MixSeed(options.Seed, SuiteName, len, index));
                        var key = DrawKey(rng, options.Digits);
                        var (prompt, tokens) = fitter.Fit(len, d, key);
                        var request = new GenerationRequest { Prompt = prompt, MaxNewTokens = options.MaxNewTokens };
                        string? found = null;
                        return new EvalItem(request, [key], (pred, _) =>
                        {
                            found = FirstNumber(pred);
                            return Task.FromResult(IsCorrect(found, key) ? 100.0 : 0.0);
                        }, prompt, tokens)
                        { Details = () => new JsonObject { ["key"] = key, ["found"] = found } };
                    }));
                }
        var manifest = new RunManifest
        {
            Suite = SuiteName, ConfigHash = hash, Config = config, Backend = session.Backend.Describe, PrefixPlacement = Placement,
            Lengths = options.Lengths, Depths = depths,
            Tasks = [new TaskNote(SuiteName, true, true,
                "Landmark/PI/YaRN prompt as a raw completion; score = exact match of the first number in the continuation; "
                + (options.Digits is int n ? $"{n}-digit keys" : "keys 1–50000 as Landmark") + $"; {options.Samples} prompts per cell")],
        };
        return (manifest, plans);
    }

    /// <summary>Landmark: random.randint(1, 50000); with digits: uniform over the N-digit numbers.</summary>
    public static string DrawKey(Random rng, int? digits)
    {
        var (lo, hi) = digits is int n ? ((long)Math.Pow(10, n - 1), (long)Math.Pow(10, n) - 1) : (1L, 50_000L);
        return rng.NextInt64(lo, hi + 1).ToString(CultureInfo.InvariantCulture);
    }

    private static string LongestKey(int? digits) => digits is int n ? new string('9', n) : "50000";

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();

    /// <summary>The first run of ASCII digits in the continuation (after RULER's clean-up and &lt;think&gt; removal), or null.</summary>
    public static string? FirstNumber(string prediction)
    {
        var m = Digits().Match(Scorers.Postprocess(prediction));
        return m.Success ? m.Value : null;
    }

    /// <summary>Integer equality as int(re.search(r'\d+', response).group()) == pass_key: leading zeros do not matter.</summary>
    public static bool IsCorrect(string? found, string key) =>
        found is not null && string.Equals(TrimZeros(found), TrimZeros(key), StringComparison.Ordinal);

    private static string TrimZeros(string s) => s.TrimStart('0') is { Length: > 0 } t ? t : "0";

    /// <summary>
    /// Fits the filler (in characters) once per length, probing with the longest key at 50% depth, then backs off per
    /// prompt until prompt tokens + answer budget fit (the split point and the key change the count by a few tokens).
    /// </summary>
    private sealed class FillerFitter(ITextTokenizer tokenizer, int maxNewTokens, string longestKey)
    {
        private readonly Dictionary<int, int> _chars = [];

        public int Count(string prompt) => tokenizer.Encode(prompt, addSpecialTokens: true).Count;

        public (string Prompt, int Tokens) Fit(int length, double depth, string key)
        {
            var budget = length - maxNewTokens;
            int chars;
            lock (_chars)
            {
                if (!_chars.TryGetValue(length, out chars))
                {
                    chars = LengthFitter.Fit(n => Count(PasskeyPrompt.Build(n, 50, longestKey)), budget, incremental: 1000);
                    if (chars == 0) throw new EvalException($"passkey: {length} tokens cannot hold the task, the key and {maxNewTokens} answer tokens; raise --lengths.");
                    _chars[length] = chars;
                }
            }
            var step = Math.Max(4, chars / 500);
            while (true)
            {
                var prompt = PasskeyPrompt.Build(chars, depth, key);
                var tokens = Count(prompt);
                if (tokens <= budget) return (prompt, tokens);
                if (chars - step < 1) throw new EvalException($"passkey: the prompt at length {length}, depth {depth}% does not fit even with no filler.");
                chars -= step;
            }
        }
    }
}
