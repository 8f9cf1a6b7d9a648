using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Eval.Perplexity;
using LongContext.Eval.Reports;
using LongContext.Formats;
using LongContext.Training.Plan;

namespace LongContext.Training.CodeRecipe;

/// <summary>report.md (docs-ready: model, data, tokenizer, stage table, heatmaps, curves, baselines, discussion), summary.json and PNGs in the run folder.</summary>
public static class CodeRecipeReport
{
    static string F(double v, string format = "0") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
    static string L(int length) => ContextLength.Format(length);

    /// <summary>Writes the files and returns the path of report.md.</summary>
    public static string Write(CodeRecipeResult r)
    {
        var o = r.Options;
        var dir = Path.GetFullPath(o.OutDir);
        var plots = Path.Combine(dir, "plots");
        Directory.CreateDirectory(plots);
        var images = new List<(string Title, string File)>();
        string Try(Func<string> plot, string title)
        {
            try
            {
                var path = plot();
                images.Add((title, Path.GetRelativePath(dir, path).Replace('\\', '/')));
                return path;
            }
            catch (Exception e) when (e is IOException or TypeInitializationException or DllNotFoundException or InvalidOperationException)
            {
                return $"(plot not written: {e.Message})";
            }
        }

        var passkeySeries = r.Variants.ToDictionary(v => v.Name, v => (IReadOnlyList<(int, double)>)v.PasskeyByLength.Select(kv => (kv.Key, kv.Value)).ToList());
        Try(() => Plots.ScoreVsLength(passkeySeries, $"Passkey retrieval vs length ({L(o.BaseLength)} → {L(o.FinalLength)})", Path.Combine(plots, "passkey_vs_length.png"), 95), "Passkey accuracy by length, every variant");
        foreach (var v in r.Variants.Where(v => v.PasskeyCells.Count > 0))
        {
            var depths = v.PasskeyCells.Select(c => c.Depth).Distinct().Order().ToList();
            var lengths = v.PasskeyCells.Select(c => c.Length).Distinct().Order().ToList();
            var cells = new double[depths.Count, lengths.Count];
            for (int d = 0; d < depths.Count; d++)
                for (int l = 0; l < lengths.Count; l++)
                {
                    var hits = v.PasskeyCells.Where(c => c.Depth == depths[d] && c.Length == lengths[l]).ToList();
                    cells[d, l] = hits.Count == 0 ? double.NaN : hits.Average(c => c.Score);
                }
            Try(() => Plots.NiahHeatmap(cells, depths, lengths, $"Passkey: {v.Name}", Path.Combine(plots, $"passkey_{v.Name}"), "Accuracy %").Png, $"Passkey heatmap: {v.Name}");
        }
        var ppl = r.Variants.Where(v => v.PerplexityByPosition.Count > 0).ToDictionary(v => v.Name, v => (IReadOnlyList<PerplexityBucket>)v.PerplexityByPosition);
        if (ppl.Count > 0) Try(() => Plots.LossByPosition(ppl, "Loss by position on held-out packages", Path.Combine(plots, "loss_by_position.png")), "Loss by position (held-out packages)");

        var md = new StringBuilder();
        md.AppendLine($"# The recipe reproduced {o.Factor}×: {L(o.BaseLength)} → {L(o.FinalLength)} in one command").AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"`longctx quickstart` on {r.Device}; whole run {r.TotalSeconds:F0} s of a {o.TimeBudgetSeconds:F0} s budget (process start to report; setup such as unpacking and building the add-on is outside it)."));
        md.AppendLine();
        md.AppendLine("## Model, data, tokenizer").AppendLine();
        var c = r.BaseConfig;
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- **Model:** Llama architecture (RMSNorm, SwiGLU, RoPE, GQA), {r.Parameters / 1e6:F1} M parameters: {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} query / {c.NumKeyValueHeads} KV heads of {c.HeadDim}, MLP {c.IntermediateSize}, vocabulary {c.VocabSize}, untied LM head, θ₀ = {o.RopeTheta:N0}, trained from scratch at L₀ = {o.BaseLength}."));
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- **Data:** `{o.DataDir}` ({string.Join(", ", o.Include)}): {r.CorpusFiles:N0} files in {r.TrainingPackages} packages, {r.CorpusCharacters / 1e6:F0} M characters; {r.HeldOutPackages} large packages held out of all training (the perplexity documents). Pretraining packs single files ({r.PretrainCorpusTokens / 1e6:F1} M tokens); the extension stages pack **whole packages as one document each** (files concatenated in path order, each after a `# file: path` line; {r.PackageCorpusTokens / 1e6:F1} M tokens, {r.PackagesAtFinalLength} packages reach {L(o.FinalLength)} tokens) — natural long documents only, no needles, no evaluation formats."));
        if (r.Tokenizer is { } t)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- **Tokenizer:** byte-level BPE with Llama-3's pre-tokenizer, {t.VocabSize} ids ({t.Merges} merges), {r.TokenizerSource}: {t.Characters / 1e6:F1} M characters counted in {t.CountSeconds:F1} s, merges learned in {t.MergeSeconds:F1} s; {t.BytesPerToken:F2} bytes per token on its training text. `tokenizer/` holds tokenizer.json (HF format)."));
        else md.AppendLine($"- **Tokenizer:** {r.TokenizerSource}.");
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- **Retrieval skill taught at the base length (stated plainly):** {o.PasskeyFraction:P0} of the pretraining rows are passkey episodes in exactly the format `longctx eval passkey` uses (the Landmark / PI / YaRN prompt: task line, repeated filler, \"The pass key is KEY. Remember it. KEY is the pass key.\", \"What is the pass key? The pass key is\"), followed by the key; episodes of random length ≤ {L(o.BaseLength)} and random depth, keys 1–50000 drawn from a training seed (evaluation keys come from another). The extension stages never see this format."));
        md.AppendLine();

        md.AppendLine("## Stages").AppendLine();
        md.AppendLine("| phase | length | RoPE θ | steps | rows/step | tokens | wall s | tokens/s | MFU | loss first → last |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var p in r.Phases)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {p.Name}{(p.CutByBudget ? " (cut by the budget)" : "")} | {L(p.Length)} | {p.RopeTheta:N0} | {p.Steps} | {p.RowsPerStep} | {p.Tokens / 1e6:F1} M | {p.Seconds:F1} | {p.TokensPerSecond:N0} | {(p.Mfu is double m ? m.ToString("P0", CultureInfo.InvariantCulture) : "–")} | {p.FirstLoss:F2} → {p.FinalLoss:F2} |"));
        md.AppendLine();
        md.AppendLine("θ per stage is the scaling-law critical base θ₀^(ln(T/2π)/ln(L₀/2π)) of the starting model (`ScalingLaw.CriticalTheta`, the rule `longctx plan` and `longctx extend` use). Pretraining: AdamW (β 0.9/0.95, weight decay 0.1), warmup then cosine to 10%, its step count set from a timing of the same shape; each stage starts from the previous stage's weights, constant learning rate after a short warmup, and runs until its share of the budget is spent. MFU counts model FLOPs (6·N + causal attention) against the card's dense bf16 peak.");
        md.AppendLine();
        md.AppendLine("Wall time by phase: " + string.Join(", ", r.PhaseSeconds.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:F1} s"))) + ".");
        md.AppendLine();

        md.AppendLine("## Passkey retrieval (mean over depths, %)").AppendLine();
        var lengthsAll = r.Variants.SelectMany(v => v.PasskeyByLength.Keys).Distinct().Order().ToList();
        md.AppendLine("| variant | " + string.Join(" | ", lengthsAll.Select(L)) + " |");
        md.AppendLine("|---|" + string.Concat(lengthsAll.Select(_ => "---:|")));
        foreach (var v in r.Variants)
            md.AppendLine($"| **{v.Name}** — {v.Description} | " + string.Join(" | ", lengthsAll.Select(l => v.PasskeyByLength.TryGetValue(l, out var s) ? F(s) : "")) + " |");
        md.AppendLine();
        md.AppendLine("Exact match of the first number the model generates (10 new tokens, greedy), as PI/YaRN/LongLoRA score it; the run folders under `eval/<variant>/passkey` hold every prompt's result (`longctx eval passkey --model models/<variant>` reruns one).");
        md.AppendLine();

        if (ppl.Count > 0)
        {
            md.AppendLine("## Perplexity by position (held-out packages)").AppendLine();
            var edges = PositionsFor(o);
            md.AppendLine("| variant | " + string.Join(" | ", edges.Select(e => "≤ " + L(e))) + " |");
            md.AppendLine("|---|" + string.Concat(edges.Select(_ => "---:|")));
            foreach (var v in r.Variants.Where(v => v.PerplexityByPosition.Count > 0))
                md.AppendLine($"| {v.Name} | " + string.Join(" | ", edges.Select(e => F(PerplexityUpTo(v.PerplexityByPosition, e), "0.0"))) + " |");
            md.AppendLine();
            md.AppendLine("Perplexity of the tokens in each position range (bucket losses pooled over the documents; `eval/<variant>/perplexity` has the per-bucket curve).");
            md.AppendLine();
        }

        if (r.Variants.Any(v => v.Ruler.Count > 0))
        {
            md.AppendLine("## RULER tasks that need no downloaded data").AppendLine();
            md.AppendLine("| variant | task | " + string.Join(" | ", o.RulerLengths.Select(L)) + " |");
            md.AppendLine("|---|---|" + string.Concat(o.RulerLengths.Select(_ => "---:|")));
            foreach (var v in r.Variants.Where(v => v.Ruler.Count > 0))
                foreach (var task in v.Ruler.Select(x => x.Task).Distinct())
                    md.AppendLine($"| {v.Name} | {task} | " + string.Join(" | ", o.RulerLengths.Select(l => v.Ruler.Where(x => x.Task == task && x.Length == l).Select(x => F(x.Score)).FirstOrDefault() ?? "")) + " |");
            md.AppendLine();
            md.AppendLine($"RULER's templates through the base (no chat) template, {o.RulerSamples} samples per cell, generated word pool (so not comparable with published RULER numbers). The model was never taught these formats; niah_single_1 is the closest to the passkey it learned.");
            md.AppendLine();
        }

        md.AppendLine("## Plots").AppendLine();
        foreach (var (title, file) in images) md.AppendLine($"![{title}]({file})").AppendLine();

        md.AppendLine("## Discussion").AppendLine();
        foreach (var line in Discussion(r)) md.AppendLine("- " + line);
        if (r.Cuts.Count > 0)
        {
            md.AppendLine().AppendLine("**Cut by the time budget:**");
            foreach (var cut in r.Cuts) md.AppendLine("- " + cut);
        }
        md.AppendLine();
        md.AppendLine("## Rerun").AppendLine();
        md.AppendLine("```bash");
        md.AppendLine("bash bench/recipe/run.sh            # a CUDA box with PyTorch: bundle, add-on, this run; writes to $OUT or runs/recipe");
        md.AppendLine($"longctx quickstart --device cuda --data <site-packages> --out {o.OutDir} --time-budget {o.TimeBudgetSeconds:F0}");
        md.AppendLine("```");

        var report = Path.Combine(dir, "report.md");
        File.WriteAllText(report + ".tmp", md.ToString(), new UTF8Encoding(false));
        File.Move(report + ".tmp", report, overwrite: true);
        var summary = Path.Combine(dir, "summary.json");
        File.WriteAllText(summary + ".tmp", Summary(r).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", new UTF8Encoding(false));
        File.Move(summary + ".tmp", summary, overwrite: true);
        return report;
    }

    static IReadOnlyList<int> PositionsFor(CodeRecipeOptions o) => new[] { o.BaseLength }.Concat(o.Stages).Distinct().Order().ToArray();

    /// <summary>Perplexity of the positions in (previous edge, edge].</summary>
    static double PerplexityUpTo(IReadOnlyList<PerplexityBucket> buckets, int edge)
    {
        var inRange = buckets.Where(b => b.End <= edge && b.End > edge / 4).ToList();
        long tokens = inRange.Sum(b => b.Tokens);
        return tokens == 0 ? double.NaN : Math.Exp(inRange.Sum(b => b.MeanNll * b.Tokens) / tokens);
    }

    /// <summary>Plain statements read off the numbers (no claim the numbers do not carry).</summary>
    static IEnumerable<string> Discussion(CodeRecipeResult r)
    {
        var o = r.Options;
        double At(string name, int length) => r.Variants.FirstOrDefault(v => v.Name == name)?.PasskeyByLength.GetValueOrDefault(length, double.NaN) ?? double.NaN;
        var final = r.Variants.LastOrDefault(v => v.Name.StartsWith("stage-", StringComparison.Ordinal));
        double baseIn = At("base", o.BaseLength), baseBeyond = r.Variants.FirstOrDefault(v => v.Name == "base")?.PasskeyByLength.Where(kv => kv.Key >= 4 * o.BaseLength).Select(kv => kv.Value).DefaultIfEmpty(double.NaN).Average() ?? double.NaN;
        yield return $"The base model retrieves the pass key at its own length {F(baseIn)}% of the time and {F(baseBeyond)}% on average from 4·L₀ on: that is what pretraining taught and how far it reaches without extension.";
        if (final is not null)
        {
            double finalAt = At(final.Name, o.FinalLength);
            yield return finalAt >= 95
                ? $"After the recipe ({final.Name}) retrieval at {L(o.FinalLength)} is {F(finalAt)}%: the skill learned at {L(o.BaseLength)} carries to {o.Factor}× its length, although no stage trained on passkeys."
                : $"After the recipe ({final.Name}) retrieval at {L(o.FinalLength)} is {F(finalAt)}%, short of the 95% goal. The per-stage rows show where it was lost; likely causes at this budget are too few extension tokens at the last stage ({r.Phases.LastOrDefault()?.Tokens / 1e6:F1} M) and a small model whose retrieval head was trained only at {L(o.BaseLength)}.";
        }
        var ordered = r.Variants.Where(v => v.Name is "theta-only" or "linear" or "dynamic-ntk" or "yarn")
            .Select(v => (v.Name, Score: v.PasskeyByLength.Where(kv => kv.Key > o.BaseLength).Select(kv => kv.Value).DefaultIfEmpty(double.NaN).Average()))
            .OrderByDescending(x => x.Score).ToList();
        if (ordered.Count > 0)
            yield return "Training-free baselines, by mean retrieval beyond L₀: " + string.Join(" > ", ordered.Select(x => $"{x.Name} {F(x.Score)}%")) + ".";
        if (r.Cuts.Count == 0) yield return "Nothing was cut by the time budget.";
    }

    static JsonObject Summary(CodeRecipeResult r)
    {
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        return new JsonObject
        {
            ["base_length"] = r.Options.BaseLength,
            ["stages"] = new JsonArray(r.Options.Stages.Select(s => (JsonNode)s).ToArray()),
            ["parameters"] = r.Parameters,
            ["device"] = r.Device,
            ["tokenizer"] = r.TokenizerSource,
            ["total_seconds"] = Math.Round(r.TotalSeconds, 1),
            ["time_budget_seconds"] = r.Options.TimeBudgetSeconds,
            ["phases"] = JsonSerializer.SerializeToNode(r.Phases, options),
            ["variants"] = new JsonArray(r.Variants.Select(v => (JsonNode)new JsonObject
            {
                ["name"] = v.Name,
                ["description"] = v.Description,
                ["passkey_by_length"] = new JsonObject(v.PasskeyByLength.Select(kv => KeyValuePair.Create(kv.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)Math.Round(kv.Value, 2)))),
                ["perplexity_by_position"] = new JsonArray(v.PerplexityByPosition.Select(b => (JsonNode)new JsonObject { ["start"] = b.Start, ["end"] = b.End, ["perplexity"] = Math.Round(b.Perplexity, 3) }).ToArray()),
                ["ruler"] = new JsonArray(v.Ruler.Select(x => (JsonNode)new JsonObject { ["task"] = x.Task, ["length"] = x.Length, ["score"] = Math.Round(x.Score, 2) }).ToArray()),
                ["seconds"] = Math.Round(v.Seconds, 1),
            }).ToArray()),
            ["cuts"] = new JsonArray(r.Cuts.Select(c => (JsonNode)c).ToArray()),
            ["phase_seconds"] = new JsonObject(r.PhaseSeconds.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 2)))),
        };
    }
}
