using System.Runtime.InteropServices;
using System.Text;

namespace LongContext.Formats.Tokenization;

/// <summary>
/// Unicode normalization that works when .NET runs with InvariantGlobalization (where string.Normalize does
/// nothing for non-ASCII text): calls the system ICU's unorm2 API directly, found by probing libicuuc versions.
/// Without ICU, non-ASCII text that needs normalization makes tokenization fail loudly rather than silently differ.
/// </summary>
internal static unsafe class IcuNormalization
{
    private static readonly Lazy<Api?> Icu = new(LoadIcu);

    private sealed class Api
    {
        public required delegate* unmanaged<int*, nint> NFC, NFD, NFKC, NFKD;
        public required delegate* unmanaged<nint, char*, int, char*, int, int*, int> Normalize;
    }

    public static string Normalize(string text, NormalizationForm form)
    {
        if (IsAscii(text)) return text;
        if (DotNetNormalizes.Value) return text.Normalize(form);
        var api = Icu.Value ?? throw new TokenizerException(
            $"tokenizer.json normalizer {form} needs ICU (libicuuc) when .NET runs with InvariantGlobalization; install libicu (apt-get install libicu72) or disable invariant globalization");
        int error = 0;
        nint normalizer = form switch
        {
            NormalizationForm.FormC => api.NFC(&error),
            NormalizationForm.FormD => api.NFD(&error),
            NormalizationForm.FormKC => api.NFKC(&error),
            _ => api.NFKD(&error),
        };
        if (error > 0) throw new TokenizerException($"ICU normalizer {form} failed (error {error})");
        int capacity = text.Length * 3 + 16;
        while (true)
        {
            var buffer = new char[capacity];
            error = 0;
            int length;
            fixed (char* src = text)
            fixed (char* dst = buffer)
                length = api.Normalize(normalizer, src, text.Length, dst, capacity, &error);
            if (error == 15 /* U_BUFFER_OVERFLOW_ERROR */) { capacity = length + 16; continue; }
            if (error > 0) throw new TokenizerException($"ICU normalization {form} failed (error {error})");
            return new string(buffer, 0, length);
        }
    }

    private static bool IsAscii(string s)
    {
        foreach (char c in s)
            if (c > 0x7F) return false;
        return true;
    }

    /// <summary>False under InvariantGlobalization, where string.Normalize leaves non-ASCII text unchanged.</summary>
    private static readonly Lazy<bool> DotNetNormalizes = new(() => "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9");

    private static Api? LoadIcu()
    {
        foreach (var name in new[] { "libicuuc.so" }.Concat(Enumerable.Range(50, 40).Reverse().Select(v => $"libicuuc.so.{v}")))
        {
            if (!NativeLibrary.TryLoad(name, out var lib)) continue;
            foreach (var suffix in Enumerable.Range(50, 40).Reverse().Select(v => $"_{v}").Prepend(""))
            {
                if (!NativeLibrary.TryGetExport(lib, "unorm2_normalize" + suffix, out var normalize)) continue;
                nint Export(string f) => NativeLibrary.GetExport(lib, f + suffix);
                return new Api
                {
                    NFC = (delegate* unmanaged<int*, nint>)Export("unorm2_getNFCInstance"),
                    NFD = (delegate* unmanaged<int*, nint>)Export("unorm2_getNFDInstance"),
                    NFKC = (delegate* unmanaged<int*, nint>)Export("unorm2_getNFKCInstance"),
                    NFKD = (delegate* unmanaged<int*, nint>)Export("unorm2_getNFKDInstance"),
                    Normalize = (delegate* unmanaged<nint, char*, int, char*, int, int*, int>)normalize,
                };
            }
        }
        return null;
    }
}
