// CUDA graph capture/replay through ATen (TorchSharp has none): batch-1 decode is launch-bound, and replaying a
// captured step removes most of the host overhead. Capture runs on a side stream made current for the capture.
#include "common.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>

namespace {
struct Graph {
  at::cuda::CUDAGraph graph;
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool();
  c10::cuda::CUDAStream previous = c10::cuda::getCurrentCUDAStream();
};
Graph* G(void* h) { return static_cast<Graph*>(h); }
}  // namespace

LC_EXPORT int lc_graph_create(void** graph) { LC_TRY(*graph = new Graph()) }

LC_EXPORT int lc_graph_capture_begin(void* graph) {
  LC_TRY({
    auto* g = G(graph);
    g->previous = c10::cuda::getCurrentCUDAStream();
    // The side stream must see everything queued before the capture.
    g->stream.synchronize();
    c10::cuda::device_synchronize();
    c10::cuda::setCurrentCUDAStream(g->stream);
    g->graph.capture_begin();
  })
}

LC_EXPORT int lc_graph_capture_end(void* graph) {
  LC_TRY({
    auto* g = G(graph);
    try {
      g->graph.capture_end();
    } catch (...) {
      c10::cuda::setCurrentCUDAStream(g->previous);
      throw;
    }
    c10::cuda::setCurrentCUDAStream(g->previous);
  })
}

LC_EXPORT int lc_graph_replay(void* graph) { LC_TRY(G(graph)->graph.replay()) }
LC_EXPORT void lc_graph_free(void* graph) { delete G(graph); }
