#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "account/account.hpp"
#include "account/formats.hpp"
#include "account/gpu_usage.hpp"
#include "account/held_devices.hpp"
#include "account/proc_tree.hpp"
#include "account/record.hpp"
#include "account/supervisor.hpp"
#include "core/io.hpp"
#include "probe/probe.hpp"
#include "probe/visible.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

ToolInfo account_tool_info() { return {"gpuaccount", {"json", "table", "apel", "prometheus"}, 5}; }

namespace {

double monotonic_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// write_file_atomic without the fsync: every interval's record must survive
// the death of gpuaccount, which the rename guarantees (the page cache outlives
// the process); surviving a power cut is the final write's job. An fsync per
// interval would stall sampling on a busy shared file system.
Status replace_file(const std::string& path, const std::string& text) {
  std::string dir = ".", base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmp = dir + "/." + base + ".XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return usage_error(std::string("cannot create a temporary file: ") + std::strerror(errno), path);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return usage_error(std::string("cannot write: ") + std::strerror(err), path);
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, 0644);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return usage_error(std::string("cannot rename into place: ") + std::strerror(err), path);
  }
  return {};
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

class Session {
 public:
  explicit Session(AccountOptions& o) : o_(o) {}
  Result<int> run();

 private:
  Status prepare();
  void tick(bool final_sample);
  void poll_gpus(double now, const std::set<int>& job);
  json section() const;
  Result<std::string> render(const json& account);
  Status write_outputs(bool final_write);
  void note(const std::string& problem);
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
  std::unique_ptr<TelemetrySource> telemetry_;
  std::vector<std::string> telemetry_devices_;
  json inventory_ = json::array();
  std::optional<BenchmarkScores> scores_;
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

// Before the payload starts, a failure to set up the accounting must not stop
// it: the payload then runs without accounting, in gpuaccount's place.
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

Status Session::prepare() {
  // Document: in wrap mode standard input belongs to the payload.
  if (mode_ == "wrap") {
    if (o_.common.input) {
      auto d = read_document(o_.common.input, o_.common.limits);
      if (!d) return d.error();
      if (*d) doc_ = std::move(**d);
    }
  } else {
    auto d = read_document(o_.common.input, o_.common.limits);
    if (!d) return d.error();
    if (*d) doc_ = std::move(**d);
  }
  if (o_.benchmark) {
    auto text = read_input_file(*o_.benchmark, o_.common.limits.max_bytes);
    if (!text) return text.error();
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) return usage_error("not valid JSON", *o_.benchmark);
    auto s = parse_benchmark_scores(j, *o_.benchmark);
    if (!s) return s.error();
    scores_ = *s;
  } else if (const json* bench = doc_.section("bench"); bench && bench->contains("scores")) {
    auto s = parse_benchmark_scores((*bench)["scores"], "bench.scores");
    if (!s) return s.error();
    scores_ = *s;
  }

  ProbeRequest request;
  request.timeout_s = o_.common.timeout_s;
  if (auto st = ensure_probed(doc_, request); !st) {
    note("probe: " + st.error().what());
    request.catalogue = false;
    if (auto again = ensure_probed(doc_, request); !again) note("probe: " + again.error().what());
  }
  if (const json* g = doc_.section("gpus"); g && g->is_array()) inventory_ = *g;

  std::map<std::string, std::string> env;
  if (mode_ == "attach") {
    if (auto e = process_environment(*o_.pid)) env = *e;
    else {
      env = own_environment();
      note("the environment of pid " + std::to_string(*o_.pid) + " is unreadable: identity and visible devices from gpuaccount's own");
    }
  } else {
    env = own_environment();
  }
  identity_ = resolve_identity(o_.identity, env, affinity_cores());

  auto telemetry = open_telemetry(o_.common.timeout_s);
  if (telemetry) {
    telemetry_ = std::move(*telemetry);
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
  } else {
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
  return {};
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
  poll_gpus(now, job);
  if (t0_ > 0) ++meta_.samples;
  meta_.wall_s = t0_ > 0 ? now - t0_ : 0;

  if (o_.series && t0_ > 0) {
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
    }
    series_ += series_row(r);
  }
  if (t0_ > 0 && !final_sample) {
    bool first = !written_once_;
    Status st = write_outputs(false);
    if (first) first_write_ = st;
  }
}

json Session::section() const { return account_section(meta_, identity_, cpu_, cgroup_, gpus_, scores_); }

Result<std::string> Session::render(const json& account) {
  const std::string& f = o_.common.format;
  if (f == "table") return render_account_table(account);
  if (f == "prometheus") return render_prometheus(account);
  if (f == "apel") return render_apel(account);
  Document d = doc_;
  d.set_section("account", account);
  return d.dump();
}

// Problems are warned about once; the first is returned from the final write
// so that attach and node mode can fail with it (wrap mode never does).
Status Session::write_outputs(bool final_write) {
  meta_.end_time = final_write ? utc_timestamp() : "";
  json account = section();
  Status first;
  auto failed = [&](const std::string& key, const Error& e) {
    bool returned = (final_write || !written_once_) && mode_ != "wrap";  // tool_main prints it
    if (!returned) warn_once(key, e.what());
    if (first) first = e;
  };
  auto put = [&](const std::optional<std::string>& path, const std::string& text, const char* what) {
    if (!path) return;
    Status st = final_write ? write_file_atomic(*path, text) : replace_file(*path, text);
    if (!st) failed(std::string("write:") + what, st.error());
  };
  bool to_stdout = !o_.common.output || *o_.common.output == "-";
  put(o_.series, series_header() + series_, "series");
  put(o_.prometheus, render_prometheus(account), "prometheus");
  if (!to_stdout || final_write) {
    auto text = render(account);
    if (!text) failed("render", Error{text.error().code, "no " + o_.common.format + " output: " + text.error().message, text.error().context});
    else if (!to_stdout) put(o_.common.output, *text, "output");
    // Standard output last, and not at all when attach or node mode is about to
    // fail: a pipe never carries half a result.
    else if (first || mode_ == "wrap") std::cout << *text << std::flush;
  }
  written_once_ = true;
  return first;
}

Result<int> Session::run() {
  int modes = (o_.command.empty() ? 0 : 1) + (o_.pid ? 1 : 0) + (o_.node ? 1 : 0);
  mode_ = !o_.command.empty() ? "wrap" : o_.pid ? "attach" : "node";
  meta_.mode = mode_;
  meta_.interval_s = o_.interval_s;
  meta_.command = o_.command;
  if (modes != 1) return give_up(usage_error("give exactly one of: -- COMMAND, --pid PID, --node"));
  if (o_.duration_s && !o_.node) return give_up(usage_error("is only for --node", "--duration"));
  if (o_.common.format == "apel" && o_.node)
    return give_up(usage_error("APEL records are per job; not with --node", "--format apel"));
  if (!(o_.interval_s > 0)) return give_up(usage_error("must be positive", "--interval"));

  // Signals are blocked before any thread (the telemetry's deadline workers)
  // exists, so that every thread inherits the mask.
  auto sup = Supervisor::create();
  if (!sup) return give_up(sup.error());
  sup_.emplace(std::move(*sup));
  if (mode_ == "attach") {
    meta_.pid = *o_.pid;
    if (auto st = sup_->watch(*o_.pid); !st) return st.error();
  }
  if (auto st = prepare(); !st) return give_up(st.error());

  // Baseline before the payload starts: the energy counter's first reading and
  // the process cursors, so that even a job shorter than the interval is counted.
  tick(false);
  meta_.start_time = utc_timestamp();
  t0_ = monotonic_s();
  if (mode_ == "wrap") {
    auto pid = sup_->spawn(o_.command);
    if (!pid) return give_up(pid.error());
    root_ = *pid;
    meta_.pid = *pid;
    if (!sup_->exec_error().empty()) {
      std::cerr << "gpuaccount: " << sup_->exec_error() << "\n";
      note("the command could not be started: " + sup_->exec_error());
    }
  } else if (mode_ == "attach") {
    root_ = *o_.pid;
  }
  meta_.status = "running";
  tick(false);
  if (!first_write_ && mode_ != "wrap") return first_write_.error();

  std::string end_status = "complete";
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
      tick(false);
      next += o_.interval_s;
      // After a stall (a slow driver call) sample on, not in a burst.
      if (next < monotonic_s()) next = monotonic_s() + o_.interval_s;
    }
  }
  if (mode_ == "wrap") {
    sup_->restore_terminal();
    if (const auto& e = sup_->payload_exit()) cpu_.add_rusage(e->user_s, e->system_s, e->max_rss_kb);
  }
  tick(true);  // the final sample at exit

  meta_.status = end_status;
  int status = 0;
  if (mode_ == "wrap") {
    const auto& e = sup_->payload_exit();
    if (e) {
      status = e->status;
      meta_.exit_status = e->status;
      meta_.exit_code = e->exit_code;
      if (e->signal) meta_.exit_signal = signal_name(*e->signal);
    }
    meta_.signals_forwarded = sup_->forwarded();
    meta_.descendants_left = sup_->remaining_descendants();
    if (!meta_.descendants_left.empty())
      note(std::to_string(meta_.descendants_left.size()) + " descendant process(es) outlived the command and were left running");
  }
  if (meta_.wall_s < o_.interval_s)
    note("the job was shorter than the interval: its figures come from the samples at its start and exit");
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
