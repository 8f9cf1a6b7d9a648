// What TorchSharp 0.107 lacks for overlapping work and measuring it: streams, events, allocator statistics,
// device selection. Streams come from PyTorch's pool so the caching allocator knows them.
#include "common.h"

#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>

using c10::cuda::CUDAStream;

namespace {
CUDAStream* S(void* h) { return static_cast<CUDAStream*>(h); }
at::cuda::CUDAEvent* E(void* h) { return static_cast<at::cuda::CUDAEvent*>(h); }
}  // namespace

LC_EXPORT int lc_device_count(int* count) { LC_TRY(*count = (int)c10::cuda::device_count()) }
LC_EXPORT int lc_set_device(int device) { LC_TRY(c10::cuda::set_device((c10::DeviceIndex)device)) }
LC_EXPORT int lc_get_device(int* device) { LC_TRY(*device = (int)c10::cuda::current_device()) }
// name: caller's buffer of name_len bytes; numbers: [total bytes, major, minor, multiprocessors].
LC_EXPORT int lc_device_properties(int device, char* name, int name_len, int64_t* numbers) {
  LC_TRY({
    const cudaDeviceProp* p = at::cuda::getDeviceProperties((c10::DeviceIndex)device);
    snprintf(name, (size_t)name_len, "%s", p->name);
    numbers[0] = (int64_t)p->totalGlobalMem;
    numbers[1] = p->major;
    numbers[2] = p->minor;
    numbers[3] = p->multiProcessorCount;
  })
}
LC_EXPORT int lc_device_synchronize(int device) {
  LC_TRY({
    c10::cuda::CUDAGuard guard((c10::DeviceIndex)device);
    c10::cuda::device_synchronize();
  })
}

// Streams: a handle owns a CUDAStream value (cheap; the underlying stream belongs to PyTorch's pool).
LC_EXPORT int lc_stream_create(int device, int high_priority, void** stream) {
  LC_TRY(*stream = new CUDAStream(c10::cuda::getStreamFromPool(high_priority != 0, (c10::DeviceIndex)device)))
}
LC_EXPORT int lc_stream_current(int device, void** stream) {
  LC_TRY(*stream = new CUDAStream(c10::cuda::getCurrentCUDAStream((c10::DeviceIndex)device)))
}
LC_EXPORT int lc_stream_set_current(void* stream) { LC_TRY(c10::cuda::setCurrentCUDAStream(*S(stream))) }
LC_EXPORT int lc_stream_synchronize(void* stream) { LC_TRY(S(stream)->synchronize()) }
LC_EXPORT int lc_stream_query(void* stream, int* done) { LC_TRY(*done = S(stream)->query() ? 1 : 0) }
LC_EXPORT void lc_stream_free(void* stream) { delete S(stream); }
// The raw cudaStream_t, for libraries called from .NET directly (NCCL enqueues its kernels on it).
LC_EXPORT int lc_stream_raw(void* stream, void** raw) { LC_TRY(*raw = (void*)S(stream)->stream()) }
// Tells the caching allocator that a tensor is used on another stream, so its memory is not reused early.
LC_EXPORT int lc_record_stream(void* tensor, void* stream) {
  LC_TRY(c10::cuda::CUDACachingAllocator::recordStream(lc::T(tensor).storage().data_ptr(), *S(stream)))
}

LC_EXPORT int lc_event_create(int enable_timing, void** event) {
  LC_TRY(*event = new at::cuda::CUDAEvent(enable_timing ? cudaEventDefault : cudaEventDisableTiming))
}
LC_EXPORT int lc_event_record(void* event, void* stream) { LC_TRY(E(event)->record(*S(stream))) }
LC_EXPORT int lc_event_wait(void* event, void* stream) { LC_TRY(E(event)->block(*S(stream))) }
LC_EXPORT int lc_event_synchronize(void* event) { LC_TRY(E(event)->synchronize()) }
// done = 1 once the work before the event's record has finished (or it was never recorded); never blocks.
LC_EXPORT int lc_event_query(void* event, int* done) { LC_TRY(*done = E(event)->query() ? 1 : 0) }
LC_EXPORT int lc_event_elapsed_ms(void* start, void* end, float* ms) { LC_TRY(*ms = E(start)->elapsed_time(*E(end))) }
LC_EXPORT void lc_event_free(void* event) { delete E(event); }

// Allocator statistics for one device, in bytes: [allocated, reserved, peak allocated, peak reserved].
LC_EXPORT int lc_memory_stats(int device, int64_t* stats) {
  LC_TRY({
    auto s = c10::cuda::CUDACachingAllocator::getDeviceStats((c10::DeviceIndex)device);
    const size_t all = 0;  // StatType::AGGREGATE (its namespace moved between PyTorch versions)
    stats[0] = s.allocated_bytes[all].current;
    stats[1] = s.reserved_bytes[all].current;
    stats[2] = s.allocated_bytes[all].peak;
    stats[3] = s.reserved_bytes[all].peak;
  })
}
LC_EXPORT int lc_reset_peak_memory(int device) {
  LC_TRY(c10::cuda::CUDACachingAllocator::resetPeakStats((c10::DeviceIndex)device))
}
LC_EXPORT int lc_empty_cache() { LC_TRY(c10::cuda::CUDACachingAllocator::emptyCache()) }
LC_EXPORT int lc_mem_get_info(int device, int64_t* free_bytes, int64_t* total_bytes) {
  LC_TRY({
    c10::cuda::CUDAGuard guard((c10::DeviceIndex)device);
    size_t f = 0, t = 0;
    C10_CUDA_CHECK(cudaMemGetInfo(&f, &t));
    *free_bytes = (int64_t)f;
    *total_bytes = (int64_t)t;
  })
}
