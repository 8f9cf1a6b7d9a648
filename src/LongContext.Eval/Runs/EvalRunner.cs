using System.Diagnostics;
using LongContext.Eval.Backends;
using LongContext.Eval.Scoring;

namespace LongContext.Eval.Runs;

/// <summary>Counts for a progress display.</summary>
public sealed record RunProgress(int Total, int Done, int Skipped, int Failed, double LastScore);

/// <summary>What a run did: items done now, skipped because already done, failed (retried on the next run).</summary>
public sealed record RunOutcome(int Total, int Completed, int Skipped, int Failed);

/// <summary>
/// Runs planned items against a backend with bounded concurrency, scores each response, and appends each record as it
/// completes. Items already in the store under the same config hash are skipped; a failed item is recorded with its
/// error and score 0 (it counts as wrong in reports) and runs again on the next run.
/// </summary>
public sealed class EvalRunner(IGenerationBackend backend, ResultStore store, string configHash, int concurrency)
{
    public async Task<RunOutcome> RunAsync(IReadOnlyList<EvalItemPlan> plans, IProgress<RunProgress>? progress, CancellationToken ct)
    {
        var todo = plans.Where(p => !store.IsDone(p.Key(configHash))).ToList();
        var skipped = plans.Count - todo.Count;
        int done = 0, failed = 0;
        progress?.Report(new RunProgress(plans.Count, skipped, skipped, 0, double.NaN));
        await Parallel.ForEachAsync(todo, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct }, async (plan, token) =>
        {
            var record = await RunOneAsync(plan, token).ConfigureAwait(false);
            token.ThrowIfCancellationRequested();
            store.Append(record);
            var d = Interlocked.Increment(ref done);
            var f = record.Error is null ? Volatile.Read(ref failed) : Interlocked.Increment(ref failed);
            progress?.Report(new RunProgress(plans.Count, skipped + d, skipped, f, record.Score));
        }).ConfigureAwait(false);
        return new RunOutcome(plans.Count, done - failed, skipped, failed);
    }

    private async Task<ResultRecord> RunOneAsync(EvalItemPlan plan, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        EvalItem item;
        try { item = plan.Build(); }
        catch (EvalException e)
        {
            // A prompt that cannot be built (e.g. a length too short for the task) fails this item, not the run.
            return new ResultRecord
            {
                Key = plan.Key(configHash), Suite = plan.Suite, Task = plan.Task, Length = plan.Length, Index = plan.Index, Depth = plan.Depth,
                ConfigHash = configHash, Error = "prompt: " + e.Message, ElapsedSeconds = sw.Elapsed.TotalSeconds,
            };
        }
        var baseRecord = new ResultRecord
        {
            Key = plan.Key(configHash), Suite = plan.Suite, Task = plan.Task, Length = plan.Length, Index = plan.Index, Depth = plan.Depth,
            ConfigHash = configHash, References = item.References, PromptTokens = item.PromptTokens, PrefixPlacement = Placement(backend.PrefixPlacement),
            NonComparable = item.NonComparable,
        };
        GenerationResult result;
        try
        {
            result = await backend.GenerateAsync(item.Request, ct).ConfigureAwait(false);
        }
        catch (EvalException e)
        {
            return baseRecord with { Error = e.Message, ElapsedSeconds = sw.Elapsed.TotalSeconds, Details = item.Details?.Invoke() };
        }
        var echo = EchoDetector.IsEcho(item.PromptText, result.Text);
        double score;
        try { score = echo && item.ZeroOnEcho ? 0 : await item.Score(result.Text, ct).ConfigureAwait(false); }
        catch (EvalException e)
        {
            return baseRecord with { Prediction = result.Text, Error = "scoring: " + e.Message, ElapsedSeconds = sw.Elapsed.TotalSeconds, Details = item.Details?.Invoke() };
        }
        return baseRecord with
        {
            Score = score, Prediction = result.Text, Echo = echo, ServerPromptTokens = result.PromptTokens,
            CompletionTokens = result.CompletionTokens, PrefixPlacement = Placement(result.PrefixPlacement), ElapsedSeconds = sw.Elapsed.TotalSeconds,
            FinishReason = result.FinishReason,
            Details = item.Details?.Invoke(),
        };
    }

    public static string Placement(PrefixPlacement p) => p == PrefixPlacement.AssistantTurn ? "assistant_turn" : "user_message_end";
}
