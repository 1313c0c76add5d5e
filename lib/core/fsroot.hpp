// Reading /sys and /proc, redirected under GPUKIT_SYSFS_ROOT when it is set, so
// that tests replay recorded machines (as hwloc's fsroot does).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpukit {

// The root prefix ("" when GPUKIT_SYSFS_ROOT is unset). Read once per call: tests
// change the environment between cases.
std::string fs_root();

// `path` must be absolute ("/sys/bus/pci/devices"); returns it under fs_root().
std::string fs_path(const std::string& path);

// The whole file, or nullopt when it cannot be read. `path` is taken as given
// (callers pass fs_path(...) results or real paths).
std::optional<std::string> read_text_file(const std::string& path);

// The first line, trimmed of surrounding white space.
std::optional<std::string> read_first_line(const std::string& path);

std::optional<long long> read_integer_file(const std::string& path, int base = 10);

// Entry names of a directory, sorted; empty when it cannot be read.
std::vector<std::string> list_directory(const std::string& path);

bool path_exists(const std::string& path);

// Trim ASCII white space at both ends.
std::string trim(std::string_view text);

}  // namespace gpukit
