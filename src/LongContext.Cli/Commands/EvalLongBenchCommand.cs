using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.LongBench;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval longbench2`: LongBench v2 multiple choice from a user-provided data.json.</summary>
public static class EvalLongBenchCommand
{
    public static Command Create(Eval.Backends.EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var data = new Option<string>("--data") { Description = "LongBench v2 data.json (huggingface.co/datasets/THUDM/LongBench-v2, Apache-2.0), or a JSON Lines copy", Required = true };
        var maxLength = new Option<int>("--max-length") { Description = "Prompt budget in tokens before the chat template; longer prompts are cut in the middle (LongBench: 120000 for 128K models)", DefaultValueFactory = _ => 120_000 };
        var cot = new Option<bool>("--cot") { Description = "Chain of thought as LongBench's --cot: reason (1024 tokens), then a second call for the answer" };
        var difficulty = new Option<string[]>("--difficulty") { Description = "Only these difficulties (easy, hard)", AllowMultipleArgumentsPerToken = true };
        var lengthCategory = new Option<string[]>("--length-category") { Description = "Only these length categories (short, medium, long)", AllowMultipleArgumentsPerToken = true };
        var domain = new Option<string[]>("--domain") { Description = "Only these domains (e.g. \"Single-Document QA\")", AllowMultipleArgumentsPerToken = true };
        var limit = new Option<int?>("--limit") { Description = "Only the first N selected questions (quick runs)" };

        var cmd = new Command("longbench2", "LongBench v2: 503 long-context multiple-choice questions with its prompt, middle truncation, answer extraction; accuracy by difficulty, length and domain.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { data, maxLength, cot, difficulty, lengthCategory, domain, limit }) cmd.Options.Add(o);
        cmd.SetHandler(async (p, ct) =>
        {
            static IReadOnlyList<string>? List(string[]? values) =>
                values is { Length: > 0 } ? values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList() : null;
            var options = new LongBenchOptions
            {
                MaxLength = p.GetValue(maxLength),
                Cot = p.GetValue(cot),
                Difficulties = List(p.GetValue(difficulty)),
                LengthCategories = List(p.GetValue(lengthCategory)),
                Domains = List(p.GetValue(domain)),
                Limit = p.GetValue(limit) is int n ? (n > 0 ? n : throw new EvalException("--limit must be positive.")) : null,
            };
            var dataset = LongBenchData.Load(p.GetValue(data)!);
            var setup = await common.CreateAsync(p, ct);
            var (manifest, plans) = LongBenchSuite.Plan(options, dataset, setup.Session);
            return await common.RunAndReportAsync(p, setup, manifest, plans, "LongBench v2", ct);
        });
        return cmd;
    }
}
