using LongContext.Core.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LongContext.Training.Lora;

/// <summary>
/// LoRA on a <see cref="LlamaForCausalLM"/>: for each target Linear W, adds scaling·B(A(dropout(x))) to its output
/// through a forward hook, with A [r, in] Kaiming-uniform (as PEFT) and B [out, r] zero, so the adapted model starts
/// equal to the base. A and B are registered as submodules <c>lora_A</c>/<c>lora_B</c> of the Linear, so their names
/// follow PEFT (<c>model.layers.0.self_attn.q_proj.lora_A.weight</c>), they appear in the model's parameters (decoder
/// layer checkpointing and state saving see them) and the model's own code stays unchanged. Base weights are frozen
/// except the extras in <see cref="LoraOptions.Trainable"/>.
/// </summary>
public sealed class LoraAdapters
{
    readonly LlamaForCausalLM model;
    readonly List<(string Name, Linear Base, Linear A, Linear B)> adapted = [];

    LoraAdapters(LlamaForCausalLM model, LoraOptions options)
    {
        this.model = model;
        Options = options;
    }

    public LoraOptions Options { get; }

    /// <summary>Adapter and extra trainable parameters by name, for the optimizer (each tensor once).</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters { get; private set; } = [];

    /// <summary>Names of the adapter parameters only (…lora_A.weight, …lora_B.weight).</summary>
    public IReadOnlyList<string> AdapterParameterNames =>
        adapted.SelectMany(a => new[] { a.Name + ".lora_A.weight", a.Name + ".lora_B.weight" }).ToArray();

    /// <summary>Adds adapters to the target modules of every layer and freezes the rest. Draws A from the global RNG.</summary>
    public static LoraAdapters Apply(LlamaForCausalLM model, LoraOptions options)
    {
        options.Validate();
        var lora = new LoraAdapters(model, options);
        foreach (var p in model.parameters()) p.requires_grad = false;
        var targets = options.TargetModules.ToHashSet();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not Linear linear) continue;
            string leaf = name[(name.LastIndexOf('.') + 1)..];
            if (targets.Contains(leaf) && name.StartsWith("model.layers.", StringComparison.Ordinal))
                lora.Attach(name, linear);
        }
        lora.TrainableParameters = lora.CollectTrainable();
        return lora;
    }

    void Attach(string name, Linear linear)
    {
        var w = linear.weight!;
        long outFeatures = w.shape[0], inFeatures = w.shape[1];
        var a = nn.Linear(inFeatures, Options.Rank, hasBias: false, device: w.device, dtype: w.dtype);
        var b = nn.Linear(Options.Rank, outFeatures, hasBias: false, device: w.device, dtype: w.dtype);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(a.weight!, Math.Sqrt(5), nn.init.FanInOut.FanIn, nn.init.NonlinearityType.LeakyReLU);
            b.weight!.zero_();
        }
        linear.register_module("lora_A", a);
        linear.register_module("lora_B", b);
        double scaling = Options.Scaling, dropout = Options.Dropout;
        linear.register_forward_hook((module, input, output) =>
        {
            var x = dropout > 0 && module.training ? nn.functional.dropout(input, dropout, training: true) : input;
            var delta = b.call(a.call(x.to(a.weight!.dtype))).mul_(scaling);
            return output + delta.to(output.dtype);
        });
        adapted.Add((name, linear, a, b));
    }

    List<(string, Parameter)> CollectTrainable()
    {
        var trainable = new List<(string, Parameter)>();
        var seen = new HashSet<IntPtr>();
        void Add(string name, Parameter p)
        {
            p.requires_grad = true;
            if (seen.Add(p.Handle)) trainable.Add((name, p));
        }
        foreach (var (name, _, a, b) in adapted)
        {
            Add(name + ".lora_A.weight", (Parameter)a.weight!);
            Add(name + ".lora_B.weight", (Parameter)b.weight!);
        }
        var extras = Options.Trainable.ToHashSet();
        foreach (var (name, p) in model.named_parameters())
        {
            if (IsAdapter(name)) continue;
            bool wanted = (extras.Contains("embed") && name == "model.embed_tokens.weight")
                || (extras.Contains("norm") && name.EndsWith("norm.weight", StringComparison.Ordinal))
                || (extras.Contains("lm_head") && name == "lm_head.weight");
            if (wanted) Add(name, p);
        }
        return trainable;
    }

    static bool IsAdapter(string name) => name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);

    /// <summary>
    /// The model's parameters by HF name with every adapter merged (W + scaling·B·A, computed in fp32, cast to W's
    /// dtype) and no adapter tensors: what a plain HF checkpoint holds. Tensors are new handles the caller disposes
    /// (unmerged ones share the parameters' storage).
    /// </summary>
    public Dictionary<string, Tensor> MergedTensors()
    {
        using var _ = no_grad();
        var merged = adapted.ToDictionary(a => a.Name + ".weight", a => a);
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (IsAdapter(name)) continue;
            if (merged.TryGetValue(name, out var a))
            {
                using var scope = NewDisposeScope();
                var delta = matmul(a.B.weight!.to(ScalarType.Float32), a.A.weight!.to(ScalarType.Float32)).mul_(Options.Scaling);
                result[name] = (p.to(ScalarType.Float32) + delta).to(p.dtype).MoveToOuterDisposeScope();
            }
            else result[name] = p.detach();
        }
        return result;
    }

    /// <summary>Adapter tensors under PEFT's adapter_model.safetensors names (base_model.model.…lora_A.weight).</summary>
    public Dictionary<string, Tensor> AdapterTensors() =>
        adapted.SelectMany(a => new[]
        {
            ("base_model.model." + a.Name + ".lora_A.weight", a.A.weight!.detach()),
            ("base_model.model." + a.Name + ".lora_B.weight", a.B.weight!.detach()),
        }).ToDictionary(t => t.Item1, t => t.Item2);
}
