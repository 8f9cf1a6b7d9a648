using System.CommandLine;
using LongContext.Core.Attention;
using LongContext.Core.Runtime;
using LongContext.Parallel.ContextParallel;
using LongContext.Formats;
using LongContext.Training.Plan;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>
/// `longctx bench ring`: the compute part of ring efficiency on one GPU, each world size's ranks simulated one after
/// another with the per-step blocks they would run, against one fused call over the same tokens.
/// </summary>
public static class BenchRingCommand
{
    public sealed record Report(string Device, string Dtype, long SequenceLength, int QueryHeads, int KvHeads, int HeadDim,
        long? DocumentLength, IReadOnlyList<RingKernelMeasurement> Measurements);

    public static Command Create()
    {
        var length = new Option<string>("--length") { Description = "Global sequence length, e.g. 128k (divisible by 2·N for every N)", DefaultValueFactory = _ => "128k" };
        var worldSizes = new Option<string>("--world-size") { Description = "Simulated context-parallel degrees, e.g. 2,4,8", DefaultValueFactory = _ => "2,4,8" };
        var heads = new Option<int>("--heads") { Description = "Query heads (Llama-3-8B: 32)", DefaultValueFactory = _ => 32 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "Key/value heads (Llama-3-8B: 8)", DefaultValueFactory = _ => 8 };
        var headDim = new Option<int>("--head-dim") { DefaultValueFactory = _ => 128 };
        var docLength = new Option<string?>("--document-length") { Description = "Pack documents of this many tokens (document masks), e.g. 16k" };
        var runs = new Option<int>("--runs") { Description = "Timed calls per measurement (median reported)", DefaultValueFactory = _ => 3 };
        var device = EngineOptions.Device();
        var dtype = EngineOptions.Dtype();
        var cmd = new Command("ring", "Ring attention's per-step kernel time summed over simulated ranks vs one fused attention call on the same tokens "
            + "(forward and backward; the compute part of ring efficiency, communication excluded).");
        foreach (var o in new Option[] { length, worldSizes, heads, kvHeads, headDim, docLength, runs, device, dtype }) cmd.Options.Add(o);
        cmd.SetHandler((parse, ct) =>
        {
            var dev = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            var dt = TorchRuntime.ResolveDtype(parse.GetValue(dtype), dev);
            long l = ContextLength.Parse(parse.GetValue(length)!, "--length");
            var sizes = ContextLength.ParseList(parse.GetValue(worldSizes)!, "--world-size").Select(n => (int)n).ToList();
            foreach (int n in sizes) _ = new ZigzagLayout(n, l);   // a length the layout cannot split fails before any work
            long? doc = parse.GetValue(docLength) is string d ? ContextLength.Parse(d, "--document-length") : null;
            var documents = doc is long every
                ? new DocumentSegments([[.. Enumerable.Range(0, (int)((l + every - 1) / every)).Select(i => (int)(i * every))]], checked((int)l))
                : null;
            var shape = new RingKernelBenchmark.Shape(l, parse.GetValue(heads), parse.GetValue(kvHeads), parse.GetValue(headDim));
            bool json = parse.GetValue(CliCommon.Json);
            var results = new List<RingKernelMeasurement>();
            foreach (var m in RingKernelBenchmark.Run(dev, dt, shape, sizes, parse.GetValue(runs), documents))
            {
                ct.ThrowIfCancellationRequested();
                results.Add(m);
                // Progress on stderr in both modes (stdout keeps the table or the JSON).
                Console.Error.WriteLine($"N={m.WorldSize} {m.Pass}: single {m.SingleMs:F2} ms, ring Σ {m.RingSumMs:F2} ms ({m.RingRatio:F3}), "
                        + $"lockstep {m.RingLockstepRatio:F3}, all-gather Σ {m.AllGatherSumMs:F2} ms ({m.AllGatherRatio:F3}) [{m.Kernel}]");
            }
            var report = new Report(dev.ToString(), dt.ToString(), l, shape.QueryHeads, shape.KvHeads, shape.HeadDim, doc, results);
            if (json) CliCommon.WriteJson(report);
            else
            {
                // Times in ms; each ratio is single / that time (1 = no loss from splitting into blocks).
                var t = new Table().AddColumns("N", "pass", "single", "ring Σ", "ratio", "lockstep", "gather Σ", "ratio", "kernel");
                foreach (var m in results)
                    t.AddRow($"{m.WorldSize}", m.Pass, $"{m.SingleMs:F2}", $"{m.RingSumMs:F2}", $"{m.RingRatio:F3}", $"{m.RingLockstepRatio:F3}",
                        $"{m.AllGatherSumMs:F2}", $"{m.AllGatherRatio:F3}", m.Kernel);
                CliCommon.Console.Write(t);
            }
            return 0;
        });
        return cmd;
    }
}
