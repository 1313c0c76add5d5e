#include <cstdlib>
#include <string>

#include "compute/cpu/cpu_kernels.hpp"

namespace gpukit::cpu {

Result<const KernelSet*> select_kernel_set() {
  std::string forced;
  if (const char* env = std::getenv("GPUKIT_CPU_ISA"); env && *env) forced = env;
#if defined(GPUKIT_CPU_X86_SETS)
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
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
