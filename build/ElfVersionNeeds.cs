// Makes TorchSharp's native library loadable where the system libstdc++ is older than the one it was linked
// against (Debian 12: GLIBCXX_3.4.30, TorchSharp 0.107 asks for 3.4.32). It marks a required version "weak"
// (VER_FLG_WEAK in the Vernaux entry of .gnu.version_r), which glibc then only warns about, but only when every
// undefined symbol bound to that version is one we know to be a harmless marker. Used by the MSBuild task in
// TorchSharpNativeFix.targets and by the tests; plain C# with no dependencies so both can compile it.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace LongContext.Build
{
    // A class, not a record: MSBuild's inline-task compiler targets netstandard, which lacks init-only setters.
    public sealed class VersionNeed
    {
        public VersionNeed(string library, string version, ushort index, bool weak, long flagsOffset, List<string> undefinedSymbols)
        {
            Library = library; Version = version; Index = index; Weak = weak; FlagsOffset = flagsOffset; UndefinedSymbols = undefinedSymbols;
        }
        public string Library { get; }
        public string Version { get; }
        public ushort Index { get; }
        public bool Weak { get; }
        public long FlagsOffset { get; }
        public List<string> UndefinedSymbols { get; }
    }

    public static class ElfVersionNeeds
    {
        const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        const ushort VerFlgWeak = 0x2;

        // Symbols that only force a library's static initialisation (GCC 13 added this one for <iostream>).
        // Leaving them unresolved is safe: the older libstdc++ initialises iostreams on its own.
        public static readonly HashSet<string> HarmlessSymbols = new() { "_ZSt21ios_base_library_initv" };

        /// <summary>Every (library, version) the ELF file requires, with the undefined symbols bound to each.</summary>
        public static List<VersionNeed> Read(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only little-endian 64-bit ELF is supported");
            long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
            Check(elf, shoff, (long)shentsize * shnum);

            (uint type, long offset, long size, uint link, uint info)? verneed = null, versym = null, dynsym = null;
            var sections = new List<(uint type, long offset, long size, uint link, uint info)>();
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                var s = (BitConverter.ToUInt32(elf, (int)h + 4), (long)BitConverter.ToUInt64(elf, (int)h + 24),
                         (long)BitConverter.ToUInt64(elf, (int)h + 32), BitConverter.ToUInt32(elf, (int)h + 40),
                         BitConverter.ToUInt32(elf, (int)h + 44));
                sections.Add(s);
                if (s.Item1 == ShtGnuVerneed) verneed = s;
                else if (s.Item1 == ShtGnuVersym) versym = s;
                else if (s.Item1 == ShtDynsym) dynsym = s;
            }
            var result = new List<VersionNeed>();
            if (verneed is null) return result;
            var strtab = sections[(int)verneed.Value.link];
            Check(elf, verneed.Value.offset, verneed.Value.size);

            long vn = verneed.Value.offset;
            for (uint n = 0; n < verneed.Value.info; n++)
            {
                ushort cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                string file = ReadString(elf, strtab.offset, BitConverter.ToUInt32(elf, (int)vn + 4));
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    Check(elf, aux, 16);
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    ushort other = BitConverter.ToUInt16(elf, (int)aux + 6);
                    string name = ReadString(elf, strtab.offset, BitConverter.ToUInt32(elf, (int)aux + 8));
                    result.Add(new VersionNeed(file, name, other, (flags & VerFlgWeak) != 0, aux + 4, new List<string>()));
                    uint next = BitConverter.ToUInt32(elf, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BitConverter.ToUInt32(elf, (int)vn + 12);
                if (vnNext == 0) break;
                vn += vnNext;
            }

            if (versym is not null && dynsym is not null)
            {
                var dynstr = sections[(int)dynsym.Value.link];
                long count = dynsym.Value.size / 24;
                for (long i = 0; i < count; i++)
                {
                    long sym = dynsym.Value.offset + i * 24;
                    ushort shndx = BitConverter.ToUInt16(elf, (int)sym + 6);
                    if (shndx != 0) continue; // defined here, not a requirement
                    ushort ver = (ushort)(BitConverter.ToUInt16(elf, (int)(versym.Value.offset + i * 2)) & 0x7fff);
                    foreach (var need in result)
                        if (need.Index == ver)
                            need.UndefinedSymbols.Add(ReadString(elf, dynstr.offset, BitConverter.ToUInt32(elf, (int)sym)));
                }
            }
            return result;
        }

        /// <summary>The version names (GLIBCXX_*, CXXABI_*) a libstdc++ binary provides.</summary>
        public static HashSet<string> ProvidedVersions(byte[] libstdcxx)
        {
            var found = new HashSet<string>();
            var text = Encoding.ASCII.GetString(libstdcxx);
            foreach (var prefix in new[] { "GLIBCXX_", "CXXABI_" })
            {
                int at = 0;
                while ((at = text.IndexOf(prefix, at, StringComparison.Ordinal)) >= 0)
                {
                    int end = at + prefix.Length;
                    while (end < text.Length && (char.IsDigit(text[end]) || text[end] == '.')) end++;
                    if (end > at + prefix.Length && end < text.Length && text[end] == '\0') found.Add(text.Substring(at, end - at));
                    at = end;
                }
            }
            return found;
        }

        /// <summary>
        /// Marks weak every libstdc++ version the system lacks whose symbols are all harmless. Returns what was
        /// patched; throws when a missing version carries symbols the library really calls (no safe fix exists).
        /// </summary>
        public static List<string> PatchMissing(byte[] elf, ISet<string> provided)
        {
            var patched = new List<string>();
            foreach (var need in Read(elf))
            {
                if (!need.Library.StartsWith("libstdc++", StringComparison.Ordinal) || provided.Contains(need.Version) || need.Weak)
                    continue;
                var unsafeSymbols = need.UndefinedSymbols.FindAll(s => !HarmlessSymbols.Contains(s));
                if (unsafeSymbols.Count > 0)
                    throw new InvalidOperationException(
                        $"the system libstdc++ lacks {need.Version}, which these symbols need: {string.Join(", ", unsafeSymbols)}. " +
                        "Install a newer libstdc++ (GCC 13 or later) or use a PyTorch install (LongContextTorch=external).");
                ushort flags = BitConverter.ToUInt16(elf, (int)need.FlagsOffset);
                BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)need.FlagsOffset);
                patched.Add(need.Version);
            }
            return patched;
        }

        /// <summary>Patches a file in place through a temp file and rename; returns the versions made weak.</summary>
        public static List<string> PatchFile(string path, ISet<string> provided)
        {
            var bytes = File.ReadAllBytes(path);
            var patched = PatchMissing(bytes, provided);
            if (patched.Count == 0) return patched;
            string tmp = path + ".tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Replace(tmp, path, null); // an atomic rename: a reader never sees a half-written library
            return patched;
        }

        /// <summary>The system libstdc++ (first of the usual places), or null off Linux.</summary>
        public static string? FindSystemLibStdCxx()
        {
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
            {
                var p = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }

        static void Check(byte[] elf, long offset, long size)
        {
            if (offset < 0 || size < 0 || offset + size > elf.Length)
                throw new InvalidDataException($"ELF section at {offset} (+{size}) lies outside the {elf.Length}-byte file (truncated?)");
        }

        static string ReadString(byte[] elf, long table, uint index)
        {
            long start = table + index, end = start;
            while (end < elf.Length && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }
    }
}

#if !LONGCTX_NO_MSBUILD
namespace LongContext.Build
{
    /// <summary>MSBuild entry point: patches every libLibTorchSharp.so under the given folders, when needed.</summary>
    public sealed class FixTorchSharpNative : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string[] Folders { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            var libstdcxx = ElfVersionNeeds.FindSystemLibStdCxx();
            if (libstdcxx is null) return true; // not Linux: nothing to do
            var provided = ElfVersionNeeds.ProvidedVersions(File.ReadAllBytes(libstdcxx));
            foreach (var folder in Folders)
            {
                if (!Directory.Exists(folder)) continue;
                foreach (var lib in Directory.EnumerateFiles(folder, "libLibTorchSharp.so", SearchOption.AllDirectories))
                {
                    try
                    {
                        var patched = ElfVersionNeeds.PatchFile(lib, provided);
                        if (patched.Count > 0)
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                                $"LongContext: marked {string.Join(", ", patched)} weak in {lib} (system {libstdcxx} lacks it)");
                    }
                    catch (Exception e)
                    {
                        Log.LogError($"LongContext: cannot make {lib} loadable: {e.Message}");
                    }
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
}
#endif
