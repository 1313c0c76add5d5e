#include "compute/plugin_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/deadline.hpp"

namespace gpukit {

namespace {

constexpr const char* well_known[] = {"cuda", "hip"};

std::string plugin_name(const std::string& file) {
  // gpukit-<name>.so
  return file.substr(7, file.size() - 7 - 3);
}

bool is_plugin_file(const std::string& file) {
  return file.size() > 10 && file.rfind("gpukit-", 0) == 0 && file.compare(file.size() - 3, 3, ".so") == 0;
}

}  // namespace

const char* to_string(PluginState s) {
  switch (s) {
    case PluginState::loaded: return "loaded";
    case PluginState::not_installed: return "not_installed";
    case PluginState::load_failed: return "load_failed";
    case PluginState::abi_mismatch: return "abi_mismatch";
    case PluginState::unavailable: return "unavailable";
    case PluginState::timeout: return "timeout";
  }
  return "unknown";
}

std::string PluginReport::message() const {
  return "plugin " + file + ": " + (state == PluginState::loaded ? std::string("loaded") : reason);
}

LoadedPlugin load_plugin(const std::string& path, double timeout_s) {
  LoadedPlugin out;
  out.report.path = path;
  out.report.file = std::filesystem::path(path).filename().string();
  out.report.name = is_plugin_file(out.report.file) ? plugin_name(out.report.file) : out.report.file;

  auto library = DynamicLibrary::open({path});
  if (!library) {
    out.report.state = PluginState::load_failed;
    out.report.reason = "cannot be loaded: " + library.error().message;
    return out;
  }
  out.library = *library;
  auto entry = out.library->function<const gpukit_backend_plugin*()>({GPUKIT_BACKEND_PLUGIN_SYMBOL});
  if (!entry) {
    out.report.state = PluginState::abi_mismatch;
    out.report.reason = std::string("not a gpukit backend plugin (no ") + GPUKIT_BACKEND_PLUGIN_SYMBOL + ")";
    return out;
  }
  const gpukit_backend_plugin* plugin = entry();
  if (!plugin) {
    out.report.state = PluginState::abi_mismatch;
    out.report.reason = std::string(GPUKIT_BACKEND_PLUGIN_SYMBOL) + " returned nothing";
    return out;
  }
  // Nothing but the version is read before it is known to match.
  out.report.abi_version = plugin->abi_version;
  if (plugin->abi_version != backend_abi_version) {
    out.report.state = PluginState::abi_mismatch;
    out.report.reason = "built for backend ABI " + std::to_string(plugin->abi_version) + ", this gpukit uses ABI " +
                        std::to_string(backend_abi_version) + " (install the plugin of the same gpukit release)";
    return out;
  }
  if (plugin->name && *plugin->name) out.report.name = plugin->name;
  if (plugin->toolkit_version) out.report.toolkit_version = plugin->toolkit_version;

  auto create = plugin->create;
  auto created = run_with_deadline<std::shared_ptr<Backend>>(
      [create]() -> Result<std::shared_ptr<Backend>> {
        char error[1024] = {};
        Backend* backend = create(error, sizeof error);
        if (!backend) return environment_error(error[0] ? error : "initialisation failed without a reason");
        return std::shared_ptr<Backend>(backend);
      },
      timeout_s, "initialisation");
  if (!created) {
    out.report.state = created.error().code == ExitCode::deadline ? PluginState::timeout : PluginState::unavailable;
    out.report.reason = created.error().message;
    return out;
  }
  out.backend = std::move(*created);
  out.report.state = PluginState::loaded;
  return out;
}

std::vector<LoadedPlugin> load_plugins(const std::vector<std::string>& directories, double timeout_s) {
  std::map<std::string, std::string> found;  // file -> path, first directory wins
  for (const auto& dir : directories) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string file = entry.path().filename().string();
      if (is_plugin_file(file) && !found.count(file)) found[file] = entry.path().string();
    }
  }
  std::vector<LoadedPlugin> plugins;
  for (const char* name : well_known) {
    std::string file = std::string("gpukit-") + name + ".so";
    if (found.count(file)) continue;
    LoadedPlugin missing;
    missing.report.name = name;
    missing.report.file = file;
    missing.report.state = PluginState::not_installed;
    std::string searched;
    for (const auto& d : directories) searched += (searched.empty() ? "" : ", ") + d;
    missing.report.reason = "not installed (searched " + (searched.empty() ? std::string("no directory") : searched) + ")";
    plugins.push_back(std::move(missing));
  }
  for (const auto& [file, path] : found) plugins.push_back(load_plugin(path, timeout_s));
  return plugins;
}

}  // namespace gpukit
