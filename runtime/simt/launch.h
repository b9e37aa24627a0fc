// simt::launch: runs a __global__ function over a grid on the CPU (see executor.h).
// Kernel sources do not call it directly: SOMBRERO_LAUNCH (runtime/kernel_api.h) does, so a
// call site is the same in the CUDA and the SIMT build.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "runtime/simt/executor.h"

namespace sombrero::simt {

// Runs kernel(args...) for every thread of grid x block, with shared_bytes of dynamic shared
// memory per block. Arguments are converted to the kernel's parameter types once, as a CUDA
// launch copies them into parameter space; each thread gets its own copy. Returns when
// the whole grid has run (a CPU launch is synchronous); throws sombrero::Error on a bad
// configuration or on a divergence the executor detects, naming `name` and file:line.
// `cluster`: blocks per thread-block cluster ((1,1,1) for plain blocks); see executor.h.
template <typename... Params, typename... Args>
void launch_clustered(const char* name, const char* file, int line, void (*kernel)(Params...),
                      dim3 grid, dim3 block, dim3 cluster, std::size_t shared_bytes,
                      Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong arity");
  struct Bound {
    void (*kernel)(Params...);
    std::tuple<std::remove_cvref_t<Params>...> params;
  };
  const Bound bound{kernel,
                    std::tuple<std::remove_cvref_t<Params>...>(
                        static_cast<std::remove_cvref_t<Params>>(std::forward<Args>(args))...)};
  const detail::KernelEntry entry{[](const void* opaque) {
                                    const Bound& b = *static_cast<const Bound*>(opaque);
                                    std::apply(b.kernel, b.params);
                                  },
                                  &bound};
  detail::run_grid(name, file, line, grid, block, cluster, shared_bytes, entry);
}

template <typename... Params, typename... Args>
void launch(const char* name, const char* file, int line, void (*kernel)(Params...), dim3 grid,
            dim3 block, std::size_t shared_bytes, Args&&... args) {
  launch_clustered(name, file, line, kernel, grid, block, dim3(1, 1, 1), shared_bytes,
                   std::forward<Args>(args)...);
}

}  // namespace sombrero::simt
