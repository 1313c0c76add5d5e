#include "match/placement.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/units.hpp"
#include "match/cpuset.hpp"

namespace gpukit {

Placer::Placer(const NodeFacts& node) : node_(node), cpu_budget_left_(node.cpu_budget()), memory_left_(node.usable_memory_bytes()) {}

int Placer::free_cpus() const {
  int free = 0;
  for (int c : node_.allowed_cpus)
    if (!used_cpus_.count(c)) ++free;
  return std::min(free, cpu_budget_left_);
}

bool Placer::device_free(const NodeDevice& d) const {
  if (used_devices_.count(d.id)) return false;
  // A whole GPU is not free when one of its instances is taken, and the reverse.
  if (d.parent_id && used_devices_.count(*d.parent_id)) return false;
  if (d.kind == "gpu")
    for (const auto& other : node_.devices)
      if (other.parent_id && *other.parent_id == d.id && used_devices_.count(other.id)) return false;
  return true;
}

bool Placer::take_cpus(const std::vector<int>& preferred, bool preferred_only, int count, std::set<int>& taken) const {
  auto usable = [&](int c) {
    return !used_cpus_.count(c) && !taken.count(c) &&
           std::binary_search(node_.allowed_cpus.begin(), node_.allowed_cpus.end(), c);
  };
  int got = 0;
  for (int c : preferred)
    if (got < count && usable(c)) taken.insert(c), ++got;
  if (got < count && !preferred_only) {
    // Stay on one NUMA node where possible: the preferred CPUs' node first.
    std::optional<int> home = preferred.empty() ? std::nullopt : node_.numa_of_cpu(preferred.front());
    for (const auto& n : node_.numa_nodes)
      if (home && n.index == *home)
        for (int c : n.cpus)
          if (got < count && usable(c)) taken.insert(c), ++got;
    for (int c : node_.allowed_cpus)
      if (got < count && usable(c)) taken.insert(c), ++got;
  }
  return got == count;
}

namespace {

RuleResult ok(std::string rule, std::string reason) { return {std::move(rule), Outcome::pass, std::move(reason)}; }
RuleResult no(std::string rule, std::string reason) { return {std::move(rule), Outcome::fail, std::move(reason)}; }

// Small devices first (MIG instances before whole GPUs) so large ones stay free.
bool smaller(const NodeDevice* a, const NodeDevice* b) {
  bool am = a->kind == "mig", bm = b->kind == "mig";
  if (am != bm) return am;
  auto ma = a->memory_bytes.value_or(0), mb = b->memory_bytes.value_or(0);
  if (ma != mb) return ma < mb;
  return a->gpu_index != b->gpu_index ? a->gpu_index < b->gpu_index : a->id < b->id;
}

}  // namespace

std::string Placer::quota_words() const {
  if (!node_.usable_cpus || *node_.usable_cpus >= static_cast<double>(node_.allowed_cpus.size())) return "";
  std::ostringstream s;
  s << " (cgroup quota " << *node_.usable_cpus << " CPUs)";
  return s.str();
}

JobPlacement Placer::place(const Requirements& job, const std::vector<DeviceVerdict>& verdicts) {
  JobPlacement p;
  p.job = job.name;
  p.memory_bytes = job.job_memory_bytes();
  p.pinned_bytes = job.pinned_total_bytes();
  const int cores = job.total_cores();

  // Node-wide limits first: they do not depend on which GPUs are chosen.
  bool limits_ok = true;
  if (!node_.has_cpu) {
    p.rules.push_back({"cores", Outcome::unknown, "the document has no cpu section; cores not assigned"});
  } else if (free_cpus() < cores) {
    p.rules.push_back(no("cores", std::to_string(cores) + " cores needed, " + std::to_string(free_cpus()) + " free of " +
                                      std::to_string(node_.cpu_budget()) + " usable" +
                                      quota_words()));
    limits_ok = false;
  }
  if (memory_left_) {
    if (*memory_left_ < p.memory_bytes) {
      p.rules.push_back(no("memory", format_bytes(p.memory_bytes) + " needed, " + format_bytes(*memory_left_) + " left" +
                                         (node_.cgroup_limit_bytes ? " under the cgroup limit" : "")));
      limits_ok = false;
    } else if (p.memory_bytes > 0) {
      p.rules.push_back(ok("memory", format_bytes(p.memory_bytes) + " of " + format_bytes(*memory_left_) + " left"));
    }
  } else if (p.memory_bytes > 0) {
    p.rules.push_back({"memory", Outcome::unknown, "the document has no memory section"});
  }
  if (p.pinned_bytes > 0) {
    if (!node_.has_memory)
      p.rules.push_back({"pinned_memory", Outcome::unknown, "RLIMIT_MEMLOCK unknown (no memory section)"});
    else if (node_.memlock_limit_bytes && *node_.memlock_limit_bytes < p.pinned_bytes) {
      p.rules.push_back(no("pinned_memory", "RLIMIT_MEMLOCK " + format_bytes(*node_.memlock_limit_bytes) + " < " +
                                                format_bytes(p.pinned_bytes) + " of pinned memory (" +
                                                format_bytes(job.pinned_memory_per_gpu_bytes.value_or(0)) + " per GPU)"));
      limits_ok = false;
    } else {
      p.rules.push_back(ok("pinned_memory", format_bytes(p.pinned_bytes) + " pinned; RLIMIT_MEMLOCK " +
                                                (node_.memlock_limit_bytes ? format_bytes(*node_.memlock_limit_bytes) : "unlimited")));
    }
  }

  // Devices the job could use, free now.
  std::vector<const NodeDevice*> candidates;
  if (job.gpu_job()) {
    for (const auto& v : verdicts)
      if (v.fits && device_free(*v.device)) candidates.push_back(v.device);
    std::sort(candidates.begin(), candidates.end(), smaller);
    int fitting = 0;
    for (const auto& v : verdicts) fitting += v.fits ? 1 : 0;
    if (static_cast<int>(candidates.size()) < job.gpus) {
      p.rules.push_back(no("gpus", std::to_string(job.gpus) + " device(s) needed, " + std::to_string(candidates.size()) +
                                       " fitting and free (" + std::to_string(fitting) + " fit)"));
      return p;
    }
  }
  if (!limits_ok) return p;

  // Try the GPUs of one NUMA node first; then pick greedily from all
  // candidates, skipping a device whose node has no cores left for it.
  std::vector<std::vector<const NodeDevice*>> options;
  if (job.gpu_job()) {
    std::map<int, std::vector<const NodeDevice*>> by_node;
    for (const auto* d : candidates) by_node[d->numa_node.value_or(-1)].push_back(d);
    for (auto& [numa, list] : by_node)
      if (numa >= 0 && static_cast<int>(list.size()) >= job.gpus)
        options.emplace_back(list.begin(), list.begin() + job.gpus);
    options.push_back(candidates);  // the greedy pass
  } else {
    options.emplace_back();
  }

  std::string numa_problem;
  for (std::size_t option = 0; option < options.size(); ++option) {
    const bool greedy = job.gpu_job() && option + 1 == options.size();
    std::vector<const NodeDevice*> choice;
    std::set<int> taken;
    bool cpus_ok = true;
    if (greedy) {
      for (std::size_t i = 0; i < options[option].size() && static_cast<int>(choice.size()) < job.gpus; ++i) {
        const NodeDevice* d = options[option][i];
        int k = static_cast<int>(choice.size());
        int share = cores / job.gpus + (k < cores % job.gpus ? 1 : 0);
        std::set<int> trial = taken;
        if (node_.has_cpu) {
          if (job.numa_local && d->local_cpus.empty()) {
            numa_problem = d->id + ": its local CPUs are unknown";
            continue;
          }
          if (!take_cpus(d->local_cpus, job.numa_local, share, trial)) {
            if (job.numa_local) numa_problem = d->id + ": fewer than " + std::to_string(share) + " free CPUs on its NUMA node";
            continue;
          }
        }
        choice.push_back(d);
        taken = std::move(trial);
      }
      cpus_ok = static_cast<int>(choice.size()) == job.gpus;
    } else {
      choice = options[option];
    }
    if (node_.has_cpu && !greedy) {
      if (choice.empty()) {
        // CPU-only job: the NUMA node with the most free CPUs, spilling over if needed.
        std::vector<int> preferred;
        std::size_t best = 0;
        for (const auto& n : node_.numa_nodes) {
          std::vector<int> free;
          for (int c : n.cpus)
            if (!used_cpus_.count(c) && std::binary_search(node_.allowed_cpus.begin(), node_.allowed_cpus.end(), c))
              free.push_back(c);
          if (free.size() > best) best = free.size(), preferred = free;
        }
        cpus_ok = take_cpus(preferred, false, cores, taken);
      } else {
        int n = static_cast<int>(choice.size());
        for (int i = 0; i < n && cpus_ok; ++i) {
          int share = cores / n + (i < cores % n ? 1 : 0);
          const NodeDevice* d = choice[i];
          if (job.numa_local && d->local_cpus.empty()) {
            numa_problem = d->id + ": its local CPUs are unknown";
            cpus_ok = false;
            break;
          }
          if (!take_cpus(d->local_cpus, job.numa_local, share, taken)) {
            if (job.numa_local) numa_problem = d->id + ": fewer than " + std::to_string(share) + " free CPUs on its NUMA node";
            cpus_ok = false;
          }
        }
      }
    }
    if (!cpus_ok) continue;
    // NUMA memory, when the job must stay local.
    std::set<int> numa;
    for (int c : taken)
      if (auto nn = node_.numa_of_cpu(c)) numa.insert(*nn);
    if (job.numa_local && p.memory_bytes > 0 && !numa.empty()) {
      std::uint64_t local_memory = 0;
      bool known = true;
      for (const auto& n : node_.numa_nodes)
        if (numa.count(n.index)) {
          if (n.memory_bytes) local_memory += *n.memory_bytes;
          else known = false;
        }
      if (known && local_memory < p.memory_bytes) {
        numa_problem = "NUMA node(s) hold " + format_bytes(local_memory) + " < " + format_bytes(p.memory_bytes);
        continue;
      }
    }
    // Commit.
    p.placed = true;
    p.devices = choice;
    p.cpus.assign(taken.begin(), taken.end());
    p.numa_nodes.assign(numa.begin(), numa.end());
    for (const auto* d : choice) used_devices_.insert(d->id);
    for (int c : taken) used_cpus_.insert(c);
    cpu_budget_left_ -= static_cast<int>(taken.size());
    if (memory_left_) *memory_left_ -= std::min(*memory_left_, p.memory_bytes);
    if (job.gpu_job()) {
      std::vector<std::string> ids;
      for (const auto* d : choice) ids.push_back(d->id);
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      p.rules.insert(p.rules.begin(), ok("gpus", std::to_string(job.gpus) + " device(s): " + list));
    }
    if (node_.has_cpu) {
      std::string where = p.numa_nodes.size() == 1 ? " on NUMA node " + std::to_string(p.numa_nodes[0]) : "";
      p.rules.push_back(ok("cores", std::to_string(cores) + " CPUs " + format_cpu_list(p.cpus) + where));
      if (job.numa_local) p.rules.push_back(ok("numa_locality", "every GPU's cores are on its NUMA node"));
    }
    return p;
  }
  if (job.numa_local)
    p.rules.push_back(no("numa_locality", numa_problem.empty() ? "no NUMA-local set of cores is free" : numa_problem));
  else
    p.rules.push_back(no("cores", "no free CPUs to go with the chosen devices"));
  return p;
}

json to_json(const JobPlacement& p) {
  json j = json::object();
  j["job"] = p.job;
  j["placed"] = p.placed;
  json devices = json::array();
  for (const auto* d : p.devices) devices.push_back(d->id);
  j["devices"] = std::move(devices);
  j["cpus"] = format_cpu_list(p.cpus);
  j["cpu_count"] = p.cpus.size();
  j["numa_nodes"] = p.numa_nodes;
  j["memory_bytes"] = p.memory_bytes;
  j["pinned_memory_bytes"] = p.pinned_bytes;
  json rules = json::array();
  for (const auto& r : p.rules) rules.push_back(to_json(r));
  j["rules"] = std::move(rules);
  return j;
}

namespace {

// UUIDs come from the document: only these characters may reach a shell line.
bool shell_safe(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

std::string device_token(const NodeDevice& d) {
  if (d.uuid && shell_safe(*d.uuid)) return *d.uuid;
  return std::to_string(d.vendor_index);
}

}  // namespace

std::string render_env(const JobPlacement& p) {
  std::string label = shell_safe(p.job) ? p.job : std::string("the job");
  std::string out = "# gpumatch placement for " + label + "\n";
  std::vector<std::string> nvidia, amd;
  for (const auto* d : p.devices) {
    if (d->vendor == "nvidia") nvidia.push_back(device_token(*d));
    if (d->vendor == "amd") amd.push_back(device_token(*d));
  }
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
  };
  // Only safe characters reach these lines (UUIDs, numbers, commas, dashes).
  if (!amd.empty()) out += "export ROCR_VISIBLE_DEVICES='" + joined(amd) + "'\n";
  if (!nvidia.empty() || amd.empty()) out += "export CUDA_VISIBLE_DEVICES='" + joined(nvidia) + "'\n";
  if (!p.cpus.empty()) {
    out += "export GPUKIT_CPUS='" + format_cpu_list(p.cpus) + "'\n";
    if (!p.numa_nodes.empty()) out += "export GPUKIT_MEMS='" + format_cpu_list(p.numa_nodes) + "'\n";
    out += "export OMP_NUM_THREADS=" + std::to_string(p.cpus.size()) + "\n";
  }
  return out;
}

}  // namespace gpukit
