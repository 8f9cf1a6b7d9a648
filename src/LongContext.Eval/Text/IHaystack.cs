namespace LongContext.Eval.Text;

/// <summary>
/// Filler text for needle tests, as an endless sequence of units (sentences, or whole files for code). A needle always
/// goes between two units, so it sits at a sentence (or file) boundary.
/// </summary>
public interface IHaystack
{
    string Name { get; }
    /// <summary>Joins units ("\n" between files, " " between sentences).</summary>
    string Separator { get; }
    /// <summary>The first <paramref name="count"/> units (repeating the source when it runs out).</summary>
    IReadOnlyList<string> Take(int count);
    /// <summary>Wraps a needle sentence for this haystack (a comment between files for code).</summary>
    string FormatNeedle(string sentence);
}

/// <summary>Shared repeat-to-length logic over a finite list of units.</summary>
public abstract class ListHaystack : IHaystack
{
    protected abstract IReadOnlyList<string> Source { get; }
    public abstract string Name { get; }
    public abstract string Separator { get; }
    public virtual string FormatNeedle(string sentence) => sentence;

    public IReadOnlyList<string> Take(int count)
    {
        var src = Source;
        var list = new List<string>(count);
        for (var i = 0; i < count; i++) list.Add(src[i % src.Count]);
        return list;
    }
}

/// <summary>Generated English-like filler sentences (our own word lists and sentence frames), deterministic for a seed.</summary>
public sealed class NoiseHaystack : ListHaystack
{
    private static readonly string[] Subjects = ["The old farmer", "A quiet student", "The river", "Every morning the baker", "The small town", "A tired traveller", "The library", "Our neighbour", "The mountain road", "A curious child", "The north wind", "The market"];
    private static readonly string[] Verbs = ["walked past", "looked at", "waited near", "talked about", "forgot", "painted", "followed", "carried", "noticed", "repaired", "counted", "visited"];
    private static readonly string[] Objects = ["the red barn", "a wooden bridge", "the empty field", "a stack of letters", "the village square", "an old bicycle", "the garden wall", "a basket of apples", "the harbour lights", "a broken clock", "the long hallway", "a pair of boots"];
    private static readonly string[] Tails = ["before noon", "in the rain", "without a word", "for an hour", "after supper", "as usual", "once again", "near the station", "on Tuesday", "with some care", "in silence", "at dusk"];

    private readonly List<string> _sentences;

    public NoiseHaystack(int seed = 7, int distinct = 4096)
    {
        var rng = new Random(seed);
        _sentences = new List<string>(distinct);
        for (var i = 0; i < distinct; i++)
            _sentences.Add($"{Subjects[rng.Next(Subjects.Length)]} {Verbs[rng.Next(Verbs.Length)]} {Objects[rng.Next(Objects.Length)]} {Tails[rng.Next(Tails.Length)]}.");
    }

    protected override IReadOnlyList<string> Source => _sentences;
    public override string Name => "noise";
    public override string Separator => " ";
}

/// <summary>Every *.txt / *.md file of a folder (sorted by name), whitespace-normalised and split into sentences.</summary>
public sealed class EssayHaystack : ListHaystack
{
    private readonly List<string> _sentences;
    private readonly string _dir;

    public EssayHaystack(string dir)
    {
        _dir = dir;
        if (!Directory.Exists(dir)) throw new EvalException($"--haystack-dir {dir}: folder not found; give a folder of .txt essays.");
        var text = EssayCorpus.ReadFolder(dir);
        _sentences = SentenceSplitter.Split(text);
        if (_sentences.Count == 0) throw new EvalException($"--haystack-dir {dir}: no text found in *.txt or *.md files.");
    }

    protected override IReadOnlyList<string> Source => _sentences;
    public override string Name => $"essays:{Path.GetFileName(Path.TrimEndingDirectorySeparator(_dir))}";
    public override string Separator => " ";
}

/// <summary>
/// Needle-in-a-codebase: the source files of a repository folder, each as "# File: path" plus its text; the needle is
/// a comment line placed between two files.
/// </summary>
public sealed class CodeHaystack : ListHaystack
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase)
    { ".cs", ".py", ".js", ".ts", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".hpp", ".cc", ".rb", ".kt", ".swift", ".scala", ".sh", ".fs" };
    private static readonly HashSet<string> SkipDirs = new(StringComparer.OrdinalIgnoreCase) { ".git", "bin", "obj", "node_modules", "__pycache__", ".venv", "venv", "dist", "build", "target" };
    private readonly List<string> _files = [];
    private readonly string _dir;

    public CodeHaystack(string dir, int maxFileBytes = 100_000)
    {
        _dir = dir;
        if (!Directory.Exists(dir)) throw new EvalException($"--haystack-dir {dir}: folder not found; give a repository folder.");
        foreach (var path in Walk(dir).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            if (info.Length == 0 || info.Length > maxFileBytes) continue;
            var rel = Path.GetRelativePath(dir, path).Replace('\\', '/');
            _files.Add($"# File: {rel}\n{File.ReadAllText(path).TrimEnd()}\n");
        }
        if (_files.Count == 0) throw new EvalException($"--haystack-dir {dir}: no source files ({string.Join(", ", Extensions.Order())}) under 100 KB found.");
    }

    private static IEnumerable<string> Walk(string dir)
    {
        foreach (var f in Directory.EnumerateFiles(dir))
            if (Extensions.Contains(Path.GetExtension(f))) yield return f;
        foreach (var d in Directory.EnumerateDirectories(dir))
            if (!SkipDirs.Contains(Path.GetFileName(d))) foreach (var f in Walk(d)) yield return f;
    }

    protected override IReadOnlyList<string> Source => _files;
    public override string Name => $"code:{Path.GetFileName(Path.TrimEndingDirectorySeparator(_dir))}";
    public override string Separator => "\n";
    public override string FormatNeedle(string sentence) => $"# NOTE: {sentence}\n";
}

/// <summary>Reads essays the way RULER builds its essay text.</summary>
public static class EssayCorpus
{
    /// <summary>
    /// Every *.txt / *.md file under a folder, sorted by path and concatenated without separator (RULER's
    /// download_paulgraham_essay.py: <c>text += f.read()</c>), or the "text" of a JSON file such as RULER's own
    /// PaulGrahamEssays.json. Not whitespace-normalised.
    /// </summary>
    public static string ReadRulerText(string path, string option)
    {
        if (File.Exists(path))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
                return doc.RootElement.GetProperty("text").GetString() ?? "";
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new EvalException($"{option} {path}: not a JSON object with a \"text\" field (RULER's PaulGrahamEssays.json); give that file or a folder of essay .txt files.");
            }
        }
        if (!Directory.Exists(path)) throw new EvalException($"{option} {path}: neither a folder of essay .txt files nor RULER's PaulGrahamEssays.json.");
        var files = Directory.EnumerateFiles(path, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new EvalException($"{option} {path}: no *.txt or *.md files.");
        return string.Concat(files.Select(File.ReadAllText));
    }

    /// <summary>The folder's text with whitespace collapsed to single spaces.</summary>
    public static string ReadFolder(string dir) =>
        System.Text.RegularExpressions.Regex.Replace(ReadRulerText(dir, "--haystack-dir"), @"\s+", " ").Trim();
}
