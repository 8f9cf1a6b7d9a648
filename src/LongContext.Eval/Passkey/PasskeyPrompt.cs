namespace LongContext.Eval.Passkey;

/// <summary>
/// The passkey retrieval prompt of Landmark Attention (Mohtashami &amp; Jaggi 2023), used unchanged by Position
/// Interpolation, YaRN and LongLoRA: a task line, filler cut to a character count, the pass key line, the rest of the
/// filler, and "What is the pass key? The pass key is", joined by "\n". Both filler pieces are prefixes of the repeated
/// filler (so the second starts again with "The grass is green."), cut at a character, as the original does.
/// </summary>
public static class PasskeyPrompt
{
    public const string TaskDescription = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you about the important information there.";
    public const string Filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
    public const string FinalQuestion = "What is the pass key? The pass key is";

    public static string InformationLine(string key) => $"The pass key is {key}. Remember it. {key} is the pass key.";

    /// <summary>
    /// The prompt with <paramref name="fillerChars"/> characters of filler in all; floor(depth/100 · fillerChars) of
    /// them come before the pass key (LongLoRA's depth form of the Landmark generator).
    /// </summary>
    public static string Build(int fillerChars, double depth, string key)
    {
        var prefix = (int)Math.Floor(Math.Clamp(depth, 0, 100) / 100.0 * fillerChars);
        var filler = RepeatedFiller(fillerChars);
        return string.Join('\n', TaskDescription, filler[..prefix], InformationLine(key), filler[..(fillerChars - prefix)], FinalQuestion);
    }

    /// <summary>Python's " ".join([filler] * n) cut to at least <paramref name="chars"/> characters.</summary>
    private static string RepeatedFiller(int chars)
    {
        var copies = chars / (Filler.Length + 1) + 1;
        return string.Join(' ', Enumerable.Repeat(Filler, copies));
    }
}
