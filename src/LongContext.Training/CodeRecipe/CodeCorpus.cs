using System.Security.Cryptography;
using System.Text;
using LongContext.Formats.Tokenization;
using LongContext.Training.Data;

namespace LongContext.Training.CodeRecipe;

/// <summary>
/// A code corpus as packages: every file under the root whose path matches the include globs, grouped by its first
/// path segment (site-packages/torch/…, site-packages/numpy/… are packages). Pretraining reads the files one by one;
/// the extension stages read each package as ONE long natural document (its files concatenated in path order, each
/// after a "# file: path" line); a few large packages, chosen by a hash of their name, are held out of both and give
/// the long documents of the perplexity-by-position evaluation.
/// </summary>
public sealed class CodeCorpus
{
    public sealed record Package(string Name, IReadOnlyList<TextDocument> Files)
    {
        public long Characters => Files.Sum(f => (long)f.Text.Length);

        /// <summary>The package as one document: files in path order, each after "# file: path".</summary>
        public TextDocument AsDocument() => new(Name, string.Concat(Files.Select(f => $"# file: {f.Id}\n{f.Text}\n")));
    }

    public required string Root { get; init; }
    public required IReadOnlyList<Package> Training { get; init; }
    public required IReadOnlyList<Package> HeldOut { get; init; }
    public long TrainingCharacters => Training.Sum(p => p.Characters);

    /// <param name="maxCharacters">About this many characters of training packages are read (whole packages, in an order fixed by a hash of their names).</param>
    /// <param name="heldOutPackages">Packages held out (the largest-hash ones among packages of at least <paramref name="heldOutMinCharacters"/>).</param>
    public static CodeCorpus Load(string root, IReadOnlyList<string> include, long maxCharacters, int heldOutPackages, long heldOutMinCharacters,
        CancellationToken ct = default)
    {
        var source = new FolderDocumentSource(root, new FolderSourceOptions { Include = include });
        var files = source.Describe().Files;
        if (files.Count == 0) throw new DataException($"{root}: no files match {string.Join(", ", include)}; give --data a folder of source files (e.g. a Python site-packages folder).");
        var byPackage = files.GroupBy(f => PackageOf(f.Path), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var heldOutNames = byPackage.Where(g => g.Sum(f => f.Bytes) >= heldOutMinCharacters)
            .OrderByDescending(g => Hash(g.Key), StringComparer.Ordinal).Take(heldOutPackages).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        // A cut takes packages in a hash order until it is full, so a limit spreads over the whole folder (not "only packages a–c").
        var chosen = byPackage.Where(g => heldOutNames.Contains(g.Key)).ToList();
        long taken = 0;
        foreach (var g in byPackage.Where(g => !heldOutNames.Contains(g.Key)).OrderBy(g => Hash(g.Key), StringComparer.Ordinal))
        {
            if (taken >= maxCharacters) break;
            chosen.Add(g);
            taken += g.Sum(f => f.Bytes);
        }
        chosen.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var packages = new Package[chosen.Count];
        Parallel.For(0, chosen.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var docs = new List<TextDocument>();
            foreach (var f in chosen[i])
                if (FolderDocumentSource.ReadText(Path.Combine(source.Root, f.Path), out _) is string text) docs.Add(new TextDocument(f.Path, text));
            packages[i] = new Package(chosen[i].Key, docs);
        });
        var nonEmpty = packages.Where(p => p.Files.Count > 0).ToList();
        return new CodeCorpus
        {
            Root = source.Root,
            Training = nonEmpty.Where(p => !heldOutNames.Contains(p.Name)).ToList(),
            HeldOut = nonEmpty.Where(p => heldOutNames.Contains(p.Name)).ToList(),
        };
    }

    static string PackageOf(string path) => path.IndexOf('/') is int slash and > 0 ? path[..slash] : path;

    static string Hash(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));

    /// <summary>
    /// Both corpora of the training packages from ONE tokenization of their files (in parallel over files): the file
    /// corpus (each file, then EOS) and the package corpus (each package as <see cref="Package.AsDocument"/> lays it
    /// out: per file the tokens of its "# file: path" line, its text and a newline, then EOS). Tokenizing the joined
    /// text instead would differ only at the file seams and took 76 of 116 s on an H200 box: a 100 MB package is one
    /// document, so one thread encodes it while the others wait.
    /// </summary>
    public static (InMemoryTokenCorpus Files, InMemoryTokenCorpus Packages) TokenizeFilesAndPackages(IReadOnlyList<Package> packages, ITextTokenizer tokenizer,
        int eosId, CancellationToken ct = default)
    {
        var files = packages.SelectMany(p => p.Files).ToList();
        var text = new IReadOnlyList<int>[files.Count];
        var header = new IReadOnlyList<int>[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            text[i] = tokenizer.Encode(files[i].Text, addSpecialTokens: false);
            header[i] = tokenizer.Encode($"# file: {files[i].Id}\n", addSpecialTokens: false);
        });
        var newline = tokenizer.Encode("\n", addSpecialTokens: false);
        var fileDocs = text.Select(ids => (IReadOnlyList<int>)[.. ids, eosId]);
        var packageDocs = new List<IReadOnlyList<int>>(packages.Count);
        int next = 0;
        foreach (var p in packages)
        {
            var doc = new List<int>();
            for (int f = 0; f < p.Files.Count; f++, next++)
            {
                doc.AddRange(header[next]);
                doc.AddRange(text[next]);
                doc.AddRange(newline);
            }
            doc.Add(eosId);
            packageDocs.Add(doc);
        }
        return (new InMemoryTokenCorpus(fileDocs), new InMemoryTokenCorpus(packageDocs));
    }

    /// <summary>Tokenizes documents in parallel (EOS after each) into an in-memory corpus, in the given order.</summary>
    public static InMemoryTokenCorpus Tokenize(IReadOnlyList<TextDocument> docs, ITextTokenizer tokenizer, int eosId, CancellationToken ct = default)
    {
        var encoded = new int[docs.Count][];
        Parallel.For(0, docs.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            var ids = tokenizer.Encode(docs[i].Text, addSpecialTokens: false);
            var row = new int[ids.Count + 1];
            for (int j = 0; j < ids.Count; j++) row[j] = ids[j];
            row[^1] = eosId;
            encoded[i] = row;
        });
        return new InMemoryTokenCorpus(encoded);
    }
}
