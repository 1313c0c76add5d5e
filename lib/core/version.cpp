#include "core/version.hpp"

#ifndef GPUKIT_VERSION_STRING
#error "the build defines GPUKIT_VERSION_STRING"
#endif

namespace gpukit {

const char* version() { return GPUKIT_VERSION_STRING; }

}  // namespace gpukit
