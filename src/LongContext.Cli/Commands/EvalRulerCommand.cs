using System.CommandLine;
using Spectre.Console;
using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Niah;
using LongContext.Eval.Ruler;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval ruler`: RULER's 13 tasks with its templates, length fitting and metrics.</summary>
public static class EvalRulerCommand
{
    public static Command Create(EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths (k = 1024), e.g. 4k,8k,16k,32k,64k,128k", DefaultValueFactory = _ => "4k,8k,16k,32k,64k,128k" };
        var samples = new Option<int>("--samples") { Description = "Samples per task and length (RULER: 500)", DefaultValueFactory = _ => 500 };
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated tasks, or 'all' for RULER's 13", DefaultValueFactory = _ => "all" };
        var essays = new Option<string?>("--essays") { Description = "Folder of essay .txt files, or RULER's PaulGrahamEssays.json; comparable when it starts with the 49 essays RULER's text starts with (SHA-256 checked); without it the 5 essay tasks are skipped" };
        var squad = new Option<string?>("--squad") { Description = "SQuAD v2.0 dev JSON (dev-v2.0.json) for qa_1 (comparable when SHA-256 matches RULER's)" };
        var hotpot = new Option<string?>("--hotpotqa") { Description = "HotpotQA dev distractor JSON for qa_2 (comparable when SHA-256 matches RULER's)" };
        var words = new Option<string?>("--words") { Description = "wonderwords' assets folder (nounlist.txt, adjectivelist.txt, verblist.txt; comparable when SHA-256 matches a release) or a word file, for keys and CWE; default: generated words (non-comparable)" };
        var dump = new Option<string?>("--dump") { Description = "Write every prompt as the model sees it (template, few-shot turns, answer prefix) to DIR/{task}_{length}.jsonl (with only --tokenizer: dump without running)" };

        var cmd = new Command("ruler", "RULER (NVIDIA): 13 synthetic tasks, per-length averages, weighted averages, effective length, report and plot.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { lengths, samples, tasks, essays, squad, hotpot, words, dump }) cmd.Options.Add(o);

        cmd.SetHandler(async (p, ct) =>
        {
            var taskSpec = p.GetValue(tasks)!;
            var options = new RulerOptions
            {
                Lengths = NiahGrid.ParseLengths(p.GetValue(lengths)!),
                Samples = p.GetValue(samples) is > 0 and var s ? s : throw new EvalException("--samples must be positive."),
                Tasks = taskSpec == "all" ? RulerTask.DefaultTaskNames : taskSpec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Seed = p.GetValue(common.Seed),
                ExtraAnswerTokens = p.GetValue(common.AnswerBudget),
            };
            var data = RulerData.Load(p.GetValue(essays), p.GetValue(squad), p.GetValue(hotpot), p.GetValue(words));
            var dumpDir = p.GetValue(dump);
            var setup = await common.CreateAsync(p, ct, backendOptional: dumpDir is not null);
            if (dumpDir is not null)
            {
                var n = RulerSuite.DumpAll(dumpDir, options, data, setup.Measurer);
                if (!p.GetValue(CliCommon.Json) || setup.Backend is not null) CliCommon.Err(p).WriteLine($"dumped {n} prompts to {dumpDir}");
                if (setup.Backend is null)
                {
                    if (p.GetValue(CliCommon.Json)) CliCommon.WriteJson(p, new { dumped = n, dump_dir = dumpDir });
                    return 0;
                }
            }
            var (manifest, plans) = RulerSuite.Plan(options, data, setup.Session);
            foreach (var t in manifest.Tasks.Where(t => !t.Available || !t.Comparable))
                CliCommon.Err(p).WriteLine($"note: {t.Task}: {t.Note}");
            return await common.RunAndReportAsync(p, setup, manifest, plans, "RULER", ct);
        });
        return cmd;
    }
}
