using MAB.DotIgnore;

namespace LongContext.Eval.Context;

/// <summary>
/// Git's ignore rules for a walk from the repository root: .git/info/exclude and extra patterns apply from the root,
/// each folder's .gitignore to paths below that folder. As in git, a deeper file's rules win over a shallower one's and,
/// within one file, the last matching pattern decides (a `!pattern` re-includes). Callers prune ignored folders, so a
/// file inside an ignored folder is never re-included (git's rule too). Pattern matching is MAB.DotIgnore's.
/// </summary>
public sealed class GitIgnoreStack
{
    private readonly List<(string BaseDir, IReadOnlyList<IgnoreRule> Rules)> _levels = [];

    /// <summary>Starts at the root with .git/info/exclude (when present) and <paramref name="extraPatterns"/> (gitignore syntax).</summary>
    public GitIgnoreStack(string root, IEnumerable<string> extraPatterns, bool useGitIgnore)
    {
        var rootRules = new List<string>();
        if (useGitIgnore)
        {
            var exclude = Path.Combine(root, ".git", "info", "exclude");
            if (File.Exists(exclude)) rootRules.AddRange(File.ReadAllLines(exclude));
        }
        rootRules.AddRange(extraPatterns);
        if (rootRules.Count > 0) _levels.Add(("", Parse(rootRules)));
        UseGitIgnore = useGitIgnore;
    }

    public bool UseGitIgnore { get; }

    /// <summary>Reads <paramref name="relativeDir"/>/.gitignore if it exists; returns how many levels to pop when leaving the folder.</summary>
    public int Enter(string root, string relativeDir)
    {
        if (!UseGitIgnore) return 0;
        var file = Path.Combine(root, relativeDir, ".gitignore");
        if (!File.Exists(file)) return 0;
        var rules = Parse(File.ReadAllLines(file));
        if (rules.Count == 0) return 0;
        _levels.Add((relativeDir, rules));
        return 1;
    }

    public void Leave(int levels)
    {
        for (var i = 0; i < levels; i++) _levels.RemoveAt(_levels.Count - 1);
    }

    /// <summary>Whether a path (relative to the root, '/'-separated) is ignored; returns the deciding pattern for reports.</summary>
    public bool IsIgnored(string relativePath, bool isDirectory, out string? pattern)
    {
        pattern = null;
        for (var level = _levels.Count - 1; level >= 0; level--)
        {
            var (baseDir, rules) = _levels[level];
            var local = baseDir.Length == 0 ? relativePath : relativePath[(baseDir.Length + 1)..];
            for (var i = rules.Count - 1; i >= 0; i--)
            {
                if (!rules[i].IsMatch(local, isDirectory)) continue;
                pattern = (baseDir.Length == 0 ? "" : baseDir + "/") + rules[i].OriginalPattern;
                return !rules[i].PatternFlags.HasFlag(PatternFlags.NEGATION);
            }
        }
        return false;
    }

    private static List<IgnoreRule> Parse(IEnumerable<string> lines) =>
        new IgnoreList(lines.Select(l => l.TrimEnd('\r')), MatchFlags.PATHNAME).Rules.ToList();
}
