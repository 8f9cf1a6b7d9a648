using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Niah;
using LongContext.Eval.Passkey;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval passkey`: the base-model passkey retrieval test of the PI/YaRN/LongRoPE papers, depth × length heatmap.</summary>
public static class EvalPasskeyCommand
{
    public static Command Create(Eval.Backends.EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var lengths = new Option<string>("--lengths") { Description = "Prompt lengths in tokens (k = 1024), each filled with the model's tokenizer", DefaultValueFactory = _ => "1k,2k,4k,8k,16k,32k" };
        var depths = new Option<int>("--depths") { Description = "Pass key depths from 0% to 100%", DefaultValueFactory = _ => 10 };
        var samples = new Option<int>("--samples") { Description = "Prompts (keys) per length × depth cell", DefaultValueFactory = _ => 5 };
        var digits = new Option<int?>("--digits") { Description = "Digits of the key (default: 1–50000 as Landmark Attention)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens generated after \"The pass key is\"", DefaultValueFactory = _ => 10 };

        var cmd = new Command("passkey", "Passkey retrieval (Landmark/PI/YaRN format) as raw completions: accuracy per length × depth, heatmap, report. "
            + "Works for base models; with --endpoint it calls /v1/completions (--mode and --chat-template do not apply).");
        common.AddTo(cmd);
        foreach (var o in new Option[] { lengths, depths, samples, digits, maxNew }) cmd.Options.Add(o);
        cmd.SetHandler(async (p, ct) =>
        {
            var options = new PasskeyOptions
            {
                Lengths = NiahGrid.ParseLengths(p.GetValue(lengths)!),
                DepthCount = p.GetValue(depths),
                Samples = p.GetValue(samples),
                Digits = p.GetValue(digits),
                MaxNewTokens = p.GetValue(maxNew) is > 0 and var m ? m : throw new EvalException("--max-new-tokens must be positive."),
                Seed = p.GetValue(common.Seed),
            };
            var setup = common.CreateCompletion(p);
            var (manifest, plans) = PasskeySuite.Plan(options, setup.Session);
            return await common.RunAndReportAsync(p, setup, manifest, plans, "passkey", ct);
        });
        return cmd;
    }
}
