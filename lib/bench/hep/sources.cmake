# The HEP workloads of gpubench (CPU drivers, physics validations, scores and
# the hepscore format); the kernels they run are lib/compute/kernels/hep/*.cuh.
list(APPEND GPUKIT_BENCH_HEP_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/hep_common.cpp
  ${CMAKE_CURRENT_LIST_DIR}/validation_stats.cpp
  ${CMAKE_CURRENT_LIST_DIR}/me_eemumu.cpp
  ${CMAKE_CURRENT_LIST_DIR}/em_shower.cpp
  ${CMAKE_CURRENT_LIST_DIR}/track_fit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mlp_infer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cpu_runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/scores.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hepscore_format.cpp
)
