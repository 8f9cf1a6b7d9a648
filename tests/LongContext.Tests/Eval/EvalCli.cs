using System.CommandLine;
using System.Text.Json.Nodes;
using LongContext.Cli;
using LongContext.Eval.Backends;

namespace LongContext.Tests.Eval;

/// <summary>
/// Runs `longctx eval …` in-process with its own stdout/stderr and eval backends (no process-wide state), so eval CLI
/// tests run in parallel with everything else.
/// </summary>
internal static class EvalCli
{
    /// <summary>Backends for --endpoint runs: the tokenizer (any --tokenizer name) and, optionally, a chat template.</summary>
    public static EvalBackends Http(LongContext.Formats.Tokenization.ITextTokenizer? tokenizer = null, IChatTemplate? template = null)
    {
        var tok = tokenizer ?? new RegexWordTokenizer();
        return EvalBackends.Unavailable with { Tokenizer = _ => tok, ChatTemplate = _ => template };
    }

    public static async Task<(int Code, string Out, string Err)> Run(EvalBackends backends, string[] args, CancellationToken ct = default)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await LongCtxApp.RunAsync(args, ct, new InvocationConfiguration { Output = stdout, Error = stderr }, backends);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static JsonObject Summary(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!.AsObject();
}
