using System.Security.Cryptography;
using System.Text;

namespace LongContext.Training.Data;

/// <summary>
/// What a token cache must agree with: the SHA-256 of the tokenizer files (tokenizer.json, plus tokenizer_config.json
/// and special_tokens_map.json when present, since they decide BOS/EOS) and the special ids used.
/// </summary>
public sealed record TokenizerIdentity(string Sha256, string Description)
{
    private static readonly string[] Files = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>Hashes the tokenizer files of a model folder (the folder HfTokenizer.Load reads).</summary>
    public static TokenizerIdentity FromModelDirectory(string modelDir)
    {
        string json = Path.Combine(modelDir, "tokenizer.json");
        if (!File.Exists(json)) throw new DataException($"{json} not found: the token cache needs the model's tokenizer.json");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in Files)
        {
            string path = Path.Combine(modelDir, name);
            if (!File.Exists(path)) continue;
            byte[] bytes = File.ReadAllBytes(path);
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}\n{bytes.Length}\n"));
            hash.AppendData(bytes);
        }
        return new TokenizerIdentity(Convert.ToHexStringLower(hash.GetHashAndReset()), Path.GetFullPath(json));
    }

    /// <summary>Identity of a tokenizer given as text (tests, in-memory tokenizers): the SHA-256 of that text.</summary>
    public static TokenizerIdentity FromText(string tokenizerText, string description = "in-memory tokenizer") =>
        new(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tokenizerText))), description);
}
