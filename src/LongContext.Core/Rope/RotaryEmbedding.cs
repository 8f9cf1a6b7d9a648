using LongContext.Formats.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Core.Rope;

/// <summary>
/// The model's rotary embedding: cos/sin for given position ids, numerically HF `LlamaRotaryEmbedding.forward`
/// (freqs = position·inv_freq in float32, emb = cat(freqs, freqs), cos/sin · attention_scaling, cast to dtype), with
/// HF's `dynamic_rope_update` for `dynamic` and `longrope`.
/// <para>
/// cos/sin rows are cached per (dtype, device) in a table covering positions 0 … N−1, N the largest position seen
/// plus one rounded up to a multiple of <see cref="TableChunk"/>; rows are element-wise functions of (position,
/// inv_freq), so a lookup equals recomputation. The table is dropped whenever inv_freq changes. While dynamic NTK is
/// scaled past max_position_embeddings inv_freq changes with every longer sequence, so cos/sin are then computed
/// directly from the position ids, as HF does.
/// </para>
/// Tensors returned by <see cref="Forward"/> belong to the caller; the cached tables belong to this object.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    /// <summary>The cos/sin table grows in steps of this many positions.</summary>
    public const int TableChunk = 4096;

    private readonly RopeParameters _rope;
    private readonly int _headDim;
    private readonly int _maxPositionEmbeddings;
    private readonly RopeFrequencies _original;
    private RopeFrequencies? _long;

    private RopeFrequencies _current;
    private int _version;

    private Tensor? _invFreqTensor;
    private int _invFreqVersion = -1;

    private Tensor? _cosTable, _sinTable;
    private int _tableVersion = -1;
    private int _tableRows;
    private ScalarType _tableDtype;
    private Device? _tableDevice;
    private bool _disposed;

    public RotaryEmbedding(ModelConfig config)
        : this((config ?? throw new ArgumentNullException(nameof(config))).Rope, config.HeadDim, config.MaxPositionEmbeddings) { }

    public RotaryEmbedding(RopeParameters rope, int headDim, int maxPositionEmbeddings)
    {
        ArgumentNullException.ThrowIfNull(rope);
        _rope = rope;
        _headDim = headDim;
        _maxPositionEmbeddings = maxPositionEmbeddings;
        // HF computes the initial frequencies with seq_len=None.
        _original = RopeFrequencies.Compute(rope, headDim, maxPositionEmbeddings);
        _current = _original;
        MaxSeqLenCached = maxPositionEmbeddings;
        OriginalMaxSeqLen = maxPositionEmbeddings;
    }

    public string RopeType => _rope.RopeType;

    /// <summary>Rotated channels per head (cos/sin last dimension).</summary>
    public int RotaryDim => _original.RotaryDim;

    /// <summary>The inv_freq and attention scaling in use now.</summary>
    public RopeFrequencies Frequencies => _current;

    public double AttentionScaling => _current.AttentionScaling;

    /// <summary>HF `max_seq_len_cached` (dynamic): the longest sequence the current inv_freq was made for.</summary>
    public int MaxSeqLenCached { get; private set; }

    /// <summary>HF `original_max_seq_len` = config max_position_embeddings.</summary>
    public int OriginalMaxSeqLen { get; }

    /// <summary>Positions the cached cos/sin table covers now (0 when none is cached).</summary>
    public int CachedPositions => _cosTable is null ? 0 : _tableRows;

    /// <summary>longrope: whether the long factors are in use.</summary>
    public bool UsingLongFactor { get; private set; }

    private bool IsDynamic => _rope.RopeType == "dynamic";
    private bool IsLongRope => _rope.RopeType == "longrope";

    /// <summary>
    /// HF `dynamic_rope_update` for a batch whose largest position is <paramref name="seqLen"/> − 1.
    /// dynamic: recompute inv_freq when seqLen exceeds <see cref="MaxSeqLenCached"/>; go back to the original
    /// inv_freq when seqLen drops below max_position_embeddings after having grown. longrope: long factors when
    /// seqLen &gt; original_max_position_embeddings, short otherwise. Other types: nothing to do.
    /// </summary>
    public void UpdateForSequenceLength(int seqLen)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsDynamic)
        {
            var cached = MaxSeqLenCached;
            if (seqLen > cached)
            {
                SetCurrent(DynamicNtkRope.ComputeForTensorSeqLen(_rope, _headDim, _maxPositionEmbeddings, seqLen));
                MaxSeqLenCached = seqLen;
            }
            if (seqLen < OriginalMaxSeqLen && cached > OriginalMaxSeqLen)
            {
                SetCurrent(_original);
                MaxSeqLenCached = OriginalMaxSeqLen;
            }
        }
        else if (IsLongRope)
        {
            var originalMax = RopeMath.OriginalMaxPositions(_rope, _maxPositionEmbeddings);
            var useLong = seqLen > originalMax;
            if (useLong == UsingLongFactor)
                return;
            UsingLongFactor = useLong;
            if (useLong)
            {
                // HF recomputes with seq_len = original_max + 1 and keeps its attention_scaling.
                _long ??= LongRope.Compute(_rope, _headDim, _maxPositionEmbeddings, originalMax + 1) with
                {
                    AttentionScaling = _original.AttentionScaling,
                };
                SetCurrent(_long);
            }
            else
            {
                SetCurrent(_original);
            }
        }
    }

    /// <summary>
    /// cos and sin, each [B, L, RotaryDim] in <paramref name="dtype"/> on <paramref name="device"/>, for
    /// <paramref name="positionIds"/> [B, L] (int64, non-negative). <paramref name="seqLen"/>, when the caller knows it,
    /// is max(positionIds) + 1 and saves a device-to-host read; otherwise it is read from the tensor.
    /// </summary>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds, ScalarType dtype, Device device, int? seqLen = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(positionIds);
        ArgumentNullException.ThrowIfNull(device);
        if (positionIds.dim() != 2)
            throw new ArgumentException($"positionIds must be [batch, length], got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));

        using var scope = NewDisposeScope();
        var positions = positionIds.dtype == ScalarType.Int64 ? positionIds : positionIds.to_type(ScalarType.Int64);
        if (!SameDevice(positions.device, device))
            positions = positions.to(device);
        var needed = seqLen ?? (positions.numel() == 0 ? 0 : checked((int)(positions.max().item<long>() + 1)));

        if (IsDynamic || IsLongRope)
            UpdateForSequenceLength(needed);

        Tensor cos, sin;
        if (IsDynamic && MaxSeqLenCached > OriginalMaxSeqLen)
        {
            (cos, sin) = CosSin(positions, dtype, device);
        }
        else
        {
            EnsureTable(needed, dtype, device);
            var flat = positions.reshape(-1);
            var shape = new long[] { positions.shape[0], positions.shape[1], RotaryDim };
            cos = _cosTable!.index_select(0, flat).reshape(shape);
            sin = _sinTable!.index_select(0, flat).reshape(shape);
        }
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// HF `apply_rotary_pos_emb` for one tensor: x [B, H, L, D] (or [B, L, H, D] with
    /// <paramref name="tokensBeforeHeads"/>) with cos/sin [B, L, R] or [L, R], R ≤ D even; the first R channels get
    /// x·cos + rotate_half(x)·sin (pairs (i, i+R/2), not interleaved), the rest pass through.
    /// </summary>
    /// <param name="tokensBeforeHeads">x is laid out [B, L, H, D], as the projections produce it: rotating before
    /// the transpose keeps every operand dense, which the GPU's vectorised kernels need.</param>
    public static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin, bool tokensBeforeHeads = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cos);
        ArgumentNullException.ThrowIfNull(sin);
        if (x.dim() != 4)
            throw new ArgumentException($"x must be [batch, heads, length, head_dim] or [batch, length, heads, head_dim], got [{string.Join(", ", x.shape)}].", nameof(x));
        if (cos.dim() is not (2 or 3) || !cos.shape.SequenceEqual(sin.shape))
            throw new ArgumentException(
                $"cos and sin must both be [batch, length, rot_dim] or [length, rot_dim], got [{string.Join(", ", cos.shape)}] and [{string.Join(", ", sin.shape)}].");
        var rot = cos.shape[^1];
        var d = x.shape[^1];
        if (rot % 2 != 0 || rot > d || rot == 0)
            throw new ArgumentException($"rot_dim {rot} must be even, positive and at most head_dim {d}.");

        using var scope = NewDisposeScope();
        // Broadcast over heads: [B,1,L,R] / [L,R] for [B,H,L,D]; [B,L,1,R] / [L,1,R] for [B,L,H,D].
        Tensor c, s;
        if (tokensBeforeHeads) (c, s) = cos.dim() == 3 ? (cos.unsqueeze(2), sin.unsqueeze(2)) : (cos.unsqueeze(1), sin.unsqueeze(1));
        else (c, s) = cos.dim() == 3 ? (cos.unsqueeze(1), sin.unsqueeze(1)) : (cos, sin);
        Tensor result;
        if (rot == d)
        {
            result = Rotate(x, c, s);
        }
        else
        {
            var xRot = x.narrow(-1, 0, rot);
            var xPass = x.narrow(-1, rot, d - rot);
            result = torch.cat([Rotate(xRot, c, s), xPass], -1);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>x·cos + rotate_half(x)·sin in three kernels: rotate_half(x)·sin = swap_halves(x)·[−sin₁, sin₂].</summary>
    private static Tensor Rotate(Tensor x, Tensor c, Tensor s)
    {
        var half = x.shape[^1] / 2;
        var signedSin = torch.cat([-s.narrow(-1, 0, half), s.narrow(-1, half, half)], -1);   // small: no head axis
        var swapped = torch.cat([x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return (x * c).addcmul_(swapped, signedSin, 1);
    }

    /// <summary>HF `rotate_half`: cat(−x[..., D/2:], x[..., :D/2]).</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var half = x.shape[^1] / 2;
        using var scope = NewDisposeScope();
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return torch.cat([-x2, x1], -1).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        DropTable();
        _invFreqTensor?.Dispose();
        _invFreqTensor = null;
    }

    private void SetCurrent(RopeFrequencies frequencies)
    {
        if (ReferenceEquals(frequencies, _current))
            return;
        _current = frequencies;
        _version++;
    }

    private Tensor InvFreqOn(Device device)
    {
        if (_invFreqTensor is null || _invFreqVersion != _version || !SameDevice(_invFreqTensor.device, device))
        {
            _invFreqTensor?.Dispose();
            _invFreqTensor = torch.tensor(_current.InvFreq, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
            _invFreqVersion = _version;
        }
        return _invFreqTensor;
    }

    /// <summary>HF's forward body for int64 positions of any shape [..., n] → cos/sin [..., n, R].</summary>
    private (Tensor Cos, Tensor Sin) CosSin(Tensor positions, ScalarType dtype, Device device)
    {
        var inv = InvFreqOn(device);
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1) * inv;    // [..., n, R/2], float32
        var emb = torch.cat([freqs, freqs], -1);
        var cos = emb.cos();
        var sin = emb.sin();
        if (_current.AttentionScaling != 1.0)
        {
            cos = cos * _current.AttentionScaling;
            sin = sin * _current.AttentionScaling;
        }
        return (cos.to_type(dtype), sin.to_type(dtype));
    }

    private void EnsureTable(int needed, ScalarType dtype, Device device)
    {
        var valid = _cosTable is not null && _tableVersion == _version && _tableDtype == dtype && _tableDevice is not null && SameDevice(_tableDevice, device);
        if (valid && _tableRows >= needed)
            return;

        var rows = Math.Max(TableChunk, (int)Math.Min(int.MaxValue, ((long)needed + TableChunk - 1) / TableChunk * TableChunk));
        var start = valid ? _tableRows : 0;
        using var scope = NewDisposeScope();
        var (cos, sin) = CosSin(torch.arange(start, rows, dtype: ScalarType.Int64, device: device), dtype, device);
        if (valid)
        {
            cos = torch.cat([_cosTable!, cos], 0);
            sin = torch.cat([_sinTable!, sin], 0);
        }
        DropTable();
        _cosTable = cos.DetachFromDisposeScope();
        _sinTable = sin.DetachFromDisposeScope();
        _tableRows = rows;
        _tableVersion = _version;
        _tableDtype = dtype;
        _tableDevice = device;
    }

    // "cuda" (index -1) is the current device, 0: TorchSharp has no set_device.
    private static bool SameDevice(Device a, Device b) => a.type == b.type && Math.Max(a.index, 0) == Math.Max(b.index, 0);

    private void DropTable()
    {
        _cosTable?.Dispose();
        _sinTable?.Dispose();
        _cosTable = _sinTable = null;
        _tableRows = 0;
    }
}
