using LongContext.Eval.Text;

namespace LongContext.Eval.LongBench;

/// <summary>
/// LongBench v2's prompt templates, verbatim from THUDM/LongBench (Apache-2.0) prompts/0shot.txt, 0shot_cot.txt and
/// 0shot_cot_ans.txt at commit 2e00731 (no trailing newline; "Let’s" with U+2019). Scores are only comparable with
/// the published table when the prompt matches, so they are reproduced here with attribution.
/// </summary>
public static class LongBenchPrompts
{
    public const string ZeroShot = """
        Please read the following text and answer the question below.

        <text>
        $DOC$
        </text>

        What is the correct answer to this question: $Q$
        Choices:
        (A) $C_A$
        (B) $C_B$
        (C) $C_C$
        (D) $C_D$

        Format your response as follows: "The correct answer is (insert answer here)".
        """;

    public const string ZeroShotCot = """
        Please read the following text and answer the questions below.

        <text>
        $DOC$
        </text>

        What is the correct answer to this question: $Q$
        Choices:
        (A) $C_A$
        (B) $C_B$
        (C) $C_C$
        (D) $C_D$

        Let’s think step by step:
        """;

    public const string ZeroShotCotAnswer = """
        Please read the following text and answer the questions below.

        The text is too long and omitted here.

        What is the correct answer to this question: $Q$
        Choices:
        (A) $C_A$
        (B) $C_B$
        (C) $C_C$
        (D) $C_D$

        Let’s think step by step: $COT$

        Based on the above, what is the single, most likely answer choice? Format your response as follows: "The correct answer is (insert answer here)".
        """;

    /// <summary>pred.py's fill: the same replace chain, in its order, each value stripped as Python's str.strip().</summary>
    public static string Fill(string template, LongBenchItem item, string? cot = null)
    {
        var s = template.Replace("$DOC$", PythonStrings.Strip(item.Context!)).Replace("$Q$", PythonStrings.Strip(item.Question!))
            .Replace("$C_A$", PythonStrings.Strip(item.ChoiceA!)).Replace("$C_B$", PythonStrings.Strip(item.ChoiceB!))
            .Replace("$C_C$", PythonStrings.Strip(item.ChoiceC!)).Replace("$C_D$", PythonStrings.Strip(item.ChoiceD!));
        return cot is null ? s : s.Replace("$COT$", cot);
    }
}
