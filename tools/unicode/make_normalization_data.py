#!/usr/bin/env python3
"""Generates src/LongContext.Formats/Tokenization/UnicodeNormalizationData.cs: the tables our NFC/NFD/NFKC/NFKD use.

Why these tables: HF tokenizers' NFC/NFD/NFKC/NFKD normalizers call the Rust crate unicode-normalization-alignments
0.1.12 (pinned by tokenizers 0.23.2), whose tables embed UNICODE_VERSION = (9, 0, 0). To tokenize exactly as HF does,
on any host (the host's ICU was used before, so results depended on the machine), we need Unicode 9.0's data.

Where the data comes from (both local, both Unicode 14.0.0 here; the script checks the versions):
  - Python's unicodedata: combining classes, decomposition mappings, and NFC (to tell primary composites from
    composition exclusions);
  - Perl's Unicode::UCD: the repertoire of Unicode 9.0 (prop_invlist("In=9.0"), from DerivedAge.txt).
Unicode's stability policy freezes the decompositions and combining classes of assigned characters, so Unicode 9.0's
normalization data is exactly Unicode 14.0's restricted to characters assigned by 9.0 (checked once against the
crate's own tables.rs: 814 combining classes, 2060 canonical and 3678 compatibility decompositions, 940 composition
pairs, all equal). Characters assigned later (e.g. U+0898, a combining mark of Unicode 14) are starters without
decompositions for HF, and so they are here.

Run from the repository root:  python3 tools/unicode/make_normalization_data.py
Optional: --check-crate-tables PATH/tables.rs compares with unicode-normalization-alignments' tables.
"""
import argparse
import os
import re
import subprocess
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "src", "LongContext.Formats", "Tokenization", "UnicodeNormalizationData.cs")
EXPECTED_UCD = "14.0.0"
TARGET = "9.0"
S_BASE, S_COUNT = 0xAC00, 11172


def repertoire():
    """Code points assigned in Unicode TARGET, from Perl's DerivedAge data (an inversion list)."""
    version = subprocess.check_output(["perl", "-MUnicode::UCD", "-e", "print Unicode::UCD::UnicodeVersion()"], text=True)
    if version != EXPECTED_UCD:
        sys.exit(f"perl's Unicode::UCD is {version}, expected {EXPECTED_UCD}")
    inv = subprocess.check_output(["perl", "-MUnicode::UCD=prop_invlist", "-e",
                                   f'print join(",", prop_invlist("In={TARGET}"))'], text=True)
    bounds = [int(x) for x in inv.split(",")]
    assigned = set()
    for i in range(0, len(bounds), 2):
        end = bounds[i + 1] if i + 1 < len(bounds) else 0x110000
        assigned.update(range(bounds[i], end))
    return assigned


def mapping(c):
    d = unicodedata.decomposition(chr(c))
    if not d:
        return None, None
    parts = d.split()
    tag = parts.pop(0) if parts[0].startswith("<") else None
    return tag, [int(p, 16) for p in parts]


def full(c, compat, assigned):
    """The full (recursive) decomposition; Hangul syllables are left to the algorithm."""
    if S_BASE <= c < S_BASE + S_COUNT or c not in assigned:
        return [c]
    tag, m = mapping(c)
    if m is None or (tag and not compat):
        return [c]
    out = []
    for x in m:
        out += full(x, compat, assigned)
    return out


def tables(assigned):
    ccc, canonical, compat, pairs = {}, {}, {}, {}
    for c in sorted(assigned):
        if 0xD800 <= c <= 0xDFFF:
            continue
        k = unicodedata.combining(chr(c))
        if k:
            ccc[c] = k
        if S_BASE <= c < S_BASE + S_COUNT:
            continue
        f = full(c, False, assigned)
        if f != [c]:
            canonical[c] = f
        g = full(c, True, assigned)
        if g != f and g != [c]:
            compat[c] = g
        tag, m = mapping(c)
        # A primary composite: a two-character canonical mapping that NFC keeps (composition exclusions and
        # singletons decompose for good).
        if m and not tag and len(m) == 2 and unicodedata.normalize("NFC", chr(c)) == chr(c):
            pairs[(m[0], m[1])] = c
    return ccc, canonical, compat, pairs


def check_crate(path, ccc, canonical, compat, pairs):
    src = open(path, encoding="utf-8").read()
    if "UNICODE_VERSION: (u64, u64, u64) = (9, 0, 0)" not in src:
        sys.exit("the crate tables are not Unicode 9.0.0")

    def block(name):
        return re.search(r"pub\(crate\) const %s: [^=]*= &\[\n(.*?)\n\];" % name, src, re.S).group(1)

    def chars(s):
        return [int(h, 16) for h in re.findall(r"'\\u\{([0-9A-Fa-f]+)\}'", s)]

    theirs_ccc = {int(h, 16) >> 8: int(h, 16) & 0xFF for h in re.findall(r"0x([0-9A-Fa-f]+),", block("CANONICAL_COMBINING_CLASS_KV"))}

    def decomp(name):
        out = {}
        for line in block(name).splitlines():
            m = re.match(r"\s*\(0x([0-9a-fA-F]+), &\[(.*)\]\),$", line)
            out[int(m.group(1), 16)] = chars(m.group(2))
        return out

    theirs_pairs = {}
    for line in block("COMPOSITION_TABLE_KV").splitlines():
        m = re.match(r"\s*\(0x([0-9A-Fa-f]+), '\\u\{([0-9A-Fa-f]+)\}'\),$", line)
        k = int(m.group(1), 16)
        theirs_pairs[(k >> 16, k & 0xFFFF)] = int(m.group(2), 16)
    astral = re.search(r"fn composition_table_astral\(c1: char, c2: char\) -> Option<char> \{(.*?)\n\}", src, re.S).group(1)
    for a, b, c in re.findall(r"\('\\u\{([0-9A-F]+)\}', '\\u\{([0-9A-F]+)\}'\) => Some\('\\u\{([0-9A-F]+)\}'\)", astral):
        theirs_pairs[(int(a, 16), int(b, 16))] = int(c, 16)
    for name, ours, theirs in (("combining classes", ccc, theirs_ccc), ("canonical", canonical, decomp("CANONICAL_DECOMPOSED_KV")),
                               ("compatibility", compat, decomp("COMPATIBILITY_DECOMPOSED_KV")), ("compositions", pairs, theirs_pairs)):
        if ours != theirs:
            sys.exit(f"{name}: differs from the crate ({len(ours)} here, {len(theirs)} there)")
        print(f"  {name}: {len(ours)} entries, equal to the crate's")


def emit_array(name, kind, values, doc):
    lines = [f"    /// <summary>{doc}</summary>", f"    public static ReadOnlySpan<{kind}> {name} =>", "    ["]
    for i in range(0, len(values), 16):
        lines.append("        " + ", ".join(str(v) for v in values[i:i + 16]) + ",")
    lines.append("    ];")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check-crate-tables", help="unicode-normalization-alignments 0.1.12 src/tables.rs to compare with")
    args = ap.parse_args()
    if unicodedata.unidata_version != EXPECTED_UCD:
        sys.exit(f"Python's unicodedata is {unicodedata.unidata_version}, expected {EXPECTED_UCD} (Python 3.11)")
    assigned = repertoire()
    ccc, canonical, compat, pairs = tables(assigned)
    print(f"Unicode {TARGET} repertoire ({len(assigned)} code points) from Unicode {EXPECTED_UCD} data:")
    print(f"  {len(ccc)} combining classes, {len(canonical)} canonical and {len(compat)} compatibility decompositions, {len(pairs)} compositions")
    if args.check_crate_tables:
        check_crate(args.check_crate_tables, ccc, canonical, compat, pairs)

    def packed(decomp):
        keys, starts, data = [], [], []
        for c in sorted(decomp):
            keys.append(c)
            starts.append(len(data))
            data.extend(decomp[c])
        starts.append(len(data))
        return keys, starts, data

    ck, cs, cd = packed(canonical)
    kk, ks, kd = packed(compat)
    pair_keys = sorted(pairs)
    parts = [
        "// <auto-generated> by tools/unicode/make_normalization_data.py: Unicode 9.0 normalization data (what HF",
        "// tokenizers' unicode-normalization-alignments 0.1.12 uses), from Python's unicodedata 14.0.0 restricted to the",
        "// Unicode 9.0 repertoire. Do not edit; rerun the script. </auto-generated>",
        "namespace LongContext.Formats.Tokenization;",
        "",
        "internal static class UnicodeNormalizationData",
        "{",
        f'    public const string UnicodeVersion = "{TARGET}.0";',
        "",
        emit_array("CombiningClasses", "uint", [c << 8 | ccc[c] for c in sorted(ccc)], "Non-zero canonical combining classes: code point &lt;&lt; 8 | class, sorted."),
        "",
        emit_array("CanonicalKeys", "int", ck, "Code points with a full canonical decomposition (Hangul syllables excepted: algorithmic), sorted."),
        "",
        emit_array("CanonicalStarts", "int", cs, "Start of each key's decomposition in CanonicalData (one more entry than keys)."),
        "",
        emit_array("CanonicalData", "int", cd, "The full canonical decompositions, concatenated."),
        "",
        emit_array("CompatibilityKeys", "int", kk, "Code points whose full compatibility decomposition differs from the canonical one, sorted."),
        "",
        emit_array("CompatibilityStarts", "int", ks, "Start of each key's decomposition in CompatibilityData (one more entry than keys)."),
        "",
        emit_array("CompatibilityData", "int", kd, "The full compatibility decompositions, concatenated."),
        "",
        emit_array("CompositionKeys", "long", [a << 21 | b for a, b in pair_keys], "Primary composites' pairs: first &lt;&lt; 21 | second, sorted."),
        "",
        emit_array("CompositionValues", "int", [pairs[p] for p in pair_keys], "The composite of each pair in CompositionKeys."),
        "}",
        "",
    ]
    with open(OUT + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(parts))
    os.replace(OUT + ".tmp", OUT)
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
