// The host section: hostname, OS, kernel, architecture, time, container and batch hints.
#pragma once

#include "core/document.hpp"

namespace gpukit {

// Everything of the host section except probe_duration_s, which the caller sets.
// Reads /etc/os-release, /proc and /sys through fs_path() where a fixture may stand in.
json probe_host_section();

}  // namespace gpukit
