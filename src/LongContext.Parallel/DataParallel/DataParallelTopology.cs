using System.Globalization;
using System.Text;
using LongContext.Core.Model;
using LongContext.Parallel.Distributed;
using LongContext.Parallel.Distributed.Store;
using LongContext.Training.Data;
using LongContext.Training.Optim;
using LongContext.Training.Topology;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// Data parallelism through the trainer's seams (<see cref="ITrainingTopology"/>): every rank reads the same global
/// stream of micro-batches and computes every dp-th of them (so the data cursor, and with it a resume, is global);
/// the predicted-token count is summed over the ranks, so each rank's loss sum divided by it makes the summed
/// gradients exactly those of one process accumulating all micro-batches; gradients are summed in buckets launched
/// while the backward still runs (<see cref="GradientReducer"/>); clipping, the NaN guard, Ctrl-C and the
/// activation-checkpoint plan are decided collectively; rank 0 writes. With <see cref="DataParallelOptions.Zero"/>
/// 1 or 2 the optimizer is <see cref="ShardedAdamW"/>.
/// <para>
/// The micro-batches are split over the mesh's dp dimension; the collectives (gradient sums, token count, decisions,
/// ZeRO shards) run over the whole mesh, the ranks that hold replicas of the model: with context parallelism
/// (cp &gt; 1) those are dp × cp, each cp rank holding a slice of the same sequences. Sequence sharding itself
/// (cutting rows in <see cref="ShardBatch"/>) is not part of this topology: it refuses cp &gt; 1 until it is.
/// </para>
/// </summary>
public sealed class DataParallelTopology : ITrainingTopology, IDisposable
{
    readonly DeviceMesh mesh;
    readonly IProcessGroup replicas;
    readonly IStore? store;
    readonly DataParallelOptions options;
    GradientBuckets? layout;
    GradientReducer? reducer;
    long writerCalls;

    /// <param name="store">Where non-writers wait for <see cref="OnWriter"/> work of any length (the rendezvous
    /// store); without one they wait through a collective, bounded by the group's timeout.</param>
    public DataParallelTopology(DeviceMesh mesh, DataParallelOptions? options = null, IStore? store = null)
    {
        if (mesh.Dims.CpEnabled)
            throw new ConfigException($"mesh {mesh.Dims}: context parallelism (cp > 1) needs sequence sharding in the trainer, which this build does not have yet; use cp 1.");
        this.mesh = mesh;
        replicas = mesh.World;
        this.store = store;
        this.options = (options ?? new DataParallelOptions()).Validate();
    }

    public int Rank => replicas.Rank;
    public int WorldSize => replicas.Size;
    public DataParallelOptions Options => options;
    public int DpRank => mesh.DpRank;
    public int DpSize => mesh.Dims.Dp;

    /// <summary>The buckets of the current trainer's parameters (after <see cref="CreateOptimizer"/>).</summary>
    public GradientBuckets? Buckets => layout;

    public IOptimizer CreateOptimizer(IReadOnlyList<KeyValuePair<string, Tensor>> trainable, OptimizerFactory? injected, AdamWOptions adamW)
    {
        if (injected is not null && options.Zero > 0)
            throw new ConfigException($"--zero {options.Zero} shards the optimizer state itself (ShardedAdamW); an injected optimizer needs --zero 0.");
        BroadcastFromRankZero(trainable);
        reducer?.Dispose();
        layout = GradientBuckets.Build(trainable, options.BucketBytes, replicas.Size, replicas.Rank);
        reducer = new GradientReducer(layout, replicas, scatter: options.Zero == 2, overlap: options.Overlap);
        return options.Zero == 0
            ? (injected ?? AdamW.Factory(adamW))(trainable)
            : new ShardedAdamW(layout, replicas, adamW, options.Zero == 2 ? reducer : null);
    }

    /// <summary>Every rank starts from rank 0's weights (a seeded init or a loaded file is the same everywhere, but need not be bit-equal across devices).</summary>
    void BroadcastFromRankZero(IReadOnlyList<KeyValuePair<string, Tensor>> trainable)
    {
        if (replicas.Size == 1) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var works = trainable.Select(p => replicas.BroadcastAsync(p.Value.detach(), root: 0)).ToList();
        foreach (var w in works)
        {
            using (w) w.Wait();
        }
    }

    public IReadOnlyList<TrainingBatch> ShardBatch(IReadOnlyList<TrainingBatch> step)
    {
        int dp = DpSize;
        if (step.Count % dp != 0)
            throw new ConfigException($"gradient_accumulation {step.Count} is not a multiple of the data-parallel degree {dp}: the micro-batches of a step "
                + $"(the global batch) are dealt out to the dp ranks, each the same number. Use --accumulation {NextMultiple(step.Count, dp)} (or another multiple of {dp}).");
        return [.. step.Where((_, i) => i % dp == DpRank)];
    }

    static int NextMultiple(int n, int of) => (n + of - 1) / of * of;

    public long GlobalTokenCount(long localPredictedTokens)
    {
        using var t = tensor(new[] { localPredictedTokens }, ScalarType.Int64, replicas.Device);
        replicas.AllReduce(t);
        return t.cpu().item<long>();
    }

    /// <summary>Gradient buckets whose reduction started while the backward was still running (0 without overlap).</summary>
    public long BucketsOverlapped => reducer?.LaunchedDuringBackward ?? 0;

    public IDecoderLayerRunner? LayerRunner(IDecoderLayerRunner? inner) => reducer is null ? inner : new ProbingLayerRunner(inner, reducer);

    public void Backward(Tensor scaledLoss, int microStep, int microSteps)
    {
        var r = Reducer();
        r.Backward(scaledLoss, reduce: options.Zero == 2 || microStep == microSteps - 1);
    }

    public void SyncGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable)
    {
        var r = Reducer();
        if (!layout!.Covers(trainable))
            throw new InvalidOperationException("SyncGradients got other parameters than CreateOptimizer: one DataParallelTopology serves one trainer at a time.");
        r.Finish();
    }

    GradientReducer Reducer() => reducer ?? throw new InvalidOperationException(
        "DataParallelTopology.CreateOptimizer was not called: the trainer builds its optimizer through the topology (pass the topology to the Trainer).");

    public IReadOnlyList<Tensor> HeldGradients(IReadOnlyList<KeyValuePair<string, Tensor>> trainable) =>
        options.Zero == 2 ? Reducer().ShardGradients : [.. trainable.Select(p => p.Value.grad).OfType<Tensor>()];

    /// <summary>Replicated gradients (ZeRO 0/1) have the global norm already; ZeRO-2 shards sum their squares.</summary>
    public Tensor GlobalGradNorm(Tensor localNorm)
    {
        if (options.Zero < 2) return localNorm;
        var squared = (localNorm * localNorm).to(ScalarType.Float32, replicas.Device).contiguous();
        replicas.AllReduce(squared);
        return squared.sqrt().to(localNorm.device);
    }

    public StepDecision Agree(StepDecision local)
    {
        using var t = tensor(new[] { local.LossSum, local.NonFinite ? 1.0 : 0.0, local.StopRequested ? 1.0 : 0.0 }, ScalarType.Float64, replicas.Device);
        replicas.AllReduce(t);
        var v = t.cpu().data<double>().ToArray();
        return new StepDecision(v[0], local.NonFinite || v[1] > 0 || !double.IsFinite(v[0]), v[2] > 0);
    }

    public int AgreeRecomputedLayers(int proposed)
    {
        using var t = tensor(new[] { (long)proposed }, ScalarType.Int64, replicas.Device);
        replicas.AllReduce(t, ReduceOp.Max);
        return (int)t.cpu().item<long>();
    }

    public IReadOnlyList<byte[]> AllGatherBytes(byte[] local)
    {
        using var scope = NewDisposeScope();
        var lengths = replicas.AllGather(tensor(new[] { (long)local.Length }, ScalarType.Int64, replicas.Device)).cpu().data<long>().ToArray();
        long max = Math.Max(1, lengths.Max());
        var padded = new byte[max];
        local.CopyTo(padded, 0);
        var all = replicas.AllGather(tensor(padded, ScalarType.Byte).to(replicas.Device)).cpu().data<byte>().ToArray();
        return [.. Enumerable.Range(0, replicas.Size).Select(r => all.AsSpan((int)(r * max), (int)lengths[r]).ToArray())];
    }

    /// <summary>Rank 0 runs the action; the others wait on the store for as long as it takes (or through a collective without one).</summary>
    public void OnWriter(string what, Action action)
    {
        string key = string.Create(CultureInfo.InvariantCulture, $"longctx/on-writer/{++writerCalls}");
        string? error = null;
        if (Rank == 0)
        {
            try { action(); }
            catch (Exception e)
            {
                error = e.Message;
                Publish(key, error);
                throw;
            }
            Publish(key, null);
            return;
        }
        error = store is not null
            ? Decode(store.Get(key, TimeSpan.FromDays(7)))
            : Decode(AllGatherBytes([])[0]);
        if (error is not null) throw new DistributedException($"{what} failed on rank 0: {error}");
    }

    void Publish(string key, string? error)
    {
        var bytes = error is null ? [] : Encoding.UTF8.GetBytes(error);
        if (store is not null) store.Set(key, bytes.Length == 0 ? [0] : bytes);
        else AllGatherBytes(bytes.Length == 0 ? [] : bytes);
    }

    static string? Decode(byte[] value) => value.Length == 0 || (value.Length == 1 && value[0] == 0) ? null : Encoding.UTF8.GetString(value);

    public void Dispose()
    {
        reducer?.Dispose();
        reducer = null;
    }
}
