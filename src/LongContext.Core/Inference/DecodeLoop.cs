using LongContext.Formats.Tokenization;

namespace LongContext.Core.Inference;

/// <summary>Why generation ended: a stop id or stop string ("stop"), or the token limit ("length").</summary>
public enum FinishReason { Stop, Length }

/// <summary>
/// The decode loop every generation runs (<see cref="TextGenerator.Generate"/>, the server's scheduler), so the stop
/// and length rules have one home. Starting from the token sampled after prefill, each token is checked in this order:
/// a stop id ends generation and is not produced; otherwise the token is produced, its text goes through the stop-string
/// matcher (text up to a stop string is released, the stop string never is), a stop string ends generation, and so does
/// reaching maxNewTokens; only then is the next token decoded. One instance per generation.
/// </summary>
public sealed class DecodeLoop
{
    readonly int maxNewTokens;
    readonly IReadOnlyCollection<int> stopTokenIds;
    readonly StreamDecoder? decoder;
    readonly StopSequenceMatcher stops;
    readonly List<int> produced = [];

    /// <param name="tokenizer">Needed for stop strings and for <see cref="Piece.Text"/>; without one pieces carry no text.</param>
    public DecodeLoop(int maxNewTokens, IReadOnlyCollection<int> stopTokenIds, IReadOnlyList<string>? stopStrings = null, ITextTokenizer? tokenizer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        stopStrings ??= [];
        if (stopStrings.Count > 0 && tokenizer is null) throw new ArgumentException("stop strings need a tokenizer", nameof(tokenizer));
        this.maxNewTokens = maxNewTokens;
        this.stopTokenIds = stopTokenIds;
        decoder = tokenizer is null ? null : new StreamDecoder(tokenizer, skipSpecialTokens: true);
        stops = new StopSequenceMatcher(stopStrings);
    }

    /// <summary>One produced id and the text it releases (special tokens skipped, never part of a stop string; may be empty).</summary>
    public readonly record struct Piece(int Id, string Text);

    /// <summary>Ids produced so far, in order (stop ids excluded; the token completing a stop string included).</summary>
    public IReadOnlyList<int> Produced => produced;

    /// <summary>Set once <see cref="Run"/> has ended by a rule (null while running, or when the caller stopped early).</summary>
    public FinishReason? Finish { get; private set; }

    /// <summary>
    /// Yields each produced token; <paramref name="step"/> feeds a token to the model and returns the next one. A stop
    /// string found ends the run after the piece carrying the text before it.
    /// </summary>
    public IEnumerable<Piece> Run(int first, Func<int, int> step, CancellationToken ct = default)
    {
        int next = first;
        if (maxNewTokens == 0)
        {
            Finish = FinishReason.Length;
            yield break;
        }
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (stopTokenIds.Contains(next))
            {
                Finish = FinishReason.Stop;
                yield break;
            }
            produced.Add(next);
            string text = decoder?.Push(next) is string decoded ? stops.Push(decoded) : "";
            yield return new Piece(next, text);
            if (stops.Stopped)
            {
                Finish = FinishReason.Stop;
                yield break;
            }
            if (produced.Count >= maxNewTokens)
            {
                Finish = FinishReason.Length;
                yield break;
            }
            next = step(next);
        }
    }

    /// <summary>Text the stop-string matcher still holds back, once the run ended without a stop string.</summary>
    public string Flush() => stops.Flush();
}
