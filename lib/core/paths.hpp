// Where installed data and plugins are, found relative to the running binary so
// that an installed tree (or a copy on CVMFS) works from any prefix.
#pragma once

#include <string>

#include <vector>

#include "core/error.hpp"

namespace gpukit {

// The directory of the running executable (from /proc/self/exe).
std::string executable_directory();

// share/gpukit: $GPUKIT_DATA_DIR, else <bindir>/../share/gpukit (in a build
// tree, a link to the source tree's share/gpukit at the same place).
Result<std::string> data_directory();

// A file under data_directory(), e.g. data_file("hardware.json").
Result<std::string> data_file(const std::string& relative);

// The plugin directories in search order: each entry of $GPUKIT_PLUGIN_PATH
// (colon-separated), else <bindir>/<relative libdir>/gpukit only (a build tree
// has its plugins at the same relative place).
std::vector<std::string> plugin_directories();

}  // namespace gpukit
