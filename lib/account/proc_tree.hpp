// The CPU side of a job from /proc (through fs_path, so fixtures can replay a
// machine): the process tree under a root and the quantities prmon records for
// it, and the figures of the job's cgroup (v2) when it has one.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gpukit {

// One process as read from /proc/<pid>/{stat,smaps_rollup,status,io}.
struct ProcessReading {
  int pid = 0, ppid = 0;
  double utime_s = 0, stime_s = 0;     // own time plus that of waited-for children (cutime, cstime)
  int threads = 0;
  unsigned long long start_ticks = 0;  // starttime: tells a reused pid from the original
  std::uint64_t vmem_kb = 0, rss_kb = 0;
  std::optional<std::uint64_t> pss_kb, swap_kb;  // smaps_rollup (status VmSwap as fallback for swap)
  std::optional<std::uint64_t> rchar, wchar, read_bytes, write_bytes;  // /proc/<pid>/io (same user only)
};

// Sums over a process tree at one instant; memory in kB and I/O in bytes as in prmon.
struct TreeReading {
  std::vector<int> pids;
  double utime_s = 0, stime_s = 0;
  int processes = 0, threads = 0;
  std::uint64_t vmem_kb = 0, rss_kb = 0, pss_kb = 0, swap_kb = 0;
  std::uint64_t rchar = 0, wchar = 0, read_bytes = 0, write_bytes = 0;
  bool pss_complete = true;  // false when a process's smaps_rollup could not be read
  bool io_complete = true;   // false when a process's io file could not be read
};

// nullopt when the process is gone (or /proc/<pid>/stat is unreadable).
std::optional<ProcessReading> read_process(int pid);

// Direct children of `pid`, from /proc/<pid>/task/*/children; falls back to a
// scan of every /proc/<n>/stat when the kernel lacks the children files.
std::vector<int> process_children(int pid);

// The tree under `root` (included unless `include_root` is false), summed.
TreeReading read_tree(int root, bool include_root);

// A cgroup v2 directory and what it says about the processes in it.
struct CgroupReading {
  std::string path;                                // "/system.slice/slurmstepd.scope/job_42"
  std::optional<double> cpu_usage_s, cpu_user_s, cpu_system_s;  // cpu.stat
  std::optional<std::uint64_t> memory_current_bytes, memory_peak_bytes, swap_current_bytes;
  std::optional<std::uint64_t> pids_current;
  std::vector<int> procs;                          // cgroup.procs
};

// The v2 cgroup of `pid` ("0::<path>" in /proc/<pid>/cgroup); nullopt on a
// v1-only host or when the file is unreadable.
std::optional<std::string> cgroup_of(int pid);
std::optional<CgroupReading> read_cgroup(const std::string& path);

// True when every process in the cgroup belongs to `job` or is one of `also`
// (gpuaccount itself): the figures then describe this job alone.
bool cgroup_is_exclusive(const CgroupReading& cgroup, const std::set<int>& job, const std::set<int>& also);

}  // namespace gpukit
