namespace LongContext.Eval.Ruler;

/// <summary>
/// Prompt templates, answer prefixes and answer budgets copied verbatim from NVIDIA/RULER
/// scripts/data/synthetic/constants.py (Apache-2.0, Copyright NVIDIA CORPORATION), because scores are only comparable
/// when prompts match. The noise sentence is from scripts/data/synthetic/niah.py and variable_tracking.py.
/// </summary>
public static class RulerTemplates
{
    public const string NiahTemplate = "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic {type_needle_v} for {query} mentioned in the provided text?";
    public const string NiahAnswerPrefix = " The special magic {type_needle_v} for {query} mentioned in the provided text are";
    public const int NiahTokens = 128;

    public const string VtTemplate = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\nQuestion: Find all variables that are assigned the value {query} in the text above.";
    public const string VtAnswerPrefix = " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assigned the value {query}, they are: ";
    public const int VtTokens = 30;

    public const string CweTemplate = "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n{context}\nQuestion: What are the 10 most common words in the above list?";
    public const string CweAnswerPrefix = " Answer: The top 10 words that appear most often in the list are:";
    public const int CweTokens = 120;

    public const string FweTemplate = "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text?";
    public const string FweAnswerPrefix = " Answer: According to the coded text above, the three most frequently appeared words are:";
    public const int FweTokens = 50;

    public const string QaTemplate = "Answer the question based on the given documents. Only give me the answer and do not output any other words.\n\nThe following are given documents.\n\n{context}\n\nAnswer the question based on the given documents. Only give me the answer and do not output any other words.\n\nQuestion: {query}";
    public const string QaAnswerPrefix = " Answer:";
    public const int QaTokens = 32;

    /// <summary>RULER's needle sentence (always the plural type, even for single-needle tasks).</summary>
    public const string NeedleSentence = "One of the special magic {type_needle_v} for {key} is: {value}.";

    /// <summary>RULER's noise haystack unit (niah noise haystack and VT).</summary>
    public const string Noise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

    /// <summary>RULER's singular rewrite, applied when num_needle_q * num_needle_v == 1 (niah.py).</summary>
    public static string Singular(string template) =>
        template.Replace("Some", "A").Replace("are all", "is").Replace("are", "is").Replace("answers", "answer");

    /// <summary>Python str.format over named fields in one pass (so text filled in is never re-scanned).</summary>
    public static string Fill(string template, params (string Name, string Value)[] fields)
    {
        var map = fields.ToDictionary(f => f.Name, f => f.Value);
        return System.Text.RegularExpressions.Regex.Replace(template, @"\{(\w+)\}", m => map.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
    }
}
