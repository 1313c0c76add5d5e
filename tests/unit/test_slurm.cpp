// Slurm's names, core indices and node line (lib/core/slurm), which gpuprobe
// -f gres and gpumatch --plan -f slurm share.
#include <doctest/doctest.h>

#include <string>

#include "core/document.hpp"
#include "core/node.hpp"
#include "core/slurm.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

NodeModel model_of(const std::string& name) {
  auto d = Document::parse(test::read_file(test::fixture("documents/" + name + ".json")), name);
  REQUIRE(d.ok());
  auto m = read_node_model(*d, name);
  REQUIRE(m.ok());
  return *m;
}

}  // namespace

TEST_CASE("slurm: GRES types as AutoDetect=nvml names them") {
  // gpu_common_underscorify_tolower(): lower case, blanks to '_', the rest kept.
  CHECK(slurm::gres_type("NVIDIA A100-SXM4-40GB") == "nvidia_a100-sxm4-40gb");
  CHECK(slurm::gres_type("NVIDIA H100 80GB HBM3") == "nvidia_h100_80gb_hbm3");
  CHECK(slurm::gres_type("Tesla V100-PCIE-32GB") == "tesla_v100-pcie-32gb");
  CHECK(slurm::gres_type("") == "gpu");
  // _handle_mig(): the parent's type up to its first '-', then the profile.
  CHECK(slurm::mig_gres_type("NVIDIA A100-SXM4-40GB", "3g.20gb") == "nvidia_a100_3g.20gb");
  CHECK(slurm::mig_gres_type("NVIDIA H100 80GB HBM3", "1g.10gb") == "nvidia_h100_80gb_hbm3_1g.10gb");
}

TEST_CASE("slurm: Cores= counts cores, not hardware threads") {
  NodeCpu cpu;
  cpu.sockets = 2;
  cpu.cores = 8;
  cpu.threads = 16;
  std::optional<NodeCpu> c = cpu;
  // Socket 0 is Linux CPUs 0-3 and their siblings 8-11: Slurm's cores 0-3.
  CHECK(slurm::core_indices("0-3,8-11", c) == "0-3");
  CHECK(slurm::core_indices("4-7,12-15", c) == "4-7");
  CHECK(slurm::core_indices("0,2,9", c) == "0-2");
  cpu.threads = 12;  // not a multiple of the cores: no safe mapping
  CHECK_FALSE(slurm::core_indices("0-3", std::optional<NodeCpu>(cpu)).has_value());
  CHECK_FALSE(slurm::core_indices("0-3", std::nullopt).has_value());
}

TEST_CASE("slurm: the node line is the hardware slurmd -C reports, not the cgroup share") {
  NodeModel node = model_of("nvidia_h100x8");
  auto line = slurm::node_hardware(node);
  REQUIRE(line.has_value());
  const NodeCpu& cpu = *node.cpu;
  CHECK(*line == "CPUs=" + std::to_string(*cpu.threads) + " Boards=1 SocketsPerBoard=" + std::to_string(*cpu.sockets) +
                     " CoresPerSocket=" + std::to_string(*cpu.cores / *cpu.sockets) +
                     " ThreadsPerCore=" + std::to_string(*cpu.threads / *cpu.cores) +
                     " RealMemory=" + std::to_string(*node.memory->total_bytes >> 20));
  node.cpu->sockets.reset();
  CHECK_FALSE(slurm::node_hardware(node).has_value());
}

TEST_CASE("slurm: gres records for whole GPUs and MIG instances, counted by type") {
  slurm::GresConf mig = slurm::gres_conf(model_of("nvidia_a100_mig"));
  CHECK(mig.any_mig());
  CHECK(mig.node_gres() == "gpu:nvidia_a100_3g.20gb:1,gpu:nvidia_a100-sxm4-40gb:1");
  CHECK(mig.lines("NodeName=n ").find("NodeName=n Name=gpu Type=nvidia_a100_3g.20gb MultipleFiles=/dev/nvidia0,") == 0);
  slurm::GresConf h100 = slurm::gres_conf(model_of("nvidia_h100x8"));
  CHECK_FALSE(h100.any_mig());
  CHECK(h100.node_gres() == "gpu:nvidia_h100_80gb_hbm3:8");
  CHECK(h100.records[7].device == "/dev/nvidia7");
}
