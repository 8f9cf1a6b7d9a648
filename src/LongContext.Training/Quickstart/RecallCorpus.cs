using LongContext.Training.Data;

namespace LongContext.Training.Quickstart;

/// <summary>
/// The quickstart's embedded training corpus: endless synthetic associative-recall sequences generated from a seed.
/// Each row binds every key to a random value (fresh per row, so no association carries across rows) and is a stream
/// of pair tokens `(k,v)` with query tokens `Q_k` mixed in; a query asks for a key seen earlier in the row, chosen
/// uniformly among the keys seen so far (so the distance to the answer spans the whole row). The label at a query is
/// the row's pair token for that key; nothing else carries a label, so the loss measures recall alone.
/// <para>
/// Row <c>i</c> of epoch <c>e</c> is a pure function of (seed, e, i), so the source is resumable from any
/// <see cref="DataCursor"/> (epochs have <see cref="long.MaxValue"/> rows; the epoch stays 0).
/// </para>
/// </summary>
public sealed class RecallCorpus : ITrainingDataSource
{
    private readonly RecallVocabulary _vocab;
    private readonly int _seed;
    private long _next;

    /// <param name="queryRate">Chance that a position is a query once the row has seen a key.</param>
    public RecallCorpus(RecallVocabulary vocab, int sequenceLength, int batchSize, int seed, double queryRate = 0.4)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        if (sequenceLength < 8) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "sequences need at least 8 tokens.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        if (queryRate is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(queryRate), queryRate, "query rate must be in (0, 1).");
        _vocab = vocab;
        _seed = seed;
        SequenceLength = sequenceLength;
        BatchSize = batchSize;
        QueryRate = queryRate;
    }

    public int SequenceLength { get; }
    public int BatchSize { get; }
    public double QueryRate { get; }
    public DataCursor Cursor => new(0, _next);

    public void Seek(DataCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        _next = cursor.Sequence;
    }

    public TrainingBatch Next()
    {
        var l = SequenceLength;
        var input = new long[BatchSize * l];
        var labels = new long[BatchSize * l];
        var positions = new long[BatchSize * l];
        for (var b = 0; b < BatchSize; b++)
        {
            var (row, rowLabels) = Row(_next++);
            row.CopyTo(input, b * l);
            rowLabels.CopyTo(labels, b * l);
            for (var i = 0; i < l; i++) positions[b * l + i] = i;
        }
        return new TrainingBatch(input, labels, positions, BatchSize, l);
    }

    /// <summary>Row <paramref name="index"/>: tokens and labels (label at a query = the row's pair for its key, else ignore).</summary>
    public (long[] Tokens, long[] Labels) Row(long index)
    {
        var rng = new Random(StableSeed.Of(_seed, index, 0x5EC0));
        var l = SequenceLength;
        var tokens = new long[l];
        var labels = new long[l];
        Array.Fill(labels, TrainingBatch.IgnoreIndex);
        var binding = new int[_vocab.KeyCount];      // this row's value of each key
        for (var k = 0; k < binding.Length; k++) binding[k] = _vocab.DrawValue(rng);
        var seenSet = new HashSet<int>();
        var seen = new List<int>();                  // keys seen in this row
        for (var i = 0; i < l; i++)
        {
            if (seen.Count > 0 && rng.NextDouble() < QueryRate)
            {
                var key = seen[rng.Next(seen.Count)];
                tokens[i] = _vocab.QueryFor(key);
                labels[i] = _vocab.Pair(key, binding[key]);
            }
            else
            {
                var key = rng.Next(_vocab.KeyCount);
                if (seenSet.Add(key)) seen.Add(key);
                tokens[i] = _vocab.Pair(key, binding[key]);
            }
        }
        return (tokens, labels);
    }
}
