using System.CommandLine;
using Spectre.Console;
using LongContext.Eval;
using LongContext.Eval.Niah;
using LongContext.Eval.Ruler;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval ruler`: RULER's 13 tasks with its templates, length fitting and metrics.</summary>
public static class EvalRulerCommand
{
    public static Command Create()
    {
        var common = new EvalCommon();
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths (k = 1024), e.g. 4k,8k,16k,32k,64k,128k", DefaultValueFactory = _ => "4k,8k,16k,32k,64k,128k" };
        var samples = new Option<int>("--samples") { Description = "Samples per task and length (RULER: 500)", DefaultValueFactory = _ => 500 };
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated tasks, or 'all' for RULER's 13", DefaultValueFactory = _ => "all" };
        var essays = new Option<string?>("--essays") { Description = "Folder of essay .txt files (Paul Graham's for comparable numbers); without it the 5 essay tasks are skipped" };
        var squad = new Option<string?>("--squad") { Description = "SQuAD v2.0 dev JSON (dev-v2.0.json) for qa_1" };
        var hotpot = new Option<string?>("--hotpotqa") { Description = "HotpotQA dev distractor JSON for qa_2" };
        var words = new Option<string?>("--words") { Description = "Word list (one a line; wonderwords nouns+adjectives+verbs) for keys and CWE; without it a generated list makes those tasks non-comparable" };
        var dump = new Option<string?>("--dump") { Description = "Write every prompt to DIR/{task}_{length}.jsonl (with only --tokenizer: dump without running)" };

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
            };
            var data = RulerData.Load(p.GetValue(essays), p.GetValue(squad), p.GetValue(hotpot), p.GetValue(words));
            var dumpDir = p.GetValue(dump);
            var (backend, measurer, tokId) = common.Create(p, backendOptional: dumpDir is not null);
            if (dumpDir is not null)
            {
                var n = RulerSuite.DumpAll(dumpDir, options, data, measurer);
                if (!p.GetValue(CliCommon.Json) || backend is not null) CliCommon.Console.MarkupLineInterpolated($"dumped {n} prompts to {dumpDir}");
                if (backend is null)
                {
                    if (p.GetValue(CliCommon.Json)) CliCommon.WriteJson(new { dumped = n, dump_dir = dumpDir });
                    return 0;
                }
            }
            var session = new Eval.Runs.EvalSession(backend!, measurer, tokId);
            var (manifest, plans) = RulerSuite.Plan(options, data, session);
            foreach (var t in manifest.Tasks.Where(t => !t.Available || !t.Comparable))
                System.Console.Error.WriteLine($"note: {t.Task}: {t.Note}");
            return await common.RunAndReportAsync(p, backend!, manifest, plans, "RULER", ct);
        });
        return cmd;
    }
}
