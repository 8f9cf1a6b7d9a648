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
        if (prompt.Contains("[Criteria]", StringComparison.Ordinal)) return Judge(prompt);
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
                if (prompt.Length > 4000 && frac is > 0.3 and < 0.7) v = "1234567";
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

    private static string Judge(string prompt)
    {
        var reference = Regex.Match(prompt, @"\[Reference\]\n(.+?)\n\n\[Answer\]\n(.*?)\n\nScore:", RegexOptions.Singleline);
        return reference.Groups[2].Value.Contains(reference.Groups[1].Value, StringComparison.Ordinal) ? "10" : "Score: 3";
    }

    private static string Icl(string prompt)
    {
        var query = Regex.Matches(prompt, @"Input: (.+)").Last().Groups[1].Value.Trim();
        var m = Regex.Matches(prompt, $@"Input: {Regex.Escape(query)}\nLabel: (.+)").FirstOrDefault();
        return m is null ? " unknown" : " " + m.Groups[1].Value.Trim();
    }
}
