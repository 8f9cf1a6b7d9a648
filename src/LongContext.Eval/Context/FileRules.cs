namespace LongContext.Eval.Context;

/// <summary>
/// Name-based rules for what a repository pack leaves out (vendored folders, lock files, generated and binary files) and
/// how it names and ranks what it keeps (language, README, build file, test). All comparisons ignore case.
/// </summary>
public static class FileRules
{
    private static readonly StringComparer Ci = StringComparer.OrdinalIgnoreCase;

    /// <summary>Folders not descended into (exact, case-sensitive names): VCS data, dependencies, build outputs, caches.</summary>
    public static readonly IReadOnlySet<string> SkippedDirectories = new HashSet<string>(StringComparer.Ordinal)
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "jspm_packages", "vendor", "third_party", "third-party", "thirdparty",
        "dist", "build", "bin", "obj", "out", "target", "__pycache__", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".gradle", ".idea", ".vs", ".next", ".nuxt", ".svelte-kit", ".parcel-cache", ".terraform", "coverage", "Pods",
        ".eggs", "site-packages", ".cache",
    };

    /// <summary>Dependency lock files (exact names; any *.lock also counts).</summary>
    public static readonly IReadOnlySet<string> LockFiles = new HashSet<string>(Ci)
    {
        "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "Cargo.lock", "poetry.lock", "Pipfile.lock",
        "composer.lock", "Gemfile.lock", "go.sum", "packages.lock.json", "uv.lock", "pdm.lock", "flake.lock", "mix.lock", "pubspec.lock",
        "Podfile.lock", "gradle.lockfile", "conda-lock.yml",
    };

    /// <summary>Name endings of generated or minified files.</summary>
    public static readonly IReadOnlyList<string> GeneratedSuffixes =
    [
        ".min.js", ".min.css", ".min.mjs", ".js.map", ".css.map", ".map", ".generated.cs", ".g.cs", ".g.i.cs", ".designer.cs",
        ".AssemblyInfo.cs", ".AssemblyAttributes.cs", "_pb2.py", "_pb2_grpc.py", ".pb.go", ".pb.cc", ".pb.h", ".pb.swift", "_generated.go",
        ".bundle.js", ".chunk.js",
    ];

    /// <summary>Extensions of files that are binary (not even opened).</summary>
    public static readonly IReadOnlySet<string> BinaryExtensions = new HashSet<string>(Ci)
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".webp", ".tif", ".tiff", ".psd", ".heic", ".avif",
        ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt",
        ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".jar", ".war", ".nupkg", ".whl", ".egg", ".deb", ".rpm", ".dmg", ".iso",
        ".exe", ".dll", ".so", ".dylib", ".a", ".o", ".obj", ".lib", ".pdb", ".class", ".pyc", ".pyo", ".wasm", ".bin", ".dat",
        ".pt", ".pth", ".ckpt", ".safetensors", ".onnx", ".gguf", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5", ".parquet", ".arrow",
        ".feather", ".db", ".sqlite", ".sqlite3", ".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm", ".m4a",
        ".ttf", ".otf", ".woff", ".woff2", ".eot", ".snk", ".pfx", ".p12", ".keystore", ".jks",
    };

    /// <summary>Build and project files: listed right after the README (root) or first in their folder.</summary>
    public static readonly IReadOnlySet<string> BuildFileNames = new HashSet<string>(Ci)
    {
        "Makefile", "GNUmakefile", "CMakeLists.txt", "Dockerfile", "docker-compose.yml", "docker-compose.yaml", "compose.yaml",
        "package.json", "tsconfig.json", "Cargo.toml", "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile",
        "go.mod", "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "Gemfile", "composer.json",
        "global.json", "nuget.config", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "meson.build",
        "BUILD", "BUILD.bazel", "WORKSPACE", "justfile", "Taskfile.yml", "mix.exs", "pubspec.yaml", "Project.toml", "DESCRIPTION",
    };

    private static readonly IReadOnlySet<string> BuildFileExtensions = new HashSet<string>(Ci)
    { ".sln", ".slnx", ".csproj", ".fsproj", ".vbproj", ".vcxproj", ".props", ".targets", ".cabal", ".gemspec", ".nimble" };

    /// <summary>Folders whose files are tests.</summary>
    public static readonly IReadOnlySet<string> TestDirectories = new HashSet<string>(Ci)
    { "test", "tests", "__tests__", "spec", "specs", "testing", "testdata", "test_data", "e2e", "integration_tests" };

    /// <summary>Folders whose files are documentation.</summary>
    public static readonly IReadOnlySet<string> DocDirectories = new HashSet<string>(Ci) { "doc", "docs", "documentation" };

    /// <summary>Root files of little use to a question (licences, change logs): packed last.</summary>
    private static readonly string[] LowValueStems = ["LICENSE", "LICENCE", "COPYING", "NOTICE", "CHANGELOG", "CHANGES", "HISTORY", "AUTHORS", "CONTRIBUTORS", "CODEOWNERS"];

    private static readonly IReadOnlySet<string> DataExtensions = new HashSet<string>(Ci)
    { ".csv", ".tsv", ".jsonl", ".ndjson", ".svg", ".log", ".ipynb", ".pem", ".crt", ".patch", ".diff" };

    private static readonly IReadOnlySet<string> DotConfigFiles = new HashSet<string>(Ci)
    { ".gitignore", ".gitattributes", ".gitmodules", ".editorconfig", ".dockerignore", ".npmignore", ".prettierignore", ".eslintignore", ".mailmap" };

    private static readonly Dictionary<string, string> Languages = new(Ci)
    {
        [".cs"] = "csharp", [".fs"] = "fsharp", [".fsx"] = "fsharp", [".vb"] = "vbnet", [".py"] = "python", [".pyi"] = "python",
        [".js"] = "javascript", [".mjs"] = "javascript", [".cjs"] = "javascript", [".jsx"] = "jsx", [".ts"] = "typescript",
        [".tsx"] = "tsx", [".go"] = "go", [".rs"] = "rust", [".java"] = "java", [".kt"] = "kotlin", [".kts"] = "kotlin",
        [".scala"] = "scala", [".c"] = "c", [".h"] = "c", [".cpp"] = "cpp", [".cc"] = "cpp", [".cxx"] = "cpp", [".hpp"] = "cpp",
        [".hh"] = "cpp", [".cu"] = "cuda", [".cuh"] = "cuda", [".m"] = "objective-c", [".mm"] = "objective-cpp", [".swift"] = "swift",
        [".rb"] = "ruby", [".php"] = "php", [".pl"] = "perl", [".lua"] = "lua", [".r"] = "r", [".jl"] = "julia", [".dart"] = "dart",
        [".ex"] = "elixir", [".exs"] = "elixir", [".erl"] = "erlang", [".hs"] = "haskell", [".ml"] = "ocaml", [".clj"] = "clojure",
        [".zig"] = "zig", [".nim"] = "nim", [".sh"] = "bash", [".bash"] = "bash", [".zsh"] = "zsh", [".fish"] = "fish",
        [".ps1"] = "powershell", [".bat"] = "batch", [".cmd"] = "batch", [".sql"] = "sql", [".proto"] = "protobuf",
        [".graphql"] = "graphql", [".md"] = "markdown", [".markdown"] = "markdown", [".rst"] = "rst", [".txt"] = "text",
        [".adoc"] = "asciidoc", [".tex"] = "latex", [".json"] = "json", [".jsonc"] = "json", [".yaml"] = "yaml", [".yml"] = "yaml",
        [".toml"] = "toml", [".ini"] = "ini", [".cfg"] = "ini", [".xml"] = "xml", [".csproj"] = "xml", [".fsproj"] = "xml",
        [".props"] = "xml", [".targets"] = "xml", [".slnx"] = "xml", [".html"] = "html", [".htm"] = "html", [".css"] = "css",
        [".scss"] = "scss", [".less"] = "less", [".vue"] = "vue", [".svelte"] = "svelte", [".cmake"] = "cmake",
        [".gradle"] = "groovy", [".groovy"] = "groovy", [".tf"] = "terraform", [".nix"] = "nix", [".jinja"] = "jinja",
        [".j2"] = "jinja", [".csv"] = "csv", [".tsv"] = "tsv", [".svg"] = "svg", [".ipynb"] = "json", [".sln"] = "sln",
    };

    public static bool IsLockFile(string name) => LockFiles.Contains(name) || name.EndsWith(".lock", StringComparison.OrdinalIgnoreCase);

    public static bool IsGeneratedName(string name) => GeneratedSuffixes.Any(s => name.EndsWith(s, StringComparison.OrdinalIgnoreCase));

    public static bool IsBinaryExtension(string name) => BinaryExtensions.Contains(Path.GetExtension(name));

    /// <summary>"auto-generated", "autogenerated", "@generated" or "DO NOT EDIT" in the first lines marks a generated file.</summary>
    public static bool HasGeneratedHeader(string text)
    {
        var head = FirstLines(text, 10);
        return head.Contains("auto-generated", StringComparison.OrdinalIgnoreCase) || head.Contains("autogenerated", StringComparison.OrdinalIgnoreCase)
            || head.Contains("@generated", StringComparison.Ordinal) || head.Contains("DO NOT EDIT", StringComparison.Ordinal);
    }

    public static string Language(string name)
    {
        var fileName = Path.GetFileName(name);
        if (fileName.StartsWith("Dockerfile", StringComparison.OrdinalIgnoreCase)) return "dockerfile";
        if (fileName is "Makefile" or "GNUmakefile" || fileName.EndsWith(".mk", StringComparison.OrdinalIgnoreCase)) return "makefile";
        if (fileName.Equals("CMakeLists.txt", StringComparison.OrdinalIgnoreCase)) return "cmake";
        return Languages.TryGetValue(Path.GetExtension(fileName), out var lang) ? lang : "text";
    }

    public static bool IsReadme(string name) => Path.GetFileNameWithoutExtension(name).Equals("README", StringComparison.OrdinalIgnoreCase)
        || name.Equals("README", StringComparison.OrdinalIgnoreCase);

    public static bool IsBuildFile(string name) => BuildFileNames.Contains(name) || BuildFileExtensions.Contains(Path.GetExtension(name))
        || name.StartsWith("requirements", StringComparison.OrdinalIgnoreCase) && name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

    public static bool IsDocument(string name) => Path.GetExtension(name).ToLowerInvariant() is ".md" or ".markdown" or ".rst" or ".txt" or ".adoc";

    public static bool IsLowValue(string name, string relativeDir)
    {
        var stem = Path.GetFileNameWithoutExtension(name);
        if (relativeDir.Length == 0 && LowValueStems.Any(s => stem.Equals(s, StringComparison.OrdinalIgnoreCase) || name.Equals(s, StringComparison.OrdinalIgnoreCase)))
            return true;
        return DataExtensions.Contains(Path.GetExtension(name)) || DotConfigFiles.Contains(name);
    }

    /// <summary>A file is a test if a folder on its path is a test folder (or a .NET "*.Tests" project) or its name says so.</summary>
    /// <param name="siblings">File names in the same folder: a name ending in Test/Tests counts only when its subject is among them (SelfTest.cs alone is not a test).</param>
    public static bool IsTest(string relativePath, IReadOnlyCollection<string> siblings)
    {
        if (IsInTestFolder(relativePath)) return true;
        var name = relativePath.Split('/')[^1];
        if (TestSubject(name) is not { } subject) return false;
        var stem = Path.GetFileNameWithoutExtension(name);
        var unambiguous = stem.StartsWith("test_", StringComparison.Ordinal) || stem.EndsWith("_test", StringComparison.Ordinal)
            || stem.EndsWith(".test", StringComparison.Ordinal) || stem.EndsWith(".spec", StringComparison.Ordinal) || stem.EndsWith("_spec", StringComparison.Ordinal);
        return unambiguous || siblings.Any(n => n != name && Path.GetFileNameWithoutExtension(n).Equals(subject, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Whether a folder on the path is a test folder (tests/, spec/, __tests__/, ...) or a .NET test project (*.Tests).</summary>
    public static bool IsInTestFolder(string relativePath)
    {
        var parts = relativePath.Split('/');
        for (var i = 0; i < parts.Length - 1; i++)
            if (TestDirectories.Contains(parts[i]) || parts[i].EndsWith(".Tests", StringComparison.OrdinalIgnoreCase)
                || parts[i].EndsWith(".Test", StringComparison.OrdinalIgnoreCase) || parts[i].EndsWith(".Specs", StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    /// <summary>For a test file named after what it tests (foo_test.go, test_foo.py, foo.test.ts, foo.spec.js, FooTests.cs, FooTest.java, foo_spec.rb), the subject's stem ("foo"/"Foo"); otherwise null.</summary>
    public static string? TestSubject(string fileName)
    {
        var stem = Path.GetFileNameWithoutExtension(fileName);
        foreach (var suffix in new[] { "_test", ".test", ".spec", "_spec", "Tests", "Test" })
            if (stem.Length > suffix.Length && stem.EndsWith(suffix, StringComparison.Ordinal)) return stem[..^suffix.Length];
        if (stem.Length > 5 && stem.StartsWith("test_", StringComparison.Ordinal)) return stem[5..];
        return null;
    }

    private static string FirstLines(string text, int lines)
    {
        var end = 0;
        for (var i = 0; i < lines && end < text.Length; i++)
        {
            var nl = text.IndexOf('\n', end);
            end = nl < 0 ? text.Length : nl + 1;
        }
        return text[..Math.Min(end, 2000)];
    }
}
