using LongContext.Formats.Tokenization;
using LongContext.Eval.Passkey;
using LongContext.Training.Data;

namespace LongContext.Training.CodeRecipe;

/// <summary>
/// The retrieval skill taught at the base length: a fraction of the rows of a packed corpus are replaced by passkey
/// episodes in the exact format `longctx eval passkey` asks (<see cref="PasskeyPrompt"/>: the Landmark/PI/YaRN prompt,
/// keys 1–50000), each followed by " KEY." and EOS, episodes of random length and depth laid end to end until the
/// row is full (the last one cut). Every position keeps its next-token label, as in the rest of pretraining. Keys come
/// from a training stream of their own (seed, row); evaluation draws its keys from another seed.
/// </summary>
public sealed class PasskeyRows(PackedDataSource inner, ITextTokenizer tokenizer, int eosId, double fraction, long seed) : ITrainingDataSource
{
    readonly Dictionary<int, int> fillerChars = [];
    long rows;

    public int SequenceLength => inner.SequenceLength;
    public int BatchSize => inner.BatchSize;
    public DataCursor Cursor => inner.Cursor;
    public double Fraction => fraction;

    public void Seek(DataCursor cursor)
    {
        inner.Seek(cursor);
        rows = (cursor.Epoch * inner.SequencesPerEpoch + cursor.Sequence);
    }

    public TrainingBatch Next()
    {
        var batch = inner.Next();
        int length = SequenceLength;
        for (int r = 0; r < batch.BatchSize; r++, rows++)
        {
            var rng = new Random(HashCode.Combine(seed, rows));
            if (rng.NextDouble() >= fraction) continue;
            var row = Episodes(length + 1, rng);
            var offset = r * length;
            for (int i = 0; i < length; i++)
            {
                batch.InputIds[offset + i] = row[i];
                batch.Labels[offset + i] = row[i + 1];
                batch.PositionIds[offset + i] = i;
            }
        }
        return batch;
    }

    /// <summary>Episodes end to end, cut at <paramref name="count"/> tokens.</summary>
    internal int[] Episodes(int count, Random rng)
    {
        var ids = new List<int>(count + 64);
        while (ids.Count < count)
        {
            int target = rng.Next(Math.Min(64, SequenceLength), SequenceLength + 1);
            var key = PasskeySuite.DrawKey(rng, digits: null);
            var prompt = PasskeyPrompt.Build(FillerFor(target), rng.NextDouble() * 100, key);
            ids.AddRange(tokenizer.Encode(prompt + " " + key + ".", addSpecialTokens: false));
            ids.Add(eosId);
        }
        return ids.Take(count).ToArray();
    }

    /// <summary>Characters of filler that make a prompt of about <paramref name="tokens"/> tokens (measured once per length bucket).</summary>
    int FillerFor(int tokens)
    {
        int bucket = Math.Max(1, tokens / 32) * 32;
        lock (fillerChars)
        {
            if (fillerChars.TryGetValue(bucket, out int chars)) return chars;
            int overhead = tokenizer.Encode(PasskeyPrompt.Build(0, 50, "25000"), addSpecialTokens: false).Count;
            int probe = 4000;
            int perProbe = tokenizer.Encode(PasskeyPrompt.Build(probe, 50, "25000"), addSpecialTokens: false).Count - overhead;
            chars = Math.Max(0, (int)((bucket - overhead) * (probe / (double)Math.Max(1, perProbe))));
            fillerChars[bucket] = chars;
            return chars;
        }
    }
}
