using LongContext.Cli;
using LongContext.Tests.Server;
using Spectre.Console.Testing;

namespace LongContext.Tests.Cli;

/// <summary>Progress without a terminal is a few plain lines; on a terminal it is Spectre's live display.</summary>
[Collection(CliCollection.Name)]
public class ProgressViewTests
{
    [Fact]
    public void Without_a_terminal_a_task_prints_a_line_per_five_percent_not_one_per_refresh()
    {
        var console = new TestConsole();   // not interactive, no ANSI: what a pipe, a file or CI gets
        ProgressView.Run(console, tasks =>
        {
            var a = tasks.Add("pretrain", 1000);
            var b = tasks.Add("eval", 10, start: false);
            for (int i = 1; i <= 1000; i++) a.Update(i, newDescription: $"pretrain step {i}/1000 loss {1.0 / i:0.000}");
            a.Finish();
            for (int i = 1; i <= 10; i++) b.Update(i);
            b.Finish();
            return 0;
        });
        var lines = console.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.DoesNotContain('\u001b', console.Output);
        Assert.Equal(lines.Length, lines.Distinct().Count());
        var pretrain = lines.Where(l => l.StartsWith("pretrain", StringComparison.Ordinal)).ToList();
        Assert.InRange(pretrain.Count, 20, 23);                       // 0%, 5%, …, 100% and "done"
        Assert.StartsWith("pretrain: 0% (0/1000", pretrain[0]);
        Assert.EndsWith("done", pretrain[^1]);
        Assert.Contains("100% (1000/1000", pretrain[^1]);
        Assert.InRange(lines.Count(l => l.StartsWith("eval", StringComparison.Ordinal)), 10, 12);   // ten steps of 10%
    }

    [Fact]
    public void On_an_interactive_terminal_the_live_bars_render()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();
        ProgressView.Run(console, tasks =>
        {
            var a = tasks.Add("work", 4);
            for (int i = 1; i <= 4; i++) a.Update(i);
            a.Finish();
            return 0;
        });
        Assert.Contains('\u001b', console.Output);                      // cursor control: the live renderer
        Assert.DoesNotContain("work: 25%", console.Output);
    }

    [Fact]
    public void Plain_can_be_forced_on_a_terminal()
    {
        Environment.SetEnvironmentVariable("LONGCTX_PROGRESS", "plain");
        try
        {
            Assert.False(ProgressView.IsLive(new TestConsole().Interactive().EmitAnsiSequences()));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LONGCTX_PROGRESS", null);
        }
    }
}

/// <summary>Model loading reports through the same view, on stderr.</summary>
[Collection(CliCollection.Name)]
public class ModelLoadingProgressTests
{
    [Fact]
    public async Task Loading_a_model_without_a_terminal_prints_its_start_and_end_once_on_stderr()
    {
        var (code, stdout, stderr) = await CliRun.Capture("generate", "--model", TinyModel.Dir(), "--device", "cpu", "--prompt", "hi", "--max-new-tokens", "1", "--json");
        Assert.True(code == 0, stderr);
        var loading = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("loading ", StringComparison.Ordinal)).ToList();
        Assert.Equal(loading.Count, loading.Distinct().Count());
        Assert.Contains(loading, l => l.Contains(": 0% (", StringComparison.Ordinal) || l.Contains(": 25% (", StringComparison.Ordinal));
        Assert.EndsWith("done", loading[^1]);
        Assert.DoesNotContain("loading ", stdout);                       // stdout stays the JSON result
    }
}
