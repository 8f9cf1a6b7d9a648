namespace LongContext.Training.Data;

/// <summary>
/// Uniformly random token sequences, reproducible from (seed, sequence index): for speed and memory benchmarks,
/// where throughput does not depend on the data. Labels are the next token; positions run 0 … L−1.
/// </summary>
public sealed class RandomTokenSource : ITrainingDataSource
{
    readonly int vocabSize;
    readonly long seed;
    long sequence;

    public RandomTokenSource(int vocabSize, int sequenceLength, int batchSize = 1, long seed = 0)
    {
        if (vocabSize < 2) throw new ArgumentOutOfRangeException(nameof(vocabSize));
        if (sequenceLength < 2) throw new ArgumentOutOfRangeException(nameof(sequenceLength));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        this.vocabSize = vocabSize;
        this.seed = seed;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
    }

    public int SequenceLength { get; }
    public int BatchSize { get; }
    public DataCursor Cursor => new(0, sequence);

    public void Seek(DataCursor cursor)
    {
        if (cursor.Epoch != 0 || cursor.Sequence < 0) throw new DataException($"random token source: cursor {cursor} is not one of its positions (epoch 0, sequence ≥ 0).");
        sequence = cursor.Sequence;
    }

    public TrainingBatch Next()
    {
        int l = SequenceLength;
        var ids = new long[(long)BatchSize * l];
        var labels = new long[ids.Length];
        var positions = new long[ids.Length];
        for (int row = 0; row < BatchSize; row++, sequence++)
        {
            var random = new Random(Mix(seed, sequence));   // not HashCode: it is salted per process
            int o = row * l;
            for (int i = 0; i < l; i++)
            {
                ids[o + i] = random.Next(vocabSize);
                positions[o + i] = i;
            }
            for (int i = 0; i < l - 1; i++) labels[o + i] = ids[o + i + 1];
            labels[o + l - 1] = TrainingBatch.IgnoreIndex;
        }
        return new TrainingBatch(ids, labels, positions, BatchSize, l);
    }

    /// <summary>SplitMix64 finaliser of (seed, index), folded to a non-negative int seed.</summary>
    static int Mix(long seed, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }
}
