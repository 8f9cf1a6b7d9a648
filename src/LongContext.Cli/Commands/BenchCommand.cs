using System.CommandLine;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Runtime;
using LongContext.Eval.Runs;
using LongContext.Formats.Config;
using LongContext.Formats;
using LongContext.Training.Benchmarks;
using LongContext.Training.Plan;
using LongContext.Training.Loss;
using LongContext.Training.Topology;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>`longctx bench prefill`: prefill and decode speed for a preset shape with random weights.</summary>
public static class BenchCommand
{
    public sealed record Report(string Preset, string Device, string Dtype, string Attention, IReadOnlyList<PrefillMeasurement> Prefill, IReadOnlyList<DecodeMeasurement> Decode,
        string KvCache = "model", IReadOnlyList<PrefillDecodeMeasurement>? PrefillDecode = null);

    /// <summary>--out for every bench subcommand: the JSON lines, appended as each item finishes.</summary>
    internal static Option<string?> OutOption() => new("--out") { Description = "Also append every finished item (one JSON line each, then the summary) to this file as the run goes, so a run cut short keeps what it measured" };

    public static Command Create()
    {
        var bench = new Command("bench", "GPU benchmarks with random weights (no download).");
        var preset = new Option<string>("--preset") { Description = "Model shape: " + string.Join(", ", ModelPresets.Names), DefaultValueFactory = _ => "llama-3-8b" };
        var lengths = new Option<string>("--lengths") { Description = "Prefill lengths, e.g. 8k,32k,64k,128k", DefaultValueFactory = _ => "8k,32k,64k,128k" };
        var decode = new Option<string?>("--decode-contexts") { Description = "Contexts for batch-1 decode, e.g. 32k,128k" };
        var steps = new Option<int>("--decode-steps") { DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 2 };
        var warmupRuns = new Option<int>("--warmup-runs") { Description = "Untimed full-length prefills before the timed ones (0: a short 4K prefill warms the kernels instead)", DefaultValueFactory = _ => 1 };
        var chunk = new Option<int>("--prefill-chunk") { Description = "Tokens per prefill forward (0 = whole length)", DefaultValueFactory = _ => 0 };
        var bandwidth = new Option<double>("--bandwidth-gbs") { Description = "Memory bandwidth for the decode roofline (H100 SXM: 3350, H200: 4800)", DefaultValueFactory = _ => 3350 };
        var decodeModes = new Option<string>("--decode-modes") { Description = "Decode step modes to measure: graphs (CUDA graph replay), eager, or both", DefaultValueFactory = _ => "graphs,eager" };
        var decodeAfter = new Option<int?>("--decode-after") { Description = "Long-request mode: prefill each length once (chunked, progress per chunk) and decode this many tokens on the same cache: time to first token, decode tok/s, peak memory" };
        var kvCache = EngineOptions.KvCache();
        var output = OutOption();
        var device = EngineOptions.Device();
        var prefill = new Command("prefill", "Prefill tokens/s at each length (logits of the last token only), then decode tokens/s. Each finished measurement is one JSON line (--json, --out).");
        foreach (var o in new Option[] { preset, lengths, decode, steps, runs, warmupRuns, chunk, bandwidth, decodeModes, decodeAfter, kvCache, output, device }) prefill.Options.Add(o);
        prefill.SetHandler((parse, _) =>
        {
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var dtype = TorchRuntime.ResolveDtype(null, dev);
            var storage = EngineOptions.ParseKvCache(parse.GetValue(kvCache)!);
            var modes = parse.GetValue(decodeModes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var mode in modes)
                if (mode is not ("graphs" or "eager")) throw new ArgumentException($"--decode-modes: unknown mode '{mode}' (graphs, eager)");
            if (parse.GetValue(runs) < 1) throw new ConfigException($"--runs {parse.GetValue(runs)}: must be at least 1.");
            if (parse.GetValue(warmupRuns) < 0) throw new ConfigException($"--warmup-runs {parse.GetValue(warmupRuns)}: must be ≥ 0.");
            var lengthList = ContextLength.ParseList(parse.GetValue(lengths)!, "--lengths");
            var decodeList = parse.GetValue(decode) is string dc ? ContextLength.ParseList(dc, "--decode-contexts") : [];
            bool json = parse.GetValue(CliCommon.Json);
            using var output_ = new BenchOutput(json, parse.GetValue(output));
            BenchOutput.Progress($"bench prefill: {parse.GetValue(preset)} on {dev}, KV cache {InferenceBenchmark.StorageName(storage)}; creating random weights");
            using var model = ModelLoader.CreateRandom(config, dev, dtype);
            var backend = EngineSession.DefaultBackend(dev);
            var b = new InferenceBenchmark(model, backend, storage);
            bool graphsOk = GraphedDecoder.GraphsAvailable(dev);
            double bytesPerSecond = parse.GetValue(bandwidth) * 1e9;
            var chunkProgress = new InlineProgress<PrefillChunkProgress>(p =>
            {
                output_.Item("prefill_chunk", new { p.Length, p.TokensDone, p.Seconds, p.ChunkSeconds, p.TokensPerSecond,
                    Tflops = InferenceBenchmark.PrefillFlops(config, p.TokensDone) / Math.Max(p.Seconds, 1e-9) / 1e12 });
                BenchOutput.Progress($"  prefill {p.Length}: {p.TokensDone}/{p.Length} tokens in {p.Seconds:F1} s ({p.TokensPerSecond:F0} tok/s so far)");
            });
            var pre = new List<PrefillMeasurement>();
            var longRequests = new List<PrefillDecodeMeasurement>();
            foreach (var len in lengthList)
            {
                int c = parse.GetValue(chunk) is > 0 and var ch ? ch : (int)len;
                bool chunked = c < len;
                if (parse.GetValue(decodeAfter) is int after)
                {
                    string mode = modes.Contains("graphs") && graphsOk ? "graphs" : "eager";
                    BenchOutput.Progress($"prefill {len} once in chunks of {c}, then {after} decode steps ({mode})");
                    var m = b.PrefillThenDecode((int)len, c, after, mode == "graphs", bytesPerSecond, chunked ? chunkProgress : null);
                    longRequests.Add(m);
                    output_.Item("prefill_decode", m);
                    BenchOutput.Progress($"prefill {len}: TTFT {m.TtftSeconds:F1} s ({m.PrefillTokensPerSecond:F0} tok/s), decode {m.DecodeTokensPerSecond:F1} tok/s {m.Error}");
                    continue;
                }
                BenchOutput.Progress($"prefill {len}: {parse.GetValue(warmupRuns)} warm-up + {parse.GetValue(runs)} timed run(s), chunk {c}");
                var p = b.Prefill((int)len, parse.GetValue(runs), c, parse.GetValue(warmupRuns), chunked ? chunkProgress : null);
                pre.Add(p);
                output_.Item("prefill", p);
                BenchOutput.Progress($"prefill {len}: {p.TokensPerSecond:F0} tok/s {p.Error}");
            }
            var dec = new List<DecodeMeasurement>();
            foreach (var ctx in decodeList)
                foreach (var mode in modes)
                {
                    if (mode == "graphs" && !graphsOk)
                    {
                        BenchOutput.Progress($"decode graphs: skipped (needs CUDA and the native add-on)");
                        continue;
                    }
                    var m = b.Decode((int)ctx, parse.GetValue(steps), 8192, bytesPerSecond, graphs: mode == "graphs");
                    dec.Add(m);
                    output_.Item("decode", m);
                    BenchOutput.Progress($"decode at {ctx} ({mode}): {m.TokensPerSecond:F1} tok/s {m.Error}");
                }
            var report = new Report(parse.GetValue(preset)!, dev.ToString(), dtype.ToString(), backend.Name, pre, dec, b.KvCacheName,
                longRequests.Count > 0 ? longRequests : null);
            output_.Summary(report);
            if (!json)
            {
                var t = new Table().AddColumns("Length", "tok/s", "TFLOP/s", "Peak GiB", "Note");
                foreach (var m in pre) t.AddRow($"{m.Length}", $"{m.TokensPerSecond:F0}", $"{m.Tflops:F0}", $"{m.PeakBytes / (double)(1L << 30):F1}", m.Error ?? "");
                if (pre.Count > 0) CliCommon.Console.Write(t);
                var l = new Table().AddColumns("Prompt", "KV cache", "TTFT s", "prefill tok/s", "decode tok/s", "of bandwidth limit", "Peak GiB", "Note");
                foreach (var m in longRequests)
                    l.AddRow($"{m.Length}", m.KvCache, $"{m.TtftSeconds:F1}", $"{m.PrefillTokensPerSecond:F0}", $"{m.DecodeTokensPerSecond:F1}", $"{m.DecodeBandwidthFraction:P0}",
                        $"{m.PeakBytes / (double)(1L << 30):F1}", m.Error ?? "");
                if (longRequests.Count > 0) CliCommon.Console.Write(l);
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

    /// <param name="WorldSize">Ranks (1 without a launcher): dp × cp; tokens/s are those of all of them.</param>
    /// <param name="Backend">Process group: single, tcp or nccl.</param>
    /// <param name="ContextParallel">Ranks sharing each sequence (cp); the data-parallel degree is WorldSize / cp.</param>
    public sealed record TrainReport(string Preset, string Device, string Dtype, string Attention, int LossChunkTokens, string Checkpointing,
        bool OffloadToHost, IReadOnlyList<TrainMeasurement> Lengths, int? LongestTrained, int WorldSize = 1, string Backend = "single", int Zero = 0,
        int ContextParallel = 1);

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
        var output = OutOption();
        var device = EngineOptions.Device();
        var parallel = TrainingCommandOptions.DataParallel();
        var train = new Command("train", "Full fine-tuning tokens/s and peak memory per sequence length (random weights and tokens), through the real trainer. Each finished length is one JSON line (--json, --out). "
            + "Data parallel under `longctx launch --nproc-per-node N -- bench train ...` (one sequence per rank and step; tok/s of all ranks; rank 0 reports); "
            + "with --context-parallel C, C ranks share each sequence (one sequence per C ranks; lengths multiples of 2·C).");
        foreach (var o in new Option[] { preset, lengths, steps, warmup, probeMax, chunk, checkpoint, offload, peak, output, device }.Concat(parallel.All)) train.Options.Add(o);
        train.SetHandler((parse, _) =>
        {
            using var dist = parallel.Start(parse, TorchRuntime.ResolveDevice(parse.GetValue(device)!), line => BenchOutput.Progress($"{line}"));
            var dev = dist.Device;
            var config = ModelPresets.Get(parse.GetValue(preset)!);
            var dtype = TorchRuntime.ResolveDtype(null, dev);
            string mode = parse.GetValue(checkpoint)!.Trim().ToLowerInvariant();
            int? layers = mode switch
            {
                "all" or "auto" => null,
                "none" => 0,
                _ when int.TryParse(mode, out int n) && n >= 0 => Math.Min(n, config.NumHiddenLayers),
                _ => throw new ArgumentException($"--checkpointing {mode}: use all, none, auto or a layer count"),
            };
            var listed = ContextLength.ParseList(parse.GetValue(lengths)!, "--lengths").Select(l => (int)l).ToList();
            foreach (var l in listed) dist.Topology.CheckSequenceLength(l, $"--lengths: {l}");
            long? max = parse.GetValue(probeMax) is string pm ? ContextLength.Parse(pm, "--probe-max") : null;
            bool json = parse.GetValue(CliCommon.Json);
            // Every rank measures (they train together); rank 0 reports.
            using var output_ = dist.IsMain ? new BenchOutput(json, parse.GetValue(output)) : null;
            void Progress(FormattableString line) { if (dist.IsMain) BenchOutput.Progress(line); }
            Progress($"bench train: {parse.GetValue(preset)} on {dev}{(dist.WorldSize > 1 ? $" × {dist.WorldSize} ranks ({dist.Backend}, {dist.Dims})" : "")}, checkpointing {mode}{(parse.GetValue(offload) ? " + offload" : "")}; creating random weights");
            using var model = ModelLoader.CreateRandom(config, dev, dtype);
            var backend = EngineSession.DefaultBackend(dev);
            LongSequenceLoss NewLoss() => new(parse.GetValue(chunk), layers, parse.GetValue(offload), autoCheckpointing: mode == "auto");
            var bench = new TrainingBenchmark(model, backend, NewLoss, parse.GetValue(peak) * 1e12, dist.Topology);
            var results = new List<TrainMeasurement>();
            void Run(int length, int warm, int timed)
            {
                Progress($"train {length}: {warm} warm-up + {timed} timed step(s)...");
                var m = bench.Measure(length, warm, timed);
                results.Add(m);
                output_?.Item("train", m);
                Progress($"train {length}: {(m.Error ?? $"{m.TokensPerSecond:F0} tok/s, {m.MedianStepSeconds:F2} s/step, peak {m.PeakBytes / (double)(1L << 30):F1} GiB")}");
            }
            foreach (var len in listed) Run(len, parse.GetValue(warmup), parse.GetValue(steps));
            if (max is long probeLimit && results.All(r => r.Error is null))
            {
                for (long len = (long)listed.Max() * 2; len <= probeLimit; len *= 2)
                {
                    Run((int)len, 0, 1);   // a memory probe: one untimed-warm-up-free step says whether it trains
                    if (results[^1].Error is not null) break;
                }
            }
            int? longest = results.Where(r => r.Error is null).Select(r => (int?)r.Length).Max();
            var report = new TrainReport(parse.GetValue(preset)!, dev.ToString(), dtype.ToString(), dist.Topology.AttentionBackend(backend).Name, parse.GetValue(chunk), mode, parse.GetValue(offload), results, longest,
                dist.WorldSize, dist.Backend, parse.GetValue(parallel.Zero), dist.Dims.Cp);
            if (output_ is null) return 0;
            output_.Summary(report);
            if (!json)
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
