// gpuaccount's output formats besides the JSON document: the APEL accelerator
// usage message, the node_exporter textfile, the prmon-style time series and a
// table for terminals. All work from the account section alone.
#pragma once

#include <functional>

#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

inline constexpr std::size_t apel_max_records = 1000;

// Whether APEL's loader reads `value` as NULL ("none", "null", empty, blank;
// any case), which it refuses in a mandatory field.
bool apel_null(const std::string& value);

// One APEL accelerator record per GPU model the job held (the model is part of
// APEL's primary key). A usage error naming the field when SiteName or
// AssociatedRecord (the job id) is unknown, or when the job held no GPU.
Result<std::vector<json>> apel_records(const json& account);

// Envelopes {"Type": "APEL-accelerator-message", "Version": "0.1",
// "UsageRecords": [...]} of at most apel_max_records records each.
std::vector<json> apel_messages(const std::vector<json>& records);

// The messages, one JSON object a line.
Result<std::string> render_apel(const json& account);

// node_exporter textfile-collector metrics (gpukit_*; no timestamps).
std::string render_prometheus(const json& account);

// prmon's columns, then the GPU columns.
const std::vector<std::string>& series_columns();
std::string series_header();  // tab-separated, newline-terminated

struct SeriesRow {
  long long time = 0;  // Unix seconds
  double wtime = 0;    // seconds since the start
  double utime = 0, stime = 0;
  int nprocs = 0, nthreads = 0;
  std::uint64_t pss = 0, rss = 0, swap = 0, vmem = 0;  // kB
  std::uint64_t rchar = 0, read_bytes = 0, wchar = 0, write_bytes = 0;
  int ngpus = 0;
  double gpusmpct = 0, gpumempct = 0;  // summed over the job's GPUs, as prmon does
  std::uint64_t gpufbmem = 0;          // kB
  double gpu_power_w = 0, gpu_energy_j = 0, gpu_active_s = 0;
  // GPM activity of the job's GPUs in physical-GPU percent, summed as gpusmpct;
  // empty (an empty cell) when none of them has GPM.
  std::optional<double> gpu_sm_active_pct, gpu_tensor_active_pct, gpu_fp64_active_pct, gpu_fp32_active_pct,
      gpu_fp16_active_pct, gpu_dram_active_pct;
};
std::string series_row(const SeriesRow& row);

std::string render_account_table(const json& account);

// The Xids NVIDIA's Xid catalogue (docs.nvidia.com/deploy/xid-errors) names and
// man/man1/gpuaccount.1 explains: the textfile labels these, and "other" for the rest,
// so that the label's values stay bounded.
inline constexpr int xid_catalogue[] = {13, 31, 43, 48, 63, 64, 74, 79, 92, 94, 95, 119};

// A device's error events in a few words ("xid 79; dbe 1", "none"), "-" when unknown.
std::string events_summary(const json& device);

// The GPM families and usage classes of the textfile (formats_activity.cpp);
// `labels` gives a device's label set.
std::string render_prometheus_activity(const json& account, const std::function<std::string(const json&)>& labels);

}  // namespace gpukit
