using System.Diagnostics;
using LongContext.Core.Native;
using LongContext.Training.Loop;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.Reports;

/// <summary>
/// What a training run tells the world: metrics.jsonl (one line per step, flushed), progress with throughput and
/// ETA, the loss curve at the end of each Run, and the peak-memory reading of each step. Only the writing process
/// (rank 0) touches the run folder and reports progress.
/// </summary>
public sealed class TrainingReporter(string outDir, IProgress<TrainingProgress>? progress, bool writes = true)
{
    public const string LossCurveFileName = "loss.png";

    readonly List<StepMetrics> steps = [];
    readonly Stopwatch clock = new();

    public string MetricsPath { get; } = Path.Combine(outDir, MetricsLog.FileName);

    /// <summary>Steps logged since <see cref="StartRun"/>.</summary>
    public IReadOnlyList<StepMetrics> Steps => steps;

    /// <summary>Time since <see cref="StartRun"/>.</summary>
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>Starts the clock and the step list of a Run.</summary>
    public void StartRun()
    {
        steps.Clear();
        clock.Restart();
    }

    /// <summary>Keeps only metrics.jsonl lines of steps ≤ <paramref name="step"/> (0: a fresh run clears it).</summary>
    public void TruncateAfter(int step)
    {
        if (writes) MetricsLog.TruncateAfter(MetricsPath, step);
    }

    /// <summary>Appends a step's metrics and reports progress (average throughput and ETA over this Run).</summary>
    public void Log(StepMetrics m, int maxSteps)
    {
        steps.Add(m);
        if (!writes) return;
        MetricsLog.Append(MetricsPath, m);
        if (progress is null) return;
        double perStep = clock.Elapsed.TotalSeconds / steps.Count;
        double averageTps = steps.Sum(s => s.Tokens) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        progress.Report(new TrainingProgress(m.Step, maxSteps, m, averageTps, clock.Elapsed, TimeSpan.FromSeconds(perStep * (maxSteps - m.Step))));
    }

    /// <summary>Draws loss.png from the whole metrics.jsonl; a plot that cannot be drawn is a warning, not a failure.</summary>
    public (string? LossCurvePath, IReadOnlyList<string> Warnings) Finish()
    {
        clock.Stop();
        var warnings = new List<string>();
        if (!writes) return (null, warnings);
        var all = MetricsLog.Read(MetricsPath);
        if (all.Count == 0) return (null, warnings);
        try
        {
            return (LossCurve.Write(all, Path.Combine(outDir, LossCurveFileName)), warnings);
        }
        catch (Exception e) when (e is IOException or TypeInitializationException or DllNotFoundException or InvalidOperationException)
        {
            // The plot is a convenience: the run and its checkpoint are already saved.
            warnings.Add($"loss curve not written: {e.Message}");
            return (null, warnings);
        }
    }

    /// <summary>The peak memory to log: the CUDA allocator's on CUDA (with the add-on), else the process's working set.</summary>
    public static (long Bytes, string Kind) PeakMemory(Device device)
    {
        if (device.type == DeviceType.CUDA && CudaMemory.Stats(CudaDevice.IndexOf(device)) is { } stats)
            return (stats.PeakAllocated, "cuda_peak_allocated");
        using var process = Process.GetCurrentProcess();
        return (process.PeakWorkingSet64, "process_peak_working_set");
    }
}
