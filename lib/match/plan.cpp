#include "match/plan.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/slurm.hpp"
#include "core/units.hpp"
#include "match/cpuset.hpp"

namespace gpukit {

Result<CondorShare> parse_condor_share(const std::string& text) {
  auto colon = text.find(':');
  CondorShare share;
  share.mode = text.substr(0, colon);
  int ways = 0;
  if (colon != std::string::npos)
    if (auto n = parse_integer<int>(text.substr(colon + 1))) ways = *n;
  if ((share.mode != "repeat" && share.mode != "divide") || ways < 2 || ways > 64)
    return usage_error("\"" + text + "\" is not repeat:N or divide:N with N from 2 to 64", "--condor-share");
  share.ways = ways;
  return share;
}

void share_devices(NodeFacts& node, const CondorShare& share) {
  std::vector<NodeDevice> out;
  for (const auto& d : node.devices) {
    out.push_back(d);
    if (d.has_mig_instances) continue;
    if (share.mode == "divide" && d.memory_bytes) out.back().memory_bytes = *d.memory_bytes / static_cast<std::uint64_t>(share.ways);
    NodeDevice copy = out.back();
    for (int k = 2; k <= share.ways; ++k) {
      copy.id = d.id + "#" + std::to_string(k);
      out.push_back(copy);
    }
  }
  node.devices = std::move(out);
}

SlotPlan plan_slots(const Requirements& gpu_job, const PlanOptions& options, const NodeFacts& node,
                    const std::vector<DeviceVerdict>& verdicts) {
  SlotPlan plan;
  plan.gpu_job = gpu_job;
  plan.condor_share = options.condor_share;
  Placer placer(node);
  if (gpu_job.gpu_job()) {
    for (int n = 1;; ++n) {
      Requirements copy = gpu_job;
      copy.name = (gpu_job.name.empty() ? std::string("gpu") : gpu_job.name) + "-" + std::to_string(n);
      JobPlacement p = placer.place(copy, verdicts);
      if (!p.placed) break;
      plan.gpu_slots.push_back(std::move(p));
    }
    for (const auto& v : verdicts)
      if (v.fits && placer.device_free(*v.device)) ++plan.idle_devices;
  }

  plan.cpu_job_cores = std::max(1, options.cpu_job_cores);
  auto per_core = options.cpu_memory_per_core_bytes ? options.cpu_memory_per_core_bytes : gpu_job.memory_per_core_bytes;
  if (per_core) plan.cpu_job_memory_bytes = *per_core * static_cast<std::uint64_t>(plan.cpu_job_cores);
  int free_cpus = node.has_cpu ? placer.free_cpus() : 0;
  int by_cores = free_cpus / plan.cpu_job_cores;
  int by_memory = by_cores;
  auto memory_left = placer.free_memory_bytes();
  if (plan.cpu_job_memory_bytes && *plan.cpu_job_memory_bytes > 0 && memory_left)
    by_memory = static_cast<int>(std::min<std::uint64_t>(*memory_left / *plan.cpu_job_memory_bytes, by_cores));
  plan.cpu_slots = std::min(by_cores, by_memory);
  plan.cores_left = free_cpus - plan.cpu_slots * plan.cpu_job_cores;
  if (memory_left)
    plan.memory_left_bytes = *memory_left - std::min(*memory_left, plan.cpu_slots * plan.cpu_job_memory_bytes.value_or(0));

  // The warnings a site admin needs before writing the configuration.
  const Requirements& j = gpu_job;
  if (j.gpu_job() && j.memory_per_core_bytes && j.pinned_memory_per_gpu_bytes) {
    int cores_per_gpu = std::max(1, j.total_cores() / j.gpus);
    std::uint64_t per_gpu_limit = *j.memory_per_core_bytes * static_cast<std::uint64_t>(cores_per_gpu);
    if (per_gpu_limit < *j.pinned_memory_per_gpu_bytes) {
      double needed_per_core = std::ceil(static_cast<double>(*j.pinned_memory_per_gpu_bytes) / cores_per_gpu);
      plan.warnings.push_back("a per-core limit of " + format_bytes(*j.memory_per_core_bytes) + " x " +
                              std::to_string(cores_per_gpu) + " cores gives a GPU slot " + format_bytes(per_gpu_limit) +
                              ", which cannot hold " + format_bytes(*j.pinned_memory_per_gpu_bytes) +
                              " of pinned memory per GPU: give GPU slots at least " +
                              format_bytes(*j.pinned_memory_per_gpu_bytes) + " (" +
                              format_bytes(static_cast<std::uint64_t>(needed_per_core)) + " per core)");
    }
  }
  if (j.gpu_job() && j.pinned_memory_per_gpu_bytes && node.has_memory && node.memlock_limit_bytes &&
      *node.memlock_limit_bytes < j.pinned_total_bytes())
    plan.warnings.push_back("RLIMIT_MEMLOCK is " + format_bytes(*node.memlock_limit_bytes) + ": a GPU job cannot pin " +
                            format_bytes(j.pinned_total_bytes()) +
                            " (raise it for the batch system: LimitMEMLOCK=infinity in the service unit)");
  for (const auto& v : verdicts)
    for (const auto& r : v.rules)
      if (r.rule == "health" && r.outcome == Outcome::fail)
        plan.warnings.push_back(v.device->id + " (GPU " + std::to_string(v.device->gpu_index) + ") left out: " + r.reason);
  if (j.gpu_job() && plan.gpu_slots.empty())
    plan.warnings.push_back("no GPU job fits this node (see the match rules)");
  if (options.condor_share && j.gpu_job() && j.exclusive)
    plan.warnings.push_back("the job asks for a whole, unshared GPU, but --condor-share offers each GPU to " +
                            std::to_string(options.condor_share->ways) + " jobs");
  if (plan.idle_devices > 0)
    plan.warnings.push_back(std::to_string(plan.idle_devices) + " fitting device(s) stay idle: not enough free cores or memory for another GPU job");
  return plan;
}

json to_json(const SlotPlan& plan) {
  json j = json::object();
  const Requirements& r = plan.gpu_job;
  json profile = {{"gpus", r.gpus}, {"cores", r.total_cores()}, {"memory_bytes", r.job_memory_bytes()},
                  {"pinned_memory_bytes", r.pinned_total_bytes()}};
  j["gpu_job"] = profile;
  j["gpu_slots"] = plan.gpu_slots.size();
  if (r.gpus > 0)
    j["per_gpu_share"] = {{"cores", r.total_cores() / r.gpus},
                          {"memory_bytes", r.job_memory_bytes() / static_cast<std::uint64_t>(r.gpus)},
                          {"pinned_memory_bytes", r.pinned_memory_per_gpu_bytes.value_or(0)}};
  else
    j["per_gpu_share"] = nullptr;
  j["cpu_job"] = {{"cores", plan.cpu_job_cores},
                  {"memory_bytes", plan.cpu_job_memory_bytes ? json(*plan.cpu_job_memory_bytes) : json(nullptr)}};
  j["cpu_slots"] = plan.cpu_slots;
  j["idle_devices"] = plan.idle_devices;
  j["cores_left"] = plan.cores_left;
  j["memory_left_bytes"] = plan.memory_left_bytes ? json(*plan.memory_left_bytes) : json(nullptr);
  json slots = json::array();
  for (const auto& s : plan.gpu_slots) slots.push_back(to_json(s));
  j["slots"] = std::move(slots);
  j["warnings"] = plan.warnings;
  return j;
}

namespace {

std::uint64_t mib(std::uint64_t bytes) { return bytes >> 20; }

std::string node_name(const NodeFacts& node) { return node.hostname.empty() ? std::string("NODE") : node.hostname; }

int gpu_slot_cores(const SlotPlan& plan) {
  int n = 0;
  for (const auto& s : plan.gpu_slots) n += static_cast<int>(s.cpus.size());
  if (n == 0) n = static_cast<int>(plan.gpu_slots.size()) * plan.gpu_job.total_cores();
  return n;
}

std::uint64_t gpu_slot_memory(const SlotPlan& plan) {
  std::uint64_t m = 0;
  for (const auto& s : plan.gpu_slots) m += s.memory_bytes;
  return m;
}

int gpu_slot_devices(const SlotPlan& plan) {
  int n = 0;
  for (const auto& s : plan.gpu_slots) n += static_cast<int>(s.devices.size());
  return n;
}

std::string comment_lines(const SlotPlan& plan, const std::string& tool_line) {
  const Requirements& r = plan.gpu_job;
  std::string out = "# " + tool_line + "\n";
  out += "# " + std::to_string(plan.gpu_slots.size()) + " GPU slot(s) of " + std::to_string(r.gpus) + " GPU, " +
         std::to_string(r.total_cores()) + " cores, " + format_bytes(r.job_memory_bytes()) + " memory";
  if (r.pinned_total_bytes() > 0) out += " (" + format_bytes(r.pinned_total_bytes()) + " pinned)";
  out += "; " + std::to_string(plan.cpu_slots) + " CPU-only slot(s) of " + std::to_string(plan.cpu_job_cores) + " core(s)";
  if (plan.cpu_job_memory_bytes) out += ", " + format_bytes(*plan.cpu_job_memory_bytes);
  out += "\n";
  for (const auto& w : plan.warnings) out += "# WARNING: " + w + "\n";
  return out;
}

}  // namespace

std::string render_plan_condor(const SlotPlan& plan, const NodeFacts& node) {
  std::string out = comment_lines(plan, "HTCondor startd configuration written by gpumatch --plan for " + node_name(node));
  int gpu_cores = gpu_slot_cores(plan);
  std::uint64_t gpu_mem = gpu_slot_memory(plan);
  int devices = gpu_slot_devices(plan);
  int cpu_cores = plan.cpu_slots * plan.cpu_job_cores;
  out += "use feature : GPUs\n";
  out += "# Full UUIDs, MIG instances included, so CUDA_VISIBLE_DEVICES names the device the job got.\n";
  if (const auto& share = plan.condor_share) {
    std::string n = std::to_string(share->ways);
    out += "# Each GPU is offered " + n + " times (DetectedGPUs lists its id " + n + " times)";
    out += share->mode == "divide" ? "; GlobalMemoryMb is its memory / " + n + ", DeviceMemoryMb the whole.\n"
                                   : "; jobs on one GPU share its memory unchecked.\n";
    out += "GPU_DISCOVERY_EXTRA = $(GPU_DISCOVERY_EXTRA) -uuid -" + share->mode + " " + n + "\n";
  } else {
    out += "GPU_DISCOVERY_EXTRA = $(GPU_DISCOVERY_EXTRA) -uuid\n";
  }
  if (!plan.gpu_slots.empty()) {
    out += "NUM_SLOTS_TYPE_1 = 1\n";
    out += "SLOT_TYPE_1 = cpus=" + std::to_string(gpu_cores) + ", memory=" + std::to_string(mib(gpu_mem)) +
           ", gpus=" + std::to_string(devices) + "\n";
    out += "SLOT_TYPE_1_PARTITIONABLE = True\n";
  }
  if (plan.cpu_slots > 0) {
    out += "NUM_SLOTS_TYPE_2 = 1\n";
    out += "SLOT_TYPE_2 = cpus=" + std::to_string(cpu_cores);
    if (plan.cpu_job_memory_bytes)
      out += ", memory=" + std::to_string(mib(*plan.cpu_job_memory_bytes * static_cast<std::uint64_t>(plan.cpu_slots)));
    else if (plan.memory_left_bytes)
      out += ", memory=" + std::to_string(mib(*plan.memory_left_bytes));
    out += ", gpus=0\n";
    out += "SLOT_TYPE_2_PARTITIONABLE = True\n";
  }
  if (!plan.gpu_slots.empty() && plan.cpu_slots > 0) {
    out += "# GPU jobs only on slot type 1 (dynamic slots of it have SlotTypeID -1), CPU-only jobs only on type 2;\n";
    out += "# merge into your START expression.\n";
    out += "GPUKIT_ON_GPU_SLOT = (SlotTypeID == 1 || SlotTypeID == -1)\n";
    out += "GPUKIT_JOB_WANTS_GPU = (TARGET.RequestGPUs =!= undefined && TARGET.RequestGPUs > 0)\n";
    out += "START = ($(GPUKIT_ON_GPU_SLOT)) == ($(GPUKIT_JOB_WANTS_GPU))\n";
  }
  if (plan.gpu_job.gpus > 0 && !plan.gpu_slots.empty()) {
    out += "# Per GPU: " + std::to_string(plan.gpu_job.total_cores() / plan.gpu_job.gpus) + " cores, " +
           std::to_string(mib(plan.gpu_job.job_memory_bytes() / plan.gpu_job.gpus)) + " MiB\n";
  }
  return out;
}

Result<SlurmPlanOptions> parse_slurm_options(const std::string& autodetect, const std::optional<std::string>& share) {
  SlurmPlanOptions o;
  if (autodetect != "off" && autodetect != "nvml")
    return usage_error("\"" + autodetect + "\" is not off or nvml", "--slurm-autodetect");
  o.autodetect = autodetect;
  if (!share) return o;
  auto colon = share->find(':');
  std::string kind = share->substr(0, colon);
  auto n = colon == std::string::npos ? std::nullopt : parse_integer<int>(share->substr(colon + 1));
  if ((kind != "shard" && kind != "mps") || !n || *n < 1)
    return usage_error("\"" + *share + "\" is not shard:N or mps:N (N >= 1)", "--share");
  // gres.conf(5), Count: "For MPS, typically 100 or some multiple of 100", so
  // that a job's --gres=mps:50 reads as half a GPU.
  if (kind == "mps" && *n % 100 != 0)
    return usage_error("mps:" + std::to_string(*n) + ": the MPS count per GPU must be a multiple of 100", "--share");
  o.share_kind = kind;
  o.share_per_gpu = *n;
  return o;
}

namespace {

// Slurm names a node by its short host name (slurmd's gethostname_short()).
std::string slurm_node_name(const NodeFacts& node) {
  std::string host = node_name(node);
  return host.substr(0, host.find('.'));
}

// The whole GPUs a shard or mps line names: a MIG instance is already a share
// of its GPU, and gpumatch does not split it further.
std::vector<const slurm::GresRecord*> shareable(const slurm::GresConf& gres) {
  std::vector<const slurm::GresRecord*> out;
  for (const auto& r : gres.records)
    if (!r.mig && r.vendor == "nvidia") out.push_back(&r);
  return out;
}

std::string slurm_conf_section(const SlotPlan& plan, const NodeFacts& node, const NodeModel& model,
                               const slurm::GresConf& gres, const SlurmPlanOptions& o, int shares) {
  const std::string host = slurm_node_name(node);
  std::string out = "# --- slurm.conf ---\n";
  auto counts = gres.type_counts();
  if (!gres.records.empty()) {
    out += "GresTypes=gpu" + (shares ? "," + o.share_kind : std::string()) + "\n";
    std::string tres = "gres/gpu";
    for (const auto& [type, n] : counts) tres += ",gres/gpu:" + type;
    if (shares) tres += ",gres/" + o.share_kind;
    // slurmctld 22.05 refuses to start with gres TRES and no slurmdbd
    // ("slurmdbd is required to run with TRES gres/gpu"), so the line is for
    // sites that account, to merge with their list.
    out += "# With AccountingStorageType=accounting_storage/slurmdbd, GPU use per type in sacct and sreport:\n";
    out += "#AccountingStorageTRES=" + tres + "\n";
    out += "# Device files are enforced only with cgroups: ProctrackType=proctrack/cgroup, TaskPlugin=task/cgroup\n";
    out += "# (and cgroup.conf below)\n";
  }
  out += "NodeName=" + host;
  if (auto hw = slurm::node_hardware(model)) {
    out += " " + *hw;
  } else {
    out += " CPUs=" + std::to_string(node.threads > 0 ? node.threads : node.cpu_budget());
    if (node.has_memory && node.memory_total_bytes) out += " RealMemory=" + std::to_string(mib(node.memory_total_bytes));
  }
  std::string node_gres = gres.node_gres();
  if (shares) node_gres += "," + o.share_kind + ":" + std::to_string(shares);
  if (!node_gres.empty()) out += " Gres=" + node_gres;
  out += " State=UNKNOWN\n";
  const Requirements& r = plan.gpu_job;
  bool gpu_partition = !plan.gpu_slots.empty() && r.gpus > 0;
  // srun and sbatch without -p go to the Default=YES partition: on a GPU node the GPU one.
  if (gpu_partition) {
    out += "PartitionName=gpu Nodes=" + host + " Default=YES MaxCPUsPerNode=" + std::to_string(gpu_slot_cores(plan)) +
           " DefCpuPerGPU=" + std::to_string(r.total_cores() / r.gpus) +
           " DefMemPerGPU=" + std::to_string(mib(r.job_memory_bytes() / static_cast<std::uint64_t>(r.gpus))) + "\n";
  }
  if (plan.cpu_slots > 0) {
    out += "PartitionName=cpu Nodes=" + host + (gpu_partition ? "" : " Default=YES") +
           " MaxCPUsPerNode=" + std::to_string(plan.cpu_slots * plan.cpu_job_cores);
    if (plan.cpu_job_memory_bytes)
      out += " DefMemPerCPU=" + std::to_string(mib(*plan.cpu_job_memory_bytes / static_cast<std::uint64_t>(plan.cpu_job_cores)));
    out += "\n";
  }
  return out;
}

std::string gres_conf_section(const NodeFacts& node, const slurm::GresConf& gres, const SlurmPlanOptions& o) {
  const std::string prefix = "NodeName=" + slurm_node_name(node) + " ";
  std::string out = "# --- gres.conf ---\n";
  for (const auto& note : gres.notes) out += "# " + note + "\n";
  if (gres.records.empty()) return out + "# no GPUs on this node\n";
  bool amd = std::any_of(gres.records.begin(), gres.records.end(), [](const auto& r) { return r.vendor == "amd"; });
  if (o.autodetect == "nvml") {
    // The explicit lines below then only check what slurmd detects: a mismatch drains the node.
    out += prefix + "AutoDetect=" + (amd ? "rsmi" : "nvml") + "\n";
  } else {
    // Without NVML in slurmd, AutoDetect=nvml would drop every GPU it cannot see.
    out += prefix + "AutoDetect=off\n";
  }
  out += gres.lines(prefix);
  auto whole = shareable(gres);
  if (!o.share_kind.empty()) {
    if (gres.any_mig()) out += "# --share: whole GPUs only; MIG instances are not split further\n";
    for (const auto* r : whole)
      out += prefix + "Name=" + o.share_kind + " Count=" + std::to_string(o.share_per_gpu) + " File=" + r->device +
             (r->cores.empty() ? "" : " Cores=" + r->cores) + "\n";
  }
  return out;
}

// Slurm 22.05 hands a job CUDA_VISIBLE_DEVICES as positions, not UUIDs (its
// gres.conf Flags have no env_uuid). Only with ConstrainDevices does the
// position count within the job's own devices, so that 0 is the MIG instance
// it got.
std::string cgroup_conf_section(const slurm::GresConf& gres) {
  if (gres.records.empty()) return {};
  std::string out = "# --- cgroup.conf ---\n";
  if (gres.any_mig())
    out += "# Required for MIG: a job then sees only its instance, and CUDA_VISIBLE_DEVICES=0 names it\n";
  else
    out += "# A job then sees only the device files it was given\n";
  out += "ConstrainDevices=yes\n";
  return out;
}

}  // namespace

std::string render_plan_slurm(const SlotPlan& plan, const NodeFacts& node, const NodeModel& model,
                              const SlurmPlanOptions& options) {
  std::string out = comment_lines(plan, "Slurm lines written by gpumatch --plan for " + slurm_node_name(node));
  out += "# Sections start with \"# --- <file> ---\"; NodeName= is what slurmd -C prints on this node\n";
  slurm::GresConf gres = slurm::gres_conf(model);
  int shares = options.share_kind.empty() ? 0 : options.share_per_gpu * static_cast<int>(shareable(gres).size());
  out += slurm_conf_section(plan, node, model, gres, options, shares);
  out += gres_conf_section(node, gres, options);
  out += cgroup_conf_section(gres);
  return out;
}

}  // namespace gpukit
