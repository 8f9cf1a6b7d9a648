namespace LongContext.Training.Topology;

/// <summary>The sequence lengths a topology can shard (<see cref="ITrainingTopology.SequenceLengthMultiple"/>).</summary>
public static class SequenceLengthCheck
{
    /// <summary>
    /// Refuses a length that is not a multiple of <see cref="ITrainingTopology.SequenceLengthMultiple"/> (2·cp under
    /// context parallelism), naming the nearest valid ones; <paramref name="what"/> names it as the user gave it
    /// ("--seq-len 1000", "stage 3 (1000 tokens)").
    /// </summary>
    public static void CheckSequenceLength(this ITrainingTopology topology, long length, string? what = null)
    {
        int multiple = topology.SequenceLengthMultiple;
        if (multiple <= 1 || length % multiple == 0) return;
        long below = length / multiple * multiple, above = below + multiple;
        throw new ConfigException($"{what ?? $"sequence length {length}"} is not divisible by 2·cp = {multiple}: context parallelism over {multiple / 2} ranks "
            + $"cuts every row into {multiple} equal chunks (zigzag layout). Use a multiple of {multiple}: {(below > 0 ? $"{below} or " : "")}{above}.");
    }
}
