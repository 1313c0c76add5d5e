#include "account/proc_tree.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string_view>

#include "core/fsroot.hpp"

namespace gpukit {

namespace {

// Plain open/read: these files are read for every process every interval, and
// an ifstream per file costs more than the read itself.
std::optional<std::string> read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

std::optional<std::uint64_t> field_value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    auto line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string rest(line.substr(key.size() + 1));
      char* end = nullptr;
      unsigned long long v = std::strtoull(rest.c_str(), &end, 10);
      if (end != rest.c_str()) return v;
      return std::nullopt;
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

std::string proc(int pid, const char* file) { return fs_path("/proc/" + std::to_string(pid) + "/" + file); }

long clock_ticks() {
  static const long ticks = [] {
    long t = ::sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
  }();
  return ticks;
}

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<ProcessReading> read_process(int pid) {
  auto stat = read_proc_file(proc(pid, "stat"));
  if (!stat) return std::nullopt;
  // The command name is in parentheses and may itself hold spaces and ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string_view> f;  // f[0] is field 3 (state)
  std::string_view rest(*stat);
  rest.remove_prefix(close + 1);
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    auto j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) f.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  if (f.size() < 22) return std::nullopt;
  auto num = [&](std::size_t field) { return std::strtoull(std::string(f[field - 3]).c_str(), nullptr, 10); };
  ProcessReading p;
  p.pid = pid;
  p.ppid = static_cast<int>(num(4));
  double tick = 1.0 / static_cast<double>(clock_ticks());
  p.utime_s = static_cast<double>(num(14) + num(16)) * tick;
  p.stime_s = static_cast<double>(num(15) + num(17)) * tick;
  p.threads = static_cast<int>(num(20));
  p.start_ticks = num(22);
  p.vmem_kb = num(23) / 1024;
  static const long page_kb = [] {
    long sz = ::sysconf(_SC_PAGESIZE);
    return sz > 0 ? sz / 1024 : 4;
  }();
  p.rss_kb = num(24) * static_cast<unsigned long long>(page_kb);

  if (auto rollup = read_proc_file(proc(pid, "smaps_rollup"))) {
    if (auto rss = field_value(*rollup, "Rss")) p.rss_kb = *rss;
    p.pss_kb = field_value(*rollup, "Pss");
    p.swap_kb = field_value(*rollup, "Swap");
  }
  if (!p.swap_kb) {
    if (auto status = read_proc_file(proc(pid, "status"))) p.swap_kb = field_value(*status, "VmSwap");
  }
  if (auto io = read_proc_file(proc(pid, "io"))) {
    p.rchar = field_value(*io, "rchar");
    p.wchar = field_value(*io, "wchar");
    p.read_bytes = field_value(*io, "read_bytes");
    p.write_bytes = field_value(*io, "write_bytes");
  }
  return p;
}

std::vector<int> process_children(int pid) {
  std::vector<int> children;
  auto tasks = list_directory(fs_path("/proc/" + std::to_string(pid) + "/task"));
  bool have_children_files = false;
  for (const auto& tid : tasks) {
    auto text = read_proc_file(fs_path("/proc/" + std::to_string(pid) + "/task/" + tid + "/children"));
    if (!text) continue;
    have_children_files = true;
    const char* s = text->c_str();
    char* end = nullptr;
    for (long v = std::strtol(s, &end, 10); end != s; v = std::strtol(s, &end, 10)) {
      children.push_back(static_cast<int>(v));
      s = end;
    }
  }
  if (!have_children_files && !tasks.empty()) {
    for (const auto& name : list_directory(fs_path("/proc"))) {
      if (!is_number(name)) continue;
      int child = std::atoi(name.c_str());
      if (auto p = read_process(child); p && p->ppid == pid) children.push_back(child);
    }
  }
  std::sort(children.begin(), children.end());
  children.erase(std::unique(children.begin(), children.end()), children.end());
  return children;
}

TreeReading read_tree(int root, bool include_root) {
  TreeReading t;
  std::deque<int> queue{root};
  std::set<int> seen{root};
  while (!queue.empty()) {
    int pid = queue.front();
    queue.pop_front();
    for (int c : process_children(pid))
      if (seen.insert(c).second) queue.push_back(c);
    if (pid == root && !include_root) continue;
    auto p = read_process(pid);
    if (!p) continue;
    t.pids.push_back(pid);
    t.processes += 1;
    t.threads += p->threads;
    t.utime_s += p->utime_s;
    t.stime_s += p->stime_s;
    t.vmem_kb += p->vmem_kb;
    t.rss_kb += p->rss_kb;
    if (p->pss_kb) t.pss_kb += *p->pss_kb;
    else t.pss_complete = false;
    if (p->swap_kb) t.swap_kb += *p->swap_kb;
    if (p->rchar && p->wchar && p->read_bytes && p->write_bytes) {
      t.rchar += *p->rchar;
      t.wchar += *p->wchar;
      t.read_bytes += *p->read_bytes;
      t.write_bytes += *p->write_bytes;
    } else {
      t.io_complete = false;
    }
  }
  std::sort(t.pids.begin(), t.pids.end());
  return t;
}

std::optional<std::string> cgroup_of(int pid) {
  auto text = read_proc_file(proc(pid, "cgroup"));
  if (!text) return std::nullopt;
  std::size_t pos = 0;
  while (pos < text->size()) {
    auto eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    auto line = text->substr(pos, eol - pos);
    if (line.rfind("0::", 0) == 0) return line.substr(3);
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<CgroupReading> read_cgroup(const std::string& path) {
  std::string dir = fs_path("/sys/fs/cgroup" + (path == "/" ? std::string() : path));
  auto procs = read_proc_file(dir + "/cgroup.procs");
  if (!procs) return std::nullopt;
  CgroupReading c;
  c.path = path;
  const char* s = procs->c_str();
  char* end = nullptr;
  for (long v = std::strtol(s, &end, 10); end != s; v = std::strtol(s, &end, 10)) {
    c.procs.push_back(static_cast<int>(v));
    s = end;
  }
  if (auto stat = read_proc_file(dir + "/cpu.stat")) {
    auto us = [&](const char* key) -> std::optional<double> {
      // cpu.stat lines are "key value", not "key: value".
      std::string k = std::string("\n") + key + " ";
      std::string t = "\n" + *stat;
      auto at = t.find(k);
      if (at == std::string::npos) return std::nullopt;
      return std::strtod(t.c_str() + at + k.size(), nullptr) / 1e6;
    };
    c.cpu_usage_s = us("usage_usec");
    c.cpu_user_s = us("user_usec");
    c.cpu_system_s = us("system_usec");
  }
  auto integer = [&](const char* file) -> std::optional<std::uint64_t> {
    auto v = read_integer_file(dir + "/" + file);
    if (!v || *v < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*v);
  };
  c.memory_current_bytes = integer("memory.current");
  c.memory_peak_bytes = integer("memory.peak");
  c.swap_current_bytes = integer("memory.swap.current");
  c.pids_current = integer("pids.current");
  return c;
}

bool cgroup_is_exclusive(const CgroupReading& cgroup, const std::set<int>& job, const std::set<int>& also) {
  if (cgroup.procs.empty()) return false;
  return std::all_of(cgroup.procs.begin(), cgroup.procs.end(),
                     [&](int pid) { return job.count(pid) || also.count(pid); });
}

}  // namespace gpukit
