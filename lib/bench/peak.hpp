// Theoretical peaks from the probed clocks, unit counts and bus width (per-SM
// and per-CU rates from share/gpukit/compute-capability.json), cross-checked
// with the hardware catalogue; and the flags a measured fraction earns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/document.hpp"

namespace gpukit {

// What the peak of a device follows from. Zero or empty: unknown.
struct DeviceFacts {
  std::string kind;                 // "cpu", "gpu", "mig"
  std::string vendor;               // "nvidia", "amd"; "" for the CPU
  std::string cc;                   // "9.0"
  std::string gfx;                  // "gfx90a"
  int units = 0;                    // SMs, CUs or cores
  int clock_mhz = 0;                // maximum SM / engine / core clock
  std::string clock_source;
  int memory_clock_mhz = 0;
  int memory_bus_width_bits = 0;
  double memory_share = 1;          // MIG: the instance's share of the GPU's memory (and bandwidth)
  double unit_share = 1;            // MIG: the instance's share of the GPU's SMs (for catalogue figures)
  int pcie_generation = 0, pcie_width = 0;
  int cpu_fp64_flops_per_cycle = 0; // per core
  std::uint64_t memory_bytes = 0;   // gpuprobe's figure, else the runtime's
  json catalogue;                   // gpus[i].catalogue, or null
};

struct PeakFigure {
  std::optional<double> value;      // in the result's unit
  std::string source;               // how it was obtained, or why there is none
  std::optional<double> catalogue;  // the catalogue's figure, when it has one
  std::optional<double> fraction;   // measured / value
  std::optional<std::string> flag;  // "above_peak", "implausibly_low"
};

class PeakModel {
 public:
  // Reads compute-capability.json; without it GPU peaks come from the catalogue only.
  static PeakModel load();
  static PeakModel from_json(const json& table);

  // The peak of `workload` on a device, and (given a measured value) its fraction and flag.
  PeakFigure peak(const DeviceFacts& facts, const std::string& workload, std::optional<double> measured) const;

  // Below this fraction of the peak a figure is implausibly low (research/bench.md:
  // under 60 % of HBM or 70 % of PCIe is suspicious; FMA kernels reach 90 %).
  // The memory test takes a chosen share of memory: only "above_peak" applies.
  static double low_threshold(const std::string& workload);

  // Sets p.fraction = measured / p.value and the flag: "above_peak" over 1 (a
  // peak model below what the device did, e.g. a CPU clock read below its boost),
  // "implausibly_low" under low_threshold(workload). Needs p.value > 0.
  static void judge(PeakFigure& p, const std::string& workload, double measured);

 private:
  json table_ = json::object();
  std::string problem_;  // why the table is missing
};

}  // namespace gpukit
