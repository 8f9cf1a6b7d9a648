using System.CommandLine;
using System.Globalization;
using LongContext.Eval;
using LongContext.Eval.NoLiMa;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval nolima`: NoLiMa on a user-provided copy of its data (its licence forbids shipping it).</summary>
public static class EvalNoLiMaCommand
{
    public static Command Create(Eval.Backends.EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var data = new Option<string>("--data") { Description = "Your copy of NoLiMa's data folder (huggingface.co/datasets/amodaresi/NoLiMa: needlesets/ and haystack/rand_shuffle/)", Required = true };
        var needleSet = new Option<string>("--needle-set") { Description = "Needle set: a file in DIR/needlesets (needle_set.json, needle_set_hard.json, …) or a path", DefaultValueFactory = _ => "needle_set.json" };
        var haystackDir = new Option<string?>("--haystack-dir") { Description = "Folder of haystack books (*.txt, sorted by name); default DIR/haystack/rand_shuffle" };
        var lengths = new Option<string>("--lengths") { Description = "Haystack lengths in tokens (k = 1000 here, as NoLiMa's 1K)", DefaultValueFactory = _ => "250,500,1k,2k,4k,8k,16k,32k" };
        var depths = new Option<int>("--depths") { Description = "Needle depths, np.linspace(0, 100, N) (NoLiMa: 26)", DefaultValueFactory = _ => 26 };
        var metric = new Option<string>("--metric") { Description = "contains (NoLiMa's runs), EM, lastline_EM or lastline_contains", DefaultValueFactory = _ => "contains" };
        var system = new Option<string>("--system-prompt") { Description = "System message; 'none' for none", DefaultValueFactory = _ => "You are a helpful assistant" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Answer budget (NoLiMa: 192)", DefaultValueFactory = _ => 192 };
        var limit = new Option<int?>("--limit") { Description = "Only the first N tests of the needle set (quick runs)" };

        var cmd = new Command("nolima", "NoLiMa: needle retrieval without literal overlap; accuracy by length, base score, effective length (85% of base), depth heatmap.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { data, needleSet, haystackDir, lengths, depths, metric, system, maxNew, limit }) cmd.Options.Add(o);
        cmd.SetHandler(async (p, ct) =>
        {
            var dir = p.GetValue(data)!;
            if (!Directory.Exists(dir)) throw new EvalException($"--data {dir}: folder not found; download NoLiMa's data (its data/download_NoLiMa_data.sh) and give that folder.");
            var set = p.GetValue(needleSet)!;
            var setPath = File.Exists(set) ? set : Path.Combine(dir, "needlesets", set);
            var hayDir = p.GetValue(haystackDir) ?? Path.Combine(dir, "haystack", "rand_shuffle");
            if (!Directory.Exists(hayDir)) throw new EvalException($"{hayDir}: no haystack folder; give --haystack-dir DIR of book *.txt files.");
            var books = Directory.GetFiles(hayDir, "*.txt").Order(StringComparer.Ordinal).ToList();
            var options = new NoLiMaOptions
            {
                NeedleSet = setPath,
                Haystacks = books,
                Lengths = ParseLengths(p.GetValue(lengths)!),
                DepthCount = p.GetValue(depths),
                Metric = p.GetValue(metric)!.ToLowerInvariant() switch
                {
                    "contains" => NoLiMaMetric.Contains, "em" => NoLiMaMetric.Em, "lastline_em" => NoLiMaMetric.LastLineEm, "lastline_contains" => NoLiMaMetric.LastLineContains,
                    var m => throw new EvalException($"--metric {m}: use contains, EM, lastline_EM or lastline_contains."),
                },
                SystemPrompt = p.GetValue(system) is "none" ? null : p.GetValue(system),
                MaxNewTokens = p.GetValue(maxNew),
                Limit = p.GetValue(limit),
            };
            var setup = await common.CreateAsync(p, ct);
            var (manifest, plans) = NoLiMaSuite.Plan(options, setup.Session);
            return await common.RunAndReportAsync(p, setup, manifest, plans, "NoLiMa", ct);
        });
        return cmd;
    }

    /// <summary>"250,500,1k,32k" with k = 1000 (NoLiMa's convention).</summary>
    private static IReadOnlyList<int> ParseLengths(string spec)
    {
        var list = new List<int>();
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var s = raw.ToLowerInvariant();
            var mult = s.EndsWith('k') ? 1000 : 1;
            if (!int.TryParse(mult == 1 ? s : s[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v <= 0 || (long)v * mult > int.MaxValue)
                throw new EvalException($"--lengths: cannot read '{raw}'; e.g. 250,500,1k,2k (k = 1000).");
            list.Add(v * mult);
        }
        return list.Count > 0 ? list.Distinct().Order().ToList() : throw new EvalException("--lengths is empty.");
    }
}
