using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace LongContext.Tests.Ask;

/// <summary>
/// An OpenAI-compatible stub on 127.0.0.1: GET /v1/models reports <see cref="MaxModelLen"/> (vLLM's field, omitted when
/// null); POST /v1/chat/completions answers <see cref="Pieces"/> as server-sent events when the request asks to stream
/// and <see cref="Streams"/> is on, else as one JSON completion. Records the user messages it receives.
/// </summary>
public sealed class StreamingStubServer : LoopbackHttpStub
{
    public int? MaxModelLen { get; set; }
    public bool Streams { get; set; } = true;
    /// <summary>Sends each event as several "data:" lines (indented JSON, CRLF line ends, an "event:" field), as the SSE spec allows.</summary>
    public bool MultiLineEvents { get; set; }
    public string[] Pieces { get; set; } = ["The engine", " returns", " 42."];
    public List<string> UserMessages { get; } = [];
    public List<JsonNode> Bodies { get; } = [];

    protected override void Handle(HttpListenerContext ctx)
    {
        var path = ctx.Request.Url!.AbsolutePath;
        if (ctx.Request.HttpMethod == "GET" && path == "/v1/models")
        {
            var entry = new JsonObject { ["id"] = "stub-model", ["object"] = "model" };
            if (MaxModelLen is int n) entry["max_model_len"] = n;
            Send(ctx, "application/json", new JsonObject { ["object"] = "list", ["data"] = new JsonArray(entry) }.ToJsonString());
            return;
        }
        var req = JsonNode.Parse(ReadBody(ctx))!;
        lock (UserMessages)
        {
            Bodies.Add(req);
            UserMessages.Add(req["messages"]!.AsArray().Last()!["content"]!.GetValue<string>());
        }
        if (Streams && req["stream"]?.GetValue<bool>() == true)
        {
            ctx.Response.ContentType = "text/event-stream";
            ctx.Response.SendChunked = true;
            var output = ctx.Response.OutputStream;
            void Event(JsonObject o)
            {
                var text = MultiLineEvents
                    ? "event: message\r\n" + string.Concat(o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }).Split('\n').Select(l => "data: " + l.TrimEnd('\r') + "\r\n")) + "\r\n"
                    : "data: " + o.ToJsonString() + "\n\n";
                output.Write(Encoding.UTF8.GetBytes(text));
                output.Flush();
            }
            foreach (var piece in Pieces)
                Event(new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = piece }, ["finish_reason"] = null }) });
            Event(new JsonObject
            {
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject(), ["finish_reason"] = "stop" }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 123, ["completion_tokens"] = Pieces.Length },
            });
            output.Write(": keep-alive comment\n\ndata: [DONE]\n\n"u8);
            ctx.Response.Close();
            return;
        }
        var choice = new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Concat(Pieces) }, ["finish_reason"] = "stop" };
        Send(ctx, "application/json", new JsonObject { ["choices"] = new JsonArray(choice), ["usage"] = new JsonObject { ["prompt_tokens"] = 123, ["completion_tokens"] = 3 } }.ToJsonString());
    }
}
