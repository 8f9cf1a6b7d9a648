using System.Security.Cryptography;
using System.Text;

namespace LongContext.Eval.Ruler;

/// <summary>
/// SHA-256 digests of the data RULER's generators read, so a user's --words, --essays, --squad or --hotpotqa counts as
/// RULER's data only when it is byte-for-byte the same. Digests were computed from the sources (wonderwords at its
/// tags; the 49 essays of gkamradt/LLMTest_NeedleInAHaystack at 7b90d28) or, for SQuAD and HotpotQA, taken from
/// dataset checksum lists that several independent projects publish for those exact URLs.
/// </summary>
public static class RulerProvenance
{
    /// <summary>wonderwords' (adjectivelist, nounlist, verblist) per release; RULER pip-installs an unpinned wonderwords.</summary>
    private static readonly (string Release, string Adjectives, string Nouns, string Verbs)[] Wonderwords =
    [
        ("2.2.0", "66814d46b7e292c83e839d12fe2fa083c8f66779b14b294e1be4e1342c5d4131", "0778f51872f2aa89e0745c0cc37471a13e3d2161a79fcfdc03b6390b10604a55", "9fbf5e4e69b8869aebd88e6d545312ff9f878a747327ede5f6dbbba5c27b08ad"),
        ("3.0.0", "66814d46b7e292c83e839d12fe2fa083c8f66779b14b294e1be4e1342c5d4131", "8d88b3ebc2e2969ed92ebe49cdb0c8a87c2ad3b27493d7afdff608f2e51c5bc9", "9fbf5e4e69b8869aebd88e6d545312ff9f878a747327ede5f6dbbba5c27b08ad"),
    ];

    /// <summary>SQuAD v2.0 dev-v2.0.json (4,370,528 bytes), RULER's json/squad.json.</summary>
    public const string SquadDevV2 = "80a5225e94905956a6446d296ca1093975c4d3b3260f1d6c8f68bc2ab77182d8";
    /// <summary>HotpotQA hotpot_dev_distractor_v1.json (61,065,698 bytes), RULER's json/hotpotqa.json.</summary>
    public const string HotpotDevDistractor = "e3da074df24e8369009918aa5cdbdd254dadcde4c63f7569d36afd6f2268caa8";

    /// <summary>
    /// RULER's essay text starts with the 49 essays of the NIAH repository, sorted and concatenated (its download
    /// script); that part (643,830 characters, 111,877 words, enough for 128K-token prompts) is fixed and verifiable.
    /// The rest is scraped from paulgraham.com at download time and differs between downloads.
    /// </summary>
    public const int RepoEssaysChars = 643_830;
    public const int RepoEssaysWords = 111_877;
    public const string RepoEssays = "b3a70ebc054f2eab5057baf3c4b7e857711472be8086240a516fd29b648ad857";

    public static string? WonderwordsRelease(string adjectives, string nouns, string verbs) =>
        Wonderwords.FirstOrDefault(w => w.Adjectives == adjectives && w.Nouns == nouns && w.Verbs == verbs).Release;

    public static string FileSha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>True when <paramref name="text"/> (RULER's essay text, before whitespace normalisation) begins with the 49 repository essays.</summary>
    public static bool StartsWithRepoEssays(string text) =>
        text.Length >= RepoEssaysChars &&
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text[..RepoEssaysChars]))) == RepoEssays;
}
