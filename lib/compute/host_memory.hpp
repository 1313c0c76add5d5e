// Host buffers placed on a chosen NUMA node (hwloc memory binding), for the
// host-device transfer tests: on the GPU's node and on a remote one.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

class HostMemory {
 public:
  static Result<std::shared_ptr<HostMemory>> open();
  ~HostMemory();
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;

  // OS indices of the NUMA nodes that have memory.
  std::vector<int> numa_nodes() const;

  // `bytes` of page-aligned memory bound to `numa_node` (-1: the default
  // policy), every page touched so that it is really there. Pageable; pin it
  // through Device::pin_host.
  Result<void*> allocate(std::size_t bytes, int numa_node);
  void release(void* pointer, std::size_t bytes);

 private:
  HostMemory() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpukit
