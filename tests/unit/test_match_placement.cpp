// Placement without overlap, NUMA locality, node limits (cgroup quota and
// memory, RLIMIT_MEMLOCK), the export lines, slot plans and the emitters.
#include <doctest/doctest.h>

#include <set>

#include "match/cpuset.hpp"
#include "match/emit.hpp"
#include "match/placement.hpp"
#include "match/plan.hpp"
#include "match/rules.hpp"
#include "match_test_support.hpp"

using namespace gpukit;
using namespace gpukit::test;

namespace {

Requirements job(const std::string& text) {
  auto r = parse_requirements_text(text, "job");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  return *r;
}

std::vector<DeviceVerdict> verdicts(const Requirements& j, const NodeFacts& n) {
  static const std::vector<PayloadInfo> none;
  return evaluate_devices(j, MatchContext{tables(), n, none, false});
}

const RuleResult* rule(const JobPlacement& p, const std::string& name) {
  for (const auto& r : p.rules)
    if (r.rule == name) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("match cpuset: lists parse and print") {
  CHECK(*parse_cpu_list("0-3,8,10-11\n") == std::vector<int>{0, 1, 2, 3, 8, 10, 11});
  CHECK(parse_cpu_list("")->empty());
  CHECK(*parse_cpu_list("3, 1,2") == std::vector<int>{1, 2, 3});
  CHECK_FALSE(parse_cpu_list("3-1").ok());
  CHECK_FALSE(parse_cpu_list("a").ok());
  CHECK_FALSE(parse_cpu_list("0-99999999").ok());
  CHECK(format_cpu_list({5, 0, 1, 2, 7, 6}) == "0-2,5-7");
  CHECK(format_cpu_list({}).empty());
}

TEST_CASE("match placement: two jobs on the H100 node take disjoint GPUs and NUMA-local cores") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");
  auto j = job(R"({"gpus": 4, "cores_per_gpu": 8, "memory_bytes": "64GiB", "numa_local": true})");
  auto v = verdicts(j, n);
  Placer placer(n);
  j.name = "first";
  auto a = placer.place(j, v);
  j.name = "second";
  auto b = placer.place(j, v);
  j.name = "third";
  auto c = placer.place(j, v);
  REQUIRE(a.placed);
  REQUIRE(b.placed);
  CHECK_FALSE(c.placed);
  CHECK(rule(c, "gpus")->reason == "4 device(s) needed, 0 fitting and free (8 fit)");
  std::set<std::string> devices;
  for (const auto* d : a.devices) devices.insert(d->id);
  for (const auto* d : b.devices) devices.insert(d->id);
  CHECK(devices.size() == 8);
  CHECK(a.cpus.size() == 32);
  CHECK(b.cpus.size() == 32);
  CHECK(a.numa_nodes == std::vector<int>{0});
  CHECK(b.numa_nodes == std::vector<int>{1});
  std::set<int> cpus(a.cpus.begin(), a.cpus.end());
  for (int c2 : b.cpus) CHECK_FALSE(cpus.count(c2));
  for (const auto* d : a.devices) CHECK(*d->numa_node == 0);
  CHECK(rule(a, "numa_locality")->outcome == Outcome::pass);
}

TEST_CASE("match placement: small MIG instances first, never the parent, exclusive gets a whole GPU") {
  NodeFacts n = node("nvidia_a100_mig.json");
  auto small = job(R"({"gpus": 1, "gpu_memory_bytes": "8GiB", "cores_per_gpu": 2})");
  auto v = verdicts(small, n);
  Placer placer(n);
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto p = placer.place(small, v);
    REQUIRE(p.placed);
    got.push_back(p.devices.front()->mig_profile.value_or("whole"));
  }
  CHECK(got == std::vector<std::string>{"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"});
  // The whole A100 is left for the exclusive job.
  auto excl = job(R"({"gpus": 1, "exclusive": true, "cores_per_gpu": 2})");
  auto p = placer.place(excl, verdicts(excl, n));
  REQUIRE(p.placed);
  CHECK(p.devices.front()->kind == "gpu");
  CHECK(p.devices.front()->gpu_index == 1);
  CHECK_FALSE(placer.place(small, v).placed);
  // A taken instance blocks its parent, a taken parent its instances.
  Placer fresh(n);
  CHECK(fresh.device_free(n.devices[0]));
  auto one = fresh.place(small, v);
  REQUIRE(one.placed);
  CHECK_FALSE(fresh.device_free(n.devices[0]));
}

TEST_CASE("match placement: cgroup quota, memory limit and RLIMIT_MEMLOCK") {
  NodeFacts n = node("nvidia_a100_mig.json");  // 64 CPUs, quota 16; 256 GiB cgroup; memlock 8 GiB
  Placer placer(n);
  auto many = job(R"({"gpus": 1, "cores_per_gpu": 20})");
  auto p = placer.place(many, verdicts(many, n));
  CHECK_FALSE(p.placed);
  CHECK(rule(p, "cores")->reason == "20 cores needed, 16 free of 16 usable (cgroup quota 16 CPUs)");
  auto big = job(R"({"cores": 4, "memory_bytes": "300GiB"})");
  auto q = placer.place(big, {});
  CHECK_FALSE(q.placed);
  CHECK(rule(q, "memory")->reason == "300 GiB needed, 256 GiB left under the cgroup limit");
  auto pinned = job(R"({"gpus": 1, "pinned_memory_per_gpu_bytes": "24GiB"})");
  auto r = placer.place(pinned, verdicts(pinned, n));
  CHECK_FALSE(r.placed);
  CHECK(rule(r, "pinned_memory")->reason == "RLIMIT_MEMLOCK 8 GiB < 24 GiB of pinned memory (24 GiB per GPU)");
  // What fits takes its share: 16 CPUs, then nothing is left.
  auto fits = job(R"({"gpus": 1, "cores_per_gpu": 16, "pinned_memory_per_gpu_bytes": "4GiB"})");
  auto s = placer.place(fits, verdicts(fits, n));
  REQUIRE(s.placed);
  CHECK(s.cpus.size() == 16);
  CHECK(s.memory_bytes == 4ULL << 30);
  CHECK(placer.free_cpus() == 0);
  CHECK(*placer.free_memory_bytes() == 252ULL << 30);
}

TEST_CASE("match placement: NUMA locality that cannot be met, and CPU-only jobs") {
  NodeFacts n = node("nvidia_mixed.json");  // L4 and T4 share NUMA node 1 (16 CPUs)
  auto local = job(R"({"gpus": 2, "cores_per_gpu": 10, "numa_local": true, "max_compute_capability": "8.9",
                       "min_compute_capability": "7.5"})");
  Placer placer(n);
  auto v = verdicts(local, n);
  // Candidates: A100 (node 0), L4, T4 (node 1): the node-1 pair cannot get 20 local cores,
  // so the job gets the T4 (smallest) and the A100, each with 10 local CPUs.
  auto p = placer.place(local, v);
  REQUIRE(p.placed);
  CHECK(p.numa_nodes == std::vector<int>{0, 1});
  auto again = placer.place(local, v);
  CHECK_FALSE(again.placed);

  NodeFacts cpu = node("cpu_only.json");
  Placer cp(cpu);
  auto cj = job(R"({"cores": 8, "memory_per_core_bytes": "2GiB"})");
  auto c = cp.place(cj, {});
  REQUIRE(c.placed);
  CHECK(c.cpus.size() == 8);
  CHECK(c.numa_nodes.size() == 1);
  CHECK(c.memory_bytes == 16ULL << 30);
  auto gj = job(R"({"gpus": 1})");
  auto g = cp.place(gj, verdicts(gj, cpu));
  CHECK_FALSE(g.placed);
  CHECK(rule(g, "gpus")->reason == "1 device(s) needed, 0 fitting and free (0 fit)");
}

TEST_CASE("match placement: export lines for a pilot") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");
  auto j = job(R"({"name": "adept", "gpus": 2, "cores_per_gpu": 4})");
  Placer placer(n);
  auto p = placer.place(j, verdicts(j, n));
  REQUIRE(p.placed);
  CHECK(render_env(p) ==
        "# gpumatch placement for adept\n"
        "export CUDA_VISIBLE_DEVICES='GPU-0000a000-1111-2222-3333-00000000a000,GPU-0000a001-1111-2222-3333-00000000a001'\n"
        "export GPUKIT_CPUS='0-7'\n"
        "export GPUKIT_MEMS='0'\n"
        "export OMP_NUM_THREADS=8\n");
  NodeFacts mi = node("amd_mi300x.json");
  Placer ap(mi);
  auto a = ap.place(j, verdicts(j, mi));
  REQUIRE(a.placed);
  std::string env = render_env(a);
  CHECK(env.find("export ROCR_VISIBLE_DEVICES='GPU-0000d000-1111-2222-3333-00000000d000,GPU-0000d001") != std::string::npos);
  CHECK(env.find("CUDA_VISIBLE_DEVICES") == std::string::npos);
  // A CPU-only job hides every CUDA device.
  NodeFacts cpu = node("cpu_only.json");
  Placer cp(cpu);
  auto c = cp.place(job(R"({"cores": 2})"), {});
  CHECK(render_env(c).find("export CUDA_VISIBLE_DEVICES=''\n") != std::string::npos);
  // A UUID a shell could misread is replaced by the device index.
  NodeDevice odd = *n.device("GPU-0000a000-1111-2222-3333-00000000a000");
  odd.uuid = "GPU-$(reboot)";
  JobPlacement q;
  q.placed = true;
  q.devices = {&odd};
  CHECK(render_env(q).find("CUDA_VISIBLE_DEVICES='0'") != std::string::npos);
}

TEST_CASE("match plan: GPU slots, CPU-only slots and the per-core memory warning") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");  // 128 CPUs, 2 TiB
  auto adept = job(R"({"gpus": 1, "cores_per_gpu": 8, "memory_per_core_bytes": "2GiB",
                       "pinned_memory_per_gpu_bytes": "24GiB"})");
  PlanOptions opts;
  auto plan = plan_slots(adept, opts, n, verdicts(adept, n));
  CHECK(plan.gpu_slots.size() == 8);
  CHECK(plan.cpu_slots == 64);
  CHECK(*plan.cpu_job_memory_bytes == 2ULL << 30);
  CHECK(plan.cores_left == 0);
  REQUIRE_FALSE(plan.warnings.empty());
  CHECK(plan.warnings.front() ==
        "a per-core limit of 2 GiB x 8 cores gives a GPU slot 16 GiB, which cannot hold 24 GiB of pinned memory per "
        "GPU: give GPU slots at least 24 GiB (3 GiB per core)");
  json j = to_json(plan);
  CHECK(j["per_gpu_share"]["memory_bytes"] == 24ULL << 30);
  CHECK(j["per_gpu_share"]["cores"] == 8);

  // On the MIG node the memlock limit makes the same profile impossible.
  NodeFacts mig = node("nvidia_a100_mig.json");
  auto p2 = plan_slots(adept, opts, mig, verdicts(adept, mig));
  CHECK(p2.gpu_slots.empty());
  bool memlock = false;
  for (const auto& w : p2.warnings) memlock = memlock || w.rfind("RLIMIT_MEMLOCK is 8 GiB", 0) == 0;
  CHECK(memlock);
}

TEST_CASE("match plan: HTCondor and Slurm configuration") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");
  auto j = job(R"({"gpus": 1, "cores_per_gpu": 12, "memory_bytes": "96GiB"})");
  PlanOptions opts;
  opts.cpu_job_cores = 4;
  opts.cpu_memory_per_core_bytes = 2ULL << 30;
  auto plan = plan_slots(j, opts, n, verdicts(j, n));
  CHECK(plan.gpu_slots.size() == 8);
  CHECK(plan.cpu_slots == 8);  // 128 - 96 = 32 CPUs left, 4 per job
  std::string condor = render_plan_condor(plan, n);
  CHECK(condor.find("SLOT_TYPE_1 = cpus=96, memory=786432, gpus=8\n") != std::string::npos);
  CHECK(condor.find("SLOT_TYPE_2 = cpus=32, memory=65536, gpus=0\n") != std::string::npos);
  CHECK(condor.find("SLOT_TYPE_1_PARTITIONABLE = True\n") != std::string::npos);
  CHECK(condor.find("START = ($(GPUKIT_ON_GPU_SLOT)) == ($(GPUKIT_JOB_WANTS_GPU))\n") != std::string::npos);
  auto model = read_node_model(node_document("nvidia_h100x8_cuda130.json"), "node");
  REQUIRE(model.ok());
  std::string slurm = render_plan_slurm(plan, n, *model, SlurmPlanOptions{});
  // The hardware as slurmd -C prints it, every GPU counted by Slurm's type.
  CHECK(slurm.find("NodeName=h100-node CPUs=128 Boards=1 SocketsPerBoard=2 CoresPerSocket=32 ThreadsPerCore=2 "
                   "RealMemory=2097152 Gres=gpu:nvidia_h100_80gb_hbm3:8 State=UNKNOWN\n") != std::string::npos);
  CHECK(slurm.find("PartitionName=gpu Nodes=h100-node Default=YES MaxCPUsPerNode=96 DefCpuPerGPU=12 DefMemPerGPU=98304\n") !=
        std::string::npos);
  CHECK(slurm.find("PartitionName=cpu Nodes=h100-node MaxCPUsPerNode=32 DefMemPerCPU=2048\n") != std::string::npos);
  CHECK(slurm.find("NodeName=h100-node AutoDetect=off\n") != std::string::npos);
  // Slurm's core indices (cores 32-63 of 64), not the Linux CPU ids 32-63,96-127.
  CHECK(slurm.find("NodeName=h100-node Name=gpu Type=nvidia_h100_80gb_hbm3 File=/dev/nvidia7 Cores=32-63\n") !=
        std::string::npos);
  CHECK(slurm.find("# --- cgroup.conf ---\nConstrainDevices=yes\n") == std::string::npos);
  CHECK(slurm.find("ConstrainDevices=yes\n") != std::string::npos);
}

TEST_CASE("match emit: HTCondor submit commands") {
  auto j = job(R"({"gpus": 2, "min_compute_capability": "8.0", "max_compute_capability": "9.0",
                   "gpu_memory_bytes": "40GiB", "cuda_runtime": "12.4", "cores_per_gpu": 4,
                   "memory_per_core_bytes": "2GiB", "mig": "forbid", "min_fp64_tflops": 5})");
  CHECK(emit_condor(j) ==
        "# HTCondor submit commands written by gpumatch --emit condor\n"
        "request_cpus = 8\n"
        "request_memory = 16384MB\n"
        "request_gpus = 2\n"
        "gpus_minimum_capability = 8.0\n"
        "gpus_maximum_capability = 9.0\n"
        "gpus_minimum_memory = 40960MB\n"
        "gpus_minimum_runtime = 12.0\n"
        "require_gpus = !(DeviceUuid =!= undefined && regexp(\"^MIG-\", DeviceUuid))\n"
        "# Not expressible in submit commands, checked on the node by gpumatch: min_fp64_tflops\n");
  j.minor_version_compatibility = false;
  CHECK(emit_condor(j).find("gpus_minimum_runtime = 12.4\n") != std::string::npos);
}

TEST_CASE("match emit: Kubernetes node affinity on GFD labels") {
  auto j = job(R"({"gpus": 1, "min_compute_capability": "8.6", "gpu_memory_bytes": "24GiB", "cores": 4})");
  std::string k = emit_k8s(j);
  CHECK(k.find("    nvidia.com/gpu: 1\n") != std::string::npos);
  // CC >= 8.6: major > 8, or major 8 and minor > 5, each term with the count and memory.
  CHECK(k.find("        - key: nvidia.com/gpu.compute.major\n          operator: Gt\n          values: [\"8\"]\n") !=
        std::string::npos);
  CHECK(k.find("          operator: In\n          values: [\"8\"]\n        - key: nvidia.com/gpu.compute.minor\n"
               "          operator: Gt\n          values: [\"5\"]\n") != std::string::npos);
  CHECK(k.find("- key: nvidia.com/gpu.memory\n          operator: Gt\n          values: [\"24575\"]") != std::string::npos);
  std::size_t terms = 0;
  for (std::size_t pos = 0; (pos = k.find("- matchExpressions:", pos)) != std::string::npos; ++pos) ++terms;
  CHECK(terms == 2);
  auto mig = job(R"({"gpus": 1, "mig": "require", "mig_profiles": ["3g.40gb"]})");
  CHECK(emit_k8s(mig).find("    nvidia.com/mig-3g.40gb: 1\n") != std::string::npos);
  auto amd = job(R"({"gpus": 1, "vendor": "amd", "amd_targets": ["gfx942"]})");
  std::string a = emit_k8s(amd);
  CHECK(a.find("    amd.com/gpu: 1\n") != std::string::npos);
  CHECK(a.find("# Not expressible as labels, checked on the node by gpumatch: amd_targets\n") != std::string::npos);
}
