// The built-in CPU backend: the CPU is one device ("cpu"), its kernels run on a
// pool of pinned workers, one per core this process may use.
#pragma once

#include <memory>

#include "compute/backend.hpp"

namespace gpukit {

Result<std::unique_ptr<Backend>> make_cpu_backend();

}  // namespace gpukit
