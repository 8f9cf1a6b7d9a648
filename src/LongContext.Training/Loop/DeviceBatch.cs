using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using static TorchSharp.torch;

namespace LongContext.Training.Loop;

/// <summary>
/// One micro-batch on the model's device: ids and labels [B, L] (int64) and the <see cref="ForwardContext"/> its
/// forward runs under — the attention backend, positions, the RoPE length of the whole batch, the sequence shard and,
/// with document masking, the document segments of the packed rows.
/// </summary>
public sealed record DeviceBatch(Tensor InputIds, Tensor Labels, ForwardContext Context, TrainingBatch Host)
{
    public long PredictedTokens { get; } = Host.PredictedTokens;

    /// <summary>Position ids [B, L] int64.</summary>
    public Tensor PositionIds => Context.PositionIds!;

    /// <summary>Uploads a host batch; <paramref name="documentMask"/> turns its document starts into a document mask.</summary>
    public static DeviceBatch Upload(TrainingBatch b, Device device, IAttentionBackend backend, bool documentMask = false)
    {
        long n = (long)b.BatchSize * b.SequenceLength;
        if (b.InputIds.Length != n || b.Labels.Length != n || b.PositionIds.Length != n)
            throw new LongContextException($"training batch is [{b.BatchSize}, {b.SequenceLength}] but has {b.InputIds.Length} ids, {b.Labels.Length} labels, {b.PositionIds.Length} positions.");
        if (b.Shard is { } shard && shard.LocalLength != b.SequenceLength)
            throw new LongContextException($"training batch rows hold {b.SequenceLength} tokens but its sequence shard holds {shard.LocalLength}.");
        DocumentSegments? documents = null;
        if (documentMask)
        {
            var starts = b.DocumentStarts ?? throw new LongContextException(
                "document_mask is on but the data source gives no document starts; pack the data with PackedDataSource (it tracks documents) or turn document masking off.");
            if (starts.Count != b.BatchSize)
                throw new LongContextException($"training batch has {b.BatchSize} rows but document starts for {starts.Count}.");
            documents = new DocumentSegments(starts, b.GlobalSequenceLength);
        }
        long[] shape = [b.BatchSize, b.SequenceLength];
        var context = new ForwardContext(backend)
        {
            PositionIds = tensor(b.PositionIds, shape).to(device),
            RopeSequenceLength = b.RopeSequenceLength,
            Documents = documents,
            Shard = b.Shard,
        };
        return new DeviceBatch(tensor(b.InputIds, shape).to(device), tensor(b.Labels, shape).to(device), context, b);
    }
}
