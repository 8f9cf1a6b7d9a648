#!/usr/bin/env bash
# On a GPU box with PyTorch but no .NET (the `device` machine): unpacks the bundle made by scripts/bundle.sh
# (carried as .bundle/longctx.tar.xz), builds the native add-on, and leaves `lc` (scripts/longctx.sh) ready.
# Usage: source scripts/gpu-setup.sh   → then: lc doctor --json
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$repo/.bundle"
if [[ ! -x "$repo/.bundle/longctx/longctx" ]]; then
  tar xJf "$repo/.bundle/longctx.tar.xz" -C "$repo/.bundle"
fi
BUILD_DIR="$repo/native/build" bash "$repo/scripts/build-native.sh"
export LONGCTX_NATIVE="$repo/native/build/liblongctx_native.so"
lc() { "$repo/scripts/longctx-bundle.sh" "$@"; }
set +e +u +o pipefail
