namespace LongContext.Training.Data;

/// <summary>What a corpus gives at one sequence length (printed by the CLI; all counts per epoch).</summary>
/// <param name="CorpusDocuments">Documents in the corpus.</param>
/// <param name="CorpusTokens">Tokens in the corpus.</param>
/// <param name="UsedDocuments">Documents with at least one token inside the MaxTokens limit.</param>
/// <param name="UsedTokens">Tokens used once (after the MaxTokens limit).</param>
/// <param name="UpsampledDocuments">Documents repeated by upsampling.</param>
/// <param name="RepeatedTokens">Extra tokens from the repeats.</param>
/// <param name="EpochTokens">Tokens in the packed stream (used + repeated).</param>
/// <param name="Sequences">Full rows of SequenceLength tokens per epoch.</param>
/// <param name="DroppedTokens">The stream's tail that does not fill a row.</param>
/// <param name="DocumentsAtLeastSequenceLength">Used documents of ≥ SequenceLength tokens.</param>
/// <param name="LongestDocument">Tokens in the longest used document.</param>
public sealed record PackingReport(int SequenceLength, int BatchSize, long CorpusDocuments, long CorpusTokens, long UsedDocuments,
    long UsedTokens, long UpsampledDocuments, long RepeatedTokens, long EpochTokens, long Sequences, long DroppedTokens,
    long DocumentsAtLeastSequenceLength, long LongestDocument)
{
    /// <summary>Micro-batches per epoch (the last may wrap into the next epoch).</summary>
    public long BatchesPerEpoch => (Sequences + BatchSize - 1) / BatchSize;
}
