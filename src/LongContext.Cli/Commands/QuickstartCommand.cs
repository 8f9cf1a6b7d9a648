using System.CommandLine;
using System.Globalization;
using LongContext.Training.Quickstart;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx quickstart`: the whole recipe (pretrain short, NIAH fails long, raise θ + train long, NIAH passes) on an embedded toy task.</summary>
public static class QuickstartCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output folder (report.md, heatmaps, summary.json)", DefaultValueFactory = _ => Path.Combine("runs", "quickstart") };
        var fast = new Option<bool>("--fast") { Description = "A much smaller run (seconds) that checks the machinery, not the accuracy" };
        var pretrainSteps = new Option<int?>("--pretrain-steps") { Description = "Most pretraining steps (stops earlier once recall is learned)" };
        var extendSteps = new Option<int?>("--extend-steps") { Description = "Training steps at the extended length" };
        var extendBatch = new Option<int?>("--extend-batch") { Description = "Sequences per extension step" };
        var extendLr = new Option<double?>("--extend-lr") { Description = "Peak learning rate of the extension" };
        var theta = new Option<string>("--theta") { Description = "θ rule for the extension: scaling-law (critical base) or ntk", DefaultValueFactory = _ => "scaling-law" };
        var seed = new Option<int?>("--seed") { Description = "Seed of the model initialisation and the training data" };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = all logical processors)", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "cpu: the embedded toy (or, with --data, the code recipe at prototype scale); cuda: the 64× code recipe (1K → 4K → 16K → 64K) on one GPU", DefaultValueFactory = _ => "cpu" };
        var data = new Option<string?>("--data") { Description = "Code recipe: a folder of source files (default with --device cuda: Python's site-packages)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Code recipe: a folder with tokenizer.json to use instead of training one" };
        var budget = new Option<string?>("--time-budget") { Description = "Code recipe: wall-clock budget of the whole command, e.g. 540s or 9m (evaluation grids shrink first)" };
        var scale = new Option<string?>("--scale") { Description = "Code recipe preset: gpu (1K → 64K), cpu (128 → 2K prototype), tiny (seconds; checks the machinery)" };

        var command = new Command("quickstart", "Run the whole long-context recipe: on a CPU a tiny model in minutes (pretrain short, NIAH fails beyond, raise θ, train long, NIAH passes); with --device cuda the 64× code recipe on one GPU in ten minutes (own tokenizer, 1K → 64K, baselines, passkey/perplexity/RULER); writes report.md with heatmaps.");
        foreach (var option in new Option[] { output, fast, pretrainSteps, extendSteps, extendBatch, extendLr, theta, seed, threads, device, data, tokenizer, budget, scale })
            command.Options.Add(option);

        command.SetHandler(async (parse, ct) =>
        {
            var dev = parse.GetValue(device)!.Trim().ToLowerInvariant();
            if (dev.StartsWith("cuda", StringComparison.Ordinal) || parse.GetValue(data) is not null || parse.GetValue(scale) is not null)
                return await CodeRecipeCommand.RunAsync(dev, parse.GetValue(data), parse.GetValue(tokenizer), parse.GetValue(budget), parse.GetValue(scale),
                    parse.GetResult(output) is null ? null : parse.GetValue(output), parse.GetValue(seed), parse.GetValue(CliCommon.Json), ct);
            var o = parse.GetValue(fast) ? QuickstartOptions.Fast : QuickstartOptions.Default;
            o = o with
            {
                PretrainMaxSteps = parse.GetValue(pretrainSteps) ?? o.PretrainMaxSteps,
                ExtendSteps = parse.GetValue(extendSteps) ?? o.ExtendSteps,
                ExtendBatch = parse.GetValue(extendBatch) ?? o.ExtendBatch,
                ExtendLearningRate = parse.GetValue(extendLr) ?? o.ExtendLearningRate,
                Seed = parse.GetValue(seed) ?? o.Seed,
                Threads = parse.GetValue(threads),
                Theta = parse.GetValue(theta)?.ToLowerInvariant() switch
                {
                    "scaling-law" => ThetaChoice.ScalingLaw,
                    "ntk" => ThetaChoice.Ntk,
                    var s => throw new ConfigException($"--theta {s}: use scaling-law or ntk."),
                },
            };
            try { o.Validate(); }
            catch (ArgumentException e) { throw new ConfigException($"quickstart options: {e.Message}"); }
            var outDir = parse.GetValue(output)!;
            var json = parse.GetValue(CliCommon.Json);
            var console = CliCommon.Console;
            var runner = new QuickstartRunner();

            QuickstartResult result;
            if (json) result = runner.Run(o, null, ct);
            else
            {
                console.MarkupLine($"[bold]LongContext quickstart[/]: pretrain at {o.PretrainLength} tokens, extend to {o.ExtendedLength} ({QuickstartReport.RuleName(o.Theta)} θ), on the embedded recall task.");
                result = ProgressView.Run(console, tasks =>
                {
                    var items = Enum.GetValues<QuickstartPhase>().ToDictionary(phase => phase, phase => tasks.Add(Label(phase, null), 1, start: false));
                    var progress = new InlineProgress(p =>
                    {
                        var t = items[p.Phase];
                        if (!t.IsStarted) t.Start();
                        t.Update(p.Step, p.Total, Label(p.Phase, p));
                        // Phases before this one are done (pretraining may stop early).
                        foreach (var (phase, other) in items)
                            if (phase < p.Phase && !other.IsFinished) other.Finish();
                    });
                    var r = runner.Run(o, progress, ct);
                    foreach (var t in items.Values) t.Finish();
                    return r;
                });
            }

            var summary = QuickstartReport.Write(result, outDir);
            if (json) CliCommon.WriteJson(summary);
            else Render(result, summary, console);
            return 0;
        });
        return command;
    }

    private static string Label(QuickstartPhase phase, QuickstartProgress? p)
    {
        var name = phase switch
        {
            QuickstartPhase.Pretrain => "Pretrain",
            QuickstartPhase.EvalBefore => "NIAH before",
            QuickstartPhase.Extend => "Extend (θ↑)",
            QuickstartPhase.EvalAfter => "NIAH after",
            _ => phase.ToString(),
        };
        if (p?.Loss is double loss)
            return string.Create(CultureInfo.InvariantCulture, $"{name,-13} step {p.Step}/{p.Total} loss {loss:0.000} acc {100 * (p.Accuracy ?? 0):0}%");
        return p is null ? name : $"{name,-13} cell {p.Step}/{p.Total}";
    }

    private static void Render(QuickstartResult r, QuickstartSummary s, IAnsiConsole console)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Needle retrieval accuracy (mean over depths)");
        table.AddColumn("");
        foreach (var l in r.Before.Lengths) table.AddColumn(new TableColumn(l.ToString(CultureInfo.InvariantCulture)).RightAligned());
        table.AddRow(new[] { "before" }.Concat(r.Before.ByLength().Select(Cell)).ToArray());
        table.AddRow(new[] { "after" }.Concat(r.After.ByLength().Select(Cell)).ToArray());
        console.Write(table);
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"θ {r.ThetaBefore:N0} → {r.ThetaAfter:N0}; pretrain {r.Pretrain.Steps} steps, extension {r.Extend.Steps} steps at {r.Options.ExtendedLength} tokens; " +
            $"total {r.TotalWall.TotalSeconds:0} s wall, {r.TotalCpu.TotalSeconds:0} s CPU."));
        console.MarkupLine($"Report: [link]{Markup.Escape(s.Report)}[/]");
    }

    private static string Cell(double v)
    {
        var text = v.ToString("0.#", CultureInfo.InvariantCulture) + "%";
        return v >= 95 ? $"[green]{text}[/]" : v >= 50 ? $"[yellow]{text}[/]" : $"[red]{text}[/]";
    }

    /// <summary>IProgress that updates on the calling (training) thread.</summary>
    private sealed class InlineProgress(Action<QuickstartProgress> report) : IProgress<QuickstartProgress>
    {
        public void Report(QuickstartProgress value) => report(value);
    }
}
