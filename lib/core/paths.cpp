#include "core/paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "core/fsroot.hpp"

namespace gpukit {

std::string executable_directory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

Result<std::string> data_directory() {
  if (const char* env = std::getenv("GPUKIT_DATA_DIR"); env && *env) {
    if (path_exists(env)) return std::string(env);
    return usage_error("directory does not exist", std::string("GPUKIT_DATA_DIR=") + env);
  }
  // Only beside the executable: an installed binary must never read data from
  // a build or source tree compiled into it (the build tree has the same
  // layout, so its binaries find the data the same way).
  std::vector<std::string> candidates = {executable_directory() + "/" GPUKIT_REL_DATADIR};
  for (const auto& c : candidates) {
    std::error_code ec;
    if (std::filesystem::is_directory(c, ec)) return std::filesystem::weakly_canonical(c, ec).string();
  }
  return environment_error("gpukit data directory not found (set GPUKIT_DATA_DIR)", candidates.front());
}

Result<std::string> data_file(const std::string& relative) {
  auto dir = data_directory();
  if (!dir) return dir.error();
  std::string p = *dir + "/" + relative;
  if (!path_exists(p)) return environment_error("data file not found", p);
  return p;
}

std::vector<std::string> plugin_directories() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("GPUKIT_PLUGIN_PATH"); env && *env) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t colon = s.find(':', start);
      std::string part = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!part.empty()) dirs.push_back(part);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    return dirs;
  }
  // No compiled-in build directory: an installed tool run as root would load
  // whatever a user put there. A build tree puts its plugins where the
  // installation would, relative to bin/.
  dirs.push_back(executable_directory() + "/" GPUKIT_REL_PLUGINDIR);
  return dirs;
}

}  // namespace gpukit
