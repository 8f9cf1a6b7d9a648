using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Icl;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval icl`: many-shot in-context learning, accuracy vs number of examples.</summary>
public static class EvalIclCommand
{
    public static Command Create(Eval.Backends.EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var task = new Option<string>("--task") { Description = "word_label (hidden first-letter rule), hidden_arith ((a·x+b) mod 7), or a classification file: label<TAB>text TSV or JSONL {label,text} (e.g. TREC, BANKING77, CLINC150 as HELMET uses)", DefaultValueFactory = _ => "word_label" };
        var test = new Option<string?>("--test") { Description = "File of test queries (same formats); default: queries held out of --task" };
        var seeds = new Option<int>("--seeds") { Description = "Independent draws of the shots per shot count (mean ± sd reported)", DefaultValueFactory = _ => 3 };
        var shots = new Option<string>("--shots") { Description = "Shot counts", DefaultValueFactory = _ => "8,16,32,64,128,256,512,1024,2048,4096" };
        var queries = new Option<int>("--queries") { Description = "Held-out test queries per shot count and draw", DefaultValueFactory = _ => 50 };
        var maxLength = new Option<int>("--max-length") { Description = "Context window; larger shot counts are dropped", DefaultValueFactory = _ => 131072 };

        var cmd = new Command("icl", "Many-shot in-context learning: accuracy vs number of in-context examples, with plot.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { task, test, shots, queries, seeds, maxLength }) cmd.Options.Add(o);
        cmd.SetHandler(async (p, ct) =>
        {
            var shotList = p.GetValue(shots)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var v) && v > 0 ? v : throw new EvalException($"--shots: '{s}' is not a positive integer.")).ToList();
            var options = new IclOptions
            {
                Task = p.GetValue(task)!, TestFile = p.GetValue(test), Shots = shotList, Queries = p.GetValue(queries), Seeds = p.GetValue(seeds),
                MaxLength = p.GetValue(maxLength), Seed = p.GetValue(common.Seed), MaxNewTokens = 8 + p.GetValue(common.AnswerBudget),
            };
            var setup = await common.CreateAsync(p, ct);
            var (manifest, plans) = IclSuite.Plan(options, setup.Session);
            return await common.RunAndReportAsync(p, setup, manifest, plans, "ICL", ct);
        });
        return cmd;
    }
}
