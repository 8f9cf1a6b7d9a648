#!/usr/bin/env bash
# Makes a self-contained linux-x64 publish of `longctx` WITHOUT libtorch, for machines that have PyTorch but no
# .NET (e.g. a GPU box). Output folder (default .bundle/): longctx/ (the app), native/ (add-on sources),
# scripts/ (build-native.sh, longctx.sh), bench/ + tools/ (baseline scripts), and longctx.tar.xz (the app alone).
# On the target:  bash .bundle/scripts/build-native.sh && .bundle/scripts/longctx.sh doctor
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/.bundle}"
rm -rf "$out"
mkdir -p "$out"
dotnet publish "$root/src/LongContext.Cli/LongContext.Cli.csproj" -c Release -r linux-x64 --self-contained \
  -p:LongContextTorch=external -p:DebugType=none -o "$out/longctx" >/dev/null
mkdir -p "$out/scripts"
cp -r "$root/native" "$out/native"
rm -rf "$out/native/build"
cp "$root/scripts/build-native.sh" "$root/scripts/longctx.sh" "$out/scripts/"
for d in bench tools; do [[ -d "$root/$d" ]] && cp -r "$root/$d" "$out/$d"; done
# The device tool carries at most 64 MiB: ship the app as one xz archive (the repo's own files travel anyway).
(cd "$out" && XZ_OPT="-T0 -6" tar cJf longctx.tar.xz longctx)
du -sh "$out" "$out/longctx.tar.xz" | awk '{print "bundle: " $2 " (" $1 ")"}'
