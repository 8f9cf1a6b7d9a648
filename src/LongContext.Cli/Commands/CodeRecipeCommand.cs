using System.Globalization;
using LongContext;
using LongContext.Core.Runtime;
using LongContext.Eval.Runs;
using LongContext.Training.CodeRecipe;

namespace LongContext.Cli.Commands;

/// <summary>`longctx quickstart --device cuda` (or --data/--scale): the 64× code recipe with its report.</summary>
internal static class CodeRecipeCommand
{
    public static async Task<int> RunAsync(string device, string? data, string? tokenizer, string? budget, string? scale, string? outDir, int? seed,
        bool json, CancellationToken ct)
    {
        bool cuda = device.StartsWith("cuda", StringComparison.Ordinal);
        data ??= PythonProbe.Run("import site;print(site.getsitepackages()[0])")
            ?? throw new ConfigException("--data: give a folder of source files (no Python found to locate its site-packages).");
        outDir ??= Path.Combine("runs", cuda ? "recipe" : "recipe-" + (scale ?? "cpu"));
        var o = (scale ?? (cuda ? "gpu" : "cpu")).ToLowerInvariant() switch
        {
            "gpu" => CodeRecipeOptions.Gpu(data, outDir),
            "cpu" => CodeRecipeOptions.Cpu(data, outDir),
            "tiny" => CodeRecipeOptions.Tiny(data, outDir),
            var s => throw new ConfigException($"--scale {s}: use gpu, cpu or tiny."),
        };
        o = o with
        {
            Device = device,
            TokenizerDir = tokenizer,
            TimeBudgetSeconds = budget is null ? o.TimeBudgetSeconds : ParseSeconds(budget),
            Seed = seed ?? o.Seed,
        };
        var log = new InlineProgress<string>(line => Console.Error.WriteLine(line));
        var result = await new CodeRecipeRunner(o, log).RunAsync(ct);
        var report = CodeRecipeReport.Write(result);
        Console.Error.WriteLine($"report: {report}");
        if (json) Console.Out.WriteLine(File.ReadAllText(Path.Combine(Path.GetDirectoryName(report)!, "summary.json")).ReplaceLineEndings(" "));
        return 0;
    }

    /// <summary>"540", "540s", "9m" → seconds.</summary>
    internal static double ParseSeconds(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        double factor = t.EndsWith('m') ? 60 : 1;
        t = t.TrimEnd('s', 'm');
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v <= 0)
            throw new ConfigException($"--time-budget {text}: give seconds (540, 540s) or minutes (9m).");
        return v * factor;
    }
}
