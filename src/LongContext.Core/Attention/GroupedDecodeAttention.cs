using LongContext.Core.Inference;
using LongContext.Core.Native;
using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Attention for one query token over a fixed window of cached keys, the shape a captured decode step needs:
/// slots past the current position are removed by an additive mask [window] (0 or −∞) that the step computes
/// on the device. Query heads are grouped under their KV head (HF's repeat_kv order), so each KV head is read
/// once by a small batched matmul and never repeated. Scores are formed in the model dtype and normalised in
/// fp32, as transformers' eager attention does. On CUDA, when the add-on was built with its kernels, one split-KV
/// kernel does the whole step instead (every SM streams its own span of the cache; scores stay in fp32).
/// K/V may also be FP8-E4M3 codes (uint8, <see cref="KvCacheStorage.Fp8E4M3"/> in device-position mode): the kernel
/// reads them as they are, one byte per element; without it they are decoded to q's dtype first.
/// </summary>
public sealed class GroupedDecodeAttention : IAttentionBackend
{
    /// <summary>The additive mask for the current step, [window] fp32; set by the decode step before the layers run.</summary>
    public Tensor? Mask { get; set; }

    public string Name => "grouped-decode";

    /// <summary>
    /// Use the add-on's split-KV kernel where it applies (default; LONGCTX_DECODE_KERNEL=0 turns it off for the
    /// process); false forces the matmul path.
    /// </summary>
    public bool UseNativeKernel { get; set; } = Environment.GetEnvironmentVariable("LONGCTX_DECODE_KERNEL") != "0";

    /// <summary>Whether the add-on's kernel takes these tensors (CUDA, q bf16/fp16, k/v q's dtype or FP8 codes,
    /// head_dim 64/128/256, groups 1/2/4/8).</summary>
    public static bool NativeKernelApplies(Tensor q, Tensor k, Tensor v, Tensor mask)
    {
        if (q.device_type != TorchSharp.DeviceType.CUDA || !NativeAddon.HasCudaKernels) return false;
        if (q.dtype is not (ScalarType.BFloat16 or ScalarType.Float16) || k.dtype != v.dtype || (k.dtype != q.dtype && k.dtype != ScalarType.Byte)) return false;
        long d = q.shape[3], g = q.shape[1] / k.shape[1];
        return d is 64 or 128 or 256 && g is 1 or 2 or 4 or 8 && q.shape[1] % k.shape[1] == 0
            && q.shape[0] == k.shape[0] && k.shape.SequenceEqual(v.shape)
            && mask.dtype == ScalarType.Float32 && mask.is_contiguous() && mask.device_type == TorchSharp.DeviceType.CUDA
            && new[] { q, k, v }.All(t => t.stride(3) == 1 && Enumerable.Range(0, 3).All(i => t.stride(i) % 8 == 0 || t.shape[i] == 1));
    }

    public Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal, double scale)
    {
        var mask = Mask ?? throw new InvalidOperationException("GroupedDecodeAttention needs Mask set for the step");
        long b = q.shape[0], hq = q.shape[1], d = q.shape[3], hkv = k.shape[1], s = k.shape[2];
        if (q.shape[2] != 1) throw new ArgumentException($"GroupedDecodeAttention takes one query token, got {q.shape[2]}");
        if (mask.shape[0] != s) throw new ArgumentException($"mask covers {mask.shape[0]} slots, keys {s}");
        if (UseNativeKernel && NativeKernelApplies(q, k, v, mask))
        {
            NativeAddon.Check(NativeAddon.lc_decode_attention(q.Handle, k.Handle, v.Handle, mask.Handle, scale, out var output), "decode attention");
            return NativeAddon.Adopt(output);
        }
        using var scope = NewDisposeScope();
        if (k.dtype == ScalarType.Byte) (k, v) = (Fp8E4M3.Decode(k, q.dtype), Fp8E4M3.Decode(v, q.dtype));   // FP8 codes, no kernel
        long g = hq / hkv;
        var qg = (q * scale).view(b, hkv, g, d);                                     // [B, Hkv, G, D]
        var scores = matmul(qg, k.transpose(2, 3)).to(ScalarType.Float32) + mask;   // [B, Hkv, G, S]
        var probs = scores.softmax(-1).to(q.dtype);
        Tensor result;
        long blocks = s / SplitBlock;
        if (blocks >= 2 && s % SplitBlock == 0 && v.stride(1) == s * d && v.stride(0) == hkv * s * d)
        {
            // probs·V as one matmul reduces over all S keys with only B·Hkv output tiles: at 128K most SMs sit
            // idle (measured ~1.6 TB/s on an H100). Split S into blocks that run as separate batch entries and add
            // the partial results (probabilities are already normalised). Only when V's window is dense per head,
            // i.e. the whole cache: otherwise the blocks would not form one batch dimension and V would be copied.
            var pb = probs.view(b, hkv, g, blocks, SplitBlock).transpose(2, 3);          // [B, Hkv, n, G, c]
            var vb = v.view(b, hkv, blocks, SplitBlock, d);                              // [B, Hkv, n, c, D]
            result = matmul(pb, vb).sum(2, type: ScalarType.Float32).to(q.dtype);       // [B, Hkv, G, D]
        }
        else result = matmul(probs, v);                                                  // [B, Hkv, G, D]
        return result.view(b, hq, 1, d).MoveToOuterDisposeScope();
    }

    /// <summary>Keys per block of the split probs·V product.</summary>
    public const int SplitBlock = 1024;
}
