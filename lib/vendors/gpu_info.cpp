#include "vendors/gpu_info.hpp"

#include <cctype>

namespace gpukit {

const char* to_string(VendorState s) {
  switch (s) {
    case VendorState::ok: return "ok";
    case VendorState::no_gpu: return "no_gpu";
    case VendorState::driver_absent: return "driver_absent";
    case VendorState::library_absent: return "library_absent";
    case VendorState::init_failed: return "init_failed";
    case VendorState::permission_denied: return "permission_denied";
    case VendorState::timeout: return "timeout";
  }
  return "unknown";
}

VersionInfo make_version(const std::string& raw) {
  VersionInfo v{raw, {}};
  size_t i = 0;
  while (i < raw.size()) {
    if (!std::isdigit(static_cast<unsigned char>(raw[i]))) break;
    int n = 0;
    while (i < raw.size() && std::isdigit(static_cast<unsigned char>(raw[i]))) n = n * 10 + (raw[i++] - '0');
    v.parts.push_back(n);
    if (i < raw.size() && raw[i] == '.') ++i;
    else break;
  }
  return v;
}

}  // namespace gpukit
