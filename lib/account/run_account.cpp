#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "account/account.hpp"
#include "account/formats.hpp"
#include "account/gpu_usage.hpp"
#include "account/guarded_telemetry.hpp"
#include "account/held_devices.hpp"
#include "account/proc_tree.hpp"
#include "account/record.hpp"
#include "account/supervisor.hpp"
#include "core/io.hpp"
#include "probe/probe.hpp"
#include "probe/visible.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

ToolInfo account_tool_info() { return {"gpuaccount", {"json", "table", "apel", "prometheus", "csv", "svg"}, 5}; }

namespace {

double monotonic_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", s);
  return buf;
}

std::optional<int> affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return std::nullopt;
  return CPU_COUNT(&set);
}

// The variables visible_section() reads, from a job's environment.
std::map<std::string, std::string> visibility_variables(const std::map<std::string, std::string>& env) {
  static const char* names[] = {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
                                "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL"};
  std::map<std::string, std::string> out;
  for (const char* n : names)
    if (auto it = env.find(n); it != env.end()) out[n] = it->second;
  return out;
}

// Longest --interval and --duration accepted: a day between samples, a year of
// node sampling. Shorter than --interval's minimum, the samples would cost more
// than they measure (a rewrite of every output each time).
constexpr double min_interval_s = 0.1;
constexpr double max_interval_s = 86400;
constexpr double max_duration_s = 366 * 86400.0;

class Session {
 public:
  explicit Session(AccountOptions& o) : o_(o) {}
  Result<int> run();

 private:
  Status check_options() const;
  Result<int> run_wrapped();
  Result<int> run_observer();
  void prepare_while_running();
  Status prepare();
  Status read_inputs();
  void probe_node();
  void open_devices(const std::map<std::string, std::string>& env);
  Status sample_until_done(std::string& end_status);
  void wait_unaccounted();
  Result<int> finish(const std::string& end_status);
  void tick(bool final_sample);
  void poll_gpus(double now, const std::set<int>& job);
  void add_series_row();
  json section() const;
  Result<std::string> render(const json& account);
  Status write_outputs(bool final_write);
  void textfile_at_end();
  void note(const std::string& problem);
  void degrade(const std::string& step, const std::string& reason, bool say = true);
  template <class F>
  bool contained(const char* step, F&& f);
  void warn_once(const std::string& key, const std::string& message);
  Result<int> give_up(const Error& e);

  AccountOptions& o_;
  std::string mode_;
  std::optional<Supervisor> sup_;
  Document doc_;
  AccountMeta meta_;
  JobIdentity identity_;
  CpuUsage cpu_;
  std::optional<CgroupUsage> cgroup_;
  std::optional<std::string> cgroup_path_;
  std::vector<GpuUsage> gpus_;
  std::map<std::string, std::size_t> gpu_index_;
  std::map<std::string, std::uint64_t> cursors_;
  std::unique_ptr<GuardedTelemetry> telemetry_;
  std::vector<std::string> telemetry_devices_;
  json inventory_ = json::array();
  std::optional<BenchmarkScores> scores_;
  std::optional<UsageClassRules> usage_classes_;
  std::string series_;
  double t0_ = 0;
  pid_t root_ = -1;
  std::set<std::string> warned_;
  bool written_once_ = false;
  Status first_write_;  // attach and node mode stop at once when their outputs cannot be written
};

void Session::note(const std::string& problem) {
  if (std::find(meta_.problems.begin(), meta_.problems.end(), problem) == meta_.problems.end())
    meta_.problems.push_back(problem);
}

void Session::warn_once(const std::string& key, const std::string& message) {
  if (warned_.insert(key).second) warn("gpuaccount", o_.common, message);
}

// Never throws: it is what the containment of everything else calls.
void Session::degrade(const std::string& step, const std::string& reason, bool say) {
  try {
    std::string entry = step + ": " + reason;
    if (std::find(meta_.degraded.begin(), meta_.degraded.end(), entry) != meta_.degraded.end()) return;
    meta_.degraded.push_back(entry);
    if (say) warn_once("degraded:" + entry, "accounting degraded: " + entry);
  } catch (...) {
    // Out of memory even for the note: the record says less, the job goes on.
  }
}

// One step of the accounting. Whatever it throws (std::bad_alloc, a JSON
// library exception, std::system_error when no thread can be started) costs
// that step's part of the record, never the payload nor its status.
template <class F>
bool Session::contained(const char* step, F&& f) {
  try {
    f();
    return true;
  } catch (const std::bad_alloc&) {
    degrade(step, "out of memory");
  } catch (const std::exception& e) {
    degrade(step, e.what());
  } catch (...) {
    degrade(step, "unknown exception");
  }
  return false;
}

// Before the payload starts, a failure to set up the supervision (no signalfd,
// no fork) must not stop it: the payload then runs without accounting, in
// gpuaccount's place.
Result<int> Session::give_up(const Error& e) {
  if (mode_ != "wrap") return e;
  warn("gpuaccount", o_.common, e.what() + "; running the command without accounting");
  std::vector<char*> argv;
  for (auto& a : o_.command) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (sup_) sup_->restore_inherited_signals();
  ::execvp(argv[0], argv.data());
  int err = errno;
  std::cerr << "gpuaccount: " << o_.command[0] << ": " << std::strerror(err) << "\n";
  return err == ENOENT ? 127 : 126;
}

// Everything that can be refused is refused here, before anything starts: in
// wrap mode a payload is never started under options that cannot be honoured.
Status Session::check_options() const {
  int modes = (o_.command.empty() ? 0 : 1) + (o_.pid ? 1 : 0) + (o_.node ? 1 : 0);
  if (modes != 1) return usage_error("give exactly one of: -- COMMAND, --pid PID, --node");
  if (o_.duration_s && !o_.node) return usage_error("is only for --node", "--duration");
  if (o_.common.format == "csv" || o_.common.format == "svg")
    return usage_error("is for gpuaccount report; a record is json, table, apel or prometheus", "--format " + o_.common.format);
  if (o_.common.format == "apel" && o_.node) return usage_error("APEL records are per job; not with --node", "--format apel");
  // An identity APEL would refuse is refused before the payload starts.
  if (o_.identity.fqan && apel_null(*o_.identity.fqan))
    return usage_error("\"" + *o_.identity.fqan + "\" is what APEL reads as NULL; give the job's FQAN, e.g. /atlas/Role=production",
                       "--fqan");
  if (o_.identity.vo && (apel_null(*o_.identity.vo) || o_.identity.vo->find_first_of("/ \t") != std::string::npos))
    return usage_error("must be a VO name (atlas, cms, dteam), not \"" + *o_.identity.vo + "\"", "--vo");
  if (o_.identity.site && apel_null(*o_.identity.site))
    return usage_error("\"" + *o_.identity.site + "\" is what APEL reads as NULL; give the GOCDB site name", "--site");
  auto in_range = [](double v, double low, double high, bool low_inclusive) {
    return std::isfinite(v) && (low_inclusive ? v >= low : v > low) && v <= high;
  };
  if (!in_range(o_.interval_s, min_interval_s, max_interval_s, true))
    return usage_error("must be a number of seconds from " + format_seconds(min_interval_s) + " to " +
                           format_seconds(max_interval_s) + ", not " + format_seconds(o_.interval_s),
                       "--interval");
  if (o_.duration_s && !in_range(*o_.duration_s, 0, max_duration_s, false))
    return usage_error("must be a number of seconds above 0 and at most " + format_seconds(max_duration_s) + ", not " +
                           format_seconds(*o_.duration_s),
                       "--duration");
  if (!std::isfinite(o_.common.timeout_s) || o_.common.timeout_s <= 0)
    return usage_error("must be a positive number of seconds, not " + format_seconds(o_.common.timeout_s), "--timeout");
  if (o_.pid && *o_.pid <= 0) return usage_error("must be a process id above 0", "--pid");
  if (o_.keep_textfile && !o_.prometheus) return usage_error("is only for --prometheus", "--keep-textfile");
  // Outputs that would replace a device node or a FIFO are refused now, not
  // at the first interval.
  for (const auto* path : {&o_.common.output, &o_.series, &o_.prometheus})
    if (*path && **path != "-")
      if (auto target = output_target(**path); !target && target.error().code == ExitCode::usage) return target.error();
  return {};
}

// The input document and the benchmark scores. In wrap mode standard input
// belongs to the payload.
Status Session::read_inputs() {
  if (mode_ != "wrap" || o_.common.input) {
    auto d = read_document(o_.common.input, o_.common.limits);
    if (!d) return d.error();
    if (*d) doc_ = std::move(**d);
  }
  if (o_.benchmark) {
    auto text = read_input_file(*o_.benchmark, o_.common.limits.max_bytes);
    if (!text) return text.error();
    auto j = parse_json(*text, *o_.benchmark, o_.common.limits);
    if (!j) return j.error();
    auto s = parse_benchmark_scores(*j, *o_.benchmark);
    if (!s) return s.error();
    scores_ = *s;
  } else if (const json* bench = doc_.section("bench"); bench && bench->contains("scores")) {
    auto s = parse_benchmark_scores((*bench)["scores"], "bench.scores");
    if (!s) return s.error();
    scores_ = *s;
  }
  return {};
}

void Session::probe_node() {
  ProbeRequest request;
  request.timeout_s = o_.common.timeout_s;
  if (auto st = ensure_probed(doc_, request); !st) {
    note("probe: " + st.error().what());
    request.catalogue = false;
    if (auto again = ensure_probed(doc_, request); !again) note("probe: " + again.error().what());
  }
  if (const json* g = doc_.section("gpus"); g && g->is_array()) inventory_ = *g;
}

void Session::open_devices(const std::map<std::string, std::string>& env) {
  auto telemetry = open_telemetry(o_.common.timeout_s);
  if (telemetry) {
    telemetry_ = std::make_unique<GuardedTelemetry>(std::move(*telemetry));
    telemetry_devices_ = telemetry_->devices();
    meta_.telemetry = telemetry_->vendor();
  } else {
    note("GPU telemetry unavailable: " + telemetry.error().what());
  }

  if (mode_ == "node") {
    for (const auto& uuid : telemetry_devices_) {
      gpu_index_[uuid] = gpus_.size();
      gpus_.emplace_back(describe_device(inventory_, uuid), true);
    }
    return;
  }
  HeldDevices held = resolve_held_devices(inventory_, visible_section(inventory_, visibility_variables(env)));
  for (const auto& p : held.problems) note(p);
  for (auto& d : held.devices) {
    if (!telemetry_) {
      warn_once("telemetry", "the job holds GPUs but " + telemetry.error().what() + "; accounting the CPU side only");
      break;
    }
    if (std::find(telemetry_devices_.begin(), telemetry_devices_.end(), d.uuid) == telemetry_devices_.end())
      note("visible device " + d.uuid + " is not listed by the telemetry; its figures are gaps");
    gpu_index_[d.uuid] = gpus_.size();
    gpus_.emplace_back(d, false);
  }
}

// Each part is contained on its own: a failure costs its part of the record.
// An unreadable input is returned (attach and node mode fail with it; wrap mode
// records it and goes on).
Status Session::prepare() {
  Status inputs;
  contained("input", [&] { inputs = read_inputs(); });
  if (!inputs && mode_ != "wrap") return inputs;
  if (!inputs) degrade("input", inputs.error().what() + "; accounted without it");
  contained("probe", [&] { probe_node(); });
  std::map<std::string, std::string> env;
  contained("identity", [&] {
    if (mode_ == "attach") {
      if (auto e = process_environment(*o_.pid)) {
        env = *e;
      } else {
        env = own_environment();
        note("the environment of pid " + std::to_string(*o_.pid) +
             " is unreadable: identity and visible devices from gpuaccount's own");
      }
    } else {
      env = own_environment();
    }
    IdentityOptions identity = o_.identity;
    // The proxy's default place is per user: the job's, also when attached to it.
    if (!identity.uid) identity.uid = mode_ == "attach" ? process_uid(*o_.pid) : std::optional<unsigned>(::getuid());
    identity_ = resolve_identity(identity, env, affinity_cores());
    for (const auto& problem : identity_.problems) note(problem);
  });
  contained("telemetry", [&] { open_devices(env); });
  contained("usage classes", [&] {
    if (usage_classes_) return;
    if (auto rules = UsageClassRules::load()) usage_classes_ = std::move(*rules);
    else note("no usage classes: " + rules.error().what());
  });
  meta_.usage_classes = usage_classes_ ? &*usage_classes_ : nullptr;
  return {};
}

// Wrap mode: the payload runs already. The node is probed and the telemetry
// opened on a worker thread (about 50 ms, more when a driver is slow), while
// this thread goes on forwarding signals and reaping.
void Session::prepare_while_running() {
  std::atomic<bool> done{false};
  auto work = [this, &done] {
    contained("setup", [&] { (void)prepare(); });
    done.store(true);
  };
  std::thread worker;
  try {
    worker = std::thread(work);
  } catch (const std::exception& e) {
    degrade("setup", std::string("no thread to probe while the command runs (") + e.what() + "); probed first");
    work();
    return;
  }
  try {
    while (!done.load()) sup_->wait(0.005);
  } catch (const std::exception& e) {
    degrade("setup", std::string("signals were not handled while probing: ") + e.what());
  }
  worker.join();
}

void Session::poll_gpus(double now, const std::set<int>& job) {
  if (!telemetry_) return;
  bool look_for_job = mode_ != "node" && !job.empty();
  std::vector<std::pair<std::string, DevicePoll>> polls;
  for (const auto& uuid : telemetry_devices_) {
    bool held = gpu_index_.count(uuid) > 0;
    if (!held && !look_for_job) continue;
    // A device not (yet) the job's is read in full only once the job is seen on it.
    polls.emplace_back(uuid, poll_device(*telemetry_, uuid, cursors_[uuid], now, !held));
  }
  // NVML lists a MIG instance's processes on its GPU too: a job process seen in
  // an instance belongs to the instance, not again to its GPU (known from the
  // inventory).
  std::map<std::string, std::set<int>> in_mig_of;  // parent GPU -> job pids in its instances
  if (mode_ != "node") {
    for (const auto& [uuid, poll] : polls) {
      if (uuid.rfind("MIG-", 0) != 0 || !poll.processes) continue;
      std::string parent = describe_device(inventory_, uuid).parent_uuid;
      if (parent.empty()) continue;
      for (const auto& p : *poll.processes)
        if (job.count(p.pid)) in_mig_of[parent].insert(p.pid);
    }
  }
  for (auto& [uuid, poll] : polls) {
    if (auto it = in_mig_of.find(uuid); it != in_mig_of.end() && poll.processes) {
      auto& ps = *poll.processes;
      ps.erase(std::remove_if(ps.begin(), ps.end(), [&](const ProcessSample& p) { return it->second.count(p.pid) > 0; }),
               ps.end());
    }
    auto held = gpu_index_.find(uuid);
    if (held == gpu_index_.end()) {
      bool seen = poll.processes && std::any_of(poll.processes->begin(), poll.processes->end(),
                                                [&](const ProcessSample& p) { return job.count(p.pid) > 0; });
      if (!seen) continue;
      HeldDevice d = describe_device(inventory_, uuid);
      d.assigned = false;
      note("device " + uuid + " was not among the visible devices; it is accounted from when the job's processes were first seen on it");
      held = gpu_index_.emplace(uuid, gpus_.size()).first;
      gpus_.emplace_back(d, false);
      add_sample(*telemetry_, uuid, poll);
    }
    gpus_[held->second].add(poll, job);
  }
  for (auto& g : gpus_)
    if (telemetry_->events_timed_out(g.device().uuid))
      note("device " + g.device().uuid + ": an error-event read did not return within " +
           format_seconds(o_.common.timeout_s) + " s; its events are not read again and are unknown (null) in the record");
  for (auto& g : gpus_)
    if (!g.timed_out() && telemetry_->timed_out(g.device().uuid)) {
      g.mark_timed_out();
      note("device " + g.device().uuid + ": a telemetry call did not return within " + format_seconds(o_.common.timeout_s) +
           " s; the device is not read again and the rest of the job is a gap");
    }
  // Visible devices the telemetry does not list are gaps throughout.
  for (auto& g : gpus_) {
    if (std::find(telemetry_devices_.begin(), telemetry_devices_.end(), g.device().uuid) != telemetry_devices_.end()) continue;
    DevicePoll poll;
    poll.time_s = now;
    poll.sample_error = "not listed by the telemetry";
    g.add(poll, job);
  }
}

void Session::tick(bool final_sample) {
  double now = monotonic_s();
  std::set<int> job;
  if (root_ > 0) {
    TreeReading tree = mode_ == "wrap" ? read_tree(::getpid(), false) : read_tree(root_, true);
    job.insert(tree.pids.begin(), tree.pids.end());
    if (mode_ == "wrap" && sup_->payload_running()) job.insert(root_);
    cpu_.add(tree);
    if (!cgroup_path_) {
      cgroup_path_ = cgroup_of(root_);
      if (!cgroup_path_) {
        cgroup_path_ = "";
        note("no cgroup v2 for the job: cgroup figures are absent");
      }
    }
    if (!cgroup_path_->empty()) {
      if (auto c = read_cgroup(*cgroup_path_)) {
        if (!cgroup_) cgroup_.emplace();
        cgroup_->add(*c, cgroup_is_exclusive(*c, job, {static_cast<int>(::getpid())}));
      } else {
        note("cgroup " + *cgroup_path_ + " is not readable as cgroup v2: cgroup figures are absent");
      }
    }
  }
  contained("gpu sample", [&] { poll_gpus(now, job); });
  if (t0_ > 0) ++meta_.samples;
  meta_.wall_s = t0_ > 0 ? now - t0_ : 0;
  if (o_.series && t0_ > 0) contained("series", [&] { add_series_row(); });
  if (t0_ > 0 && !final_sample) {
    bool first = !written_once_;
    Status st = write_outputs(false);
    if (first) first_write_ = st;
  }
}

void Session::add_series_row() {
  SeriesRow r;
  r.time = static_cast<long long>(std::time(nullptr));
  r.wtime = meta_.wall_s;
  const TreeReading& t = cpu_.last();
  r.utime = cpu_.utime_s();
  r.stime = cpu_.stime_s();
  r.nprocs = t.processes;
  r.nthreads = t.threads;
  r.pss = t.pss_kb;
  r.rss = t.rss_kb;
  r.swap = t.swap_kb;
  r.vmem = t.vmem_kb;
  r.rchar = t.rchar;
  r.read_bytes = t.read_bytes;
  r.wchar = t.wchar;
  r.write_bytes = t.write_bytes;
  for (const auto& g : gpus_) {
    r.ngpus += 1;
    r.gpusmpct += g.latest().sm_pct;
    r.gpumempct += g.latest().memory_util_pct;
    r.gpufbmem += g.latest().memory_bytes / 1024;
    r.gpu_power_w += g.latest().power_w;
    r.gpu_energy_j += g.energy_j().value_or(0);
    r.gpu_active_s += g.active_s().value_or(0);
    if (const auto& a = g.latest().activity) {
      auto add = [&](std::optional<double>& to, const std::optional<double>& v) {
        if (v) to = to.value_or(0) + *v * g.device().slice;
      };
      add(r.gpu_sm_active_pct, a->sm_active_pct);
      add(r.gpu_tensor_active_pct, a->tensor_active_pct);
      add(r.gpu_fp64_active_pct, a->fp64_active_pct);
      add(r.gpu_fp32_active_pct, a->fp32_active_pct);
      add(r.gpu_fp16_active_pct, a->fp16_active_pct);
      add(r.gpu_dram_active_pct, a->dram_active_pct);
    }
  }
  series_ += series_row(r);
}

json Session::section() const { return account_section(meta_, identity_, cpu_, cgroup_, gpus_, scores_); }

Result<std::string> Session::render(const json& account) {
  const std::string& f = o_.common.format;
  if (f == "table") return render_account_table(account);
  if (f == "prometheus") return render_prometheus(account);
  if (f == "apel") return render_apel(account);
  Document d = doc_;
  d.set_section("account", account);
  try {
    return d.dump();
  } catch (const std::exception& e) {
    // Text the JSON library refuses (invalid UTF-8 that slipped through): the
    // record is still written, with U+FFFD in place of the bad bytes.
    degrade("render", e.what());
    return d.root().dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  }
}

// Problems are warned about once; the first is returned from the final write
// so that attach and node mode can fail with it. In wrap mode the payload's
// status stands: a lost record is said on stderr (even with -q) and in the
// record's `degraded` where another output still carries it.
Status Session::write_outputs(bool final_write) {
  Status first;
  auto failed = [&](const std::string& key, const Error& e) {
    degrade("write", e.what(), false);  // said here, once
    bool returned = (final_write || !written_once_) && mode_ != "wrap";  // tool_main prints it
    if (final_write && mode_ == "wrap") std::cerr << "gpuaccount: " << e.what() << "\n";
    else if (!returned) warn_once(key, e.what());
    if (first) first = e;
  };
  auto attempt = [&](const char* what, auto&& f) {
    try {
      f();
    } catch (const std::bad_alloc&) {
      failed(std::string("write:") + what, environment_error("out of memory", what));
    } catch (const std::exception& e) {
      failed(std::string("write:") + what, environment_error(e.what(), what));
    }
  };
  auto put = [&](const std::optional<std::string>& path, const std::string& text, const char* what) {
    if (!path) return false;
    // Every interval's file must survive the death of gpuaccount, which the
    // rename guarantees; surviving a power cut is the final write's job (an
    // fsync per interval would stall sampling on a busy shared file system).
    Status st = write_file_atomic(*path, text, final_write);
    if (!st) failed(std::string("write:") + what, st.error());
    return st.ok();
  };
  // The series first: a failure to write it is then in the record.
  attempt("series", [&] { put(o_.series, series_header() + series_, "series"); });
  json account;
  attempt("record", [&] {
    meta_.end_time = final_write ? utc_timestamp() : "";
    account = section();
  });
  if (!account.is_object()) return first;
  bool to_stdout = !o_.common.output || *o_.common.output == "-";
  // At the end the textfile goes (textfile_at_end), unless it is kept: its
  // series would otherwise be scraped for ever.
  bool drop_textfile = final_write && !o_.keep_textfile;
  if (!drop_textfile) attempt("prometheus", [&] { put(o_.prometheus, render_prometheus(account), "prometheus"); });
  bool record_written = false;
  if (!to_stdout || final_write) {
    attempt("output", [&] {
      auto text = render(account);
      if (!text) {
        failed("render", Error{text.error().code, "no " + o_.common.format + " output: " + text.error().message,
                               text.error().context});
      } else if (!to_stdout) {
        record_written = put(o_.common.output, *text, "output");
      } else if (first || mode_ == "wrap") {
        // Standard output last, and not at all when attach or node mode is
        // about to fail: a pipe never carries half a result.
        Status st = write_output(*text, std::nullopt);
        if (!st) failed("write:stdout", st.error());
        record_written = st.ok();
      }
    });
  }
  if (drop_textfile && o_.prometheus) {
    attempt("prometheus", [&] {
      if (!record_written) {
        put(o_.prometheus, render_prometheus(account), "prometheus");
        std::cerr << "gpuaccount: the record was not written: the final figures are left in " << *o_.prometheus << "\n";
      } else {
        textfile_at_end();
      }
    });
  }
  written_once_ = true;
  return first;
}

// The job's figures are in its record now: its textfile goes, so that
// node_exporter stops showing a job that has ended. A file that cannot be
// removed is said on standard error (even with -q); the record stands.
void Session::textfile_at_end() {
  if (::unlink(o_.prometheus->c_str()) == 0 || errno == ENOENT) return;
  int err = errno;
  std::cerr << "gpuaccount: " << *o_.prometheus << ": cannot remove the textfile: " << std::strerror(err) << "\n";
}

Result<int> Session::run() {
  mode_ = !o_.command.empty() ? "wrap" : o_.pid ? "attach" : "node";
  if (auto st = check_options(); !st) {
    if (mode_ != "wrap") return st.error();
    Error e = st.error();
    e.message += "; the command was not started";
    return e;
  }
  // A site's thresholds that cannot be read are refused like a bad option.
  if (o_.usage_classes) {
    auto rules = UsageClassRules::load(o_.usage_classes);
    if (!rules) {
      if (mode_ != "wrap") return rules.error();
      Error e = rules.error();
      e.message += "; the command was not started";
      return e;
    }
    usage_classes_ = std::move(*rules);
  }
  meta_.mode = mode_;
  meta_.interval_s = o_.interval_s;
  meta_.command = o_.command;
  // Signals are blocked before any thread (the telemetry's deadline workers,
  // the probe) exists, so that every thread inherits the mask.
  auto sup = Supervisor::create();
  if (!sup) return give_up(sup.error());
  sup_.emplace(std::move(*sup));
  return mode_ == "wrap" ? run_wrapped() : run_observer();
}

// The payload first, within a few milliseconds of gpuaccount's start; the
// accounting is set up while it runs. From here on nothing gpuaccount does can
// take the payload's status: failures are contained, and a crash falls back on
// arm_last_resort().
Result<int> Session::run_wrapped() {
  meta_.start_time = utc_timestamp();
  t0_ = monotonic_s();
  auto pid = sup_->spawn(o_.command);
  if (!pid) return give_up(pid.error());
  root_ = *pid;
  arm_last_resort(root_);
  std::string end_status = "complete";
  contained("start", [&] {
    meta_.pid = root_;
    meta_.status = "running";
    if (!sup_->exec_error().empty()) {
      std::cerr << "gpuaccount: " << sup_->exec_error() << "\n";
      note("the command could not be started: " + sup_->exec_error());
    }
  });
  prepare_while_running();
  bool ran = contained("sampling", [&] { (void)sample_until_done(end_status); });
  if (!ran) wait_unaccounted();
  return finish(end_status);
}

// Whatever broke the sampling loop, the payload is still waited for (and its
// signals forwarded) until it ends.
void Session::wait_unaccounted() {
  try {
    while (!sup_->payload_exit()) sup_->wait(1.0);
  } catch (...) {
    // Nothing left but the last resort: wait for the payload there.
    std::terminate();
  }
}

Result<int> Session::run_observer() {
  if (mode_ == "attach") {
    meta_.pid = *o_.pid;
    if (auto st = sup_->watch(*o_.pid); !st) return st.error();
  }
  if (auto st = prepare(); !st) return st.error();
  // Baseline: the energy counter's first reading and the process cursors.
  contained("sample", [&] { tick(false); });
  meta_.start_time = utc_timestamp();
  t0_ = monotonic_s();
  if (mode_ == "attach") root_ = *o_.pid;
  meta_.status = "running";
  std::string end_status = "complete";
  Status sampled;
  contained("sampling", [&] { sampled = sample_until_done(end_status); });
  if (!sampled) return sampled.error();
  return finish(end_status);
}

// Samples every interval until the payload or the target ends, --duration
// passes or a stop is requested. Only attach and node mode stop on an error:
// the first write failed.
Status Session::sample_until_done(std::string& end_status) {
  contained("sample", [&] { tick(false); });
  if (!first_write_ && mode_ != "wrap") return first_write_;
  double next = t0_ + o_.interval_s;
  bool done = mode_ == "wrap" && sup_->payload_exit().has_value();
  while (!done) {
    double now = monotonic_s();
    double until = next;
    if (o_.duration_s) {
      double stop_at = t0_ + *o_.duration_s;
      if (now >= stop_at) break;
      until = std::min(until, stop_at);
    }
    switch (sup_->wait(until - now)) {
      case Wakeup::payload_exited:
      case Wakeup::target_exited:
        done = true;
        break;
      case Wakeup::stop_requested:
        end_status = "interrupted";
        done = true;
        break;
      case Wakeup::timeout:
        break;
    }
    if (done) break;
    if (monotonic_s() >= next - 1e-4) {
      contained("sample", [&] { tick(false); });
      next += o_.interval_s;
      // After a stall (a slow driver call) sample on, not in a burst.
      if (next < monotonic_s()) next = monotonic_s() + o_.interval_s;
    }
  }
  return {};
}

// The final sample and record. Never left "running" by gpuaccount's own end:
// whatever fails here, the status is set before the last write.
Result<int> Session::finish(const std::string& end_status) {
  int status = 0;
  if (mode_ == "wrap") {
    sup_->restore_terminal();
    if (const auto& e = sup_->payload_exit()) status = e->status;
    contained("exit", [&] {
      if (const auto& e = sup_->payload_exit()) cpu_.add_rusage(e->user_s, e->system_s, e->max_rss_kb);
    });
  }
  contained("sample", [&] { tick(true); });
  meta_.status = end_status;
  contained("exit", [&] {
    if (mode_ == "wrap") {
      if (const auto& e = sup_->payload_exit()) {
        meta_.exit_status = e->status;
        meta_.exit_code = e->exit_code;
        if (e->signal) meta_.exit_signal = signal_name(*e->signal);
      }
      meta_.signals_forwarded = sup_->forwarded();
      meta_.descendants_left = sup_->remaining_descendants();
      if (!meta_.descendants_left.empty())
        note(std::to_string(meta_.descendants_left.size()) +
             " descendant process(es) outlived the command and were left running");
    }
    if (meta_.wall_s < o_.interval_s)
      note("the job was shorter than the interval: its figures come from the samples at its start and exit");
  });
  Status written = write_outputs(true);
  if (!written && mode_ != "wrap") return written.error();
  return status;
}

}  // namespace

Result<int> run_account(AccountOptions& options) {
  Session session(options);
  return session.run();
}

}  // namespace gpukit
