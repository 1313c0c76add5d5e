// The account section of the node document, assembled from the CPU and GPU
// accumulators, and the normalised usage (score-hours) from benchmark scores.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "account/gpu_usage.hpp"
#include "account/identity.hpp"
#include "account/proc_tree.hpp"
#include "account/usage_class.hpp"
#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

// The process tree's figures over the job: CPU times and I/O are cumulative
// (kept monotonic: a process that leaves the tree unwaited takes its counts
// with it), memory and counts are maxima.
class CpuUsage {
 public:
  void add(const TreeReading& tree);
  // The payload's and reaped descendants' rusage (wrap mode, at exit).
  void add_rusage(double user_s, double system_s, std::uint64_t max_rss_kb);
  double utime_s() const { return utime_s_; }
  double stime_s() const { return stime_s_; }
  const TreeReading& last() const { return last_; }
  json to_json() const;

 private:
  TreeReading last_;
  double utime_s_ = 0, stime_s_ = 0;
  std::uint64_t max_vmem_kb_ = 0, max_rss_kb_ = 0, max_pss_kb_ = 0, max_swap_kb_ = 0;
  std::uint64_t rchar_ = 0, wchar_ = 0, read_bytes_ = 0, write_bytes_ = 0;
  std::uint64_t max_single_rss_kb_ = 0;
  int max_processes_ = 0, max_threads_ = 0;
  bool pss_complete_ = true, io_complete_ = true;
  int readings_ = 0;
};

// The cgroup's figures over the job (first reading kept to report deltas).
class CgroupUsage {
 public:
  void add(const CgroupReading& reading, bool exclusive);
  json to_json() const;

 private:
  std::optional<CgroupReading> first_, last_;
  std::optional<std::uint64_t> memory_max_bytes_;
  bool exclusive_ = true;
};

// Benchmark scores used to normalise usage, as APEL does with HS23 for CPUs:
// gpubench's bench.scores (or a --benchmark file of the same shape),
//   {"benchmark_type": "gpukit-hep/0.1", "gpu_per_device": {"<uuid>": X},
//    "models": {"<model>": X}, "cpu_per_core": Y, ...}
struct BenchmarkScores {
  std::string benchmark_type;
  std::map<std::string, double> gpu_by_uuid;
  std::map<std::string, double> gpu_by_model;
  std::optional<double> cpu_score_per_core;
  std::string source;                            // the file, or "bench.scores"
  bool has_gpu() const { return !gpu_by_uuid.empty() || !gpu_by_model.empty(); }
  // The device's own score first (a MIG instance: its parent GPU's), then its model's.
  std::optional<double> gpu_score_for(const std::string& uuid, const std::string& parent_uuid,
                                      const std::string& model) const;
};

// From a --benchmark file or the document's bench section (its "scores" object
// has the shape above). A usage error naming `origin` and the key when malformed.
Result<BenchmarkScores> parse_benchmark_scores(const json& value, const std::string& origin);

struct AccountMeta {
  std::string mode;    // "wrap", "attach", "node"
  std::string status;  // "running", "complete", "interrupted"
  std::vector<std::string> command;
  std::optional<int> pid;
  std::string start_time, end_time;  // ISO 8601 UTC; end empty while running
  double interval_s = 1;
  int samples = 0;
  double wall_s = 0;
  std::optional<int> exit_status, exit_code;
  std::optional<std::string> exit_signal;
  std::vector<std::string> signals_forwarded;
  std::vector<int> descendants_left;
  std::vector<std::string> problems;
  // gpuaccount's own failures that cost part of the record (a step that threw,
  // an output that could not be written): "step: reason". Empty when none.
  std::vector<std::string> degraded;
  std::string telemetry;  // "nvml", or "" with the reason in problems
  // The usage-class rules (share/gpukit/usage-classes.json and a site's
  // thresholds); without them no class is given.
  const UsageClassRules* usage_classes = nullptr;
};

json account_section(const AccountMeta& meta, const JobIdentity& identity, const CpuUsage& cpu,
                     const std::optional<CgroupUsage>& cgroup, const std::vector<GpuUsage>& gpus,
                     const std::optional<BenchmarkScores>& scores);

}  // namespace gpukit
