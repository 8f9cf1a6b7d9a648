#!/usr/bin/env bash
# Runs a bundled `longctx` (scripts/bundle.sh) against an installed PyTorch: puts its libtorch (and the NCCL it
# ships) on the library path and points at the add-on built by build-native.sh. Works from the bundle or a checkout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
if [[ -z "${LONGCTX_LIBTORCH:-}" ]]; then
  LONGCTX_LIBTORCH="$("$python" -c 'import torch,os; print(os.path.join(os.path.dirname(torch.__file__),"lib"))')"
fi
export LONGCTX_LIBTORCH
export LD_LIBRARY_PATH="$LONGCTX_LIBTORCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [[ -z "${LONGCTX_NCCL:-}" ]]; then
  nccl="$("$python" -c 'import nvidia.nccl,os; print(os.path.join(list(nvidia.nccl.__path__)[0],"lib","libnccl.so.2"))' 2>/dev/null || true)"
  [[ -n "$nccl" && -f "$nccl" ]] && export LONGCTX_NCCL="$nccl"
fi
export NCCL_NVLS_ENABLE="${NCCL_NVLS_ENABLE:-0}"
if [[ -z "${LONGCTX_NATIVE:-}" && -f "$here/native/build/liblongctx_native.so" ]]; then
  export LONGCTX_NATIVE="$here/native/build/liblongctx_native.so"
fi
app="${LONGCTX_APP:-$here/longctx/longctx}"
if [[ -x "$app" ]]; then
  exec "$app" "$@"
fi
exec dotnet run --project "$here/src/LongContext.Cli" -c Release -- "$@"
