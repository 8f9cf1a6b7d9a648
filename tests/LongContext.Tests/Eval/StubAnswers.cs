using System.Text.RegularExpressions;

namespace LongContext.Tests.Eval;

/// <summary>
/// How the stub server answers: it reads the prompt like a diligent model would (regexes over needles, chains, word
/// counts, QA sentence overlap), so scores are computed, not fixed. Long NIAH prompts with the needle in the middle
/// third get a wrong value, so heatmaps are not uniform.
/// </summary>
public static partial class StubAnswers
{
    public static string Answer(string prompt)
    {
        if (prompt.Contains("[Ground truth]", StringComparison.Ordinal)) return Judge(prompt);
        if (prompt.Contains("What is the best thing to do in San Francisco?", StringComparison.Ordinal))
            return Regex.Match(prompt, @"The best thing to do in San Francisco is [^\n]+") is { Success: true } sf ? sf.Value : "I don't know.";
        if (prompt.Contains("What are the secret ingredients needed to build the perfect pizza?", StringComparison.Ordinal))
            return string.Join(", ", Regex.Matches(prompt, @" (\w[\w ]*?) (?:is|are) one of the secret ingredients").Select(m => m.Groups[1].Value)) + ".";
        if (prompt.Contains("Find all variables that are assigned the value", StringComparison.Ordinal)) return Vt(prompt);
        if (prompt.Contains("Below is a numbered list of words.", StringComparison.Ordinal)) return Cwe(prompt);
        if (prompt.Contains("Read the following coded text", StringComparison.Ordinal)) return Fwe(prompt);
        if (prompt.Contains("The following are given documents.", StringComparison.Ordinal)) return Qa(prompt);
        if (prompt.Contains("Learn the rule from the examples", StringComparison.Ordinal)) return Icl(prompt);
        return Niah(prompt);
    }

    private static string Niah(string prompt)
    {
        var cur = Regex.Match(prompt, @"current special magic number for (\S+) mentioned");
        if (cur.Success)
        {
            var m = Regex.Match(prompt, $@"for {Regex.Escape(cur.Groups[1].Value)} has changed; its current value is: (\d+)\.");
            return m.Success ? $" {m.Groups[1].Value}." : " I do not know.";
        }
        var q = Regex.Matches(prompt, @"for (.+?) mentioned in the provided text").LastOrDefault();
        if (q is null) return "I could not find it.";
        var keys = q.Groups[1].Value.Replace(", and ", ", ").Split(", ");
        var values = new List<string>();
        foreach (var key in keys)
            foreach (Match m in Regex.Matches(prompt, $@"special magic \w+ for {Regex.Escape(key)} is: (\S+?)\.(?=\s|$|\n)"))
            {
                var v = m.Groups[1].Value;
                var frac = m.Index / (double)prompt.Length;
                if (prompt.Length > 6000 && frac is > 0.3 and < 0.7) v = "1234567";
                values.Add(v);
            }
        return " " + string.Join(", ", values) + ".";
    }

    private static string Vt(string prompt)
    {
        var value = Regex.Matches(prompt, @"assigned the value (\d+)").Last().Groups[1].Value;
        var edges = Regex.Matches(prompt, @"VAR (\w+) = VAR (\w+)").Select(m => (To: m.Groups[1].Value, From: m.Groups[2].Value)).ToList();
        var found = Regex.Matches(prompt, $@"VAR (\w+) = {value}\b").Select(m => m.Groups[1].Value).ToList();
        for (var i = 0; i < found.Count; i++) found.AddRange(edges.Where(e => e.From == found[i] && !found.Contains(e.To)).Select(e => e.To));
        return string.Join(' ', found);
    }

    private static string Cwe(string prompt)
    {
        var start = prompt.LastIndexOf("Below is a numbered list of words.", StringComparison.Ordinal);
        var end = prompt.IndexOf("Question:", start, StringComparison.Ordinal);
        var top = Regex.Matches(prompt[start..end], @"\d+\. (\S+)").GroupBy(m => m.Groups[1].Value).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(10);
        return " " + string.Join(' ', top.Select((g, i) => $"{i + 1}. {g.Key}"));
    }

    private static string Fwe(string prompt)
    {
        var start = prompt.IndexOf("coded words. ", StringComparison.Ordinal) + 13;
        var end = prompt.IndexOf("\nQuestion:", start, StringComparison.Ordinal);
        var top = prompt[start..end].Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w != "...").GroupBy(w => w).OrderByDescending(g => g.Count()).Take(3);
        return " " + string.Join(' ', top.Select(g => g.Key));
    }

    private static string Qa(string prompt)
    {
        var question = Regex.Match(prompt, @"Question: (.+?)( Answer:)?$", RegexOptions.Singleline).Groups[1].Value;
        var qWords = Regex.Matches(question.ToLowerInvariant(), @"\w{3,}").Select(m => m.Value).ToHashSet();
        var sentences = Regex.Split(prompt[..prompt.LastIndexOf("Answer the question", StringComparison.Ordinal)], @"(?<=[.!?])\s+|\n");
        return sentences.OrderByDescending(s => Regex.Matches(s.ToLowerInvariant(), @"\w{3,}").Count(m => qWords.Contains(m.Value))).First().Trim();
    }

    /// <summary>LangChain's labeled_score_string format: "[[10]]" when the answer contains the reference, else "[[3]]".</summary>
    private static string Judge(string prompt)
    {
        var reference = Regex.Match(prompt, @"\[Ground truth\]\n(.+?)\nBegin your evaluation", RegexOptions.Singleline).Groups[1].Value.Trim();
        var answer = Regex.Match(prompt, @"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", RegexOptions.Singleline).Groups[1].Value;
        return answer.Contains(reference, StringComparison.Ordinal) ? "The answer matches. Rating: [[10]]" : "Partly relevant. Rating: [[3]]";
    }

    /// <summary>Learns word_label's kind of rule: the majority label of the examples whose input starts like the query's.</summary>
    private static string Icl(string prompt)
    {
        var query = Regex.Matches(prompt, @"Input: (.+)").Last().Groups[1].Value.Trim();
        var votes = Regex.Matches(prompt, @"Input: (.+)\nLabel: (.+)").Where(m => m.Groups[1].Value[0] == query[0])
            .GroupBy(m => m.Groups[2].Value.Trim()).OrderByDescending(g => g.Count()).FirstOrDefault();
        return votes is null ? " unknown" : " " + votes.Key;
    }
}
