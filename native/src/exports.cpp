#include "common.h"

#include <torch/version.h>

namespace {
thread_local std::string last_error;
}

void lc::set_error(const std::string& message) { last_error = message; }

// Bumped whenever an export changes; the C# side refuses a mismatched add-on.
LC_EXPORT int lc_abi_version() { return 6; }   // 6: lc_fp8_e4m3_encode/decode; lc_decode_attention takes FP8 k/v
LC_EXPORT const char* lc_last_error() { return last_error.c_str(); }
LC_EXPORT const char* lc_torch_version() { return TORCH_VERSION; }

LC_EXPORT void* lc_tensor_data_ptr(void* tensor) { return lc::T(tensor).data_ptr(); }
