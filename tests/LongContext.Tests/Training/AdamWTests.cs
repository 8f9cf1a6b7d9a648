using LongContext.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

public class AdamWTests
{
    /// <summary>torch.optim.AdamW's update, written out per element in double precision.</summary>
    static void ReferenceStep(double[] p, double[] g, double[] m, double[] v, int t, double lr, double b1, double b2, double eps, double wd)
    {
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.Pow(b1, t));
            double vHat = v[i] / (1 - Math.Pow(b2, t));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }

    [Fact]
    public void Three_steps_match_the_torch_AdamW_formula_with_decoupled_decay_and_bias_correction()
    {
        double[] p0 = [0.5, -1.25, 2.0, 0.01, -0.3, 1.5];
        double[] n0 = [1.0, 0.9, 1.1];
        using var w = tensor(p0.Select(x => (float)x).ToArray()).requires_grad_(true);
        using var norm = tensor(n0.Select(x => (float)x).ToArray()).requires_grad_(true);
        using var opt = new AdamW([new("model.layers.0.mlp.up_proj.weight", w), new("model.norm.weight", norm)],
            new AdamWOptions(Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1));
        var (pw, mw, vw) = (p0.ToArray(), new double[6], new double[6]);
        var (pn, mn, vn) = (n0.ToArray(), new double[3], new double[3]);
        double[][] gradsW = [[0.1, -0.2, 0.3, 1e-3, 5.0, -0.7], [-0.05, 0.4, 0.3, 2e-3, -5.0, 0.1], [0.2, 0.2, -0.1, 0.0, 1.0, 0.3]];
        double[][] gradsN = [[0.3, -0.1, 0.2], [0.1, 0.1, -0.4], [-0.2, 0.05, 0.0]];
        double[] lrs = [1e-2, 5e-3, 2e-2];
        for (int t = 0; t < 3; t++)
        {
            w.grad = tensor(gradsW[t].Select(x => (float)x).ToArray());
            norm.grad = tensor(gradsN[t].Select(x => (float)x).ToArray());
            opt.Step(lrs[t]);
            ReferenceStep(pw, gradsW[t], mw, vw, t + 1, lrs[t], 0.9, 0.999, 1e-8, 0.1);
            ReferenceStep(pn, gradsN[t], mn, vn, t + 1, lrs[t], 0.9, 0.999, 1e-8, 0.0);
        }
        Assert.Equal(3, opt.StepCount);
        var gotW = w.data<float>().ToArray();
        var gotN = norm.data<float>().ToArray();
        for (int i = 0; i < pw.Length; i++) Assert.True(Math.Abs(gotW[i] - pw[i]) <= 1e-6 * Math.Max(1, Math.Abs(pw[i])), $"w[{i}] {gotW[i]} vs {pw[i]}");
        for (int i = 0; i < pn.Length; i++) Assert.True(Math.Abs(gotN[i] - pn[i]) <= 1e-6, $"norm[{i}] {gotN[i]} vs {pn[i]}");
    }

    [Fact]
    public void With_zero_gradients_only_decayed_parameters_shrink_by_one_minus_lr_times_wd()
    {
        using var w = ones(4).requires_grad_(true);
        using var b = ones(4).requires_grad_(true);
        using var n = ones(4).requires_grad_(true);
        using var opt = new AdamW([new("a.q_proj.weight", w), new("a.q_proj.bias", b), new("a.input_layernorm.weight", n)],
            new AdamWOptions(WeightDecay: 0.5));
        foreach (var p in new[] { w, b, n }) p.grad = zeros(4);
        opt.Step(0.1);
        Assert.All(w.data<float>().ToArray(), x => Assert.Equal(0.95f, x, 6));
        Assert.All(b.data<float>().ToArray(), x => Assert.Equal(1f, x));
        Assert.All(n.data<float>().ToArray(), x => Assert.Equal(1f, x));
    }

    [Theory]
    [InlineData("model.norm.weight", true)]
    [InlineData("model.layers.3.input_layernorm.weight", true)]
    [InlineData("model.layers.3.post_attention_layernorm.weight", true)]
    [InlineData("model.layers.0.self_attn.q_proj.bias", true)]
    [InlineData("model.layers.0.self_attn.q_proj.weight", false)]
    [InlineData("model.embed_tokens.weight", false)]
    [InlineData("lm_head.weight", false)]
    public void Default_no_decay_covers_norms_and_biases(string name, bool exempt) =>
        Assert.Equal(exempt, AdamW.DefaultNoDecay(name));

    [Fact]
    public void Defaults_are_torch_AdamW_with_weight_decay_0_01() =>
        Assert.Equal(new AdamWOptions(0.9, 0.999, 1e-8, 0.01), new AdamWOptions());

    [Fact]
    public void Bf16_weights_are_updated_through_an_fp32_master_that_keeps_updates_below_bf16_resolution()
    {
        using var w = ones(8, dtype: ScalarType.BFloat16).requires_grad_(true);
        using var opt = new AdamW([new("x.weight", w)], new AdamWOptions(WeightDecay: 0));
        var master = opt.StateTensors().Single(kv => kv.Key == "master.x.weight").Value;
        Assert.Equal(ScalarType.Float32, master.dtype);
        for (int i = 0; i < 10; i++)
        {
            w.grad = ones(8, dtype: ScalarType.BFloat16);
            opt.Step(1e-4); // each step moves ~1e-4, far below bf16's spacing of 2^-7 near 1
        }
        float m = master[0].item<float>();
        Assert.InRange(m, 1 - 1.1e-3, 1 - 0.9e-3);                      // the master kept all ten updates
        Assert.True(w.to(ScalarType.Float32).SameAs(master.to(ScalarType.BFloat16).to(ScalarType.Float32)));
        Assert.Equal(ScalarType.BFloat16, w.dtype);
        Assert.DoesNotContain(opt.StateTensors(), kv => kv.Key.StartsWith("master.", StringComparison.Ordinal) && kv.Value.dtype != ScalarType.Float32);
    }

    [Fact]
    public void Fp32_weights_have_no_master_copy()
    {
        using var w = ones(3).requires_grad_(true);
        using var opt = new AdamW([new("x.weight", w)]);
        Assert.Equal(["exp_avg.x.weight", "exp_avg_sq.x.weight"], opt.StateTensors().Select(kv => kv.Key).ToArray());
    }

    [Fact]
    public void Restored_state_continues_exactly_like_the_original_optimizer()
    {
        using var a = tensor(new float[] { 0.3f, -0.2f, 1.0f }).requires_grad_(true);
        using var b = a.detach().clone().requires_grad_(true);
        using var optA = new AdamW([new("p.weight", a)]);
        using var optB = new AdamW([new("p.weight", b)]);
        a.grad = tensor(new float[] { 0.5f, -1f, 0.25f });
        optA.Step(1e-2);
        var saved = optA.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (no_grad()) b.copy_(a);
        optB.LoadState(optA.StepCount, n => saved.GetValueOrDefault(n), "test");
        foreach (var (p, o) in new[] { (a, optA), (b, optB) })
        {
            p.grad = tensor(new float[] { -0.1f, 0.2f, 0.3f });
            o.Step(5e-3);
        }
        Assert.True(a.SameAs(b));
    }

    [Fact]
    public void Loading_state_that_lacks_a_tensor_names_it()
    {
        using var p = ones(2).requires_grad_(true);
        using var opt = new AdamW([new("p.weight", p)]);
        var e = Assert.Throws<CheckpointException>(() => opt.LoadState(1, _ => null, "opt.safetensors"));
        Assert.Contains("exp_avg.p.weight", e.Message);
    }
}
