using System.Collections.Concurrent;
using System.Text;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// HF tokenizers' BPE model: a pre-token is split into chars (with byte_fallback / unk handling), then the
/// lowest-ranked adjacent pair is merged until no merge applies. Results are cached per pre-token.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCacheEntries = 200_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _idToToken;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly int? _unkId;

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string A, string B)> merges, string? unkToken,
        bool fuseUnk, bool byteFallback, bool ignoreMerges, string? continuingSubwordPrefix, string? endOfWordSuffix)
    {
        _vocab = vocab;
        FuseUnk = fuseUnk;
        ByteFallback = byteFallback;
        IgnoreMerges = ignoreMerges;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        EndOfWordSuffix = endOfWordSuffix;
        int maxId = vocab.Count == 0 ? -1 : vocab.Values.Max();
        _idToToken = new string[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            if (id < 0) throw new TokenizerException($"tokenizer.json model.vocab: token '{token}' has negative id {id}");
            _idToToken[id] = token;
        }
        if (unkToken is not null)
        {
            if (!vocab.TryGetValue(unkToken, out int unk))
                throw new TokenizerException($"tokenizer.json model.unk_token: '{unkToken}' is not in model.vocab");
            _unkId = unk;
        }
        int prefixLength = continuingSubwordPrefix?.Length ?? 0;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out int aId) || !vocab.TryGetValue(b, out int bId))
                throw new TokenizerException($"tokenizer.json model.merges[{rank}]: '{a} {b}' uses a token missing from model.vocab");
            string merged = a + (prefixLength > 0 && b.StartsWith(continuingSubwordPrefix!, StringComparison.Ordinal) ? b[prefixLength..] : b);
            if (!vocab.TryGetValue(merged, out int newId))
                throw new TokenizerException($"tokenizer.json model.merges[{rank}]: the merged token '{merged}' is missing from model.vocab");
            _merges.TryAdd(Key(aId, bId), (rank, newId));
        }
    }

    public bool FuseUnk { get; }
    public bool ByteFallback { get; }
    public bool IgnoreMerges { get; }
    public string? ContinuingSubwordPrefix { get; }
    public string? EndOfWordSuffix { get; }
    public int VocabSize => _vocab.Count;
    public int MaxId => _idToToken.Length - 1;

    public int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Appends the ids of one pre-token.</summary>
    public void Tokenize(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (IgnoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        int[] ids = MergeWord(word);
        if (_cache.Count >= MaxCacheEntries) _cache.Clear();
        _cache.TryAdd(word, ids);
        output.AddRange(ids);
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private int[] MergeWord(string word)
    {
        // Initial symbols: one per char (code point), as HF's BPE::merge_word.
        var symbols = new List<int>(word.Length);
        int? pendingUnk = null;
        int i = 0;
        while (i < word.Length)
        {
            int charLength = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            bool isFirst = i == 0, isLast = i + charLength >= word.Length;
            string s = word.Substring(i, charLength);
            if (!isFirst && ContinuingSubwordPrefix is not null) s = ContinuingSubwordPrefix + s;
            if (isLast && EndOfWordSuffix is not null) s += EndOfWordSuffix;
            i += charLength;
            if (_vocab.TryGetValue(s, out int id))
            {
                if (pendingUnk is int u) { symbols.Add(u); pendingUnk = null; }
                symbols.Add(id);
                continue;
            }
            if (ByteFallback && TryByteFallback(word.Substring(i - charLength, charLength), symbols)) continue;
            if (_unkId is int unk)
            {
                if (pendingUnk is int u && !FuseUnk) symbols.Add(u);
                pendingUnk = unk;
            }
        }
        if (pendingUnk is int last) symbols.Add(last);
        return Merge(symbols);
    }

    private bool TryByteFallback(string s, List<int> symbols)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        var ids = new int[bytes.Length];
        for (int k = 0; k < bytes.Length; k++)
        {
            if (!_vocab.TryGetValue($"<0x{bytes[k]:X2}>", out ids[k])) return false;
        }
        symbols.AddRange(ids);
        return true;
    }

    /// <summary>Merges the lowest-ranked pair first (leftmost on ties), O(n log n) with a heap over a linked list.</summary>
    private int[] Merge(List<int> initial)
    {
        int n = initial.Count;
        if (n <= 1) return initial.ToArray();
        var ids = initial.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int k = 0; k < n; k++)
        {
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
            alive[k] = true;
        }
        var queue = new PriorityQueue<(int Pos, int Left, int Right, int NewId), (int Rank, int Pos)>();
        for (int k = 0; k + 1 < n; k++) Push(queue, k, ids[k], ids[k + 1]);
        while (queue.TryDequeue(out var m, out _))
        {
            int pos = m.Pos;
            if (!alive[pos] || ids[pos] != m.Left) continue;
            int right = next[pos];
            if (right < 0 || ids[right] != m.Right) continue;
            ids[pos] = m.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) Push(queue, prev[pos], ids[prev[pos]], ids[pos]);
            if (next[pos] >= 0) Push(queue, pos, ids[pos], ids[next[pos]]);
        }
        var result = new List<int>(n);
        for (int k = 0; k >= 0; k = next[k]) result.Add(ids[k]);
        return result.ToArray();
    }

    private void Push(PriorityQueue<(int, int, int, int), (int, int)> queue, int pos, int left, int right)
    {
        if (_merges.TryGetValue(Key(left, right), out var merge)) queue.Enqueue((pos, left, right, merge.NewId), (merge.Rank, pos));
    }
}
