#pragma once

namespace gpukit {

// The gpukit version ("0.1.0"), set by the build.
const char* version();

}  // namespace gpukit
