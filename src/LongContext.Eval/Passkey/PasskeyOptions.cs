namespace LongContext.Eval.Passkey;

public sealed record PasskeyOptions
{
    /// <summary>Prompt lengths in tokens (prompt + answer budget fit each).</summary>
    public required IReadOnlyList<int> Lengths { get; init; }
    /// <summary>Pass key depths from 0% to 100%, evenly spaced.</summary>
    public int DepthCount { get; init; } = 10;
    /// <summary>Prompts per (length, depth) cell, each with its own key.</summary>
    public int Samples { get; init; } = 5;
    /// <summary>Null: Landmark's random.randint(1, 50000); N: a uniform N-digit key.</summary>
    public int? Digits { get; init; }
    /// <summary>Landmark, PI and YaRN generate 10 tokens.</summary>
    public int MaxNewTokens { get; init; } = 10;
    public int Seed { get; init; } = 42;
}
