using System.Globalization;

namespace LongContext.Formats.Config;

/// <summary>
/// Reads RoPE settings in either HF form into <see cref="RopeParameters"/>: transformers-4 (`rope_theta`,
/// `partial_rotary_factor` and `rope_scaling` with `type` or `rope_type`) or transformers-5 (`rope_parameters`).
/// Follows transformers' key handling: legacy `type`, `"su"` for longrope, `rope_theta` inside the dict winning over
/// the top-level one, top-level `original_max_position_embeddings` (Phi-3 style) winning for llama3/yarn/longrope,
/// which otherwise default to `max_position_embeddings`. Stricter than transformers where it only warns: keys the
/// rope type doesn't use, factor &lt; 1 and inconsistent frequency bounds are errors, since they change the math.
/// </summary>
internal static class RopeConfigReader
{
    /// <summary>Top-level keys this reader consumes (whether present or not).</summary>
    public static readonly IReadOnlyList<string> TopLevelKeys =
        ["rope_theta", "rope_scaling", "rope_parameters", "partial_rotary_factor"];

    private const string OriginalMaxKey = "original_max_position_embeddings";

    private static readonly string[] CommonKeys = ["type", "rope_type", "rope_theta", "partial_rotary_factor"];

    private static readonly Dictionary<string, (string[] Required, string[] Optional)> KeysByType = new()
    {
        ["default"] = ([], []),
        ["linear"] = (["factor"], []),
        ["dynamic"] = (["factor"], []),
        ["yarn"] = (["factor"], [OriginalMaxKey, "attention_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate"]),
        ["llama3"] = (["factor", "low_freq_factor", "high_freq_factor"], [OriginalMaxKey]),
        ["longrope"] = (["short_factor", "long_factor"], [OriginalMaxKey, "factor", "attention_factor"]),
    };

    /// <param name="top">The whole config.json object.</param>
    /// <param name="consumedTopLevel">Receives top-level keys read here beyond <see cref="TopLevelKeys"/>.</param>
    public static RopeParameters Read(
        JsonFields top, int maxPositionEmbeddings, int headDim, List<string> warnings, ISet<string> consumedTopLevel)
    {
        var topTheta = top.OptDouble("rope_theta");
        var topPartial = top.OptDouble("partial_rotary_factor");
        var scaling = top.Raw("rope_scaling");
        var parameters = top.Raw("rope_parameters");
        if (scaling is not null && parameters is not null)
        {
            throw top.Error("fields 'rope_scaling' and 'rope_parameters'",
                "are both set; keep one (rope_parameters is the transformers-5 form of rope_theta + rope_scaling)");
        }

        if (scaling is null && parameters is null)
        {
            return new RopeParameters
            {
                RopeType = "default",
                RopeTheta = CheckTheta(top, "rope_theta", topTheta ?? 10000.0),
                PartialRotaryFactor = CheckPartial(top, "partial_rotary_factor", topPartial ?? 1.0),
            };
        }

        var dictKey = scaling is not null ? "rope_scaling" : "rope_parameters";
        var dict = new JsonFields((scaling ?? parameters)!.Value, top.SourceName, dictKey + ".");

        var ropeType = dict.OptString("rope_type");
        var legacyType = dict.OptString("type");
        if (ropeType is not null && legacyType is not null && Normalise(ropeType) != Normalise(legacyType))
        {
            throw dict.Error($"fields '{dict.Name("rope_type")}' and '{dict.Name("type")}'",
                $"disagree (\"{ropeType}\" vs \"{legacyType}\"); keep rope_type");
        }
        var typeKey = ropeType is not null ? "rope_type" : "type";
        var type = Normalise(ropeType ?? legacyType ?? "default");
        if (!KeysByType.TryGetValue(type, out var keys))
        {
            throw dict.FieldError(typeKey == "type" ? "rope_type" : typeKey,
                $"is \"{ropeType ?? legacyType}\", which is not supported; supported: {string.Join(", ", RopeParameters.SupportedTypes)}");
        }

        var allowed = new HashSet<string>(CommonKeys.Concat(keys.Required).Concat(keys.Optional));
        var unknown = dict.Keys.Where(k => !allowed.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw dict.Error($"field '{dictKey}'",
                $"has key(s) {string.Join(", ", unknown.Select(k => $"'{k}'"))} that rope_type \"{type}\" does not use "
                + $"(they would change the RoPE math); allowed: {string.Join(", ", allowed.Order(StringComparer.Ordinal))}");
        }
        var missing = keys.Required.Where(k => !dict.HasValue(k)).ToList();
        if (missing.Count > 0)
        {
            throw dict.Error($"field '{dictKey}'",
                $"lacks required key(s) {string.Join(", ", missing.Select(k => $"'{k}'"))} for rope_type \"{type}\"");
        }

        var dictTheta = dict.OptDouble("rope_theta");
        if (dictTheta is { } a && topTheta is { } b && a != b)
        {
            warnings.Add($"{top.SourceName}: '{dict.Name("rope_theta")}' ({Fmt(a)}) differs from top-level 'rope_theta' "
                + $"({Fmt(b)}); using {Fmt(a)} as transformers does.");
        }
        var theta = CheckTheta(dictTheta is not null ? dict : top, "rope_theta", dictTheta ?? topTheta ?? 10000.0);
        var partialFromDict = dict.OptDouble("partial_rotary_factor");
        var partial = CheckPartial(partialFromDict is not null ? dict : top, "partial_rotary_factor",
            partialFromDict ?? topPartial ?? 1.0);

        int? originalMax = null;
        if (type is "llama3" or "yarn" or "longrope")
        {
            // transformers 5 gives a top-level original_max_position_embeddings (Phi-3) priority over the dict's.
            var fromTop = top.OptInt(OriginalMaxKey);
            if (fromTop is not null)
            {
                consumedTopLevel.Add(OriginalMaxKey);
            }
            originalMax = fromTop ?? dict.OptInt(OriginalMaxKey) ?? maxPositionEmbeddings;
            if (originalMax <= 0)
            {
                throw (fromTop is not null ? top : dict).FieldError(OriginalMaxKey, $"must be positive, got {originalMax}");
            }
        }
        else
        {
            originalMax = dict.OptInt(OriginalMaxKey);
        }

        var rope = new RopeParameters
        {
            RopeType = type,
            RopeTheta = theta,
            PartialRotaryFactor = partial,
            OriginalMaxPositionEmbeddings = originalMax,
            Factor = dict.OptDouble("factor"),
            LowFreqFactor = dict.OptDouble("low_freq_factor"),
            HighFreqFactor = dict.OptDouble("high_freq_factor"),
            BetaFast = dict.OptDouble("beta_fast"),
            BetaSlow = dict.OptDouble("beta_slow"),
            AttentionFactor = dict.OptDouble("attention_factor"),
            MScale = dict.OptDouble("mscale"),
            MScaleAllDim = dict.OptDouble("mscale_all_dim"),
            Truncate = dict.OptBool("truncate"),
            ShortFactor = dict.OptDoubleArray("short_factor"),
            LongFactor = dict.OptDoubleArray("long_factor"),
        };
        Validate(rope, dict, maxPositionEmbeddings, headDim, warnings);
        return rope;
    }

    /// <summary>"su" is Phi-3's early name for longrope; types are case-sensitive in transformers.</summary>
    private static string Normalise(string type) => type == "su" ? "longrope" : type;

    private static void Validate(RopeParameters rope, JsonFields dict, int maxPositionEmbeddings, int headDim, List<string> warnings)
    {
        if (rope.Factor is { } factor && factor < 1.0)
        {
            throw dict.FieldError("factor", $"must be >= 1 (the context extension ratio), got {Fmt(factor)}");
        }
        switch (rope.RopeType)
        {
            case "llama3":
                if (rope.LowFreqFactor <= 0)
                {
                    throw dict.FieldError("low_freq_factor", $"must be positive, got {Fmt(rope.LowFreqFactor!.Value)}");
                }
                if (rope.HighFreqFactor <= rope.LowFreqFactor)
                {
                    throw dict.FieldError("high_freq_factor",
                        $"must be greater than low_freq_factor, got {Fmt(rope.HighFreqFactor!.Value)} <= {Fmt(rope.LowFreqFactor!.Value)}");
                }
                if (rope.OriginalMaxPositionEmbeddings >= maxPositionEmbeddings)
                {
                    warnings.Add($"{dict.SourceName}: '{dict.Name(OriginalMaxKey)}' ({rope.OriginalMaxPositionEmbeddings}) "
                        + $"is not below max_position_embeddings ({maxPositionEmbeddings}).");
                }
                break;
            case "yarn":
                if (rope.AttentionFactor is < 0)
                {
                    throw dict.FieldError("attention_factor", $"must be >= 0, got {Fmt(rope.AttentionFactor.Value)}");
                }
                if ((rope.BetaFast ?? 32) < (rope.BetaSlow ?? 1))
                {
                    throw dict.FieldError("beta_fast",
                        $"must be >= beta_slow (defaults 32 and 1), got {Fmt(rope.BetaFast ?? 32)} < {Fmt(rope.BetaSlow ?? 1)}");
                }
                break;
            case "longrope":
                var half = (int)(headDim * rope.PartialRotaryFactor) / 2;
                foreach (var (key, values) in new[] { ("short_factor", rope.ShortFactor!), ("long_factor", rope.LongFactor!) })
                {
                    if (values.Length != half)
                    {
                        throw dict.FieldError(key,
                            $"must have head_dim * partial_rotary_factor / 2 = {half} entries, got {values.Length}");
                    }
                    if (values.Any(v => v <= 0))
                    {
                        throw dict.FieldError(key, "must hold positive numbers only");
                    }
                }
                if (rope.AttentionFactor is < 0)
                {
                    throw dict.FieldError("attention_factor", $"must be >= 0, got {Fmt(rope.AttentionFactor.Value)}");
                }
                break;
        }
    }

    private static double CheckTheta(JsonFields fields, string key, double theta) =>
        theta > 1.0 ? theta : throw fields.FieldError(key, $"must be greater than 1, got {Fmt(theta)}");

    private static double CheckPartial(JsonFields fields, string key, double partial) =>
        partial is > 0 and <= 1 ? partial : throw fields.FieldError(key, $"must be in (0, 1], got {Fmt(partial)}");

    internal static string Fmt(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
