using LongContext.Core.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Optim;

/// <summary>AdamW hyper-parameters; the defaults are torch.optim.AdamW's (whose weight_decay default is 0.01).</summary>
public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8, double WeightDecay = 0.01);

/// <summary>
/// AdamW exactly as torch.optim.AdamW (amsgrad off): decoupled weight decay p ← p·(1 − lr·wd), then
/// m ← lerp(m, g, 1 − β1), v ← β2·v + (1 − β2)·g², p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
/// Moments are float32. Parameters stored in bf16/fp16 also get a float32 master copy that the update is applied
/// to, and the model weight is then set to the rounded master: an update of lr·Δ ≈ 2e-5 on a weight near 1 is below
/// bf16's resolution (2⁻⁷ relative), so updating bf16 weights directly would silently drop most steps. Float32
/// parameters are updated in place, with no copy. Parameters whose name matches <c>noDecay</c> get no weight decay.
/// </summary>
public sealed class AdamW : IOptimizer
{
    sealed class State(string name, Tensor param, Tensor? master, Tensor expAvg, Tensor expAvgSq, double weightDecay)
    {
        public string Name { get; } = name;
        public Tensor Param { get; } = param;
        public Tensor? Master { get; } = master;
        public Tensor ExpAvg { get; } = expAvg;
        public Tensor ExpAvgSq { get; } = expAvgSq;
        public double WeightDecay { get; } = weightDecay;
    }

    public const string ExpAvgPrefix = "exp_avg.";
    public const string ExpAvgSqPrefix = "exp_avg_sq.";
    public const string MasterPrefix = "master.";

    readonly List<State> _states = [];

    /// <param name="parameters">The trainable parameters by (HF) name, in a stable order.</param>
    /// <param name="noDecay">Names exempt from weight decay; default <see cref="DefaultNoDecay"/>.</param>
    public AdamW(IEnumerable<KeyValuePair<string, Tensor>> parameters, AdamWOptions? options = null, Func<string, bool>? noDecay = null)
    {
        Options = options ?? new AdamWOptions();
        noDecay ??= DefaultNoDecay;
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            if (!p.is_floating_point())
                throw new ArgumentException($"parameter {name} is {p.dtype}, not floating point", nameof(parameters));
            Tensor? master = p.dtype == ScalarType.Float32 ? null : p.detach().to(ScalarType.Float32).clone();
            var zeros = zeros_like(p, dtype: ScalarType.Float32);
            var zerosSq = zeros_like(p, dtype: ScalarType.Float32);
            _states.Add(new State(name, p, master, zeros, zerosSq, noDecay(name) ? 0.0 : Options.WeightDecay));
        }
    }

    public AdamWOptions Options { get; }

    /// <summary>The factory the trainer uses by default: AdamW with <paramref name="options"/> over the trainable parameters.</summary>
    public static OptimizerFactory Factory(AdamWOptions options, Func<string, bool>? noDecay = null) =>
        trainable => new AdamW(trainable, options, noDecay);

    /// <summary>Optimizer steps taken (t in the bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameter names, in order.</summary>
    public IEnumerable<string> ParameterNames => _states.Select(s => s.Name);

    /// <summary>No decay on norms and biases: names containing "norm" or ending in ".bias".</summary>
    public static bool DefaultNoDecay(string name) =>
        name.Contains("norm", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal);

    /// <summary>The weight decay applied to <paramref name="name"/> (0 for no-decay parameters).</summary>
    public double WeightDecayOf(string name) => _states.First(s => s.Name == name).WeightDecay;

    /// <summary>One update with learning rate <paramref name="lr"/> from the parameters' .grad; those without a gradient are skipped.</summary>
    public void Step(double lr)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        double b1 = Options.Beta1, b2 = Options.Beta2, eps = Options.Eps;
        double biasCorrection1 = 1 - Math.Pow(b1, StepCount);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(b2, StepCount));
        double stepSize = lr / biasCorrection1;
        if (UsesFusedKernel)
        {
            FusedStep(lr);
            return;
        }
        foreach (var s in _states)
        {
            using var inner = NewDisposeScope();
            var g = s.Param.grad;
            if (g is null) continue;
            var grad = g.dtype == ScalarType.Float32 ? g : g.to(ScalarType.Float32);
            var w = s.Master ?? s.Param;
            if (s.WeightDecay != 0) w.mul_(1 - lr * s.WeightDecay);
            s.ExpAvg.lerp_(grad, 1 - b1);
            s.ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: 1 - b2);
            var denom = (s.ExpAvgSq.sqrt() / biasCorrection2Sqrt).add_(eps);
            w.addcdiv_(s.ExpAvg, denom, value: -stepSize);
            if (s.Master is not null) s.Param.copy_(s.Master);
        }
    }

    /// <summary>
    /// True on CUDA with the add-on: the step runs as ATen's multi-tensor AdamW kernel (same formula, one launch
    /// per weight-decay group) instead of ten element-wise kernels per parameter.
    /// </summary>
    public bool UsesFusedKernel => AllowFusedKernel && _states.Count > 0 && FusedAdamW.IsAvailable(_states[0].Param.device)
        && _states.All(s => s.Param.device_type == TorchSharp.DeviceType.CUDA);

    /// <summary>Set false to force the element-wise path (the self-test compares the two).</summary>
    public bool AllowFusedKernel { get; set; } = true;

    void FusedStep(double lr)
    {
        foreach (var group in _states.Where(s => s.Param.grad is not null).GroupBy(s => s.WeightDecay))
        foreach (var members in Batches(group))
        {
            FusedAdamW.Step(
                members.Select(s => s.Master ?? s.Param).ToList(),
                members.Select(s => s.Param.grad!).ToList(),
                members.Select(s => s.ExpAvg).ToList(),
                members.Select(s => s.ExpAvgSq).ToList(),
                members.Select(s => s.Master is null ? null : s.Param).ToList(),
                lr, Options.Beta1, Options.Beta2, group.Key, Options.Eps, StepCount);
        }
    }

    /// <summary>Parameters per fused launch: bf16 gradients are widened to fp32 for the kernel, so a launch holds at
    /// most ~1 GiB of such copies instead of the whole model's (32 GiB for an 8B model).</summary>
    const long FusedBatchElements = 256L << 20;

    static IEnumerable<List<State>> Batches(IEnumerable<State> states)
    {
        var batch = new List<State>();
        long elements = 0;
        foreach (var s in states)
        {
            if (batch.Count > 0 && elements + s.Param.NumberOfElements > FusedBatchElements)
            {
                yield return batch;
                batch = [];
                elements = 0;
            }
            batch.Add(s);
            elements += s.Param.NumberOfElements;
        }
        if (batch.Count > 0) yield return batch;
    }

    /// <summary>Drops every parameter's gradient (torch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        // Each .grad read is a new wrapper that would keep the old gradient's memory until the GC finalizes it.
        using var scope = NewDisposeScope();
        foreach (var s in _states)
        {
            if (s.Param.grad is not null) s.Param.grad = null;
        }
    }

    /// <summary>State tensors for a checkpoint: exp_avg.NAME, exp_avg_sq.NAME and (bf16/fp16 parameters) master.NAME.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var s in _states)
        {
            yield return new(ExpAvgPrefix + s.Name, s.ExpAvg);
            yield return new(ExpAvgSqPrefix + s.Name, s.ExpAvgSq);
            if (s.Master is not null) yield return new(MasterPrefix + s.Name, s.Master);
        }
    }

    /// <summary>Every state tensor whole (<see cref="StateTensors"/>).</summary>
    public IEnumerable<OptimizerStateSlice> StateSlices() => StateTensors().Select(kv => OptimizerStateSlice.Whole(kv.Key, kv.Value));

    /// <summary>
    /// Restores state saved by <see cref="StateTensors"/> (or by a sharded optimizer at any world size): by name,
    /// null when absent. The model weights of master-copied parameters are set from their masters.
    /// </summary>
    public void LoadState(long stepCount, Func<string, Tensor?> load, string source) => LoadState(stepCount, new TensorStateSource(load, source));

    /// <inheritdoc cref="LoadState(long, Func{string, Tensor?}, string)"/>
    public void LoadState(long stepCount, IOptimizerStateSource source)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var s in _states)
        {
            Copy(s.ExpAvg, ExpAvgPrefix + s.Name);
            Copy(s.ExpAvgSq, ExpAvgSqPrefix + s.Name);
            if (s.Master is not null)
            {
                Copy(s.Master, MasterPrefix + s.Name);
                s.Param.copy_(s.Master);
            }
        }
        StepCount = stepCount;

        void Copy(Tensor target, string name) => target.copy_(source.ReadWhole(name, target.shape, target.device));
    }

    public void Dispose()
    {
        foreach (var s in _states)
        {
            s.Master?.Dispose();
            s.ExpAvg.Dispose();
            s.ExpAvgSq.Dispose();
        }
        _states.Clear();
    }
}
