using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Spectre.Console;

namespace LongContext.Cli;

/// <summary>One task of a <see cref="ProgressView"/>: a description and a value out of a maximum.</summary>
internal interface IProgressItem
{
    bool IsStarted { get; }
    bool IsFinished { get; }
    void Start();
    /// <summary>Sets the value (and the maximum / description when given).</summary>
    void Update(double newValue, double? newMax = null, string? newDescription = null);
    /// <summary>Marks the task done (its value becomes the maximum).</summary>
    void Finish();
}

/// <summary>Adds tasks to a running <see cref="ProgressView"/>.</summary>
internal interface IProgressTasks
{
    IProgressItem Add(string description, double max, bool start = true);
}

/// <summary>
/// Progress of long work, in the form the output can show. On an interactive terminal: Spectre's live bars. Anywhere
/// else (a pipe, a file, CI, the GPU box's logs, stderr under --json): plain lines, one per thing worth saying — a
/// task starts, passes each <c>step</c> percent, or ends — instead of every bar redrawn on every refresh.
/// Interactive means Spectre's profile says so (terminal, ANSI, nothing redirected); LONGCTX_PROGRESS=plain forces lines.
/// </summary>
internal static partial class ProgressView
{
    public static bool IsLive(IAnsiConsole console) =>
        console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi
        && Environment.GetEnvironmentVariable("LONGCTX_PROGRESS") is not "plain";

    public static async Task<T> RunAsync<T>(IAnsiConsole console, Func<IProgressTasks, Task<T>> work, int step = 5)
    {
        if (!IsLive(console)) return await work(new Lines(console, step));
        return await console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(ctx => work(new Live(ctx)));
    }

    public static T Run<T>(IAnsiConsole console, Func<IProgressTasks, T> work, int step = 5) =>
        RunAsync(console, tasks => Task.FromResult(work(tasks)), step).GetAwaiter().GetResult();

    sealed class Live(ProgressContext ctx) : IProgressTasks
    {
        public IProgressItem Add(string description, double max, bool start = true) => new Item(ctx.AddTask(Markup.Escape(description), start, max));

        sealed class Item(ProgressTask task) : IProgressItem
        {
            public bool IsStarted => task.IsStarted;
            public bool IsFinished => task.IsFinished;
            public void Start() => task.StartTask();

            public void Update(double newValue, double? newMax, string? newDescription)
            {
                lock (task)
                {
                    if (newMax is double m) task.MaxValue = Math.Max(m, 1e-9);
                    task.Value = newValue;
                    if (newDescription is not null) task.Description = Markup.Escape(newDescription);
                }
            }

            public void Finish()
            {
                lock (task)
                {
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }
        }
    }

    /// <summary>Plain lines: "description: 40% (4/10, 12 s)".</summary>
    [GeneratedRegex(" {2,}")]
    private static partial Regex Spaces();

    sealed class Lines(IAnsiConsole console, int step) : IProgressTasks
    {
        readonly object gate = new();
        int Step => Math.Clamp(step, 1, 100);

        public IProgressItem Add(string description, double max, bool start = true)
        {
            var item = new Item(this, description, max);
            if (start) item.Start();
            return item;
        }

        void Write(string line)
        {
            lock (gate) console.Profile.Out.Writer.WriteLine(line);
        }

        sealed class Item(Lines owner, string initialDescription, double initialMax) : IProgressItem
        {
            readonly Stopwatch clock = new();
            string description = initialDescription;
            double value, max = initialMax;
            int lastBucket = -1;

            public bool IsStarted { get; private set; }
            public bool IsFinished { get; private set; }

            public void Start()
            {
                lock (this)
                {
                    if (IsStarted) return;
                    IsStarted = true;
                    clock.Start();
                    Report(force: true);
                }
            }

            public void Update(double newValue, double? newMax, string? newDescription)
            {
                lock (this)
                {
                    if (IsFinished) return;
                    if (!IsStarted)
                    {
                        IsStarted = true;
                        clock.Start();
                    }
                    if (newMax is double m) max = m;
                    if (newDescription is not null) description = newDescription;
                    value = newValue;
                    Report(force: false);
                }
            }

            public void Finish()
            {
                lock (this)
                {
                    if (IsFinished) return;
                    if (!IsStarted) clock.Start();
                    IsStarted = true;
                    value = max;
                    Report(force: true);
                }
            }

            /// <summary>A line when the value enters a new step-percent bucket (or when forced); reaching 100% is the last one.</summary>
            void Report(bool force)
            {
                double fraction = max > 0 ? Math.Clamp(value / max, 0, 1) : 0;
                int bucket = (int)Math.Floor(fraction * 100 / owner.Step);
                if (!force && bucket <= lastBucket) return;
                lastBucket = bucket;
                IsFinished = fraction >= 1;
                owner.Write(string.Create(CultureInfo.InvariantCulture,
                    $"{Spaces().Replace(description, " ")}: {fraction * 100:0}% ({Count(value)}/{Count(max)}, {clock.Elapsed.TotalSeconds:0} s){(IsFinished ? " done" : "")}"));
            }

            static string Count(double v) => v.ToString(v == Math.Floor(v) ? "0" : "0.#", CultureInfo.InvariantCulture);
        }
    }
}
