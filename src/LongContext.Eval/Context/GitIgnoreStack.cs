using MAB.DotIgnore;

namespace LongContext.Eval.Context;

/// <summary>
/// Git's ignore rules for a walk from a scan root. From the enclosing git work tree (the nearest folder up from the
/// root holding .git, the root itself included): its .git/info/exclude (a linked worktree's common git dir too) and the
/// .gitignore files of the folders above the root; then, while walking, each folder's .gitignore for the paths below it.
/// Extra patterns (--exclude) apply from the root. As in git, a deeper file's rules win over a shallower one's and,
/// within one file, the last matching pattern decides (a `!pattern` re-includes). Callers prune ignored folders, so a
/// file inside an ignored folder never comes back (git's rule too). Pattern matching is MAB.DotIgnore's.
/// Not read: the global core.excludesFile.
/// </summary>
public sealed class GitIgnoreStack
{
    /// <summary>One ignore file: its rules and how a root-relative path becomes relative to the file's folder.</summary>
    private sealed record Level(IReadOnlyList<IgnoreRule> Rules, string BaseDir, string Prefix);

    private readonly List<Level> _levels = [];

    /// <summary>Starts at <paramref name="root"/> with the enclosing repository's excludes and ancestor .gitignore files, then <paramref name="extraPatterns"/>.</summary>
    public GitIgnoreStack(string root, IEnumerable<string> extraPatterns, bool useGitIgnore)
    {
        UseGitIgnore = useGitIgnore;
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (useGitIgnore && FindWorkTree(root) is { } top)
        {
            // "a/b" from the work tree's top to the root: prefixes root-relative paths for files above the root.
            var fromTop = Path.GetRelativePath(top, root).Replace('\\', '/');
            fromTop = fromTop == "." ? "" : fromTop + "/";
            if (ExcludeFile(top) is { } exclude) Add(File.ReadAllLines(exclude), "", fromTop);
            var dir = top;
            foreach (var part in fromTop.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var gitignore = Path.Combine(dir, ".gitignore");
                var below = Path.GetRelativePath(dir, root).Replace('\\', '/') + "/";
                if (File.Exists(gitignore)) Add(File.ReadAllLines(gitignore), "", below);
                dir = Path.Combine(dir, part);
            }
        }
        Add(extraPatterns, "", "");
    }

    public bool UseGitIgnore { get; }

    /// <summary>Reads <paramref name="relativeDir"/>/.gitignore if it exists; returns how many levels to pop when leaving the folder.</summary>
    public int Enter(string root, string relativeDir)
    {
        if (!UseGitIgnore) return 0;
        var file = Path.Combine(root, relativeDir, ".gitignore");
        return File.Exists(file) && Add(File.ReadAllLines(file), relativeDir, "") ? 1 : 0;
    }

    public void Leave(int levels)
    {
        for (var i = 0; i < levels; i++) _levels.RemoveAt(_levels.Count - 1);
    }

    /// <summary>Whether a path (relative to the root, '/'-separated) is ignored; <paramref name="pattern"/> names the deciding rule for reports.</summary>
    public bool IsIgnored(string relativePath, bool isDirectory, out string? pattern)
    {
        pattern = null;
        for (var level = _levels.Count - 1; level >= 0; level--)
        {
            var l = _levels[level];
            var local = l.Prefix + (l.BaseDir.Length == 0 ? relativePath : relativePath[(l.BaseDir.Length + 1)..]);
            for (var i = l.Rules.Count - 1; i >= 0; i--)
            {
                if (!l.Rules[i].IsMatch(local, isDirectory)) continue;
                pattern = l.BaseDir.Length > 0 ? l.BaseDir + "/" + l.Rules[i].OriginalPattern : l.Rules[i].OriginalPattern;
                return !l.Rules[i].PatternFlags.HasFlag(PatternFlags.NEGATION);
            }
        }
        return false;
    }

    private bool Add(IEnumerable<string> lines, string baseDir, string prefix)
    {
        var rules = new IgnoreList(lines.Select(l => l.TrimEnd('\r')), MatchFlags.PATHNAME).Rules.ToList();
        if (rules.Count == 0) return false;
        _levels.Add(new Level(rules, baseDir, prefix));
        return true;
    }

    /// <summary>The nearest folder from <paramref name="dir"/> upwards that holds .git (a folder, or a worktree's .git file).</summary>
    private static string? FindWorkTree(string dir)
    {
        for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, ".git")) || File.Exists(Path.Combine(d.FullName, ".git"))) return d.FullName;
        return null;
    }

    /// <summary>.git/info/exclude; for a linked worktree (.git is a file "gitdir: X") the common git dir's.</summary>
    private static string? ExcludeFile(string top)
    {
        var git = Path.Combine(top, ".git");
        var gitDir = git;
        if (File.Exists(git))
        {
            var line = File.ReadLines(git).FirstOrDefault(l => l.StartsWith("gitdir:", StringComparison.Ordinal));
            if (line is null) return null;
            gitDir = Path.GetFullPath(Path.Combine(top, line["gitdir:".Length..].Trim()));
            var common = Path.Combine(gitDir, "commondir");
            if (File.Exists(common)) gitDir = Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(common).Trim()));
        }
        var exclude = Path.Combine(gitDir, "info", "exclude");
        return File.Exists(exclude) ? exclude : null;
    }
}
