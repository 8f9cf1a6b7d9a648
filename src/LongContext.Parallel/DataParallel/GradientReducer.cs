using LongContext.Parallel.Distributed;
using static TorchSharp.torch;

namespace LongContext.Parallel.DataParallel;

/// <summary>
/// Sums the ranks' gradients bucket by bucket (PyTorch DDP's reducer). While the backward of a step's last
/// micro-batch runs (every micro-batch with ZeRO-2), each bucket is copied into a flat buffer and its collective
/// launched asynchronously as soon as the <see cref="GradientReadyProbe"/>s say its layers are done, so communication
/// overlaps the rest of the backward; buckets left (the embeddings, complete only at the end) go when it returns.
/// Replicated gradients (ZeRO 0/1) are all-reduced and handed back as views of the flat buffers; ZeRO-2 gradients are
/// reduce-scattered and each rank accumulates only its shard (fp32), dropping the full gradients.
/// </summary>
internal sealed class GradientReducer : ILayerGradientsListener, IDisposable
{
    sealed record Pending(Tensor Flat, Tensor? Shard, IWork Work);

    readonly GradientBuckets layout;
    readonly IProcessGroup group;
    readonly bool scatter;
    readonly bool overlap;
    readonly Pending?[] pending;
    readonly bool[] launched;
    readonly Tensor[] shards = [];
    volatile bool armed;
    bool reducing; // this step's reduction has started (a Backward with reduce)
    Exception? failure;

    public GradientReducer(GradientBuckets layout, IProcessGroup group, bool scatter, bool overlap)
    {
        (this.layout, this.group, this.scatter, this.overlap) = (layout, group, scatter, overlap);
        pending = new Pending?[layout.Buckets.Count];
        launched = new bool[layout.Buckets.Count];
        if (scatter)
            shards = [.. layout.Buckets.Select(b => zeros(b.ShardElements, ScalarType.Float32, b.Device).DetachFromDisposeScope())];
    }

    /// <summary>Buckets whose collective started while the backward was still running (the overlap at work), since creation.</summary>
    public long LaunchedDuringBackward { get; private set; }

    /// <summary>ZeRO-2: this rank's fp32 shard of each bucket's summed gradient (what the optimizer reads and clipping scales).</summary>
    public IReadOnlyList<Tensor> ShardGradients => shards;

    /// <summary>Back-propagates; with <paramref name="reduce"/>, every bucket's collective is launched by the time it returns.</summary>
    public void Backward(Tensor loss, bool reduce)
    {
        if (reduce)
        {
            Array.Clear(launched);
            reducing = true;
            armed = overlap;
        }
        try
        {
            loss.backward();
        }
        finally
        {
            armed = false;
        }
        if (failure is { } f)
        {
            failure = null;
            throw new DistributedException($"launching a gradient bucket during the backward failed: {f.Message}", f);
        }
        if (reduce) LaunchRemaining();
    }

    /// <summary>Probe callback (autograd's thread): launch every bucket whose members are all complete.</summary>
    public void LayerDone(int layer)
    {
        if (!armed) return;
        try
        {
            foreach (var b in layout.Buckets)
            {
                if (launched[b.Index] || b.ReadyAtLayer < layer) continue;
                Launch(b);
                LaunchedDuringBackward++;
            }
        }
        catch (Exception e)
        {
            failure ??= e;
            armed = false;
        }
    }

    void LaunchRemaining()
    {
        foreach (var b in layout.Buckets)
            if (!launched[b.Index]) Launch(b);
    }

    void Launch(GradientBucket b)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // ZeRO-2: the previous micro-step's shard (its members' gradients are this micro-step's by now).
        if (pending[b.Index] is { } previous) Complete(b, previous, lastUse: false);
        var flat = zeros(b.PaddedElements(layout.Ranks), b.Dtype, b.Device);
        foreach (var m in b.Members)
        {
            // A parameter without a gradient this micro-step contributes zeros (replicas must post the same buffer).
            if (m.Param.grad is { } g) flat.narrow(0, m.Offset, m.Count).copy_(g.reshape(-1));
            m.Param.grad = null;
        }
        Tensor? shard = scatter ? empty(b.ShardElements, b.Dtype, b.Device) : null;
        var work = shard is null ? group.AllReduceAsync(flat) : group.ReduceScatterAsync(shard, flat);
        pending[b.Index] = new Pending(flat.DetachFromDisposeScope(), shard?.DetachFromDisposeScope(), work);
        launched[b.Index] = true;
    }

    /// <summary>After the step's last backward: waits for every bucket and puts the sums where the optimizer reads them.</summary>
    public void Finish()
    {
        if (!reducing)
        {
            // No micro-batch on this rank: it still posts the same collectives, with zeros.
            Array.Clear(launched);
            LaunchRemaining();
        }
        reducing = false;
        using var _ = no_grad();
        foreach (var b in layout.Buckets)
        {
            if (pending[b.Index] is not { } p) continue;
            Complete(b, p, lastUse: true);
        }
    }

    /// <param name="lastUse">The step's last reduction of this bucket: no member may have a gradient again.</param>
    void Complete(GradientBucket b, Pending p, bool lastUse)
    {
        pending[b.Index] = null;
        using (p.Work) p.Work.Wait();
        foreach (var m in b.Members)
        {
            if (lastUse && m.Param.grad is not null)
                throw new DistributedException($"the gradient of {m.Name} changed after its bucket was sent to the other ranks (the backward "
                    + "reached it later than its layer's end): the sum would be wrong. Rerun with --no-grad-overlap and report this.");
        }
        if (p.Shard is { } shard)
        {
            shards[b.Index].add_(shard);
            shard.Dispose();
        }
        else
        {
            foreach (var m in b.Members) m.Param.grad = p.Flat.narrow(0, m.Offset, m.Count).view(m.Param.shape);
        }
        p.Flat.Dispose();
    }

    /// <summary>ZeRO-2: clears the accumulated shards (the optimizer's zero_grad).</summary>
    public void ZeroShards()
    {
        using var _ = no_grad();
        foreach (var s in shards) s.zero_();
    }

    public void Dispose()
    {
        foreach (var p in pending.OfType<Pending>())
        {
            try { p.Work.Synchronize(); } catch (DistributedException) { }
            p.Work.Dispose();
            p.Flat.Dispose();
            p.Shard?.Dispose();
        }
        Array.Clear(pending);
        foreach (var s in shards) s.Dispose();
    }
}
