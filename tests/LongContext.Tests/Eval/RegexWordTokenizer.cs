using System.Text.RegularExpressions;

namespace LongContext.Tests.Eval;

/// <summary>
/// The word tokenizer of the RULER fixtures (tools/fixtures/ruler/stubs/transformers, WORD_PATTERN; the fixture records
/// the pattern and <see cref="RulerParityTests"/> checks it is this one): a word with its leading space, digits in
/// threes, punctuation runs and &lt;|special|&gt; tokens whole, so counts are Llama-3-like.
/// </summary>
public sealed partial class RegexWordTokenizer : PieceTokenizer
{
    public const string Pattern = @"<\|[a-z_]+\|>|'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Pattern)]
    private static partial Regex Piece();

    protected override Regex Pieces => Piece();
}
