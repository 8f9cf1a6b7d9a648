using System.Net;
using System.Text.Json.Nodes;

namespace LongContext.Tests.Eval;

/// <summary>
/// A tiny OpenAI-compatible server on 127.0.0.1 (random free port) for tests: /v1/chat/completions and /v1/completions,
/// answered by <see cref="StubAnswers"/> (or by echoing the prompt). Counts requests; can fail the first N with 429 and
/// call a hook on each request (used to cancel a run midway).
/// </summary>
public sealed class StubOpenAiServer(int fail429First = 0) : LoopbackHttpStub
{
    private int _requests;
    private int _throttle = fail429First;

    public int Requests => Volatile.Read(ref _requests);
    public bool Echo { get; set; }
    /// <summary>Called with the 1-based request number before answering.</summary>
    public Action<int>? OnRequest { get; set; }
    public List<string> Prompts { get; } = [];
    /// <summary>Request paths (e.g. /v1/completions), in arrival order.</summary>
    public List<string> Paths { get; } = [];
    /// <summary>Answers instead of <see cref="StubAnswers"/> when set (benchmarks the stub does not know).</summary>
    public Func<string, string>? Answerer { get; set; }

    protected override void Handle(HttpListenerContext ctx)
    {
        string body = ReadBody(ctx);
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
        var path = ctx.Request.Url!.AbsolutePath;
        var chat = path.EndsWith("/chat/completions", StringComparison.Ordinal);
        var prompt = chat ? req["messages"]!.AsArray().Last()!["content"]!.GetValue<string>() : req["prompt"]!.GetValue<string>();
        lock (Prompts) { Prompts.Add(prompt); Paths.Add(path); }
        var answer = Echo ? prompt : Answerer?.Invoke(prompt) ?? StubAnswers.Answer(prompt);
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
