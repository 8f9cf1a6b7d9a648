using System.Net;
using System.Text.Json.Nodes;

namespace LongContext.Tests.Eval;

/// <summary>
/// A tiny OpenAI-compatible server on 127.0.0.1 (random free port) for tests: /v1/chat/completions and /v1/completions,
/// answered by <see cref="StubAnswers"/> (or by echoing the prompt). Counts requests; can fail the first N with 429,
/// reject requests (<see cref="Reject"/>: status and message, e.g. a context overflow), hang on some
/// (<see cref="Hang"/>), refuse /completions (<see cref="NoCompletions"/>), and call a hook on each request.
/// </summary>
public sealed class StubOpenAiServer(int fail429First = 0) : LoopbackHttpStub
{
    private int _requests;
    private int _throttle = fail429First;

    public int Requests => Volatile.Read(ref _requests);
    public bool Echo { get; set; }
    /// <summary>When true, POST /v1/completions answers 404 (a chat-only server).</summary>
    public bool NoCompletions { get; set; }
    /// <summary>Called with the 1-based request number and prompt; a non-null result is sent as an error (status, message).</summary>
    public Func<int, string, (int Status, string Message)?>? Reject { get; set; }
    /// <summary>Called with the 1-based request number; true: wait this long before answering (longer than a test's timeout).</summary>
    public Func<int, bool>? Hang { get; set; }
    public TimeSpan HangFor { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Called with the 1-based request number before answering.</summary>
    public Action<int>? OnRequest { get; set; }
    /// <summary>Each request's prompt: the completions prompt, or the last chat message.</summary>
    public List<string> Prompts { get; } = [];
    /// <summary>Request paths of answered requests (e.g. /v1/completions), in arrival order.</summary>
    public List<string> Paths { get; } = [];
    /// <summary>Answers instead of <see cref="StubAnswers"/> when set (benchmarks the stub does not know); gets the last message.</summary>
    public Func<string, string>? Answerer { get; set; }
    /// <summary>Each chat request's messages' contents joined by "\n" (the whole conversation; completions: the prompt).</summary>
    public List<string> Conversations { get; } = [];

    protected override void Handle(HttpListenerContext ctx)
    {
        string body = ReadBody(ctx);
        var path = ctx.Request.Url!.AbsolutePath;
        var chat = path.EndsWith("/chat/completions", StringComparison.Ordinal);
        if (!chat && NoCompletions)
        {
            ctx.Response.StatusCode = 404;
            Send(ctx, "application/json", "{\"error\":{\"message\":\"not found\"}}");
            return;
        }
        if (Interlocked.Decrement(ref _throttle) >= 0)
        {
            ctx.Response.StatusCode = 429;
            ctx.Response.AddHeader("Retry-After", "0");
            ctx.Response.Close();
            return;
        }
        var n = Interlocked.Increment(ref _requests);
        OnRequest?.Invoke(n);
        var req = JsonNode.Parse(body)!;
        var prompt = chat ? req["messages"]!.AsArray().Last()!["content"]!.GetValue<string>() : req["prompt"]!.GetValue<string>();
        var conversation = chat ? string.Join("\n", req["messages"]!.AsArray().Select(m => m!["content"]!.GetValue<string>())) : prompt;
        lock (Prompts) { Prompts.Add(prompt); Paths.Add(path); Conversations.Add(conversation); }
        if (Hang?.Invoke(n) == true) Thread.Sleep(HangFor);
        if (Reject?.Invoke(n, prompt) is { } error)
        {
            ctx.Response.StatusCode = error.Status;
            Send(ctx, "application/json", new JsonObject { ["error"] = new JsonObject { ["message"] = error.Message, ["type"] = "invalid_request_error" } }.ToJsonString());
            return;
        }
        var answer = Echo ? prompt : Answerer?.Invoke(prompt) ?? StubAnswers.Answer(conversation);
        JsonObject choice = chat
            ? new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer }, ["finish_reason"] = "stop" }
            : new JsonObject { ["index"] = 0, ["text"] = answer, ["finish_reason"] = "stop" };
        var resp = new JsonObject
        {
            ["id"] = $"stub-{n}", ["object"] = chat ? "chat.completion" : "text_completion", ["model"] = req["model"]?.GetValue<string>(),
            ["choices"] = new JsonArray(choice),
            ["usage"] = new JsonObject { ["prompt_tokens"] = prompt.Length / 4, ["completion_tokens"] = answer.Length / 4 },
        };
        Send(ctx, "application/json", resp.ToJsonString());
    }
}
