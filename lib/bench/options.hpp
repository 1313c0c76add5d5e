// gpubench's options (bound to the command line by tools/gpubench) and the run
// configuration the runner derives from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/cli.hpp"

namespace gpukit {

struct BenchOptions {
  CommonOptions common;                // --timeout: the deadline of each workload on each device
  std::vector<std::string> devices;    // --device: indices, GPU-/MIG- UUIDs, cpu, gpu, all
  std::vector<std::string> workloads;  // --workload: names or families; empty: all
  int repetitions = 5;
  int warmup = 1;
  bool quick = false;
  double run_timeout_s = 3600;         // the whole run
  std::string array_size;              // per stream array ("" = at least 4x the last-level cache)
  std::string max_transfer = "1GiB";   // largest host-device transfer of the sweep
  std::string max_memory;              // cap on what one workload allocates ("" = none)
  double memtest_fraction = 0;         // share of free memory the memory test takes (0: 0.9 GPU, 0.25 CPU)
  std::uint64_t seed = 0;              // 0: from the clock
  bool no_node = false;                // skip the all-devices-at-once run
  std::string reference;               // --reference: HEP score reference file ("" = the default one)
  bool rescore = false;                // --rescore: recompute the scores of the input's bench section only
  bool check = false;                  // --check: level-2 health (memtest, pinned transfers, FMA clocks) into gpus[].health
  std::string scratch;                 // --scratch: storage workloads' directory ("" = $TMPDIR or /tmp)
  std::string max_storage;             // --max-storage ("" = a share of the free space, capped)
  bool allow_network_scratch = false;  // --allow-network-scratch
  std::string hepscore_config;         // --hepscore-config: where the hep-score YAML goes ("" = nowhere)
};

// Where and how much the storage workloads write (gpubench(1), STORAGE).
struct StorageConfig {
  std::string scratch;                // resolved: --scratch, else $TMPDIR, else /tmp
  bool scratch_given = false;         // a refused --scratch is an error; a refused default skips storage
  std::uint64_t max_bytes = 0;        // 0: default_storage_share of the free space, at most default_storage_cap
  bool allow_network = false;
  std::string unusable;               // why the storage workloads are skipped ("" when they can run)
};

struct RunConfig {
  int repetitions = 5;
  int warmup = 1;
  bool quick = false;
  double workload_timeout_s = 120;
  double run_timeout_s = 3600;
  std::uint64_t array_bytes = 0;            // 0: automatic
  std::uint64_t max_transfer_bytes = 1ull << 30;
  std::uint64_t max_memory_bytes = 0;       // 0: no cap
  double memtest_fraction = 0;              // 0: automatic
  double target_region_s = 0.02;            // each timed region is calibrated to last at least this
  double energy_window_s = 1.0;             // sustained run for the power reading
  double quick_budget_s = 15;               // --quick: per device
  std::uint64_t seed = 1;
  bool node = true;
  std::vector<std::string> workloads;       // selected names (expanded from families)
  StorageConfig storage;
  // Statistical checks the whole run makes (set by the Runner from its plan):
  // the false-alarm budget is shared over them (hep::thresholds_for_run).
  std::uint64_t statistical_checks = 0;
};

}  // namespace gpukit
