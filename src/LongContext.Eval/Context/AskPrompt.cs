using System.Text;

namespace LongContext.Eval.Context;

/// <summary>
/// The user message of an ask: a preamble naming the folder and the header format, each file as a header line
/// <c>===== FILE: path (language) =====</c> followed by its text, an end marker, then the question (questions go after
/// long context, where models answer them best).
/// </summary>
public static class AskPrompt
{
    public const string EndMarker = "===== END OF FILES =====";

    public static string Header(RepoFile file) => $"===== FILE: {file.Path} ({file.Language}) =====";

    /// <summary>A file's block: header, text ending in a newline, one blank line.</summary>
    public static string Block(RepoFile file)
    {
        var sb = new StringBuilder(file.Text.Length + file.Path.Length + 32);
        sb.Append(Header(file)).Append('\n').Append(file.Text);
        if (!file.Text.EndsWith('\n')) sb.Append('\n');
        return sb.Append('\n').ToString();
    }

    public static string Preamble(string name, bool documents, int included, int omitted)
    {
        var what = documents ? $"{included} documents from the folder \"{name}\"" : $"{included} files from the repository \"{name}\"";
        var text = $"Below are {what}. Each file starts with a line \"===== FILE: <path> (<language>) =====\"; the files end at \"{EndMarker}\".";
        if (omitted > 0) text += $" {omitted} more files were left out to fit the context window.";
        return text;
    }

    public static string Build(string name, bool documents, IEnumerable<string> blocks, int included, int omitted, string question)
    {
        var sb = new StringBuilder();
        sb.Append(Preamble(name, documents, included, omitted)).Append("\n\n");
        foreach (var b in blocks) sb.Append(b);
        sb.Append(EndMarker).Append('\n');
        if (!string.IsNullOrWhiteSpace(question))
            sb.Append('\n').Append(documents ? "Answer the question about these documents" : "Answer the question about this repository")
              .Append(", naming the files you rely on.\n\nQuestion: ").Append(question.Trim()).Append('\n');
        return sb.ToString();
    }
}
