#!/usr/bin/env bash
# scripts/longctx.sh for the layout scripts/gpu-setup.sh makes (app in .bundle/longctx, add-on in native/build).
here="$(cd "$(dirname "$0")/.." && pwd)"
exec env LONGCTX_APP="$here/.bundle/longctx/longctx" "$here/scripts/longctx.sh" "$@"
