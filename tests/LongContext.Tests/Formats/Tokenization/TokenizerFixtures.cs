using System.Text.Json;

namespace LongContext.Tests.Formats.Tokenization;

/// <summary>Finds tokenizer fixture folders and their HF-recorded tokenizer_vectors.json files.</summary>
public static class TokenizerFixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "fixtures");
    public static string Dir(string name) => Path.Combine(Root, "tokenizer", name);

    /// <summary>Every folder under fixtures/ that holds tokenizer.json and tokenizer_vectors.json (ours and the lead's fixtures/hf/).</summary>
    public static IEnumerable<string> VectorFolders() =>
        Directory.Exists(Root)
            ? Directory.EnumerateFiles(Root, "tokenizer_vectors.json", SearchOption.AllDirectories)
                .Select(Path.GetDirectoryName).OfType<string>()
                .Where(d => File.Exists(Path.Combine(d, "tokenizer.json"))).Order(StringComparer.Ordinal)
            : [];

    public static IEnumerable<object[]> VectorCases()
    {
        foreach (var dir in VectorFolders())
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_vectors.json")));
            int n = doc.RootElement.GetArrayLength();
            for (int i = 0; i < n; i++) yield return [Path.GetRelativePath(Root, dir), i];
        }
    }
}
