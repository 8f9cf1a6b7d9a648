using System.Globalization;
using LongContext.Training.Loop;

namespace LongContext.Cli.Commands;

/// <summary>One line per logged step for the training commands: on stdout, or stderr under --json (stdout's last line is the summary).</summary>
internal sealed class TrainingProgressPrinter(bool json, string prefix = "") : IProgress<TrainingProgress>
{
    readonly TextWriter _out = json ? Console.Error : Console.Out;

    public void Report(TrainingProgress p)
    {
        int every = Math.Max(1, p.MaxSteps / 50);
        if (p.Step % every != 0 && p.Step != p.MaxSteps) return;
        var eta = p.Eta is { } e ? $", eta {e:hh\\:mm\\:ss}" : "";
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{prefix}step {p.Step}/{p.MaxSteps}  loss {p.Last.Loss:0.0000}  lr {p.Last.LearningRate:0.###e+0}  {p.AverageTokensPerSecond:N0} tok/s{eta}"));
    }

    public void Line(string text) => _out.WriteLine(text);
}
