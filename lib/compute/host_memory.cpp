#include "compute/host_memory.hpp"

#include <hwloc.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace gpukit {

struct HostMemory::Impl {
  hwloc_topology_t topology = nullptr;
  ~Impl() {
    if (topology) hwloc_topology_destroy(topology);
  }
};

Result<std::shared_ptr<HostMemory>> HostMemory::open() {
  std::shared_ptr<HostMemory> h(new HostMemory());
  h->impl_ = std::make_unique<Impl>();
  if (hwloc_topology_init(&h->impl_->topology) != 0 || hwloc_topology_load(h->impl_->topology) != 0)
    return environment_error(std::string("hwloc could not load the topology: ") + std::strerror(errno), "host memory");
  return h;
}

HostMemory::~HostMemory() = default;

std::vector<int> HostMemory::numa_nodes() const {
  std::vector<int> nodes;
  int n = hwloc_get_nbobjs_by_type(impl_->topology, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t node = hwloc_get_obj_by_type(impl_->topology, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    if (node->attr && node->attr->numanode.local_memory > 0) nodes.push_back(static_cast<int>(node->os_index));
  }
  return nodes;
}

Result<void*> HostMemory::allocate(std::size_t bytes, int numa_node) {
  void* p = nullptr;
  const std::string what = std::to_string(bytes) + " bytes of host memory" +
                           (numa_node >= 0 ? " on NUMA node " + std::to_string(numa_node) : "");
  if (numa_node >= 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    hwloc_bitmap_only(set, static_cast<unsigned>(numa_node));
    p = hwloc_alloc_membind(impl_->topology, bytes, set, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET);
    hwloc_bitmap_free(set);
  } else {
    p = hwloc_alloc(impl_->topology, bytes);
  }
  if (!p) return environment_error(std::string("allocation failed: ") + std::strerror(errno), what);
  std::memset(p, 0, bytes);
  return p;
}

void HostMemory::release(void* pointer, std::size_t bytes) {
  if (pointer) hwloc_free(impl_->topology, pointer, bytes);
}

}  // namespace gpukit
