using System.CommandLine;
using LongContext.Eval;
using LongContext.Eval.Backends;
using LongContext.Eval.Reports;
using LongContext.Eval.Runs;
using LongContext.Formats.Tokenization;
using Spectre.Console;

namespace LongContext.Cli.Commands;

/// <summary>What <see cref="EvalCommon.CreateAsync"/> built: the backend (null when only dumping), how prompts are measured, and why the placement was chosen.</summary>
internal sealed record EvalSetup(IGenerationBackend? Backend, PromptMeasurer Measurer, string TokenizerId, string PlacementNote)
{
    public EvalSession Session => new(Backend!, Measurer, TokenizerId);
}

/// <summary>Backend options shared by the eval subcommands, and the run → report → print sequence.</summary>
internal sealed class EvalCommon(EvalBackends backends)
{
    /// <summary>Exit code of a run that finished with failed items (they count as 0; rerun to retry).</summary>
    public const int FailedItemsExitCode = 3;

    public readonly Option<string?> Model = new("--model") { Description = "Model folder, run in-process by the LongContext engine" };
    public readonly Option<string?> Endpoint = new("--endpoint") { Description = "OpenAI-compatible base URL, e.g. http://localhost:8000/v1" };
    public readonly Option<string?> ApiKey = new("--api-key") { Description = "API key for --endpoint (default: $OPENAI_API_KEY)" };
    public readonly Option<string> ModelName = new("--model-name") { Description = "The \"model\" field sent to --endpoint", DefaultValueFactory = _ => "default" };
    public readonly Option<string> Mode = new("--mode")
    {
        Description = "auto: completions when the endpoint serves /v1/completions and the chat template is known (RULER's open-model path), else chat; "
            + "chat: /chat/completions, answer prefix at the end of the user message (RULER's API-model path); completions: /completions, prompt rendered with the chat template, prefix after the assistant header",
        DefaultValueFactory = _ => "auto",
    };
    public readonly Option<string?> ChatTemplate = new("--chat-template") { Description = "Built-in template (base, llama3, meta-chat) instead of the model's own (with --model or --tokenizer)" };
    public readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "Folder with the evaluated model's tokenizer.json (needed with --endpoint to fit lengths)" };
    public readonly Option<int> Concurrency = new("--concurrency") { Description = "Requests in flight", DefaultValueFactory = _ => 4 };
    public readonly Option<double> Timeout = new("--timeout") { Description = "Seconds per request attempt", DefaultValueFactory = _ => 600 };
    public readonly Option<int> Retries = new("--retries") { Description = "Retries on 429/5xx/timeouts (exponential backoff); 0 = none", DefaultValueFactory = _ => 5 };
    public readonly Option<bool> AllowErrors = new("--allow-errors") { Description = "Exit 0 even when items failed (they still count as 0 and make the run non-comparable)" };
    public readonly Option<int> AnswerBudget = new("--answer-budget") { Description = "Answer tokens beyond the benchmark's own budget, for reasoning models that think first (prompts stay the benchmark's)", DefaultValueFactory = _ => 0 };
    public readonly Option<string> Out = new("--out") { Description = "Run folder (results.jsonl, manifest.json, report.md, plots); rerunning resumes (required unless only dumping)" };
    public readonly Option<int> Seed = new("--seed") { Description = "Seed for prompt generation", DefaultValueFactory = _ => 42 };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Model, Endpoint, ApiKey, ModelName, Mode, ChatTemplate, Tokenizer, Concurrency, Timeout, Retries, AllowErrors, AnswerBudget, Out, Seed })
            cmd.Options.Add(o);
    }

    /// <summary>Builds the backend and the prompt measurer (model tokenizer + chat template) from the options; --mode auto probes the endpoint.</summary>
    public async Task<EvalSetup> CreateAsync(ParseResult p, CancellationToken ct, bool backendOptional = false)
    {
        var model = p.GetValue(Model);
        var endpoint = p.GetValue(Endpoint);
        if (model is not null && endpoint is not null) throw new EvalException("Give either --model DIR or --endpoint URL, not both.");
        if (p.GetValue(AnswerBudget) < 0) throw new EvalException("--answer-budget must be 0 or more.");
        var templateName = p.GetValue(ChatTemplate);
        var mode = p.GetValue(Mode)?.ToLowerInvariant() switch
        {
            "auto" => (EndpointMode?)null,
            "chat" => EndpointMode.Chat,
            "completions" => EndpointMode.Completions,
            var m => throw new EvalException($"--mode {m}: use auto, chat or completions."),
        };
        if (model is not null)
        {
            if (mode == EndpointMode.Chat) throw new EvalException("--mode chat needs --endpoint; the in-process engine renders the chat template and puts the answer prefix after the assistant header.");
            var gen = backends.Local(model);
            var local = new LocalBackend(gen, templateName is null ? null : ChatTemplates.ByName(templateName));
            var note = templateName is null ? $"in-process, the model's template ({local.ChatTemplate.Name})" : $"in-process, --chat-template {templateName}";
            return new EvalSetup(local, new PromptMeasurer(gen.Tokenizer, local.ChatTemplate, PrefixPlacement.AssistantTurn), gen.ModelId, note);
        }
        var tokDir = p.GetValue(Tokenizer);
        if (tokDir is null)
            throw new EvalException(endpoint is null
                ? "Give --model DIR (in-process) or --endpoint URL with --tokenizer DIR."
                : "--endpoint needs --tokenizer DIR (the folder with the model's tokenizer.json): prompts are sized with the evaluated model's tokenizer.");
        ITextTokenizer tokenizer = backends.Tokenizer(tokDir);
        var template = templateName is not null ? ChatTemplates.ByName(templateName) : backends.ChatTemplate(tokDir);
        if (endpoint is null)
        {
            if (!backendOptional) throw new EvalException("Give --model DIR or --endpoint URL.");
            var placement = mode == EndpointMode.Chat || template is null ? PrefixPlacement.UserMessageEnd : PrefixPlacement.AssistantTurn;
            return new EvalSetup(null, new PromptMeasurer(tokenizer, template ?? ChatTemplates.Base, placement), tokDir, "dump only");
        }
        var options = HttpOptions(p, endpoint, template);
        string placementNote;
        if (mode is { } explicitMode) placementNote = $"--mode {explicitMode.ToString().ToLowerInvariant()}";
        else if (template is null)
        {
            mode = EndpointMode.Chat;
            placementNote = "auto: no chat template known (give --chat-template, or --tokenizer with a tokenizer_config.json that has one), so chat";
        }
        else
        {
            var (offered, why) = await OpenAiHttpBackend.ProbeCompletionsAsync(options, null, ct);
            mode = offered ? EndpointMode.Completions : EndpointMode.Chat;
            placementNote = offered
                ? $"auto: {why} and template {template.Name} is known, so completions (RULER's open-model path)"
                : $"auto: {why}, so chat (RULER's API-model path)";
        }
        var http = new OpenAiHttpBackend(options with { Mode = mode.Value });
        // In chat mode the server applies the model's template; without one here, lengths are measured on the bare text.
        return new EvalSetup(http, new PromptMeasurer(tokenizer, template ?? ChatTemplates.Base, http.PrefixPlacement), tokDir, placementNote);
    }

    /// <summary>
    /// The backend for raw completion prompts (base-model tests such as passkey): the model in-process, or the
    /// endpoint's /v1/completions; no chat template either way (--mode and --chat-template do not apply).
    /// </summary>
    public EvalSetup CreateCompletion(ParseResult p)
    {
        var model = p.GetValue(Model);
        var endpoint = p.GetValue(Endpoint);
        if (model is not null && endpoint is not null) throw new EvalException("Give either --model DIR or --endpoint URL, not both.");
        if (model is not null)
        {
            var gen = backends.Local(model);
            return new EvalSetup(new LocalBackend(gen, ChatTemplates.Base), new PromptMeasurer(gen.Tokenizer, ChatTemplates.Base, PrefixPlacement.AssistantTurn), gen.ModelId, "raw completion (no chat template)");
        }
        if (endpoint is null) throw new EvalException("Give --model DIR (in-process) or --endpoint URL with --tokenizer DIR.");
        var tokDir = p.GetValue(Tokenizer) ?? throw new EvalException("--endpoint needs --tokenizer DIR (the folder with the model's tokenizer.json): prompts are sized with the evaluated model's tokenizer.");
        var http = new OpenAiHttpBackend(HttpOptions(p, endpoint, ChatTemplates.Base) with { Mode = EndpointMode.Completions });
        return new EvalSetup(http, new PromptMeasurer(backends.Tokenizer(tokDir), ChatTemplates.Base, PrefixPlacement.AssistantTurn), tokDir, "raw completion (/v1/completions, no chat template)");
    }

    private OpenAiHttpOptions HttpOptions(ParseResult p, string endpoint, IChatTemplate? template)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new EvalException($"--endpoint {endpoint}: not an http(s) URL; e.g. http://localhost:8000/v1.");
        return new OpenAiHttpOptions
        {
            BaseUrl = uri,
            ApiKey = p.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY"),
            Model = p.GetValue(ModelName)!,
            ChatTemplate = template,
            Concurrency = p.GetValue(Concurrency),
            MaxRetries = p.GetValue(Retries),
            AttemptTimeout = TimeSpan.FromSeconds(p.GetValue(Timeout)),
        };
    }

    /// <summary>
    /// Writes the manifest, runs the plans with a progress bar, writes the report and prints the summary. Returns 0, or
    /// <see cref="FailedItemsExitCode"/> when items failed (unless --allow-errors).
    /// </summary>
    public async Task<int> RunAndReportAsync(ParseResult p, EvalSetup setup, RunManifest manifest, List<EvalItemPlan> plans, string title, CancellationToken ct)
    {
        var outDir = p.GetValue(Out) ?? throw new EvalException("--out DIR is required: the run folder for results.jsonl, report.md and plots (rerunning with the same --out resumes).");
        var json = p.GetValue(CliCommon.Json);
        var (stdout, stderr) = (CliCommon.Out(p), CliCommon.Err(p));
        manifest = manifest with { PlacementNote = setup.PlacementNote };
        manifest.Write(outDir);
        var store = new ResultStore(outDir);
        foreach (var r in store.Repairs) stderr.WriteLine($"note: {r}");
        var runner = new EvalRunner(setup.Backend!, store, manifest.ConfigHash, Math.Max(1, p.GetValue(Concurrency)));
        var console = json ? CliCommon.ConsoleOn(stderr) : CliCommon.ConsoleFor(p);
        var outcome = await ProgressView.RunAsync(console, async tasks =>
        {
            var task = tasks.Add(title, Math.Max(1, plans.Count));
            var progress = new InlineProgress<RunProgress>(r => task.Update(r.Done - r.Skipped, Math.Max(1, r.Total - r.Skipped),
                r.Skipped > 0 ? $"{title} ({r.Skipped} resumed, {r.Failed} failed)" : $"{title} ({r.Failed} failed)"));
            var result = await runner.RunAsync(plans, progress, ct);
            task.Finish();
            return result;
        });
        var summary = RunReport.Write(outDir);
        summary["completed_now"] = outcome.Completed;
        summary["resumed"] = outcome.Skipped;
        summary["failed_now"] = outcome.Failed;
        var records = ResultStore.Read(outDir).Where(r => r.ConfigHash == manifest.ConfigHash).ToList();
        var failed = records.Where(r => r.Error is not null).ToList();
        if (failed.Count > 0 && failed.Count == records.Count)
            throw new EvalException($"Every item failed; first error: {failed[0].Error}");
        if (json) CliCommon.WriteJson(p, summary);
        else
        {
            var c = CliCommon.ConsoleFor(p);
            c.MarkupLineInterpolated($"[bold]{manifest.Suite}[/]: {outcome.Completed} done, {outcome.Skipped} resumed, {outcome.Failed} failed");
            foreach (var k in new[] { "score", "avg", "wavg_inc", "wavg_dec", "effective_length", "comparable" })
                if (summary[k] is { } v) c.MarkupLineInterpolated($"  {k}: {v.ToJsonString()}");
            c.MarkupLineInterpolated($"  report: {summary["report"]?.ToString()}");
        }
        if (failed.Count == 0) return 0;
        var message = $"{failed.Count} of {records.Count} items failed (first: {failed[0].Error}). They count as 0 and make the run non-comparable; rerun the same command to retry them (raise --retries or --timeout if they were transient)";
        if (p.GetValue(AllowErrors)) { stderr.WriteLine($"warning: {message}."); return 0; }
        stderr.WriteLine($"error: {message}, or pass --allow-errors to accept them.");
        return FailedItemsExitCode;
    }
}
