// Finding and loading the compute plugins (gpukit-<name>.so in the plugin
// directories) with an ABI check, and saying why one did not load.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "compute/backend.hpp"
#include "core/dynlib.hpp"

namespace gpukit {

enum class PluginState {
  loaded,
  not_installed,  // no gpukit-<name>.so in any plugin directory
  load_failed,    // dlopen failed (its runtime library is missing, wrong architecture...)
  abi_mismatch,   // built for another version of the interface, or not a gpukit plugin
  unavailable,    // loaded, but no usable device: no driver, driver too old, no GPU
  timeout,        // its initialisation did not return within the deadline
};
const char* to_string(PluginState state);

struct PluginReport {
  std::string name;             // "cuda"
  std::string file;             // "gpukit-cuda.so"
  std::string path;             // where it was found; "" when not installed
  PluginState state = PluginState::not_installed;
  std::string reason;           // one line; "" when loaded
  std::string toolkit_version;  // "CUDA 13.0", when the plugin said
  std::uint32_t abi_version = 0;

  // "plugin gpukit-cuda.so: no usable device: ..."
  std::string message() const;
};

struct LoadedPlugin {
  PluginReport report;
  std::shared_ptr<Backend> backend;         // null unless loaded
  std::shared_ptr<DynamicLibrary> library;  // kept open for the process's life
};

// Loads one plugin file; `timeout_s` bounds its initialisation (a wedged driver).
LoadedPlugin load_plugin(const std::string& path, double timeout_s);

// Every gpukit-*.so in `directories` (the first directory holding a file name
// wins), each loaded with load_plugin; the well-known plugins (cuda, hip) that
// are in none of them are reported as not installed.
std::vector<LoadedPlugin> load_plugins(const std::vector<std::string>& directories, double timeout_s);

}  // namespace gpukit
