using System.Text.Json;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// tokenizer.json `post_processor` for single sequences with add_special_tokens: TemplateProcessing (Llama-3's
/// BOS), ByteLevel (offsets only: ids unchanged), RobertaProcessing / BertProcessing (cls A sep) and Sequence.
/// </summary>
internal abstract class PostProcessor
{
    public abstract List<int> Process(List<int> ids);

    public static PostProcessor? FromJson(JsonElement json, string path)
    {
        if (json.ValueKind == JsonValueKind.Null) return null;
        string type = TokenizerJson.RequiredString(json, "type", path);
        switch (type)
        {
            case "ByteLevel":
                return new Template([], []);
            case "Sequence":
                return new Sequence(TokenizerJson.RequiredArray(json, "processors", path)
                    .Select((p, i) => FromJson(p, $"{path}.processors[{i}]")).OfType<PostProcessor>().ToArray());
            case "RobertaProcessing":
            case "BertProcessing":
            {
                int sep = json.GetProperty("sep")[1].GetInt32();
                int cls = json.GetProperty("cls")[1].GetInt32();
                return new Template([cls], [sep]);
            }
            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
                if (json.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object)
                    foreach (var p in st.EnumerateObject())
                        specials[p.Name] = p.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                var before = new List<int>();
                var after = new List<int>();
                bool seenSequence = false;
                var single = TokenizerJson.RequiredArray(json, "single", path);
                for (int i = 0; i < single.Count; i++)
                {
                    var piece = single[i];
                    if (piece.TryGetProperty("Sequence", out _))
                    {
                        seenSequence = true;
                    }
                    else if (piece.TryGetProperty("SpecialToken", out var sp))
                    {
                        string id = sp.GetProperty("id").GetString()!;
                        if (!specials.TryGetValue(id, out var ids))
                            throw new TokenizerException($"{path}.single[{i}]: special token '{id}' is missing from {path}.special_tokens");
                        (seenSequence ? after : before).AddRange(ids);
                    }
                    else
                    {
                        throw new TokenizerException($"{path}.single[{i}]: expected a Sequence or SpecialToken piece");
                    }
                }
                return new Template(before.ToArray(), after.ToArray());
            }
            default:
                throw new TokenizerException(
                    $"{path}.type: post-processor '{type}' is not supported; supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
        }
    }

    /// <summary>Fixed ids before and after the sequence.</summary>
    internal sealed class Template(int[] before, int[] after) : PostProcessor
    {
        public IReadOnlyList<int> Before => before;
        public IReadOnlyList<int> After => after;

        public override List<int> Process(List<int> ids)
        {
            if (before.Length == 0 && after.Length == 0) return ids;
            var result = new List<int>(ids.Count + before.Length + after.Length);
            result.AddRange(before);
            result.AddRange(ids);
            result.AddRange(after);
            return result;
        }
    }

    private sealed class Sequence(PostProcessor[] parts) : PostProcessor
    {
        public override List<int> Process(List<int> ids)
        {
            foreach (var p in parts) ids = p.Process(ids);
            return ids;
        }
    }
}
