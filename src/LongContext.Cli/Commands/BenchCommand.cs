using System.CommandLine;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Runtime;
using LongContext.Formats.Config;
using LongContext.Training.Benchmarks;
using LongContext.Training.Plan;
using LongContext.Training.Loss;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx bench prefill`: prefill and decode speed for a preset shape with random weights.</summary>
public static class BenchCommand
{
    public sealed record Report(string Preset, string Device, string Dtype, string Attention, IReadOnlyList<PrefillMeasurement> Prefill, IReadOnlyList<DecodeMeasurement> Decode);

    public static Command Create()
    {
        var bench = new Command("bench", "GPU benchmarks with random weights (no download).");
        var preset = new Option<string>("--preset") { Description = "Model shape: " + string.Join(", ", ModelPresets.Names), DefaultValueFactory = _ => "llama-3-8b" };
        var lengths = new Option<string>("--lengths") { Description = "Prefill lengths, e.g. 8k,32k,64k,128k", DefaultValueFactory = _ => "8k,32k,64k,128k" };
        var decode = new Option<string?>("--decode-contexts") { Description = "Contexts for batch-1 decode, e.g. 32k,128k" };
        var steps = new Option<int>("--decode-steps") { DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 2 };
        var chunk = new Option<int>("--prefill-chunk") { Description = "Tokens per prefill forward (0 = whole length)", DefaultValueFactory = _ => 0 };
        var bandwidth = new Option<double>("--bandwidth-gbs") { Description = "Memory bandwidth for the decode roofline (H100 SXM: 3350)", DefaultValueFactory = _ => 3350 };
        var decodeModes = new Option<string>("--decode-modes") { Description = "Decode step modes to measure: graphs (CUDA graph replay), eager, or both", DefaultValueFactory = _ => "graphs,eager" };
        var device = EngineOptions.Device();
        var prefill = new Command("prefill", "Prefill tokens/s at each length (logits of the last token only), then decode tokens/s.");
        foreach (var o in new Option[] { preset, lengths, decode, steps, runs, chunk, bandwidth, decodeModes, device }) prefill.Options.Add(o);
        prefill.SetHandler((parse, _) =>
        {
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var dtype = TorchRuntime.ResolveDtype(null, dev);
            using var model = ModelLoader.CreateRandom(config, dev, dtype);
            var backend = EngineSession.DefaultBackend(dev);
            var b = new InferenceBenchmark(model, backend);
            bool json = parse.GetValue(CliCommon.Json);
            var pre = new List<PrefillMeasurement>();
            foreach (var len in ContextLength.ParseList(parse.GetValue(lengths)!, "--lengths"))
            {
                int c = parse.GetValue(chunk) is > 0 and var ch ? ch : (int)len;
                var m = b.Prefill((int)len, parse.GetValue(runs), c);
                pre.Add(m);
                if (!json) Console.Error.WriteLine($"prefill {len}: {m.TokensPerSecond:F0} tok/s {m.Error}");
            }
            var dec = new List<DecodeMeasurement>();
            if (parse.GetValue(decode) is string dc)
            {
                var modes = parse.GetValue(decodeModes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var mode in modes)
                    if (mode is not ("graphs" or "eager")) throw new ArgumentException($"--decode-modes: unknown mode '{mode}' (graphs, eager)");
                bool graphsOk = GraphedDecoder.GraphsAvailable(dev);
                foreach (var ctx in ContextLength.ParseList(dc, "--decode-contexts"))
                    foreach (var mode in modes)
                    {
                        if (mode == "graphs" && !graphsOk)
                        {
                            if (!json) Console.Error.WriteLine("decode graphs: skipped (needs CUDA and the native add-on)");
                            continue;
                        }
                        var m = b.Decode((int)ctx, parse.GetValue(steps), 8192, parse.GetValue(bandwidth) * 1e9, graphs: mode == "graphs");
                        dec.Add(m);
                        if (!json) Console.Error.WriteLine($"decode at {ctx} ({mode}): {m.TokensPerSecond:F1} tok/s {m.Error}");
                    }
            }
            var report = new Report(parse.GetValue(preset)!, dev.ToString(), dtype.ToString(), backend.Name, pre, dec);
            if (json) CliCommon.WriteJson(report);
            else
            {
                var t = new Table().AddColumns("Length", "tok/s", "TFLOP/s", "Peak GiB", "Note");
                foreach (var m in pre) t.AddRow($"{m.Length}", $"{m.TokensPerSecond:F0}", $"{m.Tflops:F0}", $"{m.PeakBytes / (double)(1L << 30):F1}", m.Error ?? "");
                CliCommon.Console.Write(t);
                var d = new Table().AddColumns("Context", "Mode", "decode tok/s", "of bandwidth limit", "Peak GiB", "Note");
                foreach (var m in dec) d.AddRow($"{m.Context}", m.Mode, $"{m.TokensPerSecond:F1}", $"{m.BandwidthFraction:P0}", $"{m.PeakBytes / (double)(1L << 30):F1}", m.Error ?? "");
                if (dec.Count > 0) CliCommon.Console.Write(d);
            }
            return 0;
        });
        bench.Subcommands.Add(prefill);
        bench.Subcommands.Add(CreateTrain());
        bench.Subcommands.Add(BenchServeCommand.Create());
        bench.Subcommands.Add(BenchRingCommand.Create());
        return bench;
    }

    public sealed record TrainReport(string Preset, string Device, string Dtype, string Attention, int LossChunkTokens, string Checkpointing,
        bool OffloadToHost, IReadOnlyList<TrainMeasurement> Lengths, int? LongestTrained);

    static Command CreateTrain()
    {
        var preset = new Option<string>("--preset") { Description = "Model shape: " + string.Join(", ", ModelPresets.Names), DefaultValueFactory = _ => "llama-3.2-1b" };
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths (batch 1), e.g. 16k,32k", DefaultValueFactory = _ => "16k,32k" };
        var steps = new Option<int>("--steps") { Description = "Timed optimizer steps per length (median reported)", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 1 };
        var probeMax = new Option<string?>("--probe-max") { Description = "After the listed lengths, double the length until out of memory or this length (one step each, no warm-up), e.g. 256k" };
        var chunk = new Option<int>("--loss-chunk") { Description = "Tokens per LM-head + cross-entropy chunk", DefaultValueFactory = _ => 4096 };
        var checkpoint = new Option<string>("--checkpointing") { Description = "Activation checkpointing: all (every layer), none, a layer count N (the first N), or auto (as few layers as fit the device, measured on the first two steps)", DefaultValueFactory = _ => "all" };
        var offload = new Option<bool>("--offload") { Description = "Keep checkpointed layer inputs in host memory" };
        var peak = new Option<double>("--peak-tflops") { Description = "Peak bf16 TFLOP/s for MFU (H100 SXM dense: 989)", DefaultValueFactory = _ => 989 };
        var device = EngineOptions.Device();
        var train = new Command("train", "Full fine-tuning tokens/s and peak memory per sequence length (random weights and tokens), through the real trainer.");
        foreach (var o in new Option[] { preset, lengths, steps, warmup, probeMax, chunk, checkpoint, offload, peak, device }) train.Options.Add(o);
        train.SetHandler((parse, _) =>
        {
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var dtype = TorchRuntime.ResolveDtype(null, dev);
            using var model = ModelLoader.CreateRandom(config, dev, dtype);
            var backend = EngineSession.DefaultBackend(dev);
            string mode = parse.GetValue(checkpoint)!.Trim().ToLowerInvariant();
            int? layers = mode switch
            {
                "all" or "auto" => null,
                "none" => 0,
                _ when int.TryParse(mode, out int n) && n >= 0 => Math.Min(n, config.NumHiddenLayers),
                _ => throw new ArgumentException($"--checkpointing {mode}: use all, none, auto or a layer count"),
            };
            LongSequenceLoss NewLoss() => new(parse.GetValue(chunk), layers, parse.GetValue(offload), autoCheckpointing: mode == "auto");
            var bench = new TrainingBenchmark(model, backend, NewLoss, parse.GetValue(peak) * 1e12);
            bool json = parse.GetValue(CliCommon.Json);
            var results = new List<TrainMeasurement>();
            void Run(int length, int warm, int timed)
            {
                var m = bench.Measure(length, warm, timed);
                results.Add(m);
                if (!json) Console.Error.WriteLine($"train {length}: {(m.Error ?? $"{m.TokensPerSecond:F0} tok/s, peak {m.PeakBytes / (double)(1L << 30):F1} GiB")}");
            }
            var listed = ContextLength.ParseList(parse.GetValue(lengths)!, "--lengths").Select(l => (int)l).ToList();
            foreach (var len in listed) Run(len, parse.GetValue(warmup), parse.GetValue(steps));
            if (parse.GetValue(probeMax) is string pm && results.All(r => r.Error is null))
            {
                long max = ContextLength.Parse(pm, "--probe-max");
                for (long len = (long)listed.Max() * 2; len <= max; len *= 2)
                {
                    Run((int)len, 0, 1);   // a memory probe: one untimed-warm-up-free step says whether it trains
                    if (results[^1].Error is not null) break;
                }
            }
            int? longest = results.Where(r => r.Error is null).Select(r => (int?)r.Length).Max();
            var report = new TrainReport(parse.GetValue(preset)!, dev.ToString(), dtype.ToString(), backend.Name, parse.GetValue(chunk), mode, parse.GetValue(offload), results, longest);
            if (json) CliCommon.WriteJson(report);
            else
            {
                var t = new Table().AddColumns("Length", "tok/s", "step s", "MFU", "Peak GiB", "Checkpointed layers", "Note");
                foreach (var m in results)
                    t.AddRow($"{m.Length}", $"{m.TokensPerSecond:F0}", $"{m.MedianStepSeconds:F2}", m.Mfu is double f ? $"{f:P0}" : "-", $"{m.PeakBytes / (double)(1L << 30):F1}",
                        m.RecomputedLayers is int c ? $"{c}" : "all", m.Error ?? "");
                CliCommon.Console.Write(t);
            }
            return 0;
        });
        return train;
    }
}
