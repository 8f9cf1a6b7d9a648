using LongContext.Core.Attention;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Attention;

/// <summary>
/// Sliding-window attention (transformers 5: query i sees keys i − window &lt; j ≤ i) against a brute-force reference
/// that builds the full [S, S] mask explicitly, for the attention op and for a whole tiny Mistral/Qwen2 model in a single
/// forward, chunked prefill and token-by-token decode. fp32 on the CPU.
/// </summary>
public class SlidingWindowTests
{
    const int Window = 8;
    const int Tokens = 40;

    /// <summary>softmax(q·kᵀ·scale + mask)·v with the mask written out entry by entry (K/V heads repeated for GQA).</summary>
    static Tensor Reference(Tensor q, Tensor k, Tensor v, int? window, double scale)
    {
        long l = q.shape[2], s = k.shape[2], groups = q.shape[1] / k.shape[1];
        var allowed = new bool[l * s];
        for (long r = 0; r < l; r++)
        {
            long i = s - l + r;
            for (long j = 0; j < s; j++) allowed[r * s + j] = j <= i && (window is not int w || j > i - w);
        }
        var mask = tensor(allowed).reshape(l, s);
        var kk = k.repeat_interleave(groups, dim: 1);
        var vv = v.repeat_interleave(groups, dim: 1);
        var scores = matmul(q, kk.transpose(-2, -1)) * scale;
        scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);
        return matmul(scores.softmax(-1), vv);
    }

    /// <summary>Runs every attention call through <see cref="Reference"/>: the brute-force model.</summary>
    sealed class ReferenceBackend : IAttentionBackend
    {
        public string Name => "reference";
        public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale) => Reference(q, k, v, null, scale);
        public Tensor AttendSlidingWindow(Tensor q, Tensor k, Tensor v, int window, double scale) => Reference(q, k, v, window, scale);
    }

    public static TheoryData<string> Backends => new() { "sdpa", "fused" };
    static IAttentionBackend Backend(string name) => name == "sdpa" ? new SdpaAttentionBackend() : new FusedAttentionBackend();

    [Theory]
    [InlineData(40, 40, 8)]    // one prefill past the window
    [InlineData(7, 40, 8)]     // a chunk at the end of a long cache: K/V narrowed to 14
    [InlineData(1, 40, 8)]     // decode
    [InlineData(5, 12, 8)]     // window cuts only the chunk's first queries
    [InlineData(6, 6, 8)]      // all within the window: plain causal
    [InlineData(3, 10, 1)]     // each query sees only itself
    public void Windowed_attention_matches_an_explicit_mask(int l, int s, int window)
    {
        using var scope = NewDisposeScope();
        var g = new Generator((ulong)(l * 1000 + s));
        var q = randn(new long[] { 2, 4, l, 16 }, generator: g);
        var k = randn(new long[] { 2, 2, s, 16 }, generator: g);
        var v = randn(new long[] { 2, 2, s, 16 }, generator: g);
        var expected = Reference(q, k, v, window, 0.3);
        foreach (var backend in new IAttentionBackend[] { new SdpaAttentionBackend(), new FusedAttentionBackend() })
        {
            var actual = backend.AttendSlidingWindow(q, k, v, window, 0.3);
            Assert.True(allclose(actual, expected, rtol: 1e-5, atol: 1e-5), $"{backend.Name}: max diff {(actual - expected).abs().max().item<float>()}");
        }
        if (s > window)   // the window matters here: full causal attention gives another answer
            Assert.False(allclose(Reference(q, k, v, null, 0.3), expected, rtol: 1e-3, atol: 1e-3));
    }

    [Theory]
    [InlineData(40, 40)]
    [InlineData(37, 50)]
    public void Long_chunks_split_into_query_blocks_give_the_same_result(int l, int s)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var q = randn(new long[] { 1, 4, l, 16 }, generator: g);
        var k = randn(new long[] { 1, 2, s, 16 }, generator: g);
        var v = randn(new long[] { 1, 2, s, 16 }, generator: g);
        var expected = Reference(q, k, v, Window, 0.25);
        var saved = SlidingWindowAttention.QueryBlock;
        SlidingWindowAttention.QueryBlock = 16;   // blocks of max(16, window) queries; exact, so concurrent tests are unaffected
        try
        {
            IAttentionBackend backend = new SdpaAttentionBackend();
            var actual = backend.AttendSlidingWindow(q, k, v, Window, 0.25);
            Assert.True(allclose(actual, expected, rtol: 1e-5, atol: 1e-5));
        }
        finally { SlidingWindowAttention.QueryBlock = saved; }
    }

    [Fact]
    public void The_mask_keeps_the_window_most_recent_keys_including_the_query()
    {
        // 3 queries at positions 7, 8, 9 of 10 keys, window 4: 4..7, 5..8, 6..9.
        var mask = SlidingWindowAttention.Mask(3, 10, 4, CPU);
        var rows = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 10).Where(c => mask[r, c].item<bool>()).ToArray()).ToArray();
        Assert.Equal([4, 5, 6, 7], rows[0]);
        Assert.Equal([5, 6, 7, 8], rows[1]);
        Assert.Equal([6, 7, 8, 9], rows[2]);
    }

    static ModelConfig TinyConfig(string modelType, int maxWindowLayers = 0) => new()
    {
        ModelType = modelType, VocabSize = 97, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 64,
        AttentionBias = modelType == "qwen2", SlidingWindow = Window, MaxWindowLayers = maxWindowLayers,
    };

    /// <summary>Random weights, large enough that attention is sharp and each key's weight shows in the logits.</summary>
    static LlamaForCausalLM TinyModel(string modelType, int maxWindowLayers = 0) =>
        ModelLoader.CreateRandom(TinyConfig(modelType, maxWindowLayers), CPU, ScalarType.Float32, seed: 1234, std: 0.3);

    /// <summary>The same weights with the window switched off.</summary>
    static LlamaForCausalLM WithoutWindow(LlamaForCausalLM model)
    {
        var copy = ModelLoader.Create(model.Config with { SlidingWindow = null }, CPU, ScalarType.Float32);
        var source = model.NamedTensors();
        using var _ = no_grad();
        foreach (var (name, p) in copy.NamedTensors()) p.copy_(source[name]);
        return copy;
    }

    static long[] Ids() => Enumerable.Range(0, Tokens).Select(i => (long)((i * 37 + 11) % 97)).ToArray();

    static Tensor FullLogits(LlamaForCausalLM model, IAttentionBackend backend)
    {
        using var _ = no_grad();
        return model.Logits(model.Forward(tensor(Ids()).unsqueeze(0), backend)[0]);   // [T, vocab]
    }

    static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        var diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"{what}: max |Δlogit| = {diff}");
    }

    [Theory]
    [InlineData("mistral", 0)]
    [InlineData("qwen2", 1)]   // max_window_layers 1: layer 0 full attention, layer 1 windowed
    public void Single_forward_past_the_window_matches_the_brute_force_model(string arch, int maxWindowLayers)
    {
        using var model = TinyModel(arch, maxWindowLayers);
        var expected = FullLogits(model, new ReferenceBackend());
        foreach (var name in new[] { "sdpa", "fused" }) AssertClose(expected, FullLogits(model, Backend(name)), name);

        // The window changes the result past it, and not before.
        using var full = WithoutWindow(model);
        var unwindowed = FullLogits(full, new ReferenceBackend());
        AssertClose(unwindowed.narrow(0, 0, Window), expected.narrow(0, 0, Window), "within the window");
        Assert.True((unwindowed.narrow(0, Window, Tokens - Window) - expected.narrow(0, Window, Tokens - Window)).abs().max().item<float>() > 1e-2);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Chunked_prefill_and_decode_past_the_window_match_the_brute_force_model(string backendName)
    {
        using var model = TinyModel("mistral");
        var expected = FullLogits(model, new ReferenceBackend());
        var backend = Backend(backendName);
        var ids = Ids();
        using var _ = no_grad();

        // Prefill in chunks of 7 (some shorter than the window, some ending past it), logits at every position.
        using (var cache = new KvCache(model.Config, 1, Tokens, model.Dtype, model.Device))
        {
            var parts = new List<Tensor>();
            for (int start = 0; start < Tokens; start += 7)
            {
                int len = Math.Min(7, Tokens - start);
                parts.Add(model.Logits(model.Forward(tensor(ids[start..(start + len)]).unsqueeze(0), backend, cache)[0]));
            }
            AssertClose(expected, cat(parts, 0), $"{backendName} chunked prefill");
        }

        // A 5-token prompt, then one token at a time to 40: every step past the window reads a narrowed cache.
        using (var cache = new KvCache(model.Config, 1, Tokens, model.Dtype, model.Device))
        {
            var parts = new List<Tensor> { model.Logits(model.Forward(tensor(ids[..5]).unsqueeze(0), backend, cache)[0]) };
            for (int t = 5; t < Tokens; t++)
                parts.Add(model.Logits(model.Forward(tensor(new[] { ids[t] }).unsqueeze(0), backend, cache)[0]));
            AssertClose(expected, cat(parts, 0), $"{backendName} decode");
        }
    }

    [Fact]
    public void Generation_runs_past_the_window()
    {
        using var model = TinyModel("mistral");
        var generated = new TextGenerator(model, new SdpaAttentionBackend())
            .Generate(Ids().Select(i => (int)i).ToArray()[..20], new GenerationOptions { MaxNewTokens = 10, PrefillChunk = 6 }).ToList();
        Assert.Equal(10, generated.Count);

        // Greedy generation agrees with the brute-force model fed the same tokens.
        var all = Ids()[..20].Concat(generated.Select(i => (long)i)).ToArray();
        using var _ = no_grad();
        var logits = model.Logits(model.Forward(tensor(all).unsqueeze(0), new ReferenceBackend())[0]);
        for (int t = 0; t < 10; t++) Assert.Equal(generated[t], (int)logits[19 + t].argmax().item<long>());
    }
}
