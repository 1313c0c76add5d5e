// What a job used of one GPU or MIG instance, accumulated poll by poll from the
// vendor-neutral telemetry (lib/vendors/telemetry.hpp). Pure arithmetic: the
// tests feed it scripted polls.
//
// Units, the same for every attribution method:
//   available_s  wall seconds the job held the device
//   count        the fraction of a physical GPU held: 1, a MIG slice (1g of 7 =
//                0.143); for a device found only through the job's processes
//                and shared with others, the job's mean share of it
//   active_s     busy seconds in units of one physical GPU (100 % for 1 s = 1)
// so that utilisation of what was held = active_s / (available_s x count).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "account/usage_class.hpp"
#include "core/document.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

// How the device's usage was given to the job.
//   exclusive     no other process was seen on it: all of it is the job's
//   process       shared, per-process utilisation from the driver: the job's processes' share
//   device-share  shared, no per-process utilisation: device figures x the job's memory share
//   node          node mode: the whole device, whoever used it
enum class Attribution { exclusive, process, device_share, node };
const char* to_string(Attribution attribution);

// A device the job holds, resolved from the visible devices or found through
// the job's processes.
struct HeldDevice {
  std::string uuid;         // GPU-… or MIG-…
  std::string parent_uuid;  // the GPU of a MIG instance
  bool mig = false;
  std::string model;        // the GPU's name ("NVIDIA A100-SXM4-80GB"); "unknown" when not probed
  std::string profile;      // MIG profile ("1g.10gb")
  double slice = 1;         // fraction of the physical GPU: 1, or the MIG slice
  std::string slice_basis;  // "gpu", "mig_profile", "mig_memory", "unknown"
  bool assigned = true;     // from the visible devices; false: found through the job's processes
  std::string selected_by;  // the token of CUDA_VISIBLE_DEVICES etc. that selected it
  std::optional<bool> healthy;  // gpuprobe --health: no check failed (nullopt: no health data)
};

// The fraction of a GPU a MIG profile holds: "3g.40gb" -> 3/7 (A100, H100, H200
// and B200 have 7 compute slices). Falls back to the memory fraction when the
// profile is not of that form, and to 1 with basis "unknown".
void set_mig_slice(HeldDevice& device, std::optional<double> instance_memory, std::optional<double> gpu_memory);

// One poll of one device.
struct DevicePoll {
  double time_s = 0;  // CLOCK_MONOTONIC
  std::optional<DeviceSample> sample;
  std::string sample_error;  // when sample is empty: the error (a gap)
  std::optional<std::vector<ProcessSample>> processes;
  std::string process_error;
  std::optional<DeviceEvents> events;  // read with the sample
  std::string events_error;
};

// Reads one device: its processes (advancing `cursor`, the driver's
// lastSeenTimeStamp) and, unless `processes_only`, its sample; errors kept as text.
DevicePoll poll_device(TelemetrySource& source, const std::string& uuid, std::uint64_t& cursor, double now_s,
                       bool processes_only = false);
// Completes a processes-only poll with the device's sample and error events.
void add_sample(TelemetrySource& source, const std::string& uuid, DevicePoll& poll);

class GpuUsage {
 public:
  GpuUsage(HeldDevice device, bool node_mode);

  // Adds a poll. `job` holds the job's pids at that moment.
  void add(const DevicePoll& poll, const std::set<int>& job);

  const HeldDevice& device() const { return device_; }
  bool started() const { return last_time_.has_value(); }
  double available_s() const { return available_s_; }
  // GPU-seconds held, in physical-GPU units: available_s() x count(), but
  // accumulated, so that it never decreases (a Prometheus counter).
  double held_s() const { return device_.slice * share_s_; }
  double count() const;
  std::optional<double> active_s() const;
  std::optional<double> energy_j() const;
  std::optional<std::uint64_t> memory_max_bytes() const { return memory_max_; }
  Attribution attribution() const;  // the method that covered most of the time
  double gap_s() const { return gap_s_; }
  int counter_resets() const { return counter_resets_; }
  // A telemetry call for the device did not return: it is no longer read
  // (GuardedTelemetry), and its record says "timeout" from then on.
  void mark_timed_out() { timed_out_ = true; }
  bool timed_out() const { return timed_out_; }

  // The figures of the latest poll, for the time series (prmon's per-sample
  // GPU columns): percentages of a physical GPU, the job's memory, its power.
  struct Latest {
    double sm_pct = 0, memory_util_pct = 0, power_w = 0;
    std::uint64_t memory_bytes = 0;
    std::optional<GpuActivity> activity;  // of the device, whoever ran on it
  };
  const Latest& latest() const { return latest_; }

  // GPM activity over the polls that had it, weighted by their intervals:
  // of the whole device, whoever ran on it. Empty without GPM.
  std::optional<ActivityMeans> activity_mean() const;
  // {"source", "reason", "samples", "mean", "max"} (account.schema.json).
  json activity_json() const;
  // Xid and ECC events and memory retirement over the job (account.schema.json
  // gpus[].events); null counts with the reason where unknown, never 0.
  json events_json() const;

  // The per-device record of the account section (account.schema.json, gpus[]).
  json to_json() const;

 private:
  json last_sample_json() const;
  struct Gap {
    double start_s, end_s;
    std::string error;
  };
  HeldDevice device_;
  bool node_mode_;
  std::optional<double> first_time_, last_time_;
  std::optional<double> last_energy_j_, last_power_w_;
  double available_s_ = 0, share_s_ = 0;   // share_s_: integral of the job's share over time
  double active_s_ = 0, active_known_s_ = 0;
  double energy_j_ = 0, energy_known_s_ = 0;
  bool energy_from_counter_ = false, energy_from_power_ = false, energy_estimated_ = false;
  double occupied_s_ = 0;
  double util_max_pct_ = 0;
  bool util_seen_ = false;
  bool per_process_supported_ = false;
  std::optional<std::uint64_t> memory_max_;
  std::optional<double> power_max_w_;
  std::optional<int> temperature_max_c_, sm_clock_max_mhz_;
  std::set<std::string> throttle_reasons_;
  std::optional<std::uint64_t> ecc_corrected_first_, ecc_corrected_last_;
  std::optional<std::uint64_t> ecc_uncorrected_first_, ecc_uncorrected_last_;
  std::map<std::string, std::string> unavailable_;
  std::map<Attribution, double> method_s_;
  std::set<int> job_pids_seen_, other_pids_seen_;
  int counter_resets_ = 0;
  double gap_s_ = 0;
  std::vector<Gap> gaps_;
  int polls_ = 0;
  bool timed_out_ = false;
  Latest latest_;
  // Error events (NVML events): counted per kind once the device reported them;
  // a kind in events_unavailable_ is unknown (null), as is every kind after a
  // failed read (events_failed_).
  struct XidSeen {
    int count = 0;
    std::map<std::uint64_t, int> by_code;
    double first_s = 0, last_s = 0, first_unix_s = 0, last_unix_s = 0;
  };
  XidSeen xid_;
  int ecc_single_bit_events_ = 0, ecc_double_bit_events_ = 0;
  bool events_read_ = false;
  std::map<std::string, std::string> events_unavailable_;
  std::string events_failed_;
  std::optional<std::uint64_t> retired_pages_first_, retired_pages_last_, remapped_rows_first_, remapped_rows_last_;
  void add_events(const DevicePoll& poll);
  // The device's own readings at the latest poll (temperature, clocks,
  // throttling, ECC counters), for live exporters; empty after a gap.
  std::optional<DeviceSample> last_sample_;
  struct ActivitySum {
    double sum = 0, weight = 0;
    std::optional<double> max;
  };
  std::vector<ActivitySum> activity_ = std::vector<ActivitySum>(activity_fields().size());
  int activity_samples_ = 0;
};

}  // namespace gpukit
