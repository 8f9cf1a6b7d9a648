namespace LongContext.Training.Data;

/// <summary>
/// A deterministic, resumable stream of micro-batches. The same source options and the same <see cref="DataCursor"/>
/// always give the same next batch, so a resumed run sees exactly the data an uninterrupted one would.
/// </summary>
public interface ITrainingDataSource
{
    int SequenceLength { get; }
    int BatchSize { get; }

    /// <summary>Where the next call to <see cref="Next"/> reads from (saved in checkpoints).</summary>
    DataCursor Cursor { get; }

    /// <summary>Continues from a cursor saved earlier.</summary>
    void Seek(DataCursor cursor);

    /// <summary>The next micro-batch; wraps into a new epoch (reshuffled by the seed) at the end of the data.</summary>
    TrainingBatch Next();
}

/// <summary>Position in a data source: epoch and the index of the next packed sequence within it.</summary>
public sealed record DataCursor(int Epoch, long Sequence);
