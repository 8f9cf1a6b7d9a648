using static TorchSharp.torch;

namespace LongContext.Core.Attention;

/// <summary>
/// Block-diagonal causal attention over packed documents: every document segment of a row is its own causal square,
/// so a token never sees another document's keys and nothing is computed off the diagonal blocks. Each segment is one
/// call of the causal kernel a backend already has (cuDNN or FlashAttention-2 with LSE on CUDA, the math fallback on
/// the CPU); rows with the same segments share their calls. Layout as <see cref="IAttentionBackend"/>, with S = L.
/// </summary>
/// <remarks>
/// Why per-segment calls rather than cuDNN's variable-length (<c>cum_seq_q/k</c>) arguments: the calls reuse the
/// kernels, LSE handling and backward that are already checked against the fallback (selftest), and their cost is
/// one launch per segment and layer, small beside the attention of long documents. Rows of many tiny documents
/// (thousands per row) would be faster through a varlen kernel; that is the place to add one.
/// </remarks>
public static class DocumentAttention
{
    /// <summary>Checks q [B, H, L, D] and k [B, Hkv, S, D] fit the segments: B rows, S = L = the segments' row length.</summary>
    public static void CheckShapes(Tensor q, Tensor k, DocumentSegments documents)
    {
        long b = q.shape[0], l = q.shape[2], s = k.shape[2];
        if (l != s)
            throw new ArgumentException($"a document mask is for full-sequence forwards (training): {l} queries over {s} keys (a KV cache?) is not one");
        if (b != documents.Rows || l != documents.SequenceLength)
            throw new ArgumentException($"the document segments describe {documents.Rows} row(s) of {documents.SequenceLength} tokens, the attention input is {b} × {l}");
    }

    /// <summary>Through any backend: causal (or sliding-window) attention per segment, concatenated; differentiable as the backend is.</summary>
    public static Tensor Attend(IAttentionBackend backend, Tensor q, Tensor k, Tensor v, DocumentSegments documents, int? window, double scale)
    {
        CheckShapes(q, k, documents);
        using var scope = NewDisposeScope();
        Tensor Causal(Tensor qs, Tensor ks, Tensor vs) =>
            window is int w ? backend.AttendSlidingWindow(qs, ks, vs, w, scale) : backend.Attend(qs, ks, vs, causal: true, scale);
        var rows = new List<Tensor>();
        foreach (var (first, count, segments) in RowGroups(documents))
        {
            var parts = segments.Select(seg => Causal(Cut(q, first, count, seg), Cut(k, first, count, seg), Cut(v, first, count, seg))).ToList();
            rows.Add(parts.Count == 1 ? parts[0] : cat(parts, 2));
        }
        return (rows.Count == 1 ? rows[0] : cat(rows, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>Output and LSE through <see cref="FusedAttention"/>'s causal kernel, one call per segment.</summary>
    public static AttentionResult Forward(Tensor q, Tensor k, Tensor v, DocumentSegments documents, double? scale = null,
        AttentionKernel kernel = AttentionKernel.Auto)
    {
        CheckShapes(q, k, documents);
        using var scope = NewDisposeScope();
        // Output in [B, L, H, D] memory like the kernels' own, so the model's merge of heads stays a view.
        var output = empty([q.shape[0], q.shape[2], q.shape[1], v.shape[3]], dtype: q.dtype, device: q.device).transpose(1, 2);
        var lse = empty([q.shape[0], q.shape[1], q.shape[2]], dtype: ScalarType.Float32, device: q.device);
        foreach (var (first, count, segments) in RowGroups(documents))
            foreach (var seg in segments)
            {
                using var inner = NewDisposeScope();
                var r = FusedAttention.Forward(Cut(q, first, count, seg), Cut(k, first, count, seg), Cut(v, first, count, seg), causal: true, scale, kernel);
                Cut(output, first, count, seg).copy_(r.Output);
                lse.narrow(0, first, count).narrow(2, seg.Start, seg.Length).copy_(r.Lse);
            }
        return new AttentionResult(output.MoveToOuterDisposeScope(), lse.MoveToOuterDisposeScope());
    }

    /// <summary>Gradients given the forward's output and LSE, one causal backward call per segment.</summary>
    public static (Tensor dq, Tensor dk, Tensor dv) Backward(Tensor gradOut, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        DocumentSegments documents, double? scale = null, AttentionKernel kernel = AttentionKernel.Auto)
    {
        CheckShapes(q, k, documents);
        using var scope = NewDisposeScope();
        var dq = empty(q.shape, q.dtype, q.device);
        var dk = empty(k.shape, k.dtype, k.device);
        var dv = empty(v.shape, v.dtype, v.device);
        foreach (var (first, count, segments) in RowGroups(documents))
            foreach (var seg in segments)
            {
                using var inner = NewDisposeScope();
                var (a, b, c) = FusedAttention.Backward(Cut(gradOut, first, count, seg), Cut(q, first, count, seg), Cut(k, first, count, seg),
                    Cut(v, first, count, seg), Cut(output, first, count, seg), lse.narrow(0, first, count).narrow(2, seg.Start, seg.Length),
                    causal: true, scale, kernel);
                Cut(dq, first, count, seg).copy_(a);
                Cut(dk, first, count, seg).copy_(b);
                Cut(dv, first, count, seg).copy_(c);
            }
        return (dq.MoveToOuterDisposeScope(), dk.MoveToOuterDisposeScope(), dv.MoveToOuterDisposeScope());
    }

    /// <summary>Rows that can share kernel calls: all of them when their segments agree, else one row at a time.</summary>
    static IEnumerable<(int First, int Count, IReadOnlyList<TokenRange> Segments)> RowGroups(DocumentSegments documents)
    {
        if (documents.SameInEveryRow)
        {
            yield return (0, documents.Rows, documents.Segments(0));
            yield break;
        }
        for (int row = 0; row < documents.Rows; row++) yield return (row, 1, documents.Segments(row));
    }

    // [B, H, L, D] → rows first … first + count − 1, tokens of the segment.
    static Tensor Cut(Tensor t, int first, int count, TokenRange seg) => t.narrow(0, first, count).narrow(2, seg.Start, seg.Length);
}
