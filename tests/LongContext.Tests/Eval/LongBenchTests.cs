using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LongContext.Eval;
using LongContext.Eval.LongBench;
using LongContext.Eval.Text;

namespace LongContext.Tests.Eval;

public class LongBenchTests
{
    /// <summary>
    /// A tiny data.json in LongBench v2's format: each context states one fact; the right choice repeats it. Question
    /// "q3" has its fact missing, so a reader of the context cannot know and guesses A (wrong: its answer is C).
    /// </summary>
    internal static string WriteData(string dir, int contextWords = 50, bool jsonl = false)
    {
        (string Domain, string Sub, string Difficulty, string Length, string Answer)[] specs =
        [
            ("Single-Document QA", "Academic", "easy", "short", "B"), ("Single-Document QA", "Literary", "hard", "medium", "A"),
            ("Code Repository Understanding", "Code", "hard", "long", "D"), ("Code Repository Understanding", "Code", "easy", "short", "C"),
        ];
        var items = new JsonArray();
        for (var i = 0; i < specs.Length; i++)
        {
            var s = specs[i];
            var code = (4000 + 17 * i).ToString();
            var filler = string.Join(' ', Enumerable.Range(0, contextWords).Select(w => $"word{(w * 31 + i) % 89}"));
            var fact = i == 3 ? "" : $" The vault code is {code}. ";
            var item = new JsonObject
            {
                ["_id"] = $"q{i}", ["domain"] = s.Domain, ["sub_domain"] = s.Sub, ["difficulty"] = s.Difficulty, ["length"] = s.Length,
                ["question"] = "  What is the vault code?\n", ["context"] = "\n" + filler + fact + filler + "  ", ["answer"] = s.Answer,
            };
            foreach (var letter in "ABCD")
                item[$"choice_{letter}"] = letter.ToString() == s.Answer ? code : (1000 + 7 * i + letter).ToString();
            items.Add(item);
        }
        var path = Path.Combine(dir, jsonl ? "data.jsonl" : "data.json");
        File.WriteAllText(path, jsonl ? string.Join('\n', items.Select(x => x!.ToJsonString())) + "\n" : items.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>Answers like a reader: the choice whose text appears in the document, else (A).</summary>
    internal static string Reader(string prompt)
    {
        var doc = Regex.Match(prompt, "<text>(.*)</text>", RegexOptions.Singleline);
        var choices = Regex.Matches(prompt, @"^\(([A-D])\) (.+)$", RegexOptions.Multiline);
        var found = choices.FirstOrDefault(c => doc.Success && doc.Groups[1].Value.Contains(c.Groups[2].Value, StringComparison.Ordinal));
        if (prompt.Contains("Let’s think step by step: ", StringComparison.Ordinal))          // CoT's second call: read the reasoning
            return Regex.Match(prompt, @"so I pick ([A-D])\.") is { Success: true } m ? $"**The correct answer is ({m.Groups[1].Value})**" : "Unsure.";
        if (prompt.EndsWith("Let’s think step by step:", StringComparison.Ordinal)) return $"The code appears in the text, so I pick {found?.Groups[1].Value ?? "A"}.";
        return $"The correct answer is ({found?.Groups[1].Value ?? "A"})";
    }

    static string Sha256(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public void Templates_are_byte_identical_to_longbench_prompt_files()
    {
        // sha256 of prompts/0shot.txt, 0shot_cot.txt, 0shot_cot_ans.txt in THUDM/LongBench at 2e00731.
        Assert.Equal("68a162252bc9ff71d5d7abca3d69bb31aac3c35f832d657a2866f2018b8a6950", Sha256(LongBenchPrompts.ZeroShot));
        Assert.Equal("6cc33d92fd8f611662b756c1f10f302c541ca005b58c46d5f3188ac3a939bfe8", Sha256(LongBenchPrompts.ZeroShotCot));
        Assert.Equal("85ec59df4ac0e27aabbc619a7ca5cf3ae1787dd5a76cf51a18944eb52c91955f", Sha256(LongBenchPrompts.ZeroShotCotAnswer));
    }

    [Fact]
    public void Fill_strips_each_field_and_replaces_in_pred_py_order()
    {
        var item = new LongBenchItem { Context = "\x1c doc with $Q$ inside \n", Question = " q? ", ChoiceA = "a", ChoiceB = "b", ChoiceC = "c", ChoiceD = "d " };
        var s = LongBenchPrompts.Fill(LongBenchPrompts.ZeroShot, item);
        Assert.Contains("<text>\ndoc with q? inside\n</text>", s);               // $DOC$ goes in first, so a "$Q$" inside it is replaced too
        Assert.Contains("(D) d\n\nFormat", s);
        Assert.EndsWith("Let’s think step by step: my reasoning\n\nBased on the above, what is the single, most likely answer choice? Format your response as follows: \"The correct answer is (insert answer here)\".",
            LongBenchPrompts.Fill(LongBenchPrompts.ZeroShotCotAnswer, item, "my reasoning"));
    }

    [Theory]
    [InlineData("The correct answer is (B)", "B")]
    [InlineData("**The correct answer is (C)**", "C")]
    [InlineData("The correct answer is D.", "D")]
    [InlineData("The correct answer is B, no wait: The correct answer is (C)", "C")]   // the parenthesised form is searched first
    [InlineData("the correct answer is (A)", null)]                                    // case-sensitive, as pred.py
    [InlineData("(A)", null)]
    [InlineData("The correct answer is (E)", null)]
    public void Answer_extraction_follows_pred_py(string response, string? expected) => Assert.Equal(expected, LongBenchSuite.ExtractAnswer(response));

    [Fact]
    public void Truncation_keeps_the_first_half_and_the_last_half_of_the_tokens()
    {
        var tok = new TestTokenizer();
        var text = string.Join(' ', Enumerable.Range(0, 50).Select(i => $"t{i}"));           // 99 tokens
        Assert.Equal((text, false), LongBenchSuite.Truncate(text, tok, 99));
        var (cut, truncated) = LongBenchSuite.Truncate(text, tok, 11);
        Assert.True(truncated);
        Assert.Equal("t0 t1 t2 t47 t48 t49", cut);                                         // ⌊11/2⌋ = 5 tokens "t0 t1 t2", ⌈11/2⌉ = 6 tokens " t47 t48 t49"
    }

    [Fact]
    public void Data_loads_from_a_json_array_or_json_lines_and_reads_each_question_back()
    {
        foreach (var jsonl in new[] { false, true })
        {
            var data = LongBenchData.Load(WriteData(EvalFixtures.TempDir("lb-data"), jsonl: jsonl));
            Assert.Equal(["q0", "q1", "q2", "q3"], data.Items.Select(i => i.Id));
            Assert.Equal("Code Repository Understanding", data.Items[2].Domain);
            var q2 = data.Read(data.Items[2]);
            Assert.Equal("D", q2.Answer);
            Assert.Contains("The vault code is 4034.", q2.Context);
        }
    }

    [Fact]
    public void Record_index_finds_array_elements_larger_than_its_window_and_strings_with_brackets()
    {
        var dir = EvalFixtures.TempDir("json-index");
        var big = new string('x', 3_000_000);
        object[] elements = [new { a = "]}{[\"\\", n = 1 }, new { a = big, nested = new { b = new[] { 1, 2 } } }, new { a = "last" }];
        var path = Path.Combine(dir, "a.json");
        File.WriteAllText(path, "\uFEFF  " + JsonSerializer.Serialize(elements) + "\n");
        var spans = JsonRecordIndex.Build(path);
        Assert.Equal(3, spans.Count);
        Assert.Equal(big, JsonNode.Parse(JsonRecordIndex.Read(path, spans[1]))!["a"]!.GetValue<string>());
        Assert.Equal("]}{[\"\\", JsonNode.Parse(JsonRecordIndex.Read(path, spans[0]))!["a"]!.GetValue<string>());
        Assert.Equal("last", JsonNode.Parse(JsonRecordIndex.Read(path, spans[2]))!["a"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("[{\"_id\": \"x\"}", "cut short")]
    [InlineData("[1, 2]", "not an object")]
    [InlineData("\"text\"", "neither a JSON array")]
    [InlineData("[{\"_id\": \"x\", \"domain\": \"d\"}]", "no string field \"sub_domain\"")]
    public void Malformed_data_is_an_error_naming_the_problem(string content, string message)
    {
        var path = Path.Combine(EvalFixtures.TempDir("lb-bad"), "data.json");
        File.WriteAllText(path, content);
        Assert.Contains(message, Assert.Throws<EvalException>(() => LongBenchData.Load(path)).Message);
    }
}
