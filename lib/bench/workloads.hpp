// The workload implementations, one factory per kind (workload_registry() lists them).
#pragma once

#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/workload.hpp"

namespace gpukit::detail {

// "copy", "mul", "add", "triad", "dot"
std::unique_ptr<Workload> make_stream_workload(const std::string& op);
// "fp64", "fp32", "fp16", "bf16", "int32"
std::unique_ptr<Workload> make_fma_workload(const std::string& precision);
// direction "h2d", "d2h", "bidir"; memory "pinned", "pageable"; remote: host
// buffers on a NUMA node other than the GPU's
std::unique_ptr<Workload> make_transfer_workload(const std::string& direction, const std::string& memory, bool remote);
std::unique_ptr<Workload> make_launch_workload();
std::unique_ptr<Workload> make_memtest_workload();
// workload "me_eemumu", "em_shower", "track_fit", "mlp_infer" at one of its
// precisions (hep::hep_workload_precisions).
std::unique_ptr<Workload> make_hep_workload(const std::string& workload, const std::string& precision);
// "events/s", "primaries/s", "tracks/s", "samples/s".
std::string hep_result_unit(const std::string& workload);

// "write", "read", "randread", "metadata" on the scratch directory (RunConfig::storage).
std::unique_ptr<Workload> make_storage_workload(const std::string& kind);
// The storage data: 4 KiB block `index` of the data of `seed`, a block's
// checksum, and the check of `n` bytes read from byte `off` (a multiple of 4 KiB)
// against the checksums of what was written: "" when they match, else which block.
void storage_fill_block(unsigned char* block4k, std::uint64_t seed, std::uint64_t index);
std::uint64_t storage_checksum(const unsigned char* block4k);
std::string storage_verify(const std::vector<std::uint64_t>& sums, const unsigned char* buf, std::uint64_t off,
                           std::size_t n);

// Inner repetitions so that a timed region of operations taking `one_s` each
// lasts at least `target_s`, within [1, limit].
std::uint64_t inner_repetitions(double one_s, double target_s, std::uint64_t limit);

// Device memory a workload may take: free memory x `share`, capped by --max-memory.
Result<std::uint64_t> memory_budget(WorkloadContext& ctx, double share);

}  // namespace gpukit::detail
