using LongContext.Build;

namespace LongContext.Tests.Build;

/// <summary>The build-time fix that makes TorchSharp's native library load on older libstdc++ (design.md §2).</summary>
public class ElfVersionNeedsTests
{
    // The unpatched library as NuGet ships it.
    static readonly string Original = Path.Combine(
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void TorchSharp_needs_glibcxx_3_4_32_only_for_a_harmless_marker_symbol()
    {
        var need = ElfVersionNeeds.Read(File.ReadAllBytes(Original)).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.StartsWith("libstdc++", need.Library);
        Assert.False(need.Weak);
        Assert.Equal(["_ZSt21ios_base_library_initv"], need.UndefinedSymbols);
    }

    [Fact]
    public void Patching_marks_the_missing_version_weak_once_and_is_idempotent()
    {
        var bytes = File.ReadAllBytes(Original);
        var provided = ElfVersionNeeds.Read(bytes).Select(n => n.Version).Where(v => v != "GLIBCXX_3.4.32").ToHashSet();
        Assert.Equal(["GLIBCXX_3.4.32"], ElfVersionNeeds.PatchMissing(bytes, provided));
        Assert.True(ElfVersionNeeds.Read(bytes).Single(n => n.Version == "GLIBCXX_3.4.32").Weak);
        Assert.Empty(ElfVersionNeeds.PatchMissing(bytes, provided));
        // Only the two flag bytes changed.
        var original = File.ReadAllBytes(Original);
        int changed = original.Zip(bytes).Count(p => p.First != p.Second);
        Assert.InRange(changed, 1, 2);
    }

    [Fact]
    public void Nothing_is_patched_when_the_system_provides_every_version()
    {
        var bytes = File.ReadAllBytes(Original);
        var all = ElfVersionNeeds.Read(bytes).Select(n => n.Version).ToHashSet();
        Assert.Empty(ElfVersionNeeds.PatchMissing(bytes, all));
    }

    [Fact]
    public void A_missing_version_with_real_symbols_is_refused_with_the_fix()
    {
        var bytes = File.ReadAllBytes(Original);
        var provided = ElfVersionNeeds.Read(bytes).Select(n => n.Version).Where(v => v != "CXXABI_1.3.13" && v != "GLIBCXX_3.4.32").ToHashSet();
        if (ElfVersionNeeds.Read(bytes).All(n => n.Version != "CXXABI_1.3.13")) return; // other TorchSharp builds
        var e = Assert.Throws<InvalidOperationException>(() => ElfVersionNeeds.PatchMissing(bytes, provided));
        Assert.Contains("CXXABI_1.3.13", e.Message);
    }

    [Fact]
    public void Truncated_or_foreign_files_are_rejected()
    {
        var bytes = File.ReadAllBytes(Original);
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(bytes.AsSpan(0, 40).ToArray()));
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(bytes.AsSpan(0, 4096).ToArray()));
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read("not an elf file at all, just text.........................."u8.ToArray()));
    }

    [Fact]
    public void The_build_output_copy_loads_here()
    {
        // If this machine's libstdc++ lacks the version, the build must have patched the copy TorchSharp loads.
        var copy = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var system = ElfVersionNeeds.FindSystemLibStdCxx();
        if (system is null) return;
        var provided = ElfVersionNeeds.ProvidedVersions(File.ReadAllBytes(system));
        var need = ElfVersionNeeds.Read(File.ReadAllBytes(copy)).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(provided.Contains("GLIBCXX_3.4.32") || need.Weak);
    }
}
