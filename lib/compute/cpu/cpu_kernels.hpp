// The CPU backend's kernels. cpu_kernels.cpp is compiled once per instruction-set
// level (each in its own namespace, with its own -m flags) and the backend picks
// the widest the CPU has at run time: no -march=native in a shipped binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compute/backend.hpp"

namespace gpukit::cpu {

// What one worker's share of a kernel contributes to reductions.
struct Partial {
  double sum = 0;                            // stream_dot
  std::uint64_t count = 0;                   // memtest_verify: mismatches
  std::uint64_t first = UINT64_MAX;          // memtest_verify: first bad index
};

// Runs a kernel over elements (or work items) [begin, end).
using KernelFn = Partial (*)(const KernelArgs& args, std::uint64_t begin, std::uint64_t end);

struct KernelEntry {
  const char* name;
  KernelFn fn;
};

struct HepKernels;  // hep_kernels.hpp

struct KernelSet {
  const char* isa;         // "x86-64-v4", "x86-64-v3", "generic"
  int vector_bits;         // widest vectors this build uses
  const KernelEntry* entries;
  int count;
  const HepKernels* hep;   // the HEP workloads' kernels of the same level
};

// Alignment of every worker's share, in elements: whole cache lines and whole
// vectors of any width, so that shares never split a vector.
inline constexpr std::uint64_t share_alignment = 64;

namespace isa_v4 { const KernelSet& kernel_set(); }       // AVX-512 (F, VL, DQ, BW) + FMA
namespace isa_v3 { const KernelSet& kernel_set(); }       // AVX2 + FMA
namespace isa_generic { const KernelSet& kernel_set(); }  // whatever the baseline target has

// The widest set this CPU can run; `GPUKIT_CPU_ISA` (v4, v3, generic) forces one
// for comparisons. An unknown or unsupported forced value is an error.
Result<const KernelSet*> select_kernel_set();
// Every set this CPU can run, widest first (comparisons between levels).
std::vector<const KernelSet*> available_kernel_sets();

}  // namespace gpukit::cpu
