using System.CommandLine;
using System.Globalization;
using LongContext.Core.Inference;
using LongContext.Core.Runtime;
using LongContext.Eval.Engine;
using LongContext.Formats;
using LongContext.Training.Lora;
using LongContext.Training.Plan;
using LongContext.Training.Recipes;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Cli.Commands;

/// <summary>`longctx extend`: progressive context extension over stages (θ per stage, train, export, quick NIAH), resumable.</summary>
public static class ExtendCommand
{
    public static Command Create()
    {
        var model = EngineOptions.Model();
        var data = new Option<string>("--data") { Description = "Folder of text files or a .jsonl file (field \"text\"), tokenized with the model's tokenizer", Required = true };
        var maxFileBytes = DataOptions.MaxFileBytes();
        var stages = new Option<string>("--stages") { Description = "Stage lengths, increasing, e.g. 64K,256K,1M (K = 1024, M = 1024²)", Required = true };
        var outDir = new Option<string>("--out") { Description = "Run folder: stage-<len>/{train,final,niah}/; rerunning resumes the current stage and skips finished ones", Required = true };
        var theta = new Option<string>("--theta") { Description = "θ per stage from the starting model: scaling-law | ntk | fixed:V1,V2,...", DefaultValueFactory = _ => "scaling-law" };
        var steps = new Option<int?>("--steps-per-stage") { Description = $"Optimizer steps per stage (default {ExtendOptions.DefaultStepsPerStage})" };
        var tokens = new Option<string?>("--tokens-per-stage") { Description = "Tokens per stage instead of steps, e.g. 1G, 500M" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (cosine decay to lr/10)", DefaultValueFactory = _ => 2e-5 };
        var batch = new Option<int>("--batch") { Description = "Sequences per micro-batch", DefaultValueFactory = _ => 1 };
        var accumulation = new Option<int>("--accumulation") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "Linear warmup steps per stage", DefaultValueFactory = _ => 0 };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (0: only at the end of a stage)", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { Description = "Seed of the data order", DefaultValueFactory = _ => 0 };
        var documentMask = TrainingCommandOptions.DocumentMask();
        var damaged = TrainingCommandOptions.DamagedCheckpoint();
        var parallel = TrainingCommandOptions.DataParallel();
        accumulation.Description = "Micro-batches per optimizer step, over all ranks (under `longctx launch` each data-parallel rank computes accumulation/dp of them)";
        var niahDepths = new Option<int>("--niah-depths") { Description = "Needle depths of the quick NIAH at each stage's length (0 skips it)", DefaultValueFactory = _ => 5 };
        var loraRank = new Option<int?>("--lora-rank") { Description = "Train LoRA adapters of this rank (alpha 2·rank; merged into the export) instead of all weights" };
        var loraTargets = new Option<string?>("--lora-targets") { Description = "Projections with adapters, e.g. q_proj,k_proj,v_proj,o_proj (default) or add gate_proj,up_proj,down_proj" };
        var loraTrainable = new Option<string?>("--lora-trainable") { Description = "Base parameters that stay trainable with LoRA, as in LongLoRA: embed, norm, lm_head (e.g. embed,norm)" };
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();

        var command = new Command("extend", "Extend a model's context over stages: θ per stage, train at the stage length, export OUT/stage-<len>/final, quick NIAH. "
            + "Data parallel under `longctx launch --nproc-per-node N -- extend ...`; add --context-parallel C to share each sequence among C of the N ranks "
            + "(dp = N/C; every stage length a multiple of 2·C), as Gradient trained Llama-3 to 1M tokens.");
        foreach (var option in new Option[] { model, data, maxFileBytes, stages, outDir, theta, steps, tokens, lr, batch, accumulation, warmup, saveEvery, seed, documentMask, damaged, niahDepths, loraRank, loraTargets, loraTrainable, device, dtype }.Concat(parallel.All))
            command.Options.Add(option);

        command.SetHandler(async (parse, ct) =>
        {
            bool json = parse.GetValue(CliCommon.Json);
            string deviceSpec = parse.GetValue(device)!;
            var printer = new TrainingProgressPrinter(json);
            using var dist = parallel.Start(parse, TorchRuntime.ResolveDevice(deviceSpec), printer.Line);
            var dev = dist.Device;
            if (dist.WorldSize > 1 || dist.Backend != "single") deviceSpec = dev.ToString();   // rank 0's NIAH check on its own GPU
            var dtypeName = parse.GetValue(dtype);
            var type = TorchRuntime.ResolveDtype(dtypeName, dev);
            var options = new ExtendOptions
            {
                ModelDir = parse.GetValue(model)!,
                DataPath = parse.GetValue(data)!,
                MaxFileBytes = parse.GetValue(maxFileBytes),
                Stages = ContextLength.ParseList(parse.GetValue(stages)!, "--stages"),
                OutDir = parse.GetValue(outDir)!,
                Theta = ThetaRule.Parse(parse.GetValue(theta)!),
                StepsPerStage = parse.GetValue(steps),
                TokensPerStage = parse.GetValue(tokens) is { } t ? ContextLength.Parse(t, "--tokens-per-stage") : null,
                LearningRate = parse.GetValue(lr),
                BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accumulation),
                WarmupSteps = parse.GetValue(warmup),
                SaveEvery = parse.GetValue(saveEvery),
                Seed = parse.GetValue(seed),
                DocumentMask = parse.GetValue(documentMask),
                DamagedCheckpoint = parse.GetValue(damaged),
                NiahDepths = parse.GetValue(niahDepths),
                LoraRank = parse.GetValue(loraRank),
                LoraTargets = parse.GetValue(loraTargets) is string targets ? LoraOptions.ParseList(targets) : null,
                LoraTrainable = LoraOptions.ParseList(parse.GetValue(loraTrainable)),
            };
            var progress = new Progress(printer);
            StageEvaluator niah = (dir, length, niahOut, token) =>
                NiahQuickCheck.RunAsync(dir, length, options.NiahDepths, niahOut, deviceSpec, dtypeName, ct: token);
            var result = await new ExtendRecipe(dev, type, EngineSession.DefaultBackend(dev), topology: dist.Topology).RunAsync(options, niah, dist.IsMain ? progress : null, ct);
            if (!dist.IsMain) return result.Interrupted ? 130 : 0;   // rank 0 reports for the group
            if (json) CliCommon.WriteJson(result);
            else Render(result, CliCommon.Console);
            return result.Interrupted ? 130 : 0;
        });
        return command;
    }

    static void Render(ExtendResult result, IAnsiConsole console)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "Stage", "Length", "θ", "Steps", "Final loss", "Tokens/s", "NIAH", "Note" })
            table.AddColumn(new TableColumn(header).RightAligned());
        foreach (var s in result.Stages)
        {
            var inv = CultureInfo.InvariantCulture;
            table.AddRow(s.Index.ToString(inv), ContextLength.Format(s.Length), s.RopeTheta.ToString("N0", inv), s.Training.Steps.ToString(inv),
                s.Training.FinalLoss?.ToString("0.0000", inv) ?? "-", s.Training.TokensPerSecond?.ToString("N0", inv) ?? "-",
                s.NiahScore?.ToString("0.#", inv) ?? "-", s.Skipped ? "done before" : s.Interrupted ? "interrupted" : "");
        }
        console.Write(table);
        foreach (var s in result.Stages)
        foreach (var w in s.Warnings) console.MarkupLine($"[yellow]warning:[/] stage {s.Index}: {Markup.Escape(w)}");
        if (result.Interrupted) console.MarkupLine("[yellow]interrupted:[/] rerun the same command to resume from the last checkpoint.");
        else if (result.FinalModel is { } f) console.MarkupLine($"model: {Markup.Escape(f)}");
    }

    /// <summary>Stage phases as lines, training steps through the step printer.</summary>
    sealed class Progress(TrainingProgressPrinter printer) : IProgress<ExtendProgress>
    {
        public void Report(ExtendProgress p)
        {
            if (p.Training is { } t) printer.Report(t);
            else printer.Line($"stage {p.Stage}/{p.Stages} ({ContextLength.Format(p.Length)}): {p.Phase}");
        }
    }
}
