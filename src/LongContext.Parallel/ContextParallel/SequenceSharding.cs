using LongContext.Training.Data;

namespace LongContext.Parallel.ContextParallel;

/// <summary>
/// Cuts a training micro-batch to one context-parallel rank's zigzag shard (<see cref="ZigzagLayout"/>): input ids,
/// labels and position ids of every row. The labels come already shifted (label i is the token after input i, or −100),
/// so the label of a chunk's last token — the first token of the next chunk, held by another rank — stays with its
/// input, and no prediction is lost or doubled at shard boundaries. Positions are the global ones (restarting per
/// document when the packer resets them); the document starts (whole-row coordinates) and the RoPE length of the whole
/// batch are kept, so every shard attends and rotates as the whole row would.
/// </summary>
public static class SequenceSharding
{
    /// <summary>Rank <paramref name="rank"/>'s part of <paramref name="batch"/> over <paramref name="cp"/> ranks (the batch itself when cp = 1).</summary>
    public static TrainingBatch Shard(TrainingBatch batch, int cp, int rank)
    {
        if (batch.Shard is not null)
            throw new ContextParallelException($"the micro-batch is already a sequence shard (tokens {batch.Shard.LocalLength} of {batch.Shard.GlobalLength} per row); shard whole rows once.");
        if (cp == 1) return batch;
        var layout = new ZigzagLayout(cp, batch.SequenceLength);
        return batch with
        {
            InputIds = layout.Shard<long>(batch.InputIds, batch.BatchSize, rank),
            Labels = layout.Shard<long>(batch.Labels, batch.BatchSize, rank),
            PositionIds = layout.Shard<long>(batch.PositionIds, batch.BatchSize, rank),
            SequenceLength = checked((int)layout.LocalLength),
            Shard = layout.ShardOf(rank),
            // `with` copies RopeSequenceLength and DocumentStarts: those of the whole rows.
        };
    }
}
