namespace LongContext.Formats.Tokenization;

/// <summary>What the engine, evaluation and trainer need from a tokenizer.</summary>
public interface ITextTokenizer
{
    int VocabSize { get; }
    int? BosTokenId { get; }
    int? EosTokenId { get; }
    /// <summary>Encodes text; with addSpecialTokens the post-processor's tokens (e.g. Llama-3's BOS) are added.</summary>
    IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true);
    string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false);
    /// <summary>Id of a token string (special or not), or null.</summary>
    int? TokenToId(string token);
}
