# NVIDIA: NVML and the CUDA driver API, opened at run time (never linked).
list(APPEND GPUKIT_VENDOR_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/nvml_library.cpp
  ${CMAKE_CURRENT_LIST_DIR}/gpm.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cuda_library.cpp
  ${CMAKE_CURRENT_LIST_DIR}/procfs.cpp
  ${CMAKE_CURRENT_LIST_DIR}/probe_nvidia.cpp
  ${CMAKE_CURRENT_LIST_DIR}/health_nvidia.cpp
  ${CMAKE_CURRENT_LIST_DIR}/events.cpp
  ${CMAKE_CURRENT_LIST_DIR}/telemetry.cpp)
