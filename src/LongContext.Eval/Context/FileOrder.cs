namespace LongContext.Eval.Context;

/// <summary>
/// The order files are packed in, so related files sit together. Sections, in order:
/// 1. the root README, then other root documents (by name);
/// 2. root build and project files (by name);
/// 3. docs/ (doc/, documentation/) in tree order;
/// 4. sources in tree order, with a test that sits beside its subject (foo_test.go, test_foo.py, foo.spec.ts,
///    FooTests.cs) placed right after that subject;
/// 5. test folders (tests/, spec/, __tests__/, *.Tests/) in tree order;
/// 6. everything else (licences, change logs, data files) by path.
/// Tree order: a folder's own files before its subfolders, subfolders by name; within a folder the README first, then
/// build files, then the rest by name (case-insensitive, then ordinal). In documents mode: the root README, then tree order.
/// </summary>
public static class FileOrder
{
    /// <summary>Kinds in the order they get the token budget: when the window is short, later kinds are left out first.</summary>
    public static readonly IReadOnlyList<FileKind> BudgetPriority = [FileKind.Overview, FileKind.Build, FileKind.Source, FileKind.Docs, FileKind.Test, FileKind.Other];

    private static readonly StringComparer NameOrder = new CaseInsensitiveThenOrdinal();

    public static IReadOnlyList<RepoFile> Sort(IEnumerable<RepoFile> files)
    {
        var list = files.ToList();
        var sections = list.GroupBy(Section).OrderBy(g => g.Key);
        var result = new List<RepoFile>(list.Count);
        foreach (var section in sections)
        {
            if (section.Key is 0 or 1) result.AddRange(section.OrderBy(f => FileRules.IsReadme(f.Path) ? 0 : 1).ThenBy(f => f.Path, NameOrder));
            else if (section.Key == 5) result.AddRange(section.OrderBy(f => f.Path, NameOrder));
            else result.AddRange(TreeOrder(section));
        }
        return result;
    }

    private static int Section(RepoFile f) => f.Kind switch
    {
        FileKind.Overview => 0,
        FileKind.Build => 1,
        FileKind.Docs => 2,
        FileKind.Source => 3,
        FileKind.Test => FileRules.IsInTestFolder(f.Path) ? 4 : 3,
        _ => 5,
    };

    private static IEnumerable<RepoFile> TreeOrder(IEnumerable<RepoFile> files)
    {
        foreach (var folder in files.GroupBy(f => Dir(f.Path)).OrderBy(g => g.Key, new FolderOrder()))
        {
            var names = folder.Select(f => Name(f.Path)).ToList();
            var keyed = folder.Select(f => (File: f, Key: Key(f, names)));
            foreach (var (f, _) in keyed.OrderBy(x => x.Key.Rank).ThenBy(x => x.Key.Anchor, NameOrder).ThenBy(x => x.Key.AfterSubject).ThenBy(x => Name(x.File.Path), NameOrder))
                yield return f;
        }
    }

    /// <summary>README first, build files next; a test beside its subject sorts as the subject's name, just after it.</summary>
    private static (int Rank, string Anchor, int AfterSubject) Key(RepoFile f, List<string> namesInFolder)
    {
        var name = Name(f.Path);
        if (FileRules.IsReadme(name)) return (0, name, 0);
        if (FileRules.IsBuildFile(name)) return (1, name, 0);
        if (f.Kind == FileKind.Test && FileRules.TestSubject(name) is { } subject)
        {
            var ext = Path.GetExtension(name);
            var match = namesInFolder.Where(n => n != name && Path.GetFileNameWithoutExtension(n).Equals(subject, StringComparison.OrdinalIgnoreCase))
                .OrderBy(n => Path.GetExtension(n).Equals(ext, StringComparison.OrdinalIgnoreCase) ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal).FirstOrDefault();
            if (match is not null) return (2, match, 1);
        }
        return (2, name, 0);
    }

    private static string Dir(string path) => path.LastIndexOf('/') is var i and >= 0 ? path[..i] : "";
    private static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    private sealed class CaseInsensitiveThenOrdinal : StringComparer
    {
        public override int Compare(string? x, string? y)
        {
            var c = StringComparer.OrdinalIgnoreCase.Compare(x, y);
            return c != 0 ? c : StringComparer.Ordinal.Compare(x, y);
        }
        public override bool Equals(string? x, string? y) => StringComparer.Ordinal.Equals(x, y);
        public override int GetHashCode(string obj) => StringComparer.Ordinal.GetHashCode(obj);
    }

    /// <summary>Segment by segment, so "a" &lt; "a/b" &lt; "a-b" (a folder's subtree stays together).</summary>
    private sealed class FolderOrder : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            var a = x!.Length == 0 ? [] : x.Split('/');
            var b = y!.Length == 0 ? [] : y.Split('/');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
                if (NameOrder.Compare(a[i], b[i]) is var c and not 0) return c;
            return a.Length.CompareTo(b.Length);
        }
    }
}
