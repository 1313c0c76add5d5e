#include <cstdlib>
#include <string>
#include <vector>

#include "compute/cpu/cpu_kernels.hpp"

namespace gpukit::cpu {

namespace {

#if defined(GPUKIT_CPU_X86_SETS)
struct X86Levels {
  bool v3 = false, v4 = false;
};
X86Levels x86_levels() {
  __builtin_cpu_init();
  X86Levels l;
  l.v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  l.v4 = l.v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
  return l;
}
#endif

}  // namespace

std::vector<const KernelSet*> available_kernel_sets() {
  std::vector<const KernelSet*> sets;
#if defined(GPUKIT_CPU_X86_SETS)
  const X86Levels l = x86_levels();
  if (l.v4) sets.push_back(&isa_v4::kernel_set());
  if (l.v3) sets.push_back(&isa_v3::kernel_set());
#endif
  sets.push_back(&isa_generic::kernel_set());
  return sets;
}

Result<const KernelSet*> select_kernel_set() {
  std::string forced;
  if (const char* env = std::getenv("GPUKIT_CPU_ISA"); env && *env) forced = env;
#if defined(GPUKIT_CPU_X86_SETS)
  const auto [v3, v4] = x86_levels();
  if (forced.empty()) return v4 ? &isa_v4::kernel_set() : v3 ? &isa_v3::kernel_set() : &isa_generic::kernel_set();
  if (forced == "v4" && v4) return &isa_v4::kernel_set();
  if (forced == "v3" && v3) return &isa_v3::kernel_set();
  if (forced == "generic") return &isa_generic::kernel_set();
  if (forced == "v4" || forced == "v3")
    return environment_error("this CPU does not have the " + forced + " instruction set", "GPUKIT_CPU_ISA=" + forced);
  return usage_error("unknown instruction-set level (use v4, v3 or generic)", "GPUKIT_CPU_ISA=" + forced);
#else
  if (forced.empty() || forced == "generic") return &isa_generic::kernel_set();
  return usage_error("only 'generic' kernels exist on this architecture", "GPUKIT_CPU_ISA=" + forced);
#endif
}

}  // namespace gpukit::cpu
