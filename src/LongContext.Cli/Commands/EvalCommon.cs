using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Formats.Tokenization;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>Backend options shared by the eval subcommands, and the run → report → print sequence.</summary>
internal sealed class EvalCommon
{
    public readonly Option<string?> Model = new("--model") { Description = "Model folder, run in-process by the LongContext engine" };
    public readonly Option<string?> Endpoint = new("--endpoint") { Description = "OpenAI-compatible base URL, e.g. http://localhost:8000/v1" };
    public readonly Option<string?> ApiKey = new("--api-key") { Description = "API key for --endpoint (default: $OPENAI_API_KEY)" };
    public readonly Option<string> ModelName = new("--model-name") { Description = "The \"model\" field sent to --endpoint", DefaultValueFactory = _ => "default" };
    public readonly Option<string> Mode = new("--mode") { Description = "chat: /chat/completions, answer prefix at the end of the user message; completions: /completions, prompt rendered with the chat template and the prefix in the assistant turn", DefaultValueFactory = _ => "chat" };
    public readonly Option<string?> ChatTemplate = new("--chat-template") { Description = "Built-in template (base, llama3, meta-chat) when --tokenizer has none" };
    public readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "Folder with the evaluated model's tokenizer.json (needed with --endpoint to fit lengths)" };
    public readonly Option<int> Concurrency = new("--concurrency") { Description = "Requests in flight", DefaultValueFactory = _ => 4 };
    public readonly Option<double> Timeout = new("--timeout") { Description = "Seconds per request attempt", DefaultValueFactory = _ => 600 };
    public readonly Option<int> Retries = new("--retries") { Description = "Retries on 429/5xx/timeouts (exponential backoff)", DefaultValueFactory = _ => 5 };
    public readonly Option<string> Out = new("--out") { Description = "Run folder (results.jsonl, manifest.json, report.md, plots); rerunning resumes (required unless only dumping)" };
    public readonly Option<int> Seed = new("--seed") { Description = "Seed for prompt generation", DefaultValueFactory = _ => 42 };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Model, Endpoint, ApiKey, ModelName, Mode, ChatTemplate, Tokenizer, Concurrency, Timeout, Retries, Out, Seed })
            cmd.Options.Add(o);
    }

    /// <summary>Builds the backend and the prompt measurer (model tokenizer + chat template) from the options.</summary>
    public (IGenerationBackend? Backend, PromptMeasurer Measurer, string TokenizerId) Create(ParseResult p, bool backendOptional = false)
    {
        var model = p.GetValue(Model);
        var endpoint = p.GetValue(Endpoint);
        if (model is not null && endpoint is not null) throw new EvalException("Give either --model DIR or --endpoint URL, not both.");
        var templateName = p.GetValue(ChatTemplate);
        if (model is not null)
        {
            var gen = EvalBackends.LocalFactory(model);
            var backend = new LocalBackend(gen);
            return (backend, new PromptMeasurer(gen.Tokenizer, gen.ChatTemplate, PrefixPlacement.AssistantTurn), gen.ModelId);
        }
        var tokDir = p.GetValue(Tokenizer);
        if (tokDir is null)
            throw new EvalException(endpoint is null
                ? "Give --model DIR (in-process) or --endpoint URL with --tokenizer DIR."
                : "--endpoint needs --tokenizer DIR (the folder with the model's tokenizer.json): prompts are sized with the evaluated model's tokenizer.");
        ITextTokenizer tokenizer = EvalBackends.TokenizerFactory(tokDir);
        var template = templateName is not null ? ChatTemplates.ByName(templateName) : EvalBackends.ChatTemplateFactory(tokDir);
        var mode = p.GetValue(Mode)?.ToLowerInvariant() switch
        {
            "chat" => EndpointMode.Chat,
            "completions" => EndpointMode.Completions,
            var m => throw new EvalException($"--mode {m}: use chat or completions."),
        };
        if (endpoint is null)
        {
            if (!backendOptional) throw new EvalException("Give --model DIR or --endpoint URL.");
            return (null, new PromptMeasurer(tokenizer, template ?? ChatTemplates.Base, mode == EndpointMode.Chat ? PrefixPlacement.UserMessageEnd : PrefixPlacement.AssistantTurn), tokDir);
        }
        var http = HttpBackend(p, endpoint, mode, template);
        // In chat mode the server applies the model's template; without one here, lengths are measured on the bare text.
        return (http, new PromptMeasurer(tokenizer, template ?? ChatTemplates.Base, http.PrefixPlacement), tokDir);
    }

    /// <summary>
    /// The backend for raw completion prompts (base-model tests such as passkey): the model in-process, or the
    /// endpoint's /v1/completions; no chat template either way (--mode and --chat-template do not apply).
    /// </summary>
    public (IGenerationBackend Backend, PromptMeasurer Measurer, string TokenizerId) CreateCompletion(ParseResult p)
    {
        var model = p.GetValue(Model);
        var endpoint = p.GetValue(Endpoint);
        if (model is not null && endpoint is not null) throw new EvalException("Give either --model DIR or --endpoint URL, not both.");
        if (model is not null)
        {
            var gen = EvalBackends.LocalFactory(model);
            return (new LocalBackend(gen), new PromptMeasurer(gen.Tokenizer, ChatTemplates.Base, PrefixPlacement.AssistantTurn), gen.ModelId);
        }
        if (endpoint is null) throw new EvalException("Give --model DIR (in-process) or --endpoint URL with --tokenizer DIR.");
        var tokDir = p.GetValue(Tokenizer) ?? throw new EvalException("--endpoint needs --tokenizer DIR (the folder with the model's tokenizer.json): prompts are sized with the evaluated model's tokenizer.");
        var tokenizer = EvalBackends.TokenizerFactory(tokDir);
        return (HttpBackend(p, endpoint, EndpointMode.Completions, ChatTemplates.Base), new PromptMeasurer(tokenizer, ChatTemplates.Base, PrefixPlacement.AssistantTurn), tokDir);
    }

    private OpenAiHttpBackend HttpBackend(ParseResult p, string endpoint, EndpointMode mode, IChatTemplate? template)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new EvalException($"--endpoint {endpoint}: not an http(s) URL; e.g. http://localhost:8000/v1.");
        return new OpenAiHttpBackend(new OpenAiHttpOptions
        {
            BaseUrl = uri,
            ApiKey = p.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"),
            Model = p.GetValue(ModelName)!,
            Mode = mode,
            ChatTemplate = template,
            Concurrency = p.GetValue(Concurrency),
            MaxRetries = p.GetValue(Retries),
            AttemptTimeout = TimeSpan.FromSeconds(p.GetValue(Timeout)),
        });
    }

    /// <summary>Writes the manifest, runs the plans with a progress bar, writes the report and prints the summary.</summary>
    public async Task<int> RunAndReportAsync(ParseResult p, IGenerationBackend backend, RunManifest manifest, List<EvalItemPlan> plans, string title, CancellationToken ct)
    {
        var outDir = p.GetValue(Out) ?? throw new EvalException("--out DIR is required: the run folder for results.jsonl, report.md and plots (rerunning with the same --out resumes).");
        var json = p.GetValue(CliCommon.Json);
        manifest.Write(outDir);
        var store = new ResultStore(outDir);
        var runner = new EvalRunner(backend, store, manifest.ConfigHash, Math.Max(1, p.GetValue(Concurrency)));
        var console = json ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) }) : CliCommon.Console;
        RunOutcome outcome = null!;
        await console.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(title, maxValue: Math.Max(1, plans.Count));
                var progress = new InlineProgress<RunProgress>(r =>
                {
                    lock (task)
                    {
                        task.MaxValue = Math.Max(1, r.Total - r.Skipped);
                        task.Value = r.Done - r.Skipped;
                        task.Description = r.Skipped > 0 ? $"{title} ({r.Skipped} resumed, {r.Failed} failed)" : $"{title} ({r.Failed} failed)";
                    }
                });
                outcome = await runner.RunAsync(plans, progress, ct);
                task.Value = task.MaxValue;
            });
        var summary = RunReport.Write(outDir);
        summary["completed_now"] = outcome.Completed;
        summary["resumed"] = outcome.Skipped;
        summary["failed_now"] = outcome.Failed;
        if (outcome.Failed > 0 && outcome.Completed == 0 && outcome.Skipped == 0)
        {
            var first = ResultStore.Read(outDir).FirstOrDefault(r => r.Error is not null && r.ConfigHash == manifest.ConfigHash)?.Error;
            throw new EvalException($"Every item failed; first error: {first}");
        }
        if (json) CliCommon.WriteJson(summary);
        else
        {
            CliCommon.Console.MarkupLineInterpolated($"[bold]{manifest.Suite}[/]: {outcome.Completed} done, {outcome.Skipped} resumed, {outcome.Failed} failed");
            foreach (var k in new[] { "score", "avg", "wavg_inc", "wavg_dec", "effective_length" })
                if (summary[k] is { } v) CliCommon.Console.MarkupLineInterpolated($"  {k}: {v.ToJsonString()}");
            CliCommon.Console.MarkupLineInterpolated($"  report: {summary["report"]?.ToString()}");
        }
        return 0;
    }
}
