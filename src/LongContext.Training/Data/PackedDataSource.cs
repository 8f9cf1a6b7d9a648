namespace LongContext.Training.Data;

/// <summary>
/// Packs a token corpus into rows of exactly <see cref="SequenceLength"/> tokens. The packed stream is the corpus
/// (cut at MaxTokens) followed by UpsampleFactor − 1 further passes over the documents of ≥ UpsampleMinTokens
/// tokens, in corpus order; the stream is cut into consecutive rows (long documents run across rows, the tail
/// that does not fill a row is dropped). Each epoch visits every row once, in an order shuffled by (Seed, epoch).
/// Labels are the next token within the row, −100 at the row's last position (and, with MaskDocumentBoundaries,
/// before each document start). Not thread-safe; the corpus is not owned (dispose a TokenCache yourself).
/// </summary>
public sealed class PackedDataSource : ITrainingDataSource
{
    private readonly ITokenCorpus _corpus;
    private readonly PackingOptions _options;
    // The stream as spans of corpus tokens: span i is stream [_spanStream[i], _spanStream[i+1]) = corpus from _spanCorpus[i].
    private readonly long[] _spanStream;
    private readonly long[] _spanCorpus;
    private int[]? _order;
    private int _orderEpoch = -1;
    private int _epoch;
    private long _sequence;

    public PackedDataSource(ITokenCorpus corpus, PackingOptions options)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        options.Validate();
        _corpus = corpus;
        _options = options;
        (_spanStream, _spanCorpus, Report) = Layout(corpus, options);
        if (Report.Sequences == 0)
            throw new DataException($"the data gives {Report.EpochTokens:N0} tokens, fewer than one sequence of {options.SequenceLength:N0}; "
                + "use a shorter sequence length, more data, or a larger max-tokens limit");
        if (Report.Sequences > int.MaxValue) throw new DataException($"{Report.Sequences:N0} sequences per epoch: more than this packer indexes; use max-tokens");
    }

    public int SequenceLength => _options.SequenceLength;
    public int BatchSize => _options.BatchSize;
    public PackingOptions Options => _options;
    /// <summary>Tokens, documents and sequences this corpus gives at this length.</summary>
    public PackingReport Report { get; }
    public long SequencesPerEpoch => Report.Sequences;

    public DataCursor Cursor => new(_epoch, _sequence);

    public void Seek(DataCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        if (cursor.Epoch < 0 || cursor.Sequence < 0 || cursor.Sequence > SequencesPerEpoch)
            throw new DataException($"data cursor (epoch {cursor.Epoch}, sequence {cursor.Sequence}) is outside this data ({SequencesPerEpoch:N0} sequences per epoch): "
                + "the data or packing options changed since the checkpoint was written");
        (_epoch, _sequence) = (cursor.Epoch, cursor.Sequence);
        Normalize();
    }

    /// <summary>Packs the report for a corpus without building a source (CLI: "what does this data give at 64K?").</summary>
    public static PackingReport Describe(ITokenCorpus corpus, PackingOptions options)
    {
        options.Validate();
        return Layout(corpus, options).Report;
    }

    public TrainingBatch Next()
    {
        int length = SequenceLength, batch = BatchSize;
        var input = new long[(long)batch * length];
        var labels = new long[input.Length];
        var positions = new long[input.Length];
        var starts = new int[batch][];
        for (int row = 0; row < batch; row++)
        {
            Normalize();
            long sequence = OrderFor(_epoch)[_sequence++];
            starts[row] = FillRow(sequence, input.AsSpan(row * length, length), labels.AsSpan(row * length, length),
                positions.AsSpan(row * length, length));
        }
        Normalize();
        return new TrainingBatch(input, labels, positions, batch, length) { DocumentStarts = starts };
    }

    /// <summary>Packed sequence <paramref name="sequence"/> (in stream order, before shuffling) as one row.</summary>
    public TrainingBatch ReadSequence(long sequence)
    {
        if (sequence < 0 || sequence >= SequencesPerEpoch) throw new ArgumentOutOfRangeException(nameof(sequence));
        int length = SequenceLength;
        var input = new long[length];
        var labels = new long[length];
        var positions = new long[length];
        var starts = FillRow(sequence, input, labels, positions);
        return new TrainingBatch(input, labels, positions, 1, length) { DocumentStarts = [starts] };
    }

    private void Normalize()
    {
        if (_sequence < SequencesPerEpoch) return;
        _epoch++;
        _sequence = 0;
    }

    private int[] OrderFor(int epoch)
    {
        if (_orderEpoch != epoch || _order is null)
        {
            int count = (int)SequencesPerEpoch;
            _order = _options.Shuffle ? SeededPermutation.Create(count, _options.Seed, epoch) : Enumerable.Range(0, count).ToArray();
            _orderEpoch = epoch;
        }
        return _order;
    }

    private int[] FillRow(long sequence, Span<long> input, Span<long> labels, Span<long> positions)
    {
        int length = input.Length;
        long pos = sequence * length;
        int span = UpperBound(_spanStream, pos) - 1;
        var starts = new List<int> { 0 };
        int offset = 0;
        while (offset < length)
        {
            long spanStart = _spanStream[span];
            int take = (int)Math.Min(length - offset, _spanStream[span + 1] - pos);
            long from = _spanCorpus[span] + (pos - spanStart);
            _corpus.CopyTokens(from, input.Slice(offset, take));
            if (pos == spanStart && offset > 0) starts.Add(offset);
            for (long d = _corpus.DocumentAt(from) + 1; d < _corpus.DocumentCount; d++)
            {
                long docStart = _corpus.DocumentStart(d);
                if (docStart >= from + take) break;
                starts.Add(offset + (int)(docStart - from));
            }
            offset += take;
            pos += take;
            span++;
        }

        for (int i = 0; i < length - 1; i++) labels[i] = input[i + 1];
        labels[length - 1] = TrainingBatch.IgnoreIndex;
        if (_options.MaskDocumentBoundaries)
            foreach (int s in starts)
                if (s > 0) labels[s - 1] = TrainingBatch.IgnoreIndex;

        int segment = 0;
        for (int i = 0; i < length; i++)
        {
            if (segment + 1 < starts.Count && starts[segment + 1] == i) segment++;
            positions[i] = _options.ResetPositionIds ? i - starts[segment] : i;
        }
        return starts.ToArray();
    }

    /// <summary>Index of the first element greater than value (array ascending).</summary>
    private static int UpperBound(long[] sorted, long value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static (long[] SpanStream, long[] SpanCorpus, PackingReport Report) Layout(ITokenCorpus corpus, PackingOptions options)
    {
        long corpusTokens = corpus.TokenCount, corpusDocs = corpus.DocumentCount;
        long used = Math.Min(corpusTokens, options.MaxTokens ?? long.MaxValue);
        var spanStream = new List<long> { 0 };
        var spanCorpus = new List<long> { 0 };
        var upsampled = new List<(long Start, long Length)>();
        long usedDocs = 0, atLeastL = 0, longest = 0;
        bool upsample = options.UpsampleFactor > 1;
        for (long d = 0; d < corpusDocs; d++)
        {
            long start = corpus.DocumentStart(d);
            if (start >= used) break;
            long len = Math.Min(corpus.DocumentStart(d + 1), used) - start;
            usedDocs++;
            longest = Math.Max(longest, len);
            if (len >= options.SequenceLength) atLeastL++;
            if (upsample && len >= options.UpsampleMinTokens) upsampled.Add((start, len));
        }

        long stream = used;
        for (int pass = 1; upsample && pass < options.UpsampleFactor; pass++)
            foreach (var (start, len) in upsampled)
            {
                spanStream.Add(stream);
                spanCorpus.Add(start);
                stream += len;
            }
        spanStream.Add(stream);
        long repeated = stream - used;
        long sequences = stream / options.SequenceLength;
        var report = new PackingReport(options.SequenceLength, options.BatchSize, corpusDocs, corpusTokens, usedDocs, used,
            upsampled.Count, repeated, stream, sequences, stream - sequences * options.SequenceLength, atLeastL, longest);
        return (spanStream.ToArray(), spanCorpus.ToArray(), report);
    }
}
