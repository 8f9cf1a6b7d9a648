using System.CommandLine;
using LongContext.Core.Config;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Runtime;
using LongContext.Training.Plan;
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
            var dtype = dev.type == TorchSharp.DeviceType.CUDA ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32;
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
        return bench;
    }
}
