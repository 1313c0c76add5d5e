#include "probe/cgroup.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "core/fsroot.hpp"

namespace gpukit::detail {

namespace {

const char* cgroup_mount = "/sys/fs/cgroup";

struct CgroupEntry {
  std::string controllers;  // "cpu,cpuacct", "" for the unified hierarchy
  std::string path;
};

std::vector<CgroupEntry> read_proc_self_cgroup() {
  std::vector<CgroupEntry> entries;
  auto text = read_text_file(fs_path("/proc/self/cgroup"));
  if (!text) return entries;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-ID:controller-list:cgroup-path (the path may itself hold ':').
    auto a = line.find(':');
    if (a == std::string::npos) continue;
    auto b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    entries.push_back({line.substr(a + 1, b - a - 1), trim(line.substr(b + 1))});
  }
  return entries;
}

bool lists_controller(const std::string& controllers, const std::string& controller) {
  std::istringstream in(controllers);
  std::string c;
  while (std::getline(in, c, ','))
    if (c == controller) return true;
  return false;
}

// From `leaf` up to and including `root` (both absolute directories, leaf under root).
std::vector<std::string> walk_up(const std::string& root, std::string leaf) {
  std::vector<std::string> dirs;
  while (leaf.size() > root.size() && leaf.back() == '/') leaf.pop_back();
  while (true) {
    dirs.push_back(leaf);
    if (leaf.size() <= root.size()) break;
    auto slash = leaf.find_last_of('/');
    if (slash == std::string::npos || slash < root.size()) {
      leaf = root;
    } else {
      leaf = leaf.substr(0, slash);
    }
  }
  return dirs;
}

// Inside a container without its own cgroup namespace, /proc/self/cgroup names
// the host's path, which does not exist in the container's /sys/fs/cgroup: the
// container's own cgroup is then mounted as the root.
std::vector<std::string> hierarchy_dirs(const std::string& root, const std::string& path) {
  if (!path_exists(root)) return {};
  std::string leaf = root + (path == "/" ? "" : path);
  if (!path_exists(leaf)) leaf = root;
  return walk_up(root, leaf);
}

std::optional<long long> parse_ll(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<int> cgroup_version() {
  const std::string root = fs_path(cgroup_mount);
  if (path_exists(root + "/cgroup.controllers")) return 2;
  for (const char* v1 : {"/memory", "/cpu", "/cpuset", "/cpu,cpuacct", "/systemd"})
    if (path_exists(root + v1)) return 1;
  return std::nullopt;
}

std::optional<std::string> cgroup_path() {
  auto entries = read_proc_self_cgroup();
  auto version = cgroup_version();
  if (version == 2 || !version) {
    for (const auto& e : entries)
      if (e.controllers.empty()) return e.path;
  }
  for (const char* controller : {"memory", "cpu"})
    for (const auto& e : entries)
      if (lists_controller(e.controllers, controller)) return e.path;
  if (!entries.empty()) return entries.front().path;
  return std::nullopt;
}

std::vector<std::string> cgroup_directories(const std::string& controller) {
  auto version = cgroup_version();
  if (!version) return {};
  const std::string root = fs_path(cgroup_mount);
  auto entries = read_proc_self_cgroup();
  if (*version == 2) {
    for (const auto& e : entries)
      if (e.controllers.empty()) return hierarchy_dirs(root, e.path);
    return hierarchy_dirs(root, "/");
  }
  for (const auto& e : entries) {
    if (!lists_controller(e.controllers, controller)) continue;
    // v1 mounts a controller under its own name or under the joined list
    // ("cpu,cpuacct"), with the other names as symbolic links.
    for (const std::string& mount : {root + "/" + e.controllers, root + "/" + controller})
      if (path_exists(mount)) return hierarchy_dirs(mount, e.path);
  }
  if (path_exists(root + "/" + controller)) return hierarchy_dirs(root + "/" + controller, "/");
  return {};
}

std::optional<double> cgroup_cpu_quota() {
  std::optional<double> tightest;
  auto take = [&](double cpus) {
    if (cpus > 0 && (!tightest || cpus < *tightest)) tightest = cpus;
  };
  for (const auto& dir : cgroup_directories("cpu")) {
    if (auto line = read_first_line(dir + "/cpu.max")) {
      // "max 100000" (no limit) or "<quota> <period>", microseconds.
      std::istringstream in(*line);
      std::string quota, period;
      in >> quota >> period;
      auto q = parse_ll(quota), p = parse_ll(period);
      if (quota != "max" && q && p && *p > 0) take(static_cast<double>(*q) / static_cast<double>(*p));
      continue;
    }
    auto q = read_integer_file(dir + "/cpu.cfs_quota_us");
    auto p = read_integer_file(dir + "/cpu.cfs_period_us");
    if (q && p && *q > 0 && *p > 0) take(static_cast<double>(*q) / static_cast<double>(*p));  // -1: no limit
  }
  return tightest;
}

std::optional<long long> cgroup_memory_limit() {
  // cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value
  // (9223372036854771712); anything from 2^62 up is no real limit.
  constexpr long long v1_unlimited = 1LL << 62;
  std::optional<long long> tightest;
  auto take = [&](long long bytes) {
    if (bytes >= 0 && bytes < v1_unlimited && (!tightest || bytes < *tightest)) tightest = bytes;
  };
  for (const auto& dir : cgroup_directories("memory")) {
    if (auto line = read_first_line(dir + "/memory.max")) {
      if (*line != "max")
        if (auto v = parse_ll(*line)) take(*v);
      continue;
    }
    if (auto v = read_integer_file(dir + "/memory.limit_in_bytes")) take(*v);
  }
  return tightest;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::optional<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::istringstream in(trim(text));
  std::string part;
  while (std::getline(in, part, ',')) {
    part = trim(part);
    if (part.empty()) return std::nullopt;
    auto dash = part.find('-');
    auto lo = parse_ll(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : parse_ll(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo) return std::nullopt;
    for (long long c = *lo; c <= *hi; ++c) cpus.push_back(static_cast<int>(c));
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

}  // namespace gpukit::detail
