using System.Text.Json.Serialization;

namespace LongContext.Eval.Perplexity;

/// <summary>
/// One scored document, one line of perplexity.jsonl: the summed NLL and token count per position bucket (bucket b
/// holds positions [b·size, (b+1)·size); position 0, the first token, has no loss). Aggregating sums, not means,
/// weights every token alike across documents.
/// </summary>
public sealed record PerplexityRecord
{
    [JsonPropertyName("key")] public required string Key { get; init; }
    [JsonPropertyName("doc")] public required string Document { get; init; }
    [JsonPropertyName("config_hash")] public required string ConfigHash { get; init; }
    /// <summary>Tokens of the document that were scored (after the cut to the length).</summary>
    [JsonPropertyName("tokens")] public int Tokens { get; init; }
    [JsonPropertyName("bucket_size")] public int BucketSize { get; init; }
    [JsonPropertyName("nll_sums")] public required IReadOnlyList<double> NllSums { get; init; }
    [JsonPropertyName("counts")] public required IReadOnlyList<int> Counts { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
}
