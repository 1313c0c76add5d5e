// Every backend this process can use: the CPU (built in) and the plugins that
// loaded, with the reports of those that did not.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compute/backend.hpp"
#include "compute/host_memory.hpp"
#include "compute/plugin_loader.hpp"

namespace gpukit {

struct RegistryOptions {
  bool cpu = true;                       // the built-in CPU backend
  bool plugins = true;                   // load the GPU plugins
  std::vector<std::string> plugin_dirs;  // empty: plugin_directories()
  double timeout_s = 30;                 // per plugin initialisation
};

class ComputeRegistry {
 public:
  static Result<ComputeRegistry> open(const RegistryOptions& options);

  // The CPU device, or null when the CPU backend was not asked for.
  std::shared_ptr<Device> cpu() const { return cpu_; }
  // Devices of every loaded plugin, in plugin then runtime order.
  const std::vector<std::shared_ptr<Device>>& gpus() const { return gpus_; }
  const std::vector<PluginReport>& plugins() const { return reports_; }
  std::shared_ptr<HostMemory> host_memory() const { return host_; }

 private:
  std::shared_ptr<Device> cpu_;
  std::vector<std::shared_ptr<Device>> gpus_;
  std::vector<std::shared_ptr<Backend>> backends_;
  std::vector<std::shared_ptr<DynamicLibrary>> libraries_;
  std::vector<PluginReport> reports_;
  std::shared_ptr<HostMemory> host_;
};

}  // namespace gpukit
