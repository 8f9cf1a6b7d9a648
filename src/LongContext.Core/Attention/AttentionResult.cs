using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Attention output [B, Hq, L, D] (input dtype) and the row log-sum-exp [B, Hq, L] (fp32, natural log) that lets
/// partial results over disjoint key blocks be merged exactly (ring attention, chunked prefill).
/// </summary>
public readonly record struct AttentionResult(Tensor Output, Tensor Lse);
