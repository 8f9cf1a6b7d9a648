namespace LongContext.Eval.Niah;

public enum DepthSpacing { Linear, Sigmoid }

/// <summary>Single: one needle per cell. Multi: k needles, the first at the depth, the rest spread evenly after it. Adversarial: a superseded value before the current one, plus look-alike distractor keys.</summary>
public enum NiahVariant { Single, Multi, Adversarial }

/// <summary>A user-given needle (gkamradt style): scored by substring match of any answer, or by an LLM judge.</summary>
public sealed record CustomNeedle(string Needle, string Question, IReadOnlyList<string> Answers);

public sealed record NiahOptions
{
    public required IReadOnlyList<int> Lengths { get; init; }
    public int DepthCount { get; init; } = 10;
    public DepthSpacing Spacing { get; init; } = DepthSpacing.Linear;
    public NiahVariant Variant { get; init; } = NiahVariant.Single;
    /// <summary>Needles per prompt for <see cref="NiahVariant.Multi"/>.</summary>
    public int Needles { get; init; } = 3;
    /// <summary>Look-alike distractor keys for <see cref="NiahVariant.Adversarial"/>.</summary>
    public int Distractors { get; init; } = 4;
    public int Seed { get; init; } = 42;
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>Tokens kept free besides the answer budget (gkamradt's final_context_length_buffer).</summary>
    public int Buffer { get; init; } = 0;
    public CustomNeedle? Custom { get; init; }
}
