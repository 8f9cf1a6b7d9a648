#!/usr/bin/env bash
# Builds the optional C++ add-on (native/) against the libtorch of a PyTorch install (or LIBTORCH_DIR).
# Output: native/build/liblongctx_native.so. The .NET side finds it there, next to the CLI, or via LONGCTX_NATIVE.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
if [[ -n "${LIBTORCH_DIR:-}" ]]; then
  prefix="$LIBTORCH_DIR/share/cmake"
else
  prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')" || {
    echo "error: no PyTorch found by $python; set LIBTORCH_DIR=<libtorch folder with share/cmake> or PYTHON=..." >&2; exit 1; }
fi
build="${BUILD_DIR:-$root/native/build}"
mkdir -p "$build"
# nvcc for the add-on's own kernels: PATH, $CUDACXX, or the toolkit's usual place.
if [[ -z "${CUDACXX:-}" ]] && ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi
# The kernels link the toolkit's libcudart: its major version must be the one PyTorch loads.
attempts="ON OFF"
nvcc_bin="${CUDACXX:-$(command -v nvcc || true)}"
if [[ -n "$nvcc_bin" && -z "${LIBTORCH_DIR:-}" ]]; then
  nvcc_major="$("$nvcc_bin" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -n1)"
  torch_major="$("$python" -c 'import torch; print((torch.version.cuda or "").split(".")[0])' 2>/dev/null || true)"
  if [[ -n "$nvcc_major" && -n "$torch_major" && "$nvcc_major" != "$torch_major" ]]; then
    echo "nvcc is CUDA $nvcc_major, PyTorch uses CUDA $torch_major: building without the add-on's own CUDA kernels" >&2
    attempts="OFF"
  fi
fi
for kernels in $attempts; do
  if cmake -S "$root/native" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DLC_CUDA_KERNELS=$kernels >"$build/cmake.log" 2>&1 \
     && cmake --build "$build" -j "$(nproc)" >>"$build/cmake.log" 2>&1; then
    if grep -q "longctx_native: CUDA kernels" "$build/cmake.log"; then with="with its CUDA kernels"
    elif [[ $kernels == ON ]]; then with="without CUDA kernels (nvcc not found)"
    else with="without CUDA kernels (see $build/cmake-kernels-ON.log if that build was tried)"; fi
    echo "built $build/liblongctx_native.so (cmake, $with)"
    exit 0
  fi
  # Keep the failed log for the record, then try without the CUDA kernels (a fresh configure).
  cp "$build/cmake.log" "$build/cmake-kernels-$kernels.log"
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
done
# CMake's CUDA discovery can fail where PyTorch works (no toolkit in the usual place): compile directly.
echo "cmake failed (see $build/cmake.log); compiling with g++ directly" >&2
torch_dir="$("$python" -c 'import torch,os; print(os.path.dirname(torch.__file__))')"
abi="$("$python" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')"
cuda_inc="$("$python" -c 'import os
try:
    import nvidia.cuda_runtime as m; print(os.path.join(list(m.__path__)[0], "include"))
except Exception:
    print("/usr/local/cuda/include")')"
"${CXX:-g++}" -O2 -std=c++17 -shared -fPIC -D_GLIBCXX_USE_CXX11_ABI="$abi" \
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include" -I"$cuda_inc" -I/usr/local/cuda/include \
  "$root"/native/src/*.cpp -L"$torch_dir/lib" -ltorch -ltorch_cpu -ltorch_cuda -lc10 -lc10_cuda \
  -Wl,-rpath,"$torch_dir/lib" -o "$build/liblongctx_native.so"
echo "built $build/liblongctx_native.so (g++)"
