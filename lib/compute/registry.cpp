#include "compute/registry.hpp"

#include "compute/cpu/cpu_backend.hpp"
#include "core/paths.hpp"

namespace gpukit {

Result<ComputeRegistry> ComputeRegistry::open(const RegistryOptions& options) {
  ComputeRegistry r;
  auto host = HostMemory::open();
  if (!host) return host.error();
  r.host_ = std::move(*host);
  if (options.cpu) {
    auto cpu = make_cpu_backend();
    if (!cpu) return cpu.error();
    std::shared_ptr<Backend> backend = std::move(*cpu);
    r.cpu_ = backend->devices().front();
    r.backends_.push_back(std::move(backend));
  }
  if (options.plugins) {
    auto dirs = options.plugin_dirs.empty() ? plugin_directories() : options.plugin_dirs;
    for (auto& p : load_plugins(dirs, options.timeout_s)) {
      if (p.library) r.libraries_.push_back(p.library);
      if (p.backend) {
        for (auto& d : p.backend->devices()) r.gpus_.push_back(d);
        r.backends_.push_back(p.backend);
      }
      r.reports_.push_back(std::move(p.report));
    }
  }
  return r;
}

}  // namespace gpukit
