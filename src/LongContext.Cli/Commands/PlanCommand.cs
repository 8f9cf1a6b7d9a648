using System.CommandLine;
using System.Globalization;
using LongContext.Formats.Config;
using LongContext.Formats;
using LongContext.Training.Plan;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx plan`: θ per stage, tokens, steps, memory per GPU and time for a progressive context extension.</summary>
public static class PlanCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder with an HF config.json" };
        var preset = new Option<string?>("--preset") { Description = $"Built-in architecture: {string.Join(", ", ModelPresets.Names)}" };
        var target = new Option<string?>("--target") { Description = "Final context length: 1048576, 1M, 256K (K = 1024, M = 1024²)" };
        var stages = new Option<string?>("--stages") { Description = "Stage lengths, e.g. 64K,256K,1M (default: ×8, ×4, then doubling from the native length)" };
        var gpus = new Option<string>("--gpus") { Description = $"COUNTxTYPE; types: {string.Join(", ", GpuType.Known.Select(g => g.Name))}", DefaultValueFactory = _ => "8xH100" };
        var theta = new Option<string>("--theta") { Description = "θ per stage: scaling-law | ntk | fixed:V1,V2,...", DefaultValueFactory = _ => "scaling-law" };
        var mfu = new Option<double>("--mfu") { Description = "Model-FLOPs utilisation assumed for time estimates", DefaultValueFactory = _ => 0.4 };
        var ring = new Option<int?>("--ring") { Description = "Ring (sequence-parallel) size for all stages (default: smallest that fits, per stage)" };
        var tokens = new Option<string?>("--tokens-per-stage") { Description = "Tokens per stage: one value or one per stage (K/M/G binary), default Gradient's budgets" };
        var batch = new Option<int?>("--batch") { Description = "Global batch in sequences per optimizer step (default Gradient's per stage)" };
        var lr = new Option<double>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 2e-5 };
        var offload = new Option<bool>("--offload-optimizer") { Description = "Keep fp32 master weights and Adam states in host memory" };
        var zero = new Option<int>("--zero") { Description = "Optimizer sharding the run will use (extend --zero): 0 replicated AdamW, 1 sharded masters and moments, 2 also sharded gradients", DefaultValueFactory = _ => 2 };

        var command = new Command("plan", "Plan a progressive context extension: θ, tokens, steps, memory per GPU and time per stage.");
        foreach (var option in new Option[] { model, preset, target, stages, gpus, theta, mfu, ring, tokens, batch, lr, offload, zero })
            command.Options.Add(option);

        command.SetHandler((parse, _) =>
        {
            var (config, name) = (parse.GetValue(model), parse.GetValue(preset)) switch
            {
                ({ } dir, null) => (ModelConfigLoader.LoadFromDirectory(dir), dir),
                (null, { } p) => (ModelPresets.Get(p), p),
                _ => throw new ConfigException("Give exactly one of --model DIR or --preset NAME."),
            };
            var request = new PlanRequest
            {
                Model = config,
                ModelName = name,
                Gpus = GpuCluster.Parse(parse.GetValue(gpus)!),
                Target = parse.GetValue(target) is { } t ? ContextLength.Parse(t, "--target") : null,
                Stages = parse.GetValue(stages) is { } s ? ContextLength.ParseList(s, "--stages") : null,
                Theta = ThetaRule.Parse(parse.GetValue(theta)!),
                Mfu = parse.GetValue(mfu),
                Ring = parse.GetValue(ring),
                TokensPerStage = parse.GetValue(tokens) is { } tk ? ContextLength.ParseList(tk, "--tokens-per-stage") : null,
                BatchSequences = parse.GetValue(batch),
                LearningRate = parse.GetValue(lr),
                OffloadOptimizer = parse.GetValue(offload),
                Zero = parse.GetValue(zero),
            };
            var plan = ContextPlanner.Plan(request);
            if (parse.GetValue(CliCommon.Json)) CliCommon.WriteJson(plan);
            else Render(plan, CliCommon.Console);
            return 0;
        });
        return command;
    }

    /// <summary>The human view: stage table, memory breakdown, totals, warnings and notes.</summary>
    public static void Render(ContextPlan plan, IAnsiConsole console)
    {
        var m = plan.Model;
        console.MarkupLine($"[bold]{Markup.Escape(m.Name)}[/] ({m.Parameters / 1e9:0.00}B parameters, native {ContextLength.Format(m.NativeLength)}, θ₀ {m.RopeTheta:N0}) on {plan.Gpus.Count}x{plan.Gpus.Type}");

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "Stage", "Length", "θ", "Tokens", "Batch × steps", "Ring × DP", "Memory/GPU", "Eval KV/GPU", "Time", "GPU-h" })
            table.AddColumn(new TableColumn(header).RightAligned());
        foreach (var s in plan.Stages)
        {
            string memory = $"{Gib(s.Memory.Total)}" + (s.Fits ? "" : " [red](over)[/]");
            table.AddRow(s.Index.ToString(CultureInfo.InvariantCulture), ContextLength.Format(s.Length), s.Theta.ToString("N0", CultureInfo.InvariantCulture),
                Count(s.Tokens), $"{s.BatchSequences} × {s.Steps}", $"{s.Ring} × {s.DataParallel}", memory, Gib(s.EvalKvCachePerGpuBytes),
                Duration(s.TimeSeconds), s.GpuHours.ToString("N0", CultureInfo.InvariantCulture));
        }
        console.Write(table);

        var breakdown = new Table().Border(TableBorder.Rounded).Title("Memory per GPU (GiB)");
        foreach (var header in new[] { "Stage", "Tokens/GPU", "Weights", "Grads", "Optimizer", "Buffers", "Checkpoints", "Layer", "Ring", "LM head", "Reserve", "Total" })
            breakdown.AddColumn(new TableColumn(header).RightAligned());
        foreach (var s in plan.Stages)
        {
            var x = s.Memory;
            breakdown.AddRow(new[] { s.Index.ToString(CultureInfo.InvariantCulture), ContextLength.Format(x.ShardTokens) }
                .Concat(new[] { x.Weights, x.Gradients, x.Optimizer, x.CommunicationBuffers, x.Checkpoints, x.LayerWorkingSet, x.RingBuffers, x.LmHeadChunk, x.Reserve, x.Total }
                    .Select(b => (b / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture))).ToArray());
        }
        console.Write(breakdown);

        var t = plan.Totals;
        console.MarkupLine($"Total: {Count(t.Tokens)} tokens, {t.Steps} steps, {t.Flops:0.00e+0} FLOPs, {Duration(t.TimeSeconds)} ({t.GpuHours:N0} GPU-hours) at MFU {plan.Layout.Mfu:0.##}.");
        foreach (var w in plan.Warnings) console.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        foreach (var n in plan.Notes) console.MarkupLine($"[grey]note: {Markup.Escape(n)}[/]");
    }

    private static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";

    private static string Count(long n) => n >= 1_000_000_000
        ? (n / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + "B"
        : (n / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + "M";

    private static string Duration(double seconds) => seconds >= 3600
        ? (seconds / 3600).ToString("0.0", CultureInfo.InvariantCulture) + " h"
        : (seconds / 60).ToString("0.0", CultureInfo.InvariantCulture) + " min";
}
