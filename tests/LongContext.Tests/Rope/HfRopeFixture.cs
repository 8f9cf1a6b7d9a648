using System.Text.Json.Nodes;
using LongContext.Core.Rope;
using LongContext.Formats.Config;

namespace LongContext.Tests.Rope;

/// <summary>
/// Reference values recorded from transformers (tools/fixtures/rope_reference.py on the GPU box) in
/// tests/fixtures/hf/rope_reference.json. Shape (either the object or just the array of entries):
/// <code>
/// {
///   "transformers_version": "5.17.0",               // optional, informational
///   "entries": [
///     {
///       "name": "llama3.1-8b",                        // shown in failures
///       "rope_parameters": {                          // HF v5 `config.rope_parameters` dict
///         "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
///         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192
///       },                                            // also: beta_fast, beta_slow, attention_factor, mscale,
///                                                     // mscale_all_dim, truncate, short_factor, long_factor,
///                                                     // partial_rotary_factor; "type" is read when "rope_type" is absent
///       "head_dim": 128,
///       "max_position_embeddings": 131072,
///       "seq_len": null,                              // the seq_len HF was called with (Python int or null)
///       "inv_freq": [1.0, 0.8..., ...],               // float32 values, head_dim·partial/2 of them
///       "attention_scaling": 1.0
///     }
///   ]
/// }
/// </code>
/// A key the mapping does not know fails the entry, so a fixture never silently tests less than it says.
/// </summary>
internal static class HfRopeFixture
{
    public sealed record Entry(string Name, RopeParameters Rope, int HeadDim, int MaxPositionEmbeddings, int? SeqLen,
        double[] InvFreq, double AttentionScaling);

    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "fixtures", "hf", "rope_reference.json");

    public static IReadOnlyList<Entry> Load(string path)
    {
        var root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty JSON");
        var entries = root is JsonArray a ? a : root["entries"] as JsonArray
            ?? throw new InvalidDataException($"{path}: expected an array or an object with \"entries\"");
        return entries.Select((e, i) => ParseEntry(e as JsonObject ?? throw new InvalidDataException($"{path}: entry {i} is not an object"), i)).ToList();
    }

    private static Entry ParseEntry(JsonObject e, int index)
    {
        var name = (string?)e["name"] ?? $"entry {index}";
        var rope = ToRopeParameters(e["rope_parameters"] as JsonObject ?? throw new InvalidDataException($"{name}: missing rope_parameters"), name);
        return new Entry(
            name, rope,
            (int)e["head_dim"]!,
            (int)e["max_position_embeddings"]!,
            e["seq_len"] is { } s ? (int)s : null,
            (e["inv_freq"] as JsonArray ?? throw new InvalidDataException($"{name}: missing inv_freq")).Select(x => (double)x!).ToArray(),
            (double)e["attention_scaling"]!);
    }

    /// <summary>HF v5 rope_parameters dict → our record (the mapping config parsing must also do).</summary>
    public static RopeParameters ToRopeParameters(JsonObject d, string name)
    {
        double? D(string k) => d[k] is { } v ? (double)v : null;
        double[]? Arr(string k) => d[k] is JsonArray arr ? arr.Select(x => (double)x!).ToArray() : null;
        string[] known =
        [
            "rope_type", "type", "rope_theta", "factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor",
            "beta_fast", "beta_slow", "attention_factor", "mscale", "mscale_all_dim", "truncate", "short_factor", "long_factor",
            "partial_rotary_factor",
        ];
        var unknown = d.Select(kv => kv.Key).Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new InvalidDataException($"{name}: rope_parameters keys not mapped by the test: {string.Join(", ", unknown)}");
        return new RopeParameters
        {
            RopeType = (string?)d["rope_type"] ?? (string?)d["type"] ?? "default",
            RopeTheta = D("rope_theta") ?? 10_000.0,
            Factor = D("factor"),
            OriginalMaxPositionEmbeddings = d["original_max_position_embeddings"] is { } o ? (int)o : null,
            LowFreqFactor = D("low_freq_factor"),
            HighFreqFactor = D("high_freq_factor"),
            BetaFast = D("beta_fast"),
            BetaSlow = D("beta_slow"),
            AttentionFactor = D("attention_factor"),
            MScale = D("mscale"),
            MScaleAllDim = D("mscale_all_dim"),
            Truncate = d["truncate"] is { } t ? (bool)t : null,
            ShortFactor = Arr("short_factor"),
            LongFactor = Arr("long_factor"),
            PartialRotaryFactor = D("partial_rotary_factor") ?? 1.0,
        };
    }

    /// <summary>Differences beyond <paramref name="relTol"/> between our computation and the recorded values.</summary>
    public static IReadOnlyList<string> Compare(Entry entry, double relTol = 1e-6)
    {
        var problems = new List<string>();
        RopeFrequencies f;
        try
        {
            f = RopeFrequencies.Compute(entry.Rope, entry.HeadDim, entry.MaxPositionEmbeddings, entry.SeqLen);
        }
        catch (Exception ex)
        {
            return [$"{entry.Name}: {ex.GetType().Name}: {ex.Message}"];
        }
        if (f.InvFreq.Length != entry.InvFreq.Length)
            return [$"{entry.Name}: inv_freq has {f.InvFreq.Length} values, transformers has {entry.InvFreq.Length}"];
        for (var i = 0; i < f.InvFreq.Length; i++)
        {
            var rel = Math.Abs(f.InvFreq[i] - entry.InvFreq[i]) / Math.Abs(entry.InvFreq[i]);
            if (!(rel <= relTol))
                problems.Add($"{entry.Name}: inv_freq[{i}] = {f.InvFreq[i]:R}, transformers {entry.InvFreq[i]:R} (rel {rel:E2})");
        }
        var relA = Math.Abs(f.AttentionScaling - entry.AttentionScaling) / Math.Abs(entry.AttentionScaling);
        if (!(relA <= relTol))
            problems.Add($"{entry.Name}: attention_scaling = {f.AttentionScaling:R}, transformers {entry.AttentionScaling:R}");
        return problems;
    }
}
