using LongContext.Core.Native;
using LongContext.Parallel.Distributed;
using LongContext.Training.Optim;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// AdamW with its state partitioned over the data-parallel ranks (ZeRO-1/2): rank r keeps the fp32 master weights,
/// first and second moments only of shard r of every gradient bucket (12 bytes per parameter ÷ ranks), updates that
/// shard with exactly <see cref="AdamW"/>'s formula (per parameter slice, so each keeps its weight decay), then the
/// updated shards are all-gathered in the parameters' dtype and copied into every rank's model. Gradients come from
/// the parameters' .grad (ZeRO-1: all-reduced, replicated) or from the reducer's fp32 shards (ZeRO-2). State is
/// saved per rank as element ranges of the named tensors AdamW would save (exp_avg.NAME …), so a checkpoint loads
/// into AdamW or into a ShardedAdamW of any world size.
/// </summary>
public sealed class ShardedAdamW : IOptimizer
{
    readonly GradientBuckets layout;
    readonly IProcessGroup group;
    readonly GradientReducer? scattered;
    readonly Tensor[] masters, expAvgs, expAvgSqs;
    readonly Dictionary<string, double> weightDecay;

    internal ShardedAdamW(GradientBuckets layout, IProcessGroup group, AdamWOptions options, GradientReducer? scattered, Func<string, bool>? noDecay = null)
    {
        (this.layout, this.group, this.scattered, Options) = (layout, group, scattered, options);
        noDecay ??= AdamW.DefaultNoDecay;
        weightDecay = layout.Members.ToDictionary(m => m.Name, m => noDecay(m.Name) ? 0.0 : options.WeightDecay);
        using var _ = no_grad();
        masters = new Tensor[layout.Buckets.Count];
        expAvgs = new Tensor[layout.Buckets.Count];
        expAvgSqs = new Tensor[layout.Buckets.Count];
        foreach (var b in layout.Buckets)
        {
            masters[b.Index] = zeros(b.ShardElements, ScalarType.Float32, b.Device).DetachFromDisposeScope();
            expAvgs[b.Index] = zeros(b.ShardElements, ScalarType.Float32, b.Device).DetachFromDisposeScope();
            expAvgSqs[b.Index] = zeros(b.ShardElements, ScalarType.Float32, b.Device).DetachFromDisposeScope();
            foreach (var s in b.Owned) CopyParamIntoMaster(b, s);
        }
    }

    public AdamWOptions Options { get; }
    public long StepCount { get; private set; }
    public bool ReplicatedState => false;

    /// <summary>Optimizer state bytes this rank holds (masters and moments of its shards).</summary>
    public long StateBytes => layout.Buckets.Sum(b => 3 * b.ShardElements * 4);

    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        double b1 = Options.Beta1, b2 = Options.Beta2, eps = Options.Eps;
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(b2, StepCount));
        double stepSize = lr / (1 - Math.Pow(b1, StepCount));
        var fused = new List<(Tensor W, Tensor G, Tensor M, Tensor V, double Wd)>();
        foreach (var b in layout.Buckets)
        {
            foreach (var s in b.Owned)
            {
                if (Gradient(b, s) is not { } grad) continue;   // no gradient: skipped, as AdamW does
                var w = masters[b.Index].narrow(0, s.ShardOffset, s.Count);
                var m = expAvgs[b.Index].narrow(0, s.ShardOffset, s.Count);
                var v = expAvgSqs[b.Index].narrow(0, s.ShardOffset, s.Count);
                double wd = weightDecay[s.Member.Name];
                if (FusedAdamW.IsAvailable(w.device))
                {
                    fused.Add((w, grad, m, v, wd));
                    continue;
                }
                if (wd != 0) w.mul_(1 - lr * wd);
                m.lerp_(grad, 1 - b1);
                v.mul_(b2).addcmul_(grad, grad, value: 1 - b2);
                var denom = (v.sqrt() / biasCorrection2Sqrt).add_(eps);
                w.addcdiv_(m, denom, value: -stepSize);
            }
        }
        foreach (var g in fused.GroupBy(f => f.Wd))
            FusedAdamW.Step([.. g.Select(f => f.W)], [.. g.Select(f => f.G)], [.. g.Select(f => f.M)], [.. g.Select(f => f.V)],
                [.. g.Select(_ => (Tensor?)null)], lr, b1, b2, g.Key, eps, StepCount);
        GatherParameters();
    }

    /// <summary>This rank's gradient of a slice, fp32: from the reducer's shard (ZeRO-2) or the replicated .grad (ZeRO-1).</summary>
    Tensor? Gradient(GradientBucket b, BucketSegment s)
    {
        if (scattered is not null) return scattered.ShardGradients[b.Index].narrow(0, s.ShardOffset, s.Count);
        if (s.Member.Param.grad is not { } g) return null;
        return g.reshape(-1).narrow(0, s.ParamOffset, s.Count).to(ScalarType.Float32);
    }

    /// <summary>Every rank's updated shards, in the parameters' dtype, into every rank's parameters (two buckets in flight).</summary>
    void GatherParameters()
    {
        var inFlight = new Queue<(GradientBucket Bucket, Tensor Full, IWork Work)>();
        foreach (var b in layout.Buckets)
        {
            var full = empty(b.PaddedElements(layout.Ranks), b.Dtype, b.Device);
            var mine = masters[b.Index].to(b.Dtype).contiguous();
            inFlight.Enqueue((b, full, group.AllGatherAsync(full, mine)));
            if (inFlight.Count > 2) CopyOut(inFlight.Dequeue());
        }
        while (inFlight.Count > 0) CopyOut(inFlight.Dequeue());

        static void CopyOut((GradientBucket Bucket, Tensor Full, IWork Work) g)
        {
            using (g.Work) g.Work.Wait();
            foreach (var m in g.Bucket.Members) m.Param.detach().copy_(g.Full.narrow(0, m.Offset, m.Count).view(m.Param.shape));
            g.Full.Dispose();
        }
    }

    public void ZeroGrad()
    {
        foreach (var m in layout.Members)
            if (m.Param.grad is not null) m.Param.grad = null;
        scattered?.ZeroShards();
    }

    /// <summary>This rank's slices: exp_avg.NAME, exp_avg_sq.NAME and (bf16/fp16 parameters) master.NAME, as AdamW names them.</summary>
    public IEnumerable<OptimizerStateSlice> StateSlices()
    {
        foreach (var b in layout.Buckets)
        foreach (var s in b.Owned)
        {
            var shape = s.Member.Param.shape;
            yield return new(AdamW.ExpAvgPrefix + s.Member.Name, shape, s.ParamOffset, expAvgs[b.Index].narrow(0, s.ShardOffset, s.Count));
            yield return new(AdamW.ExpAvgSqPrefix + s.Member.Name, shape, s.ParamOffset, expAvgSqs[b.Index].narrow(0, s.ShardOffset, s.Count));
            if (s.Member.Param.dtype != ScalarType.Float32)
                yield return new(AdamW.MasterPrefix + s.Member.Name, shape, s.ParamOffset, masters[b.Index].narrow(0, s.ShardOffset, s.Count));
        }
    }

    /// <summary>Reads this rank's element ranges of the named state (written at any world size). Masters of fp32 parameters are the (already loaded) weights.</summary>
    public void LoadState(long stepCount, IOptimizerStateSource source)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var b in layout.Buckets)
        foreach (var s in b.Owned)
        {
            Read(AdamW.ExpAvgPrefix, expAvgs[b.Index], s);
            Read(AdamW.ExpAvgSqPrefix, expAvgSqs[b.Index], s);
            if (s.Member.Param.dtype != ScalarType.Float32) Read(AdamW.MasterPrefix, masters[b.Index], s);
            else CopyParamIntoMaster(b, s);
        }
        StepCount = stepCount;

        void Read(string prefix, Tensor shard, BucketSegment s)
        {
            string name = prefix + s.Member.Name;
            var shape = source.ShapeOf(name) ?? throw new CheckpointException(
                $"{source.Description}: optimizer state {name} is missing; the checkpoint was written for a different model or set of trainable parameters.");
            if (!shape.SequenceEqual(s.Member.Param.shape))
                throw new CheckpointException($"{source.Description}: optimizer state {name} has shape [{string.Join(", ", shape)}], the model needs [{string.Join(", ", s.Member.Param.shape)}].");
            shard.narrow(0, s.ShardOffset, s.Count).copy_(source.Read(name, s.ParamOffset, s.Count, shard.device));
        }
    }

    void CopyParamIntoMaster(GradientBucket b, BucketSegment s)
    {
        using var _ = no_grad();
        masters[b.Index].narrow(0, s.ShardOffset, s.Count).copy_(s.Member.Param.detach().reshape(-1).narrow(0, s.ParamOffset, s.Count));
    }

    public void Dispose()
    {
        foreach (var t in masters.Concat(expAvgs).Concat(expAvgSqs)) t?.Dispose();
    }
}
