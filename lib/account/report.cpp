#include "account/report.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/io.hpp"
#include "core/units.hpp"

namespace gpukit {

const std::vector<ReportDimension>& report_dimensions() {
  static const std::vector<ReportDimension> dims = {
      {"by_month", "month", &Report::by_month},  {"by_site", "site", &Report::by_site},
      {"by_vo", "VO", &Report::by_vo},           {"by_fqan", "FQAN", &Report::by_fqan},
      {"by_user", "user", &Report::by_user},     {"by_model", "GPU model", &Report::by_model},
      {"by_class", "usage class", &Report::by_class},
  };
  return dims;
}

namespace {

// "2026-11-24T03:13:25Z" (what utc_timestamp writes) as seconds since the epoch.
std::optional<long long> parse_utc(const std::string& text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z')
    return std::nullopt;
  auto field = [&](std::size_t at, std::size_t n) { return parse_integer<int>(std::string_view(text).substr(at, n)); };
  auto y = field(0, 4), mo = field(5, 2), d = field(8, 2), h = field(11, 2), mi = field(14, 2), s = field(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *s;
  return static_cast<long long>(::timegm(&tm));
}

// What the report takes from one device of a record.
struct DeviceView {
  std::string uuid, model;
  bool mig = false;
  double count = 1, available_s = 0;
  std::optional<double> active_s, energy_j, utilization_pct, occupancy, score_hours;
  std::optional<ActivityMeans> means;
  std::optional<std::string> usage_class;
  // Error events: empty when the record predates them or the device was not watched.
  bool xid_watched = false, ecc_seen = false;
  std::vector<std::uint64_t> xid_codes;
};

struct RecordView {
  std::string mode, status, time;  // time: end, else start
  long long start_epoch = 0;
  double wall_s = 0;
  std::string site, user, fqan;
  std::vector<DeviceView> devices;
};

// Typed access that names the JSON path of what is wrong; never throws.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}
  const std::optional<Error>& error() const { return error_; }

  const json* member(const json& object, const char* key, const std::string& path, bool required = true) {
    if (error_) return nullptr;
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) fail(path + "/" + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  std::optional<std::string> string(const json& object, const char* key, const std::string& path, bool nullable) {
    const json* v = member(object, key, path, !nullable);
    if (!v || (nullable && v->is_null())) return std::nullopt;
    if (!v->is_string()) return expected(path + "/" + key, nullable ? "a string or null" : "a string", *v), std::nullopt;
    return v->get<std::string>();
  }
  std::optional<double> number(const json& object, const char* key, const std::string& path, bool nullable,
                               bool required = true) {
    const json* v = member(object, key, path, required && !nullable);
    if (!v || (nullable && v->is_null())) return std::nullopt;
    if (!v->is_number()) return expected(path + "/" + key, nullable ? "a number or null" : "a number", *v), std::nullopt;
    double d = v->get<double>();
    if (d < 0) return fail(path + "/" + key, "must not be negative"), std::nullopt;
    return d;
  }
  const json* object(const json& parent, const char* key, const std::string& path, bool nullable) {
    const json* v = member(parent, key, path, !nullable);
    if (!v || (nullable && v->is_null())) return nullptr;
    if (!v->is_object()) return expected(path + "/" + key, nullable ? "an object or null" : "an object", *v), nullptr;
    return v;
  }
  void expected(const std::string& path, const char* what, const json& found) {
    fail(path, std::string("expected ") + what + ", found " + json_type_name(found));
  }
  void fail(const std::string& path, const std::string& problem) {
    if (!error_) error_ = usage_error(problem, origin_ + ": " + path);
  }

 private:
  std::string origin_;
  std::optional<Error> error_;
};

std::map<std::string, double> score_hours_by_uuid(Reader& r, const json& account) {
  std::map<std::string, double> out;
  const json* n = r.object(account, "normalised", "/account", true);
  if (!n) return out;
  const json* g = r.object(*n, "gpu", "/account/normalised", true);
  if (!g) return out;
  const json* devices = r.member(*g, "devices", "/account/normalised/gpu", false);
  if (!devices || !devices->is_array()) return out;
  for (std::size_t i = 0; i < devices->size(); ++i) {
    const json& d = (*devices)[i];
    std::string at = "/account/normalised/gpu/devices/" + std::to_string(i);
    if (!d.is_object()) {
      r.expected(at, "an object", d);
      return out;
    }
    auto uuid = r.string(d, "uuid", at, false);
    auto h = r.number(d, "score_hours", at, true);
    if (uuid && h) out[*uuid] = *h;
  }
  return out;
}

// Records from before error events have no "events" object.
void read_events(Reader& r, const json& d, const std::string& at, DeviceView& v) {
  const json* e = r.object(d, "events", at, true);
  if (!e) return;
  const std::string ea = at + "/events";
  if (const json* xid = r.object(*e, "xid", ea, true)) {
    v.xid_watched = true;
    const json* codes = r.member(*xid, "codes", ea + "/xid");
    if (codes && !codes->is_array()) return r.expected(ea + "/xid/codes", "an array", *codes);
    if (codes)
      for (const auto& c : *codes) {
        if (!c.is_number_integer() || c.get<long long>() < 0)
          return r.expected(ea + "/xid/codes", "Xids (integers from 0)", c);
        v.xid_codes.push_back(c.get<std::uint64_t>());
      }
  }
  for (const char* key : {"ecc_single_bit_events", "ecc_double_bit_events"})
    if (auto n = r.number(*e, key, ea, true, false); n && *n > 0) v.ecc_seen = true;
  for (const char* key : {"ecc_corrected_errors", "ecc_uncorrected_errors"})
    if (auto n = r.number(d, key, at, true, false); n && *n > 0) v.ecc_seen = true;
}

std::optional<DeviceView> read_device(Reader& r, const json& d, const std::string& at) {
  if (!d.is_object()) return r.expected(at, "an object", d), std::nullopt;
  DeviceView v;
  v.uuid = r.string(d, "uuid", at, false).value_or("");
  v.model = r.string(d, "model", at, false).value_or("");
  v.mig = r.string(d, "kind", at, false).value_or("") == "mig";
  v.count = r.number(d, "count", at, false).value_or(0);
  v.available_s = r.number(d, "available_s", at, false).value_or(0);
  v.active_s = r.number(d, "active_s", at, true);
  v.energy_j = r.number(d, "energy_j", at, true);
  v.utilization_pct = r.number(d, "utilization_mean_pct", at, true);
  v.occupancy = r.number(d, "occupancy", at, true, false);
  // Records from before activity profiles have neither key.
  if (const json* activity = r.object(d, "activity", at, true)) {
    if (const json* mean = r.member(*activity, "mean", at + "/activity", false); mean && !mean->is_null()) {
      auto m = activity_from_json(*mean, at + "/activity/mean");
      if (!m) return r.fail(at + "/activity/mean", m.error().message), std::nullopt;
      v.means = *m;
    }
  }
  read_events(r, d, at, v);
  v.usage_class = r.string(d, "usage_class", at, true);
  if (v.usage_class) {
    const auto& names = usage_class_names();
    if (std::find(names.begin(), names.end(), *v.usage_class) == names.end())
      return r.fail(at + "/usage_class", "unknown class \"" + *v.usage_class + "\""), std::nullopt;
  }
  if (r.error()) return std::nullopt;
  return v;
}

Result<RecordView> read_record(const json& root, const std::string& origin) {
  Reader r(origin);
  RecordView v;
  const json* account = r.object(root, "account", "", false);
  if (!account) return r.error() ? *r.error() : usage_error("missing", origin + ": /account");
  const std::string at = "/account";
  v.mode = r.string(*account, "mode", at, false).value_or("");
  v.status = r.string(*account, "status", at, false).value_or("");
  auto start = r.string(*account, "start_time", at, false);
  auto end = r.string(*account, "end_time", at, true);
  v.wall_s = r.number(*account, "wall_s", at, false).value_or(0);
  const json* identity = r.object(*account, "identity", at, false);
  if (identity) {
    v.site = r.string(*identity, "site", at + "/identity", true).value_or("");
    v.user = r.string(*identity, "user", at + "/identity", true).value_or("");
    v.fqan = r.string(*identity, "fqan", at + "/identity", true).value_or("");
  }
  const json* gpus = r.member(*account, "gpus", at);
  if (r.error()) return *r.error();
  if (v.mode != "wrap" && v.mode != "attach" && v.mode != "node")
    return usage_error("\"" + v.mode + "\" is not a mode gpuaccount writes", origin + ": /account/mode");
  auto start_epoch = parse_utc(*start);
  if (!start_epoch) return usage_error("not a UTC time of the form 2026-11-24T03:13:25Z", origin + ": /account/start_time");
  v.start_epoch = *start_epoch;
  v.time = end && parse_utc(*end) ? *end : *start;
  if (!gpus->is_array()) return usage_error(std::string("expected an array, found ") + json_type_name(*gpus), origin + ": /account/gpus");
  auto scores = score_hours_by_uuid(r, *account);
  for (std::size_t i = 0; i < gpus->size(); ++i) {
    auto d = read_device(r, (*gpus)[i], at + "/gpus/" + std::to_string(i));
    if (!d) return *r.error();
    if (auto it = scores.find(d->uuid); it != scores.end()) d->score_hours = it->second;
    v.devices.push_back(std::move(*d));
  }
  if (r.error()) return *r.error();
  return v;
}

// "/atlas/Role=production/Capability=NULL" -> "atlas".
std::string vo_of(const std::string& fqan) {
  if (fqan.empty() || fqan[0] != '/') return fqan.empty() ? "(none)" : fqan;
  auto end = fqan.find('/', 1);
  std::string vo = fqan.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  return vo.empty() ? "(none)" : vo;
}

void add_device(ReportGroup& g, const DeviceView& d, const std::string& usage_class) {
  double held_h = d.available_s * d.count / 3600;
  g.held_h += held_h;
  if (d.active_s) {
    g.active_h += *d.active_s / 3600;
    g.active_known_h += held_h;
  }
  if (usage_class == "idle-held") g.idle_held_h += held_h;
  if (d.energy_j) {
    g.energy_kwh += *d.energy_j / 3.6e6;
    g.energy_known_h += held_h;
  }
  if (d.score_hours) {
    g.score_hours += *d.score_hours;
    g.score_known_h += held_h;
  }
  if (d.means)
    if (auto p = precision_activity(*d.means)) {
      g.gpm_h += held_h;
      g.fp64_h += held_h * p->fp64_pct / 100;
      g.fp32_h += held_h * p->fp32_pct / 100;
      g.fp16_h += held_h * p->fp16_pct / 100;
      g.tensor_h += held_h * p->tensor_pct / 100;
    }
}

// One job's error events within one group.
struct JobEvents {
  bool watched = false, xid = false, ecc = false;
  std::set<std::uint64_t> codes;
  void add(const DeviceView& d) {
    watched = watched || d.xid_watched;
    ecc = ecc || d.ecc_seen;
    codes.insert(d.xid_codes.begin(), d.xid_codes.end());
  }
  void count_into(ReportGroup& g) const {
    if (watched) ++g.jobs_events_watched;
    if (!codes.empty()) ++g.jobs_with_xid;
    if (ecc) ++g.jobs_with_ecc;
    for (auto c : codes) ++g.jobs_by_xid[c];
  }
};

// Spreads a node record's GPU-seconds over the hours its window covers.
void add_occupancy(std::map<long long, OccupancyBin>& bins, const RecordView& v) {
  double window = 0, occupied = 0;
  for (const auto& d : v.devices) {
    if (d.mig) continue;  // part of its GPU, which is counted
    window += d.available_s;
    occupied += d.available_s * d.occupancy.value_or(0);
  }
  if (window <= 0) return;
  double start = static_cast<double>(v.start_epoch), end = start + std::max(v.wall_s, 1.0);
  for (long long h = static_cast<long long>(std::floor(start / 3600)); h * 3600.0 < end; ++h) {
    double overlap = std::min(end, (h + 1) * 3600.0) - std::max(start, h * 3600.0);
    if (overlap <= 0) continue;
    double share = overlap / (end - start);
    bins[h].window_gpu_s += window * share;
    bins[h].occupied_gpu_s += occupied * share;
  }
}

}  // namespace

ReportBuilder::ReportBuilder(UsageClassRules rules, bool reclassify, std::optional<std::string> month)
    : rules_(std::move(rules)), reclassify_(reclassify) {
  report_.month = std::move(month);
  report_.class_source = reclassify ? rules_.source() : "records";
}

void ReportBuilder::skip(const std::string& path, const std::string& reason) {
  ++report_.skipped_count;
  if (report_.skipped.size() < Report::max_listed_skips) report_.skipped.push_back({path, reason});
}

Status ReportBuilder::add_record(const json& document, const std::string& origin) {
  auto view = read_record(document, origin);
  if (!view) return view.error();
  const RecordView& v = *view;
  if (report_.month && v.time.compare(0, 7, *report_.month) != 0) {
    ++report_.outside_month;
    return {};
  }
  ++report_.records;
  if (v.status == "running") ++report_.running_records;
  if (report_.first_time.empty() || v.time < report_.first_time) report_.first_time = v.time;
  if (report_.last_time.empty() || v.time > report_.last_time) report_.last_time = v.time;
  if (v.mode == "node") {
    // A node's record overlaps its jobs' records: it gives the occupancy,
    // never GPU-hours again.
    ++report_.node_records;
    add_occupancy(report_.occupancy, v);
    return {};
  }
  ++report_.job_records;
  std::string month = v.time.substr(0, 7);
  std::string site = v.site.empty() ? "(unknown)" : v.site;
  std::string user = v.user.empty() ? "(unknown)" : v.user;
  std::string fqan = v.fqan.empty() ? "(none)" : v.fqan;
  std::string vo = vo_of(v.fqan);
  std::vector<ReportGroup*> per_job = {&report_.total, &report_.by_month[month], &report_.by_site[site],
                                       &report_.by_vo[vo], &report_.by_fqan[fqan], &report_.by_user[user]};
  for (ReportGroup* g : per_job) ++g->jobs;
  std::set<std::string> models, classes;
  // A job counts once per group in which its devices saw an event.
  std::map<ReportGroup*, JobEvents> events;
  for (const auto& d : v.devices) {
    std::string cls = d.usage_class && !reclassify_ ? *d.usage_class : rules_.classify(d.means, d.utilization_pct).name;
    std::string model = d.model.empty() ? "(unknown)" : d.model;
    ReportGroup& by_model = report_.by_model[model];
    ReportGroup& by_class = report_.by_class[cls];
    if (models.insert(model).second) ++by_model.jobs;
    if (classes.insert(cls).second) ++by_class.jobs;
    for (ReportGroup* g : per_job) add_device(*g, d, cls);
    add_device(by_model, d, cls);
    add_device(by_class, d, cls);
    for (ReportGroup* g : per_job) events[g].add(d);
    events[&by_model].add(d);
    events[&by_class].add(d);
  }
  for (auto& [g, e] : events) e.count_into(*g);
  return {};
}

void ReportBuilder::add_file(const std::string& path, const InputLimits& limits) {
  ++report_.files;
  try {
    auto text = read_input_file(path, limits.max_bytes);
    if (!text) return skip(path, text.error().what());
    auto doc = Document::parse(*text, path, limits);
    if (!doc) return skip(path, doc.error().what());
    if (auto st = add_record(doc->root(), path); !st) skip(path, st.error().what());
  } catch (const std::bad_alloc&) {
    skip(path, "out of memory");
  } catch (const std::exception& e) {
    skip(path, e.what());
  }
}

void ReportBuilder::add_directory(const std::string& dir, const InputLimits& limits) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
  if (ec) return skip(dir, ec.message());
  // Name order: the same report, whatever order the file system lists in.
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    std::error_code sec;
    auto status = fs::status(p, sec);
    if (fs::is_directory(status)) {
      add_directory(p.string(), limits);
    } else if (p.extension() == ".json") {
      add_file(p.string(), limits);
    } else {
      ++report_.ignored_files;  // series (.tsv), textfiles (.prom), ...
    }
  }
}

ToolInfo report_tool_info() { return {"gpuaccount report", {"json", "table", "csv", "svg"}, 5}; }

Result<int> run_report(const ReportOptions& o, const CommonOptions& common) {
  const auto& formats = report_tool_info().formats;
  if (std::find(formats.begin(), formats.end(), common.format) == formats.end())
    return usage_error("a report is written as json, table, csv or svg, not " + common.format, "--format");
  if (o.paths.empty()) return usage_error("give at least one record file or directory", "report");
  if (o.month && (o.month->size() != 7 || !parse_utc(*o.month + "-01T00:00:00Z")))
    return usage_error("must be a month as YYYY-MM, not " + *o.month, "--month");
  for (const auto& p : o.paths) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return usage_error("no such file or directory", p);
  }
  auto rules = UsageClassRules::load(o.usage_classes);
  if (!rules) return rules.error();
  ReportBuilder builder(std::move(*rules), o.usage_classes.has_value(), o.month);
  for (const auto& p : o.paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) builder.add_directory(p, common.limits);
    else builder.add_file(p, common.limits);
  }
  const Report& report = builder.report();
  for (const auto& s : report.skipped) warn("gpuaccount", common, "skipped " + s.reason);
  if (report.skipped_count > static_cast<long long>(report.skipped.size()))
    warn("gpuaccount", common, std::to_string(report.skipped_count - report.skipped.size()) + " more files skipped");
  if (report.records == 0 && report.skipped_count > 0)
    return usage_error("no record could be read (" + std::to_string(report.skipped_count) + " skipped; the first: " +
                           report.skipped.front().reason + ")",
                       "report");
  std::string text;
  if (common.format == "table") text = render_report_table(report);
  else if (common.format == "csv") text = render_report_csv(report);
  else if (common.format == "svg") text = render_report_svg(report);
  else text = dump_json(report_to_json(report), 2) + "\n";
  if (auto st = write_output(text, common.output); !st) return st.error();
  return 0;
}

}  // namespace gpukit
