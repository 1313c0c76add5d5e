// gpuaccount report FILE|DIR...: the site's view over many account records.
// Records are read one at a time (each file bounded by --max-input-size) and
// folded into fixed aggregates, so memory stays bounded whatever the number
// of records; only the per-key groups (months, sites, VOs, users, models)
// and the hourly occupancy bins grow, with the distinct keys.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "account/usage_class.hpp"
#include "core/cli.hpp"
#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

struct ReportOptions {
  std::vector<std::string> paths;
  std::optional<std::string> month;          // "YYYY-MM": only records that ended in it
  std::optional<std::string> usage_classes;  // a site's thresholds: every record is classified again
};

// GPU-hours are hours of one physical GPU (a MIG slice counts its fraction).
struct ReportGroup {
  long long jobs = 0;
  double held_h = 0, active_h = 0, active_known_h = 0, idle_held_h = 0;
  double energy_kwh = 0, energy_known_h = 0;
  double score_hours = 0, score_known_h = 0;
  double gpm_h = 0, fp64_h = 0, fp32_h = 0, fp16_h = 0, tensor_h = 0;  // precision GPU-hours (activity x held)
  // Error events (records with an "events" object on their devices): jobs whose
  // devices in the group were watched for Xid events, saw one, saw an ECC error
  // (an event, or the uncorrected/corrected counter grew); jobs per Xid.
  long long jobs_events_watched = 0, jobs_with_xid = 0, jobs_with_ecc = 0;
  std::map<std::uint64_t, long long> jobs_by_xid;
};

struct OccupancyBin {
  double window_gpu_s = 0, occupied_gpu_s = 0;
};

struct SkippedFile {
  std::string path, reason;
};

struct Report {
  static constexpr std::size_t max_listed_skips = 1000;
  long long files = 0, records = 0, job_records = 0, node_records = 0, running_records = 0;
  long long outside_month = 0, ignored_files = 0, skipped_count = 0;
  std::vector<SkippedFile> skipped;  // the first max_listed_skips
  std::string first_time, last_time;  // ISO 8601, of the records aggregated
  std::optional<std::string> month;
  std::string class_source;           // "records" or the thresholds' file
  ReportGroup total;
  std::map<std::string, ReportGroup> by_month, by_site, by_vo, by_fqan, by_user, by_model, by_class;
  std::map<long long, OccupancyBin> occupancy;  // hour (epoch / 3600) -> GPU-seconds
};

// The dimensions in output order, with their JSON key and table title.
struct ReportDimension {
  const char* key;    // "by_month"
  const char* title;  // "month"
  std::map<std::string, ReportGroup> Report::*groups;
};
const std::vector<ReportDimension>& report_dimensions();

class ReportBuilder {
 public:
  ReportBuilder(UsageClassRules rules, bool reclassify, std::optional<std::string> month);
  // Adds one file's record, or lists the file as skipped with the reason.
  void add_file(const std::string& path, const InputLimits& limits);
  // Adds every *.json file under `dir`, recursively, in name order.
  void add_directory(const std::string& dir, const InputLimits& limits);
  // Adds a parsed record; the reason when it is not one this report reads.
  Status add_record(const json& document, const std::string& origin);
  const Report& report() const { return report_; }

 private:
  void skip(const std::string& path, const std::string& reason);
  UsageClassRules rules_;
  bool reclassify_;
  Report report_;
};

// Outputs (report_formats.cpp). The JSON follows share/gpukit/schema/report.schema.json.
json report_to_json(const Report& report);
std::string render_report_table(const Report& report);
std::string render_report_csv(const Report& report);
std::string render_report_svg(const Report& report);

ToolInfo report_tool_info();
// Exit status 0 with the report written (skipped files are warned about and
// listed in it); an error (2) when no record could be read at all.
Result<int> run_report(const ReportOptions& options, const CommonOptions& common);

}  // namespace gpukit
