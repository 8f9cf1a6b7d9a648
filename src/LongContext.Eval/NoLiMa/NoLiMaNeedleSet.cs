using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LongContext.Eval.NoLiMa;

/// <summary>One NoLiMa test: a needle and the question about it, as NoLiMa's run_tests.py expands a needle set entry.</summary>
public sealed record NoLiMaTest(
    string Name, string QuestionType, string Needle, string Question, IReadOnlyList<string> GoldAnswers, IReadOnlyList<string>? CharacterSet,
    string? Distractor, string TaskTemplate, string SystemPrompt, int Seed)
{
    /// <summary>"{CHAR}" needles name a character drawn per prompt; the gold answer is that name.</summary>
    public bool HasCharacter => Needle.Contains("{CHAR}", StringComparison.Ordinal);
}

/// <summary>
/// A NoLiMa needle set (needle_set.json and its variants; Adobe Research licence, so users provide their copy): a list
/// of entries with id, needle, questions by type, tests with input_args (and gold_answers), optional character_set,
/// distractors by question type, task_template and system_prompt. Expanded exactly as run_tests.py does it.
/// </summary>
public static class NoLiMaNeedleSet
{
    /// <summary>run_tests.py's DEFAULT_TASK_TEMPLATE (NoLiMa, Adobe Research licence; the prompt must match for comparable scores).</summary>
    public const string DefaultTaskTemplate = "You will answer a question based on the following book snippet:\n\n{haystack}\n\nUse the information provided in the book snippet to answer the question. Your answer should be short and based on either explicitly stated facts or strong, logical inferences.\n\nQuestion: {question}\n\n Return only the final answer with no additional explanation or reasoning.";

    public static List<NoLiMaTest> Load(string path, int baseSeed = 42)
    {
        if (!File.Exists(path)) throw new EvalException($"--needle-set {path}: file not found (NoLiMa's needle sets are data/needlesets/*.json of its Hugging Face dataset).");
        JsonArray entries;
        try { entries = JsonNode.Parse(File.ReadAllText(path)) as JsonArray ?? throw new EvalException($"{path}: a needle set is a JSON array of entries."); }
        catch (JsonException e) { throw new EvalException($"{path}: not valid JSON ({e.Message})."); }
        var tests = new List<NoLiMaTest>();
        for (var e = 0; e < entries.Count; e++)
        {
            var entry = entries[e] as JsonObject ?? throw new EvalException($"{path}: entry {e} is not an object.");
            string Str(JsonObject o, string key, string where) =>
                o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new EvalException($"{path}: {where} has no string \"{key}\".");
            var id = Str(entry, "id", $"entry {e}");
            var where = $"entry {id}";
            var needle = Str(entry, "needle", where);
            var questions = entry["questions"] as JsonObject ?? throw new EvalException($"{path}: {where} has no \"questions\" object.");
            var testsNode = entry["tests"] as JsonObject ?? throw new EvalException($"{path}: {where} has no \"tests\" object.");
            var systemPrompt = entry["system_prompt"]?.GetValue<string>() ?? "";
            var template = entry["task_template"]?.GetValue<string>() ?? DefaultTaskTemplate;
            var characters = entry["character_set"] is JsonArray cs ? cs.Select(c => c!.GetValue<string>()).ToList() : null;
            var distractors = entry["distractors"] as JsonObject;
            if (id.Length < 4 || !int.TryParse(id[..4], NumberStyles.None, CultureInfo.InvariantCulture, out var idNumber))
                throw new EvalException($"{path}: {where}: ids start with four digits (the seed is 42 + int(id[:4])).");
            foreach (var (questionType, questionNode) in questions)
            {
                var question = questionNode!.GetValue<string>();
                foreach (var (testId, testNode) in testsNode)
                {
                    var test = testNode as JsonObject ?? throw new EvalException($"{path}: {where} test {testId} is not an object.");
                    var args = test["input_args"] as JsonArray ?? throw new EvalException($"{path}: {where} test {testId} has no \"input_args\" list.");
                    var gold = test["gold_answers"] switch
                    {
                        JsonArray a => a.Select(x => x!.GetValue<string>()).ToList(),
                        JsonValue v when v.TryGetValue<string>(out var s) => [s],
                        _ => new List<string>(),
                    };
                    // run_tests.py replaces each placeholder in the *original* question and distractor (so only the
                    // last placeholder present is filled), but cumulatively in the needle; kept as is for comparability.
                    var fullQuestion = question;
                    var fullNeedle = needle;
                    string? distractor = null;
                    for (var a = 0; a < args.Count; a++)
                    {
                        var placeholder = "{" + (a + 1).ToString(CultureInfo.InvariantCulture) + "}";
                        var arg = args[a]!.GetValue<string>();
                        if (question.Contains(placeholder, StringComparison.Ordinal)) fullQuestion = question.Replace(placeholder, arg);
                        if (fullNeedle.Contains(placeholder, StringComparison.Ordinal)) fullNeedle = fullNeedle.Replace(placeholder, arg);
                        if (distractors?[questionType]?.GetValue<string>() is { } d && d.Contains(placeholder, StringComparison.Ordinal)) distractor = d.Replace(placeholder, arg);
                    }
                    var t = new NoLiMaTest($"{id}_{testId}_{questionType}", questionType, fullNeedle, fullQuestion, gold, characters, distractor, template, systemPrompt, baseSeed + idNumber);
                    if (t.HasCharacter && (characters is null || characters.Count == 0)) throw new EvalException($"{path}: {where}: the needle has {{CHAR}} but no \"character_set\".");
                    if (!t.HasCharacter && gold.Count == 0) throw new EvalException($"{path}: {where} test {testId} has no \"gold_answers\".");
                    tests.Add(t);
                }
            }
        }
        if (tests.Count == 0) throw new EvalException($"{path}: no tests in the needle set.");
        return tests;
    }
}
