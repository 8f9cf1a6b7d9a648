using LongContext.Core.Diagnostics;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Diagnostics;

/// <summary>Self-checks of the training path that `longctx selftest` adds to the engine's.</summary>
public static class TrainingSelfTest
{
    /// <summary>Three AdamW steps with the fused kernel (CUDA) against the element-wise path on the same values.</summary>
    public static IEnumerable<SelfTestCheck> Checks(Device device)
    {
        var fusedParams = MakeParams(device);
        var plainParams = fusedParams.Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value.detach().clone().requires_grad_(true))).ToList();
        using var fused = new AdamW(fusedParams);
        using var plain = new AdamW(plainParams) { AllowFusedKernel = false };
        manual_seed(11);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < fusedParams.Count; i++)
            {
                var g = randn(fusedParams[i].Value.shape).to(fusedParams[i].Value.dtype).to(device);
                fusedParams[i].Value.grad = g.clone();
                plainParams[i].Value.grad = g.clone();
            }
            fused.Step(1e-3);
            plain.Step(1e-3);
        }
        double worst = 0;
        for (int i = 0; i < fusedParams.Count; i++)
        {
            using var scope = NewDisposeScope();
            var a = fusedParams[i].Value.detach().to(ScalarType.Float64).cpu();
            var b = plainParams[i].Value.detach().to(ScalarType.Float64).cpu();
            worst = Math.Max(worst, (a - b).norm().item<double>() / Math.Max(b.norm().item<double>(), 1e-30));
        }
        // bf16 weights are the rounded fp32 masters, so they agree to a rounding step; fp32 ones to ~1e-6.
        yield return new SelfTestCheck($"adamw.{(fused.UsesFusedKernel ? "fused" : "element-wise")}[vs element-wise, 3 steps]",
            worst <= 1e-2, worst, 1e-2, "bf16 (with fp32 masters) and fp32 parameters, decay and no-decay groups");
    }

    /// <summary>
    /// Packed-document masking end to end on the device: a tiny model (bf16 on CUDA, through the device's attention
    /// backend, every layer recomputed, chunked LM-head loss) gives a packed batch of documents the loss and gradients
    /// of the same documents run one by one without a mask.
    /// </summary>
    public static IEnumerable<SelfTestCheck> DocumentMaskChecks(Device device)
    {
        bool cuda = device.type == DeviceType.CUDA;
        var dtype = cuda ? ScalarType.BFloat16 : ScalarType.Float32;
        var config = new ModelConfig
        {
            ModelType = "llama", VocabSize = 512, HiddenSize = 256, IntermediateSize = 512, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 64, MaxPositionEmbeddings = 1024,
            Rope = new RopeParameters { RopeTheta = 500_000 },
        };
        using var model = ModelLoader.CreateRandom(config, device, dtype, seed: 3, std: 0.05);
        foreach (var p in model.parameters()) p.requires_grad = true;
        var backend = EngineSession.DefaultBackend(device);
        // Row 0: documents of 60, 1, 129 and 66 tokens; row 1: two of 128.
        int[][] starts = [[0, 60, 61, 190], [0, 128]];
        const int length = 256;
        var rng = new Random(8);
        var ids = Enumerable.Range(0, 2 * length).Select(_ => (long)rng.Next(1, config.VocabSize)).ToArray();
        var labels = new long[ids.Length];
        var positions = new long[ids.Length];
        var documents = new List<TrainingBatch>();
        for (int row = 0; row < 2; row++)
            for (int d = 0; d < starts[row].Length; d++)
            {
                int start = starts[row][d], end = d + 1 < starts[row].Length ? starts[row][d + 1] : length, o = row * length;
                var doc = new TrainingBatch(ids[(o + start)..(o + end)], new long[end - start], Enumerable.Range(0, end - start).Select(i => (long)i).ToArray(), 1, end - start);
                for (int i = 0; i < end - start; i++)
                {
                    doc.Labels[i] = i + 1 < end - start ? ids[o + start + i + 1] : TrainingBatch.IgnoreIndex;
                    labels[o + start + i] = doc.Labels[i];
                    positions[o + start + i] = i;
                }
                documents.Add(doc);
            }
        var packed = new TrainingBatch(ids, labels, positions, 2, length) { DocumentStarts = starts };

        var loss = new LongSequenceLoss(chunkTokens: 100);
        double separateLoss = 0;
        foreach (var doc in documents)
        {
            using var scope = NewDisposeScope();
            var sum = loss.LossSum(model, DeviceBatch.Upload(doc, device, backend));
            sum.backward();
            separateLoss += sum.to(ScalarType.Float64).item<double>();
        }
        var separate = TakeGradients(model);
        double packedLoss;
        using (var scope = NewDisposeScope())
        {
            var sum = loss.LossSum(model, DeviceBatch.Upload(packed, device, backend, documentMask: true));
            sum.backward();
            loss.AfterBackward();
            packedLoss = sum.to(ScalarType.Float64).item<double>();
        }
        var together = TakeGradients(model);
        double diff = 0, norm = 0;
        foreach (var (name, g) in separate)
        {
            diff += Math.Pow((together[name] - g).norm().item<double>(), 2);
            norm += Math.Pow(g.norm().item<double>(), 2);
        }
        foreach (var g in separate.Values.Concat(together.Values)) g.Dispose();
        double tol = cuda ? SelfTest.Bf16Tolerance : SelfTest.Fp32Tolerance;
        string detail = $"2 rows of 256 packed with 6 documents vs each alone; {backend.Name} attention, recomputed layers, chunked loss, {(cuda ? "bf16" : "fp32")}";
        yield return Check("training.document-mask.loss[packed vs separate]", Math.Abs(packedLoss - separateLoss) / Math.Abs(separateLoss), tol, detail);
        yield return Check("training.document-mask.gradients[packed vs separate]", Math.Sqrt(diff / norm), tol, "all parameters; " + detail);
    }

    static SelfTestCheck Check(string name, double error, double tolerance, string detail) =>
        new(name, error <= tolerance && !double.IsNaN(error), error, tolerance, detail);

    /// <summary>Every parameter's gradient in float64 on the CPU, by name; the gradients are then dropped.</summary>
    static Dictionary<string, Tensor> TakeGradients(LlamaForCausalLM model)
    {
        var grads = new Dictionary<string, Tensor>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.grad is { } g) grads[name] = g.to(ScalarType.Float64).cpu();
            p.grad = null;
        }
        return grads;
    }

    static List<KeyValuePair<string, Tensor>> MakeParams(Device device)
    {
        manual_seed(5);
        return
        [
            new("model.layers.0.mlp.up_proj.weight", randn(64, 48).to(ScalarType.BFloat16).to(device).requires_grad_(true)),
            new("model.layers.0.input_layernorm.weight", ones(48).to(ScalarType.BFloat16).to(device).requires_grad_(true)),
            new("lm_head.weight", randn(32, 48).to(device).requires_grad_(true)),
        ];
    }
}
