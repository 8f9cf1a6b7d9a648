using System.CommandLine;
using System.Globalization;
using LongContext.Core.Inference;
using LongContext.Core.Runtime;
using LongContext.Formats.Config;
using LongContext.Training.Recipes;
using LongContext.Training.Topology;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Cli.Commands;

/// <summary>`longctx pretrain`: random init from a config or preset, train on a corpus, export an HF folder to OUT/final.</summary>
public static class PretrainCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "HF config.json of the architecture to train" };
        var preset = new Option<string?>("--preset") { Description = $"Built-in architecture: {string.Join(", ", ModelPresets.Names)}" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Folder with tokenizer.json (copied into the export)", Required = true };
        var data = new Option<string>("--data") { Description = "Folder of text files or a .jsonl file (field \"text\")", Required = true };
        var maxFileBytes = DataOptions.MaxFileBytes();
        var seqLen = new Option<int>("--seq-len") { Description = "Training sequence length in tokens", Required = true };
        var outDir = new Option<string>("--out") { Description = "Run folder: token-cache/, train/ (checkpoints, metrics.jsonl, loss.png), final/ (HF export); rerunning resumes", Required = true };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps", DefaultValueFactory = _ => 1000 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (cosine decay to lr/10)", DefaultValueFactory = _ => 3e-4 };
        var batch = new Option<int>("--batch") { Description = "Sequences per micro-batch", DefaultValueFactory = _ => 1 };
        var accumulation = new Option<int>("--accumulation") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "Linear warmup steps", DefaultValueFactory = _ => 0 };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (0: only at the end)", DefaultValueFactory = _ => 500 };
        var seed = new Option<long>("--seed") { Description = "Seed of the initial weights and the data order", DefaultValueFactory = _ => 0 };
        var documentMask = TrainingCommandOptions.DocumentMask();
        var damaged = TrainingCommandOptions.DamagedCheckpoint();
        var parallel = TrainingCommandOptions.DataParallel();
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        accumulation.Description = "Micro-batches per optimizer step, over all ranks (under `longctx launch` each data-parallel rank computes accumulation/dp of them)";

        var command = new Command("pretrain", "Pre-train a model from random weights on a text corpus and export it as an HF folder (OUT/final). "
            + "Data parallel under `longctx launch --nproc-per-node N -- pretrain ...`; add --context-parallel C to share each sequence among C of the N ranks (dp = N/C).");
        foreach (var option in new Option[] { config, preset, tokenizer, data, maxFileBytes, seqLen, outDir, steps, lr, batch, accumulation, warmup, saveEvery, seed, documentMask, damaged, device, dtype }.Concat(parallel.All))
            command.Options.Add(option);

        command.SetHandler((parse, ct) =>
        {
            var modelConfig = (parse.GetValue(config), parse.GetValue(preset)) switch
            {
                ({ } file, null) => File.Exists(file)
                    ? ModelConfigLoader.Parse(File.ReadAllText(file), file)
                    : throw new ConfigException($"--config {file}: no such file (give an HF config.json)."),
                (null, { } p) => ModelPresets.Get(p),
                _ => throw new ConfigException("Give exactly one of --config CONFIG.json or --preset NAME."),
            };
            bool json = parse.GetValue(CliCommon.Json);
            var printer = new TrainingProgressPrinter(json);
            using var dist = parallel.Start(parse, TorchRuntime.ResolveDevice(parse.GetValue(device)!), printer.Line);
            dist.Topology.CheckSequenceLength(parse.GetValue(seqLen), $"--seq-len {parse.GetValue(seqLen)}");
            var dev = dist.Device;
            var type = TorchRuntime.ResolveDtype(parse.GetValue(dtype), dev);
            var recipe = new PretrainRecipe(dev, type, EngineSession.DefaultBackend(dev), dist.Topology);
            var result = recipe.Run(new PretrainOptions
            {
                Config = modelConfig,
                TokenizerDir = parse.GetValue(tokenizer)!,
                DataPath = parse.GetValue(data)!,
                MaxFileBytes = parse.GetValue(maxFileBytes),
                SequenceLength = parse.GetValue(seqLen),
                OutDir = parse.GetValue(outDir)!,
                Steps = parse.GetValue(steps),
                LearningRate = parse.GetValue(lr),
                BatchSize = parse.GetValue(batch),
                GradientAccumulation = parse.GetValue(accumulation),
                WarmupSteps = parse.GetValue(warmup),
                SaveEvery = parse.GetValue(saveEvery),
                Seed = parse.GetValue(seed),
                DocumentMask = parse.GetValue(documentMask),
                DamagedCheckpoint = parse.GetValue(damaged),
            }, dist.IsMain ? printer : null, ct);
            if (!dist.IsMain) return result.Interrupted ? 130 : 0;   // rank 0 reports for the group
            if (result.Data is { } corpus && !json) foreach (var line in corpus.Lines()) printer.Line(line);
            foreach (var w in result.Warnings) printer.Line($"warning: {w}");
            if (json) CliCommon.WriteJson(result);
            else
            {
                var t = result.Training;
                var state = result.AlreadyDone ? " (already finished; nothing trained)" : result.Interrupted ? " (interrupted; rerun to resume)" : "";
                CliCommon.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"pretrain: {result.Parameters / 1e6:0.##}M parameters, seq {result.SequenceLength}, {t.Steps} steps, final loss {t.FinalLoss:0.0000}, {t.TokensPerSecond:N0} tok/s{state}"));
                if (result.ExportDir is { } e) CliCommon.Console.WriteLine($"model: {e}");
            }
            return result.Interrupted ? 130 : 0;
        });
        return command;
    }
}
