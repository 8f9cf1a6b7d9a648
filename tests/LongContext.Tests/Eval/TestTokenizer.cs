using System.Text.RegularExpressions;

namespace LongContext.Tests.Eval;

/// <summary>
/// Deterministic word-level tokenizer for tests: special tokens like &lt;|eot_id|&gt;, runs of whitespace, words and single
/// punctuation marks are one token each.
/// </summary>
public sealed partial class TestTokenizer : PieceTokenizer
{
    [GeneratedRegex(@"<\|[a-z_]+\|>|\s+|\w+|[^\w\s]")]
    private static partial Regex Piece();

    protected override Regex Pieces => Piece();
}
