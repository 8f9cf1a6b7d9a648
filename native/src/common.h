// Shared helpers for the C ABI: TorchSharp passes tensors as pointers to heap at::Tensor objects and adopts
// the at::Tensor* we return (torch.Tensor.UnsafeCreateTensor). Errors become a return code plus a message.
#pragma once
#include <ATen/ATen.h>
#include <cstdio>
#include <string>

#define LC_EXPORT extern "C" __attribute__((visibility("default")))

namespace lc {
void set_error(const std::string& message);
inline at::Tensor& T(void* handle) { return *static_cast<at::Tensor*>(handle); }
inline void* adopt(at::Tensor t) { return new at::Tensor(std::move(t)); }
}  // namespace lc

// Runs the body; on a C++ exception records its message and returns -1. Variadic because commas inside a
// braced body (declarations, template arguments) would otherwise split the macro argument.
#define LC_TRY(...)                                    \
  try {                                                \
    __VA_ARGS__;                                       \
    return 0;                                          \
  } catch (const std::exception& e) {                  \
    lc::set_error(e.what());                           \
    return -1;                                         \
  } catch (...) {                                      \
    lc::set_error("unknown C++ exception");            \
    return -1;                                         \
  }
