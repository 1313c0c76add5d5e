// Slurm's view of a node, shared by gpuprobe --format gres and gpumatch --plan
// --format slurm so that both write one naming, Slurm's own: the GRES types
// slurmd's gpu/nvml plugin gives devices, the abstract core indices gres.conf
// wants in Cores=, the hardware fields `slurmd -C` prints, and the gres.conf
// records with their device files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/node.hpp"

namespace gpukit::slurm {

// The GRES type Slurm's AutoDetect=nvml gives a device: its name lowercased
// with blanks turned to '_' ("NVIDIA A100-SXM4-40GB" -> "nvidia_a100-sxm4-40gb").
std::string gres_type(std::string_view device_name);
// A MIG instance's type: the parent's type up to its first '-', then '_' and
// the profile ("NVIDIA A100-SXM4-40GB", "3g.20gb" -> "nvidia_a100_3g.20gb").
std::string mig_gres_type(std::string_view device_name, std::string_view profile);

// Slurm's abstract core indices ("0-27") for a Linux CPU list ("0-27,56-83"),
// nullopt where the cpu section allows no safe mapping.
std::optional<std::string> core_indices(const std::string& cpu_list, const std::optional<NodeCpu>& cpu);

// "CPUs=112 Boards=1 SocketsPerBoard=2 CoresPerSocket=28 ThreadsPerCore=2
// RealMemory=2063937": the node's hardware as `slurmd -C` prints it on that
// node (not the probing process's cgroup share). nullopt without sockets,
// cores and threads; RealMemory is left out without memory.total_bytes.
std::optional<std::string> node_hardware(const NodeModel& node);

// One gres.conf record for a device that has one.
struct GresRecord {
  std::string type;
  std::string files;    // "File=/dev/nvidia0" or "MultipleFiles=/dev/nvidia0,/dev/nvidia-caps/..."
  std::string cores;    // abstract core indices, "" when unknown
  std::string device;   // the parent's device file ("/dev/nvidia0"), for shard and mps lines
  std::string vendor;
  bool mig = false;
};

struct GresConf {
  std::vector<GresRecord> records;
  std::vector<std::string> notes;  // comment lines for devices left out, and what was assumed

  // "gpu:nvidia_a100_3g.20gb:2,gpu:nvidia_a100-sxm4-40gb:1", types in record order.
  std::string node_gres() const;
  std::vector<std::pair<std::string, int>> type_counts() const;
  bool any_mig() const;
  // The records as gres.conf lines, each starting with `prefix` ("NodeName=x ").
  std::string lines(const std::string& prefix = "") const;
};

// The gres.conf records of every GPU the node document lists (all of them,
// not only those this process may see: gres.conf describes the node).
GresConf gres_conf(const NodeModel& node);

}  // namespace gpukit::slurm
