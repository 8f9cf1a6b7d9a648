using System.Text;
using System.Text.Json;
using LongContext.Formats.Tokenization;

namespace LongContext.Server.Scheduling;

/// <summary>
/// What stands between a request and the tokenizer, which otherwise runs outside the queue bound on any text up to the
/// body limit (a 20 MB prompt is millions of tokens and a gigabyte of memory). First a bound that costs one pass over
/// the text: every token covers at most <see cref="MaxInputBytesPerToken"/> bytes of input, so a prompt of more than
/// max_context × that many UTF-8 bytes cannot fit and is refused untokenized. Then prompts over
/// <see cref="SchedulerOptions.LargePromptBytes"/> need one of <see cref="SchedulerOptions.LargePromptTokenizations"/>
/// slots to be tokenized at all; without a free one they get 429 at once. Thread-safe.
/// </summary>
public sealed class PromptLengthGuard
{
    readonly HfTokenizer tokenizer;
    readonly int maxContext;
    readonly long largePromptBytes;
    readonly SemaphoreSlim slots;
    readonly int slotCount;
    readonly Lazy<long?> maxInputBytesPerToken;

    /// <param name="tokenizerJson">The tokenizer's tokenizer.json (its normalizer decides the bound); null or missing: no byte bound.</param>
    public PromptLengthGuard(HfTokenizer tokenizer, int maxContext, string? tokenizerJson, SchedulerOptions options)
    {
        this.tokenizer = tokenizer;
        this.maxContext = maxContext;
        largePromptBytes = options.LargePromptBytes;
        slotCount = options.LargePromptTokenizations;
        slots = new SemaphoreSlim(slotCount, slotCount);
        // Lazy: only prompts longer than max_context bytes ever need it (one Decode per vocabulary entry).
        maxInputBytesPerToken = new Lazy<long?>(() => NormalizerExpansion(tokenizerJson) is int factor ? factor * LongestTokenBytes(tokenizer) : null);
    }

    /// <summary>
    /// Input bytes one token can stand for: the longest token's UTF-8 bytes, times 4 behind a normalizer that can shrink
    /// text (NFC/NFKC/lowercase: a 4-byte character becomes one byte at most); null when no such bound is known (a
    /// normalizer that strips or replaces arbitrarily): then only the tokenization slots protect the server.
    /// </summary>
    public long? MaxInputBytesPerToken => maxInputBytesPerToken.Value;

    /// <summary>Refuses text that has more than max_context tokens on byte count alone (400 context_length_exceeded).</summary>
    public void CheckBytes(string text, string param)
    {
        if (text.Length <= maxContext) return;   // short: tokenizing it is cheap, and the exact count decides
        long bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes <= maxContext || MaxInputBytesPerToken is not long perToken) return;
        if (bytes > maxContext * perToken)
            throw new RequestRejectedException(RejectionKind.ContextLengthExceeded,
                $"this model's maximum context length is {maxContext} tokens, but the prompt is {bytes} bytes and this tokenizer's tokens cover at most {perToken} bytes each, so it has more than {maxContext} tokens; shorten it",
                param);
    }

    /// <summary>Runs <paramref name="tokenize"/> (holding a slot when the text is large); 429 when every slot is taken.</summary>
    public T Tokenize<T>(string text, Func<T> tokenize)
    {
        if (text.Length < largePromptBytes / 3 && Encoding.UTF8.GetByteCount(text) < largePromptBytes) return tokenize();
        if (!slots.Wait(0))
            throw new RequestRejectedException(RejectionKind.QueueFull,
                $"the server is busy tokenizing {slotCount} other long prompts (over {largePromptBytes >> 10} KiB each); retry later");
        try
        {
            return tokenize();
        }
        finally
        {
            slots.Release();
        }
    }

    static long LongestTokenBytes(HfTokenizer tokenizer)
    {
        long longest = 1;
        for (int id = 0; id < tokenizer.VocabSize; id++)
            longest = Math.Max(longest, Encoding.UTF8.GetByteCount(tokenizer.Decode([id], skipSpecialTokens: false, cleanUpTokenizationSpaces: false)));
        foreach (var added in tokenizer.AddedTokens) longest = Math.Max(longest, Encoding.UTF8.GetByteCount(added.Content));
        return longest;
    }

    /// <summary>
    /// How far the tokenizer's normalizer can shrink input: 1 when it only adds (none, Prepend, Replace by an equal or
    /// longer string, e.g. SentencePiece's ' ' → '▁'), 4 for Unicode normalization forms and Lowercase, null otherwise.
    /// </summary>
    internal static int? NormalizerExpansion(string? tokenizerJson)
    {
        if (tokenizerJson is null || !File.Exists(tokenizerJson)) return null;
        try
        {
            var reader = new Utf8JsonReader(File.ReadAllBytes(tokenizerJson));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isNormalizer = reader.ValueTextEquals("normalizer");
                reader.Read();
                if (isNormalizer)
                {
                    using var normalizer = JsonDocument.ParseValue(ref reader);
                    return Shrink(normalizer.RootElement);
                }
                reader.Skip();
            }
            return 1;   // no normalizer key: none
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static int? Shrink(JsonElement n)
    {
        if (n.ValueKind == JsonValueKind.Null) return 1;
        string? type = n.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "Prepend":
                return 1;
            case "Replace":
                return n.TryGetProperty("pattern", out var p) && p.TryGetProperty("String", out var s) && s.GetString() is string from
                    && n.TryGetProperty("content", out var c) && c.GetString() is string to
                    && from.Length > 0 && Encoding.UTF8.GetByteCount(to) >= Encoding.UTF8.GetByteCount(from) ? 1 : null;
            case "NFC" or "NFD" or "NFKC" or "NFKD" or "Lowercase":
                return 4;
            case "Sequence" when n.TryGetProperty("normalizers", out var parts) && parts.ValueKind == JsonValueKind.Array:
                long factor = 1;
                foreach (var part in parts.EnumerateArray())
                {
                    if (Shrink(part) is not int f) return null;
                    factor *= f;
                }
                return (int)Math.Min(factor, 64);
            default:
                return null;
        }
    }
}
