namespace LongContext.Eval.Niah;

/// <summary>
/// The originals our NIAH presets reproduce, quoted verbatim (gkamradt/LLMTest_NeedleInAHaystack, MIT, "Use of this
/// software requires attribution"; LangChain's multi-needle study of March 2024 runs on the same code): needles,
/// question, the OpenAI provider's system message and question suffix, its 300 answer tokens and 200-token buffer.
/// </summary>
public sealed record NiahPreset(string Name, IReadOnlyList<string> Needles, string Question, string Reference, IReadOnlyList<string> ScoreSubstrings, string ScoreNote)
{
    public const string SystemMessage = "You are a helpful AI bot that answers questions for a user. Keep your response short and direct";
    public const string QuestionSuffix = " Don't give information outside the document or repeat your findings";
    public const int MaxNewTokens = 300;
    public const int Buffer = 200;

    /// <summary>
    /// gkamradt's default: the San Francisco needle. Scored by the 1–10 judge when --judge-endpoint is given (×10),
    /// else by substring: 100 × the fraction of "sandwich" and "dolores park" found (case-insensitive).
    /// </summary>
    public static NiahPreset Gkamradt { get; } = new("gkamradt",
        ["\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n"],
        "What is the best thing to do in San Francisco?",
        "\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\n",
        ["sandwich", "dolores park"],
        "substring score: 100 × fraction of \"sandwich\" and \"dolores park\" in the answer (gkamradt's own score is the 1–10 judge: give --judge-endpoint)");

    /// <summary>LangChain's multi-needle pizza test (3 needles): 100 × the fraction of ingredients named in the answer.</summary>
    public static NiahPreset LangChainMulti { get; } = new("langchain_multi_needle",
        [
            " Figs are one of the secret ingredients needed to build the perfect pizza. ",
            " Prosciutto is one of the secret ingredients needed to build the perfect pizza. ",
            " Goat cheese is one of the secret ingredients needed to build the perfect pizza. ",
        ],
        "What are the secret ingredients needed to build the perfect pizza?",
        "Figs, prosciutto and goat cheese",
        ["figs", "prosciutto", "goat cheese"],
        "fraction of needles found: 100 × (ingredients named) / 3, by case-insensitive substring (LangChain's notebook cross-checks its judge this way)");

    public static NiahPreset ByName(string name) => name.ToLowerInvariant() switch
    {
        "gkamradt" => Gkamradt,
        "langchain" or "langchain-multi" or "langchain_multi_needle" => LangChainMulti,
        _ => throw new EvalException($"--preset {name}: use gkamradt or langchain-multi (our own variants are --variant single|multi|adversarial)."),
    };
}
