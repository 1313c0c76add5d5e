#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "test_support.hpp"

using nlohmann::json;
using namespace gpukit::test;

namespace {

std::string payload() { return std::string(GPUKIT_TEST_FAKES) + "/../helpers/gpukit_test_payload"; }
std::string nvml() { return fake("nvidia/libnvidia-ml.so.1"); }

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

bool wait_for(const std::function<bool()>& condition, double seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// gpuaccount started in the background, as a batch system's starter would, so
// that a test can signal it while it runs.
struct Background {
  pid_t pid = -1;
  std::string out, err;
  // Standard output goes to a file of the test, or to `stdout_path`, or to
  // the descriptor `stdout_fd`.
  Background(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
             const std::string& stdout_path = "", int stdout_fd = -1) {
    std::string dir = temp_dir();
    out = stdout_path.empty() ? dir + "/stdout" : stdout_path;
    err = dir + "/stderr";
    pid = ::fork();
    if (pid == 0) {
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      int o = stdout_fd >= 0 ? stdout_fd : ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int n = ::open("/dev/null", O_RDONLY);
      ::dup2(n, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::string tool = std::string(GPUKIT_TEST_BINDIR) + "/gpuaccount";
      std::vector<std::string> a = {tool};
      a.insert(a.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& s : a) argv.push_back(s.data());
      argv.push_back(nullptr);
      ::execv(tool.c_str(), argv.data());
      ::_exit(127);
    }
  }
  // The exit status (128 + signal when killed), or -1 after the timeout.
  int wait(double seconds = 30) {
    int st = 0;
    bool done = wait_for([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, seconds);
    if (!done) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

json record(const std::string& path) { return json::parse(read_file(path)); }

std::string machine_with_pid(const std::string& dir, int pid) {
  std::string text = read_file(fixture("account/machine_job.json"));
  text = std::regex_replace(text, std::regex("@JOB_PID@"), std::to_string(pid));
  std::string path = dir + "/machine.json";
  std::ofstream(path) << text;
  return path;
}

// A process for attach mode: sleeps `seconds`, reaped by a thread of the test.
pid_t start_sleeper(double seconds) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::usleep(static_cast<useconds_t>(seconds * 1e6));
    ::_exit(0);
  }
  return pid;
}

}  // namespace

TEST_CASE("gpuaccount: exits with the payload's status") {
  CHECK(run_tool("gpuaccount", {"-q", "--", payload(), "exit", "0"}).exit_code == 0);
  CHECK(run_tool("gpuaccount", {"-q", "--", payload(), "exit", "3"}).exit_code == 3);
  CHECK(run_tool("gpuaccount", {"-q", "--", payload(), "kill", "9"}).exit_code == 128 + 9);
  auto segv = run_tool("gpuaccount", {"-q", "-o", temp_dir() + "/r.json", "--", payload(), "kill", "11"});
  CHECK(segv.exit_code == 128 + 11);

  auto missing = run_tool("gpuaccount", {"-q", "--", "/no/such/program"});
  CHECK(missing.exit_code == 127);
  CHECK(missing.err.find("gpuaccount: /no/such/program: No such file or directory") != std::string::npos);
  json doc = json::parse(missing.out);
  CHECK(doc["account"]["exit"]["status"] == 127);

  std::string dir = temp_dir();
  std::string script = dir + "/not-executable";
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  ::chmod(script.c_str(), 0644);
  CHECK(run_tool("gpuaccount", {"-q", "--", script}).exit_code == 126);
}

TEST_CASE("gpuaccount: the record of a job with children and grandchildren") {
  std::string dir = temp_dir();
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.1", "-o", dir + "/r.json", "--series", dir + "/s.tsv", "--",
                                   payload(), "spin", "0.4", "2"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());  // the record went to the file
  json doc = record(dir + "/r.json");
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  CHECK(a["mode"] == "wrap");
  CHECK(a["status"] == "complete");
  CHECK(a["exit"]["exit_code"] == 0);
  CHECK(a["cpu"]["max_processes"].get<int>() == 3);  // payload, child, grandchild
  CHECK(a["cpu"]["cpu_s"].get<double>() >= 1.1);    // 3 x 0.4 s, with some slack for clock ticks
  CHECK(a["samples"].get<int>() >= 3);
  CHECK(a["gpus"].empty());
  // The series: prmon's columns, one row per sample, monotonic CPU time.
  std::string tsv = read_file(dir + "/s.tsv");
  CHECK(tsv.substr(0, tsv.find('\n') + 1) == read_file(fixture("golden/account/series-header.tsv")));
  int rows = 0;
  double last_utime = 0;
  std::istringstream lines(tsv.substr(tsv.find('\n') + 1));
  for (std::string line; std::getline(lines, line); ++rows) {
    std::vector<std::string> cells;
    std::istringstream cs(line);
    for (std::string c; std::getline(cs, c, '\t');) cells.push_back(c);
    // 27 columns; the GPM ones are empty without GPM (getline drops the trailing empties).
    REQUIRE(std::count(line.begin(), line.end(), '\t') == 26);
    CHECK(std::stod(cells[2]) >= last_utime);
    last_utime = std::stod(cells[2]);
  }
  CHECK(rows == a["samples"].get<int>());
}

TEST_CASE("gpuaccount: every forwarded signal reaches the payload, its children and grandchildren") {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    CAPTURE(sig);
    std::string dir = temp_dir();
    std::string ready = dir + "/ready", log = dir + "/log";
    Background g({"-q", "--interval", "0.2", "-o", dir + "/r.json", "--", payload(), "signals", ready, log, "2"});
    REQUIRE(wait_for([&] { return exists(ready); }));
    ::kill(g.pid, sig);
    CHECK(g.wait() == 64 + sig);
    std::string got = read_file(log);
    std::string name = record(dir + "/r.json")["account"]["signals_forwarded"][0];
    CHECK(got.find("payload " + name) != std::string::npos);
    CHECK(got.find("child " + name) != std::string::npos);
    CHECK(got.find("grandchild " + name) != std::string::npos);
    json a = record(dir + "/r.json")["account"];
    CHECK(a["exit"]["status"] == 64 + sig);
    CHECK(a["signals_forwarded"].size() == 1);
  }
}

TEST_CASE("gpuaccount: a payload killed by a forwarded signal gives 128 + signal") {
  std::string dir = temp_dir();
  Background g({"-q", "--interval", "0.2", "-o", dir + "/r.json", "--", "sleep", "30"});
  REQUIRE(wait_for([&] { return exists(dir + "/r.json"); }));
  ::kill(g.pid, SIGTERM);
  CHECK(g.wait() == 128 + SIGTERM);
  json a = record(dir + "/r.json")["account"];
  CHECK(a["exit"]["signal"] == "SIGTERM");
  CHECK(a["exit"]["exit_code"].is_null());
}

TEST_CASE("gpuaccount: a payload that ignores SIGTERM keeps running and is accounted to its end") {
  std::string dir = temp_dir();
  Background g({"-q", "--interval", "0.2", "-o", dir + "/r.json", "--", payload(), "ignore-term", dir + "/ready", "1.0"});
  REQUIRE(wait_for([&] { return exists(dir + "/ready"); }));
  ::kill(g.pid, SIGTERM);
  CHECK(g.wait() == 0);
  json a = record(dir + "/r.json")["account"];
  CHECK(a["signals_forwarded"] == json::array({"SIGTERM"}));
  CHECK(a["wall_s"].get<double>() >= 0.9);
}

TEST_CASE("gpuaccount: a payload that forks and exits ends the job, the orphan is reported, not waited for") {
  std::string dir = temp_dir();
  // In the background: the orphan keeps run_tool's pipes open.
  Background g({"-q", "-o", dir + "/r.json", "--", payload(), "fork-exit", dir + "/pid"});
  CHECK(g.wait(10) == 0);
  int orphan = std::stoi(read_file(dir + "/pid"));
  json a = record(dir + "/r.json")["account"];
  CHECK(a["descendants_left"] == json::array({orphan}));
  ::kill(orphan, SIGKILL);
}

TEST_CASE("gpuaccount: SIGKILL leaves the last complete record and series on disk, the payload survives") {
  std::string dir = temp_dir();
  Background g({"-q", "--interval", "0.1", "-o", dir + "/r.json", "--series", dir + "/s.tsv", "--prometheus", dir + "/m.prom",
                "--", "sleep", "30"});
  REQUIRE(wait_for([&] {
    if (!exists(dir + "/r.json")) return false;
    return record(dir + "/r.json")["account"]["samples"].get<int>() >= 3;
  }));
  ::kill(g.pid, SIGKILL);
  CHECK(g.wait() == 128 + SIGKILL);
  json doc = record(dir + "/r.json");  // parses: never half-written
  CHECK(validate_document(doc) == "");
  CHECK(doc["account"]["status"] == "running");
  int payload_pid = doc["account"]["pid"];
  CHECK(::kill(payload_pid, 0) == 0);  // gpuaccount's death did not take the payload with it
  ::kill(payload_pid, SIGKILL);
  std::string tsv = read_file(dir + "/s.tsv");
  CHECK(tsv.back() == '\n');
  CHECK(std::count(tsv.begin(), tsv.end(), '\n') >= 3);
  CHECK(read_file(dir + "/m.prom").find("gpukit_job_wall_seconds_total") != std::string::npos);
}

TEST_CASE("gpuaccount: a job shorter than the interval is accounted and flagged") {
  auto r = run_tool("gpuaccount", {"-q", "--interval", "5", "--", payload(), "exit", "0"});
  REQUIRE(r.exit_code == 0);
  json a = json::parse(r.out)["account"];
  CHECK(a["short_job"] == true);
  CHECK(a["samples"].get<int>() >= 1);
  CHECK(a["wall_s"].get<double>() < 5);
  bool flagged = false;
  for (const auto& p : a["problems"]) flagged = flagged || p.get<std::string>().find("shorter than the interval") != std::string::npos;
  CHECK(flagged);
}

TEST_CASE("gpuaccount: its own problems never stop the payload nor change its status") {
  std::string dir = temp_dir();
  std::ofstream(dir + "/scores.json") << "{\"benchmark_type\": \"x\", \"models\": {}}";
  auto bad_scores = run_tool("gpuaccount", {"--benchmark", dir + "/scores.json", "--", payload(), "exit", "6"});
  CHECK(bad_scores.exit_code == 6);
  CHECK(bad_scores.err.find("accounting degraded: input: " + dir +
                            "/scores.json: has no score (gpu_per_device, models and cpu_per_core are all empty or null); "
                            "accounted without it") != std::string::npos);
  // The record is still written, and says what it lacks.
  json degraded = json::parse(bad_scores.out)["account"];
  CHECK(validate_document(json::parse(bad_scores.out)) == "");
  CHECK(degraded["status"] == "complete");
  CHECK(degraded["exit"]["status"] == 6);
  REQUIRE(degraded["degraded"].size() == 1);
  CHECK(degraded["degraded"][0].get<std::string>().rfind("input: ", 0) == 0);

  auto unreadable = run_tool("gpuaccount", {"-q", "-i", "/no/such/input.json", "--", payload(), "exit", "9"});
  CHECK(unreadable.exit_code == 9);
  CHECK(json::parse(unreadable.out)["account"]["degraded"].size() == 1);

  auto no_apel = run_tool("gpuaccount", {"-f", "apel", "--", payload(), "exit", "7"});
  CHECK(no_apel.exit_code == 7);
  CHECK(no_apel.out.empty());
  CHECK(no_apel.err.find("no apel output: the site is unknown") != std::string::npos);

  auto unwritable = run_tool("gpuaccount", {"-q", "--series", "/no/such/dir/s.tsv", "--", payload(), "exit", "8"});
  CHECK(unwritable.exit_code == 8);
  // Said on stderr even with -q (the series is lost), and in the record.
  CHECK(unwritable.err.find("/no/such/dir/s.tsv: cannot create a temporary file") != std::string::npos);
  json a = json::parse(unwritable.out)["account"];
  CHECK(a["status"] == "complete");
  REQUIRE(a["degraded"].size() == 1);
  CHECK(a["degraded"][0].get<std::string>().find("write: /no/such/dir/s.tsv") == 0);
}

TEST_CASE("gpuaccount: options out of range are refused before anything starts, the payload is not started") {
  std::string dir = temp_dir();
  std::string marker = dir + "/started";
  auto refused = [&](std::vector<std::string> args, const std::string& message) {
    CAPTURE(message);
    for (const auto& a : std::vector<std::string>{"--", "/bin/sh", "-c", "touch " + marker + "; exit 5"}) args.push_back(a);
    auto r = run_tool("gpuaccount", args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.err.find("the command was not started") != std::string::npos);
    CHECK_FALSE(exists(marker));
  };
  refused({"--interval", "1e-9"}, "gpuaccount: --interval: must be a number of seconds from 0.1 to 86400, not 1e-09; the command was not started\n");
  refused({"--interval", "0"}, "--interval: must be a number of seconds from 0.1 to 86400, not 0;");
  refused({"--interval", "-1"}, "--interval: must be a number of seconds from 0.1 to 86400, not -1;");
  refused({"--interval", "nan"}, "--interval: must be a number of seconds from 0.1 to 86400, not nan;");
  refused({"--interval", "inf"}, "--interval: must be a number of seconds from 0.1 to 86400, not inf;");
  refused({"--interval", "1e9"}, "--interval: must be a number of seconds from 0.1 to 86400, not 1000000000;");
  refused({"--interval", "abc"}, "--interval");
  refused({"--no-such-flag"}, "--no-such-flag");
  refused({"--node"}, "give exactly one of: -- COMMAND, --pid PID, --node; the command was not started");
  refused({"-o", "/dev/null"}, "/dev/null: exists and is not a regular file: refusing to replace it; the command was not started");
  refused({"--series", "/dev/null"}, "/dev/null: exists and is not a regular file");
  refused({"--prometheus", dir}, "is a directory, not a file to write");
  // The documented minimum itself is accepted.
  auto minimum = run_tool("gpuaccount", {"-q", "--interval", "0.1", "--", "/bin/sh", "-c", "touch " + marker + "; exit 5"});
  CHECK(minimum.exit_code == 5);
  CHECK(exists(marker));

  for (const char* d : {"nan", "inf", "0", "-3", "1e300"}) {
    CAPTURE(d);
    auto r = run_tool("gpuaccount", {"--node", "--duration", d, "--interval", "0.1"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("gpuaccount: --duration: must be a number of seconds above 0 and at most 31622400, not ") == 0);
  }
}

TEST_CASE("gpuaccount: -o onto a FIFO or a device is refused and the target left as it was") {
  std::string dir = temp_dir();
  std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto r = run_tool("gpuaccount", {"--node", "--duration", "0.2", "--interval", "0.1", "-o", fifo});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "gpuaccount: " + fifo + ": exists and is not a regular file: refusing to replace it\n");
  struct stat st{};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("gpuaccount: records keep the mode of an existing file and the umask of a new one") {
  std::string dir = temp_dir();
  std::string record_path = dir + "/r.json";
  std::ofstream(record_path) << "{}";
  ::chmod(record_path.c_str(), 0600);
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.1", "-o", record_path, "--series", dir + "/s.tsv", "--", payload(), "exit", "0"});
  REQUIRE(r.exit_code == 0);
  struct stat st{};
  REQUIRE(::stat(record_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(record(record_path)["account"]["status"] == "complete");
  // The series is new: 0666 less the test's umask.
  mode_t mask = ::umask(0);
  ::umask(mask);
  REQUIRE(::stat((dir + "/s.tsv").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == (0666 & ~mask));
}

TEST_CASE("gpuaccount: a record that cannot be written: exit 3 in node and attach mode, the payload's status in wrap mode") {
  // /dev/full: ENOSPC on every write.
  {
    Background node({"--node", "--duration", "0.3", "--interval", "0.1"}, {}, "/dev/full");
    CHECK(node.wait() == 3);
    CHECK(read_file(node.err) == "gpuaccount: <stdout>: cannot write: No space left on device\n");
  }
  {
    pid_t target = start_sleeper(0.3);
    Background attach({"--interval", "0.1", "--pid", std::to_string(target)}, {}, "/dev/full");
    CHECK(attach.wait() == 3);
    ::waitpid(target, nullptr, 0);
    CHECK(read_file(attach.err).find("No space left on device") != std::string::npos);
  }
  {
    Background wrap({"-q", "--interval", "0.1", "--", payload(), "exit", "5"}, {}, "/dev/full");
    CHECK(wrap.wait() == 5);
    CHECK(read_file(wrap.err) == "gpuaccount: <stdout>: cannot write: No space left on device\n");
  }
  // A pipe whose reader is gone: EPIPE, not death by SIGPIPE.
  {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    ::close(p[0]);
    Background node({"--node", "--duration", "0.2", "--interval", "0.1"}, {}, "", p[1]);
    ::close(p[1]);
    CHECK(node.wait() == 3);
    CHECK(read_file(node.err) == "gpuaccount: <stdout>: cannot write: Broken pipe\n");
  }
  // EACCES: a directory it may not write into.
  if (::geteuid() != 0) {
    std::string dir = temp_dir();
    ::chmod(dir.c_str(), 0500);
    auto r = run_tool("gpuaccount", {"--node", "--duration", "0.2", "--interval", "0.1", "-o", dir + "/r.json"});
    auto wrapped = run_tool("gpuaccount", {"-q", "--interval", "0.1", "-o", dir + "/r.json", "--", payload(), "exit", "4"});
    ::chmod(dir.c_str(), 0700);
    CHECK(r.exit_code == 3);
    CHECK(r.out.empty());
    CHECK(r.err.find("r.json: cannot create a temporary file: Permission denied") != std::string::npos);
    CHECK(wrapped.exit_code == 4);
    CHECK(wrapped.err.find("Permission denied") != std::string::npos);
  } else {
    MESSAGE("running as root: a directory's mode cannot provoke EACCES; that case is not checked here");
  }
}

TEST_CASE("gpuaccount: a crash of gpuaccount neither orphans the payload nor loses its status") {
  for (int sig : {SIGSEGV, SIGABRT}) {
    CAPTURE(sig);
    std::string dir = temp_dir();
    std::string ready = dir + "/ready", done = dir + "/done";
    Background g({"-q", "--interval", "0.1", "-o", dir + "/r.json", "--", "/bin/sh", "-c",
                  "touch " + ready + "; sleep 1; touch " + done + "; exit 7"});
    REQUIRE(wait_for([&] { return exists(ready) && exists(dir + "/r.json"); }));
    ::kill(g.pid, sig);
    CHECK(g.wait() == 7);
    CHECK(exists(done));  // the payload ran to its end
    CHECK(read_file(g.err).find("gpuaccount: internal failure: accounting stopped; waiting for the command") == 0);
  }
}

TEST_CASE("gpuaccount: a hung NVML call is abandoned once per device, threads stay bounded") {
  std::string dir = temp_dir();
  json machine = json::parse(read_file(fixture("machines/nvidia_telemetry.json")));
  machine["hang"] = "nvmlDeviceGetTotalEnergyConsumption";
  std::ofstream(dir + "/machine.json") << machine.dump();
  Background g({"-q", "--node", "--duration", "3", "--interval", "0.1", "--timeout", "0.2", "-o", dir + "/r.json"},
               {{"GPUKIT_NVML_LIBRARY", nvml()}, {"GPUKIT_FAKE_MACHINE", dir + "/machine.json"}});
  std::size_t most_threads = 0;
  std::string tasks = "/proc/" + std::to_string(g.pid) + "/task";
  wait_for([&] {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(tasks, ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) ++n;
    most_threads = std::max(most_threads, n);
    int st = 0;
    return ::waitpid(g.pid, &st, WNOHANG) == g.pid;
  }, 30);
  json a = record(dir + "/r.json")["account"];
  CHECK(a["status"] == "complete");
  CHECK(validate_document(record(dir + "/r.json")) == "");
  REQUIRE(a["gpus"].size() >= 3);
  for (const auto& gpu : a["gpus"])
    if (gpu["kind"] == "gpu") CHECK(gpu["status"] == "timeout");  // MIG instances have no energy counter to call
  CHECK(a["samples"].get<int>() >= 5);  // sampling went on
  // One thread per device is left inside the fake NVML, one may be in flight,
  // and the main thread: never one per sample (30 samples x devices before).
  CAPTURE(most_threads);
  CHECK(most_threads <= a["gpus"].size() + 3);
}

TEST_CASE("gpuaccount: a hanging event wait costs the events, not the payload, the samples or a thread per sample") {
  std::string dir = temp_dir();
  json machine = json::parse(read_file(fixture("machines/nvidia_events.json")));
  machine["hang"] = "nvmlEventSetWait";
  std::ofstream(dir + "/machine.json") << machine.dump();
  std::string done = dir + "/done";
  Background g({"-q", "--interval", "0.1", "--timeout", "0.2", "-o", dir + "/r.json", "--", "/bin/sh", "-c",
                "sleep 1.5; touch " + done + "; exit 5"},
               {{"GPUKIT_NVML_LIBRARY", nvml()},
                {"GPUKIT_FAKE_MACHINE", dir + "/machine.json"},
                {"CUDA_VISIBLE_DEVICES", "GPU-e1e1e1e1-0000-4000-8000-000000000001,GPU-e2e2e2e2-0000-4000-8000-000000000002"}});
  std::size_t most_threads = 0;
  std::string tasks = "/proc/" + std::to_string(g.pid) + "/task";
  int st = 0;
  bool ended = wait_for([&] {
    std::error_code ec;
    std::size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(tasks, ec); !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) ++n;
    most_threads = std::max(most_threads, n);
    return ::waitpid(g.pid, &st, WNOHANG) == g.pid;
  }, 30);
  REQUIRE(ended);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 5);  // the payload's own status
  CHECK(std::filesystem::exists(done));
  json a = record(dir + "/r.json")["account"];
  CHECK(validate_document(record(dir + "/r.json")) == "");
  CHECK(a["status"] == "complete");
  CHECK(a["samples"].get<int>() >= 8);  // sampling went on every 0.1 s
  REQUIRE(a["gpus"].size() == 2);
  for (const auto& gpu : a["gpus"]) {
    CHECK(gpu["status"] == "ok");  // its samples were not lost with its events
    CHECK(gpu["gaps"].empty());
    CHECK(gpu["events"]["xid"].is_null());
    CHECK(gpu["events"]["unavailable"]["xid"].get<std::string>().find("did not return within 0.2 s") != std::string::npos);
  }
  CHECK(a["problems"].dump().find("an error-event read did not return within 0.2 s") != std::string::npos);
  // One abandoned thread per GPU, one call in flight, the main thread and the
  // payload's reaper: never one per sample (15 samples x 2 GPUs).
  CAPTURE(most_threads);
  CHECK(most_threads <= a["gpus"].size() + 3);
}

TEST_CASE("gpuaccount: usage errors outside wrap mode") {
  auto no_pid = run_tool("gpuaccount", {"--pid", "999999999"});
  CHECK(no_pid.exit_code == 2);
  CHECK(no_pid.out.empty());
  CHECK(no_pid.err == "gpuaccount: --pid 999999999: no such process\n");

  auto nothing = run_tool("gpuaccount", {});
  CHECK(nothing.exit_code == 2);
  CHECK(nothing.err == "gpuaccount: give exactly one of: -- COMMAND, --pid PID, --node\n");

  auto duration = run_tool("gpuaccount", {"--pid", std::to_string(::getpid()), "--duration", "1"});
  CHECK(duration.exit_code == 2);
  CHECK(duration.err == "gpuaccount: --duration: is only for --node\n");

  auto apel_node = run_tool("gpuaccount", {"--node", "-f", "apel"});
  CHECK(apel_node.exit_code == 2);
  CHECK(apel_node.err == "gpuaccount: --format apel: APEL records are per job; not with --node\n");

  std::string dir = temp_dir();
  std::ofstream(dir + "/scores.json") << "not json";
  auto bad_scores = run_tool("gpuaccount", {"--node", "--duration", "0.1", "--benchmark", dir + "/scores.json"});
  CHECK(bad_scores.exit_code == 2);
  // The one bounded JSON reader's message: the file, the path, the byte.
  CHECK(bad_scores.err.rfind("gpuaccount: " + dir + "/scores.json: /: invalid JSON at byte 2", 0) == 0);
  CHECK(std::count(bad_scores.err.begin(), bad_scores.err.end(), '\n') == 1);
  CHECK(bad_scores.out.empty());
}

TEST_CASE("gpuaccount: attach mode accounts a running process until it ends") {
  pid_t target = start_sleeper(0.8);
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.1", "--pid", std::to_string(target)});
  ::waitpid(target, nullptr, 0);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  CHECK(doc["account"]["mode"] == "attach");
  CHECK(doc["account"]["pid"] == target);
  CHECK(doc["account"]["wall_s"].get<double>() > 0.3);
  CHECK(doc["account"]["cpu"]["max_processes"] == 1);
}

TEST_CASE("gpuaccount: node mode ends at --duration or on SIGTERM") {
  auto r = run_tool("gpuaccount", {"-q", "--node", "--duration", "0.3", "--interval", "0.1"});
  REQUIRE(r.exit_code == 0);
  json a = json::parse(r.out)["account"];
  CHECK(a["mode"] == "node");
  CHECK(a["status"] == "complete");
  CHECK(a["wall_s"].get<double>() == doctest::Approx(0.3).epsilon(0.5));

  std::string dir = temp_dir();
  Background g({"-q", "--node", "--interval", "0.1", "-o", dir + "/r.json"});
  REQUIRE(wait_for([&] { return exists(dir + "/r.json"); }));
  ::kill(g.pid, SIGTERM);
  CHECK(g.wait() == 0);
  CHECK(record(dir + "/r.json")["account"]["status"] == "interrupted");
}

TEST_CASE("gpuaccount: GPUs through the fake NVML: process attribution, counter reset, a lost GPU, MIG") {
  std::string dir = temp_dir();
  pid_t job = start_sleeper(2.0);
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()}, {"GPUKIT_FAKE_MACHINE", machine_with_pid(dir, job)}};
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--pid", std::to_string(job), "--series", dir + "/s.tsv"}, o);
  ::waitpid(job, nullptr, 0);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  CHECK(a["telemetry"] == "nvidia");
  std::map<std::string, json> by_uuid;
  for (const auto& g : a["gpus"]) by_uuid[g["uuid"]] = g;
  // The job's processes were seen on each; the A100 lists its MIG instance's
  // processes too, and is left out when the inventory names it as the parent.
  REQUIRE(by_uuid.count("GPU-11111111-1111-4111-8111-111111111111"));
  REQUIRE(by_uuid.count("GPU-22222222-2222-4222-8222-222222222222"));
  REQUIRE(by_uuid.count("MIG-44444444-4444-5444-8444-444444444444"));
  if (doc.contains("gpus")) CHECK_FALSE(by_uuid.count("GPU-33333333-3333-4333-8333-333333333333"));

  const json& shared = by_uuid["GPU-11111111-1111-4111-8111-111111111111"];
  CHECK(shared["attribution"] == "process");
  CHECK(shared["held_because"] == "process_seen");
  CHECK(shared["count"].get<double>() == doctest::Approx(0.25));  // 2 GiB of 8 GiB
  CHECK(shared["utilization_mean_pct"].get<double>() == doctest::Approx(200).epsilon(0.1));  // 50 % of a GPU on a quarter share
  CHECK(shared["energy_counter_resets"] == 1);
  CHECK(shared["energy_estimated"] == true);
  CHECK(shared["energy_j"].get<double>() > 0);
  CHECK(shared["other_processes_seen"] == 1);

  const json& lost = by_uuid["GPU-22222222-2222-4222-8222-222222222222"];
  CHECK(lost["attribution"] == "exclusive");
  CHECK(lost["gap_s"].get<double>() > 0.5);
  REQUIRE(lost["gaps"].size() == 1);
  CHECK(lost["gaps"][0]["error"].get<std::string>().find("GPU is lost") != std::string::npos);

  const json& mig = by_uuid["MIG-44444444-4444-5444-8444-444444444444"];
  CHECK(mig["kind"] == "mig");
  CHECK(mig["active_s"].is_null());
  CHECK(mig["energy_j"].is_null());
  CHECK(mig["unavailable"].contains("energy_j"));
  CHECK(mig["memory_max_bytes"] == 1073741824);

  std::string tsv = read_file(dir + "/s.tsv");
  tsv.pop_back();
  std::istringstream last(tsv.substr(tsv.rfind('\n') + 1));
  std::vector<std::string> cells;
  for (std::string c; std::getline(last, c, '\t');) cells.push_back(c);
  REQUIRE(cells.size() >= 21);  // and the GPM columns, empty on these GPUs
  CHECK(std::stoi(cells[14]) == static_cast<int>(a["gpus"].size()));  // ngpus
}

TEST_CASE("gpuaccount: APEL message from a job on the fake GPUs validates against the specification") {
  std::string dir = temp_dir();
  pid_t job = start_sleeper(1.0);
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()}, {"GPUKIT_FAKE_MACHINE", machine_with_pid(dir, job)}};
  auto r = run_tool("gpuaccount", {"-q", "-f", "apel", "--interval", "0.2", "--pid", std::to_string(job), "--site", "TEST-SITE",
                                   "--job-id", "ce01#42.0", "--fqan", "/atlas/Role=production", "--cores", "8"},
                    o);
  ::waitpid(job, nullptr, 0);
  REQUIRE(r.exit_code == 0);
  json message = json::parse(r.out);
  CHECK(validate_against(message, "../../../tests/fixtures/account/apel-accelerator-message.schema.json") == "");
  CHECK(message["Type"] == "APEL-accelerator-message");
  for (const auto& rec : message["UsageRecords"]) {
    CHECK(rec["SiteName"] == "TEST-SITE");
    CHECK(rec["AssociatedRecord"] == "ce01#42.0");
    CHECK(rec["Cores"] == 8);
    CHECK(rec["AvailableDuration"].get<long>() >= 0);
  }

  auto no_site = run_tool("gpuaccount", {"-f", "apel", "--node", "--duration", "0.1"});
  CHECK(no_site.exit_code == 2);
}

TEST_CASE("gpuaccount: the APEL FQAN from each identity source; with none, no record and the payload's status") {
  std::string dir = temp_dir();
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()},
           {"GPUKIT_FAKE_MACHINE", fixture("machines/nvidia_telemetry.json")},
           {"CUDA_VISIBLE_DEVICES", "1"},
           {"SLURM_JOB_ID", "4242"},
           {"SLURM_JOB_USER", "alice"},
           {"X509_USER_PROXY", dir + "/no-proxy"},
           {"GPUKIT_SITE_FILE", dir + "/no-site.json"}};
  o.unset_env = {"_CONDOR_JOB_AD", "_CONDOR_MACHINE_AD"};
  auto record = [&](const std::vector<std::string>& extra, const RunOptions& options) {
    std::vector<std::string> args = {"-q", "-f", "apel", "--interval", "0.2", "--site", "TEST-SITE"};
    args.insert(args.end(), extra.begin(), extra.end());
    for (const std::string& a : std::vector<std::string>{"--", payload(), "exit", "3"}) args.push_back(a);
    auto r = run_tool("gpuaccount", args, options);
    CHECK(r.exit_code == 3);  // the payload's
    INFO(r.err);
    if (r.out.empty()) return json();
    json message = json::parse(r.out);
    CHECK(validate_against(message, "../../../tests/fixtures/account/apel-accelerator-message.schema.json") == "");
    return message["UsageRecords"][0];
  };

  // None: no record, one line on stderr, the payload's status.
  auto none = run_tool("gpuaccount", {"-q", "-f", "apel", "--site", "TEST-SITE", "--", payload(), "exit", "3"}, o);
  CHECK(none.exit_code == 3);
  CHECK(none.out.empty());
  CHECK(std::count(none.err.begin(), none.err.end(), '\n') == 1);
  CHECK(none.err.find("no apel output: the FQAN is unknown") != std::string::npos);

  // An identity APEL would refuse is refused before the payload starts.
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--fqan", "None"}, {"--vo", "/atlas"}, {"--site", "null"}}) {
    std::vector<std::string> args = bad;
    for (const std::string& a : std::vector<std::string>{"--", payload(), "exit", "3"}) args.push_back(a);
    auto r = run_tool("gpuaccount", args, o);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("gpuaccount: " + bad[0] + ": ", 0) == 0);
    CHECK(r.err.find("the command was not started") != std::string::npos);
  }

  json flag = record({"--fqan", "/atlas/Role=pilot"}, o);
  CHECK(flag["FQAN"] == "/atlas/Role=pilot");
  CHECK(flag["GlobalUserName"].is_null());  // SLURM_JOB_USER is a local name

  json vo = record({"--vo", "dteam"}, o);
  CHECK(vo["FQAN"] == "/dteam");

  RunOptions site = o;
  std::ofstream(dir + "/site.json") << R"({"vo": "lhcb"})";
  site.env["GPUKIT_SITE_FILE"] = dir + "/site.json";
  CHECK(record({}, site)["FQAN"] == "/lhcb");

  RunOptions condor = o;
  condor.env.erase("SLURM_JOB_ID");
  condor.env.erase("SLURM_JOB_USER");
  condor.unset_env = {"SLURM_JOB_ID", "SLURM_JOB_USER"};
  condor.env["_CONDOR_JOB_AD"] = fixture("account/condor/job.ad");
  json ad = record({}, condor);
  CHECK(ad["FQAN"] == "/atlas/Role=production/Capability=NULL");
  CHECK(ad["GlobalUserName"] == "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=pilot \"robot\"");
  CHECK(ad["AssociatedRecord"] == "ce01.example.org#1234.5#1732000000");

  std::string proxy = make_voms_proxy(dir, "/DC=org/DC=example/CN=Jane Doe", {"/cms/Role=pilot/Capability=NULL"});
  if (proxy.empty()) {
    MESSAGE("skipped the proxy case: openssl is not installed (it makes the test proxy)");
    return;
  }
  RunOptions with_proxy = o;
  with_proxy.env["X509_USER_PROXY"] = proxy;
  json p = record({"--vo", "dteam"}, with_proxy);  // the proxy before the site default
  CHECK(p["FQAN"] == "/cms/Role=pilot/Capability=NULL");
  CHECK(p["GlobalUserName"] == "/DC=org/DC=example/CN=Jane Doe");  // preferred to SLURM_JOB_USER
}

TEST_CASE("gpuaccount: the Prometheus textfile passes promtool") {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    MESSAGE("skipped: promtool is not installed (Debian package prometheus; scripts/setup installs it)");
    return;
  }
  std::string dir = temp_dir();
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()}, {"GPUKIT_FAKE_MACHINE", fixture("machines/nvidia_telemetry.json")}};
  auto node = run_tool("gpuaccount", {"-q", "--node", "--duration", "1", "--interval", "0.2", "--prometheus", dir + "/node.prom",
                                      "--keep-textfile"},
                       o);
  REQUIRE(node.exit_code == 0);
  std::string text = read_file(dir + "/node.prom");
  CHECK(text.find("gpukit_gpu_occupancy_ratio{") != std::string::npos);
  CHECK(text.find("gpukit_gpu_energy_joules_total{") != std::string::npos);
  CHECK(std::system(("promtool check metrics < " + dir + "/node.prom").c_str()) == 0);

  auto job = run_tool("gpuaccount", {"-q", "--job-id", "slurm-7", "--prometheus", dir + "/job.prom", "--keep-textfile", "--",
                                     payload(), "exit", "0"});
  REQUIRE(job.exit_code == 0);
  CHECK(read_file(dir + "/job.prom").find("gpukit_job_wall_seconds_total{job_id=\"slurm-7\"}") != std::string::npos);
  CHECK(std::system(("promtool check metrics < " + dir + "/job.prom").c_str()) == 0);
  // The check can fail: a timestamp on a sample is rejected for textfiles.
  std::ofstream(dir + "/bad.prom") << "# TYPE gpukit_x_total counter\ngpukit_x_total 1\ngpukit_x_total 2\n";
  CHECK(std::system(("promtool check metrics < " + dir + "/bad.prom > /dev/null 2>&1").c_str()) != 0);
}

TEST_CASE("gpuaccount: the device readings in the textfile: temperature, clocks, throttle reasons, ECC, in base units") {
  std::string dir = temp_dir();
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()}, {"GPUKIT_FAKE_MACHINE", fixture("machines/nvidia_telemetry.json")}};
  // Kept, to read it after the end; -o a file, so that the record is in it.
  // Past 0.6 s, when the fixture's second GPU falls off the bus.
  auto node = run_tool("gpuaccount", {"-q", "--node", "--duration", "1", "--interval", "0.1", "-o", dir + "/r.json",
                                      "--prometheus", dir + "/node.prom", "--keep-textfile"},
                       o);
  REQUIRE(node.exit_code == 0);
  std::string text = read_file(dir + "/node.prom");
  std::string h100 = "uuid=\"GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b\",mig_instance=\"\",model=\"NVIDIA H100 80GB HBM3\"";
  json gpu0 = record(dir + "/r.json")["account"]["gpus"][0];
  REQUIRE(gpu0["uuid"] == "GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  const json& last = gpu0["last_sample"];
  // The fixture's curve is 55 C at 0 s to 65 C at 2 s: the file shows the last reading, as the record does.
  CHECK(last["temperature_c"].get<int>() >= 55);
  CHECK(text.find("gpukit_gpu_temperature_celsius{" + h100 + "} " + std::to_string(last["temperature_c"].get<int>()) + "\n") !=
        std::string::npos);
  CHECK(text.find("gpukit_gpu_clock_hertz{" + h100 + ",clock=\"sm\"} 1755000000\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_clock_hertz{" + h100 + ",clock=\"memory\"} 2619000000\n") != std::string::npos);
  // Mask 5: GPU idle and the software power cap; every other reason is a 0.
  CHECK(text.find("gpukit_gpu_throttle_reason{" + h100 + ",reason=\"sw_power_cap\"} 1\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_throttle_reason{" + h100 + ",reason=\"gpu_idle\"} 1\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_throttle_reason{" + h100 + ",reason=\"hw_thermal\"} 0\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_ecc_errors_total{" + h100 + ",type=\"corrected\",counter=\"volatile\"} 3\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_ecc_errors_total{" + h100 + ",type=\"uncorrected\",counter=\"volatile\"} 0\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_power_watts{" + h100 + "} 250\n") != std::string::npos);
  // Installed: the three physical GPUs, not the MIG instances.
  std::size_t installed = 0;
  for (std::size_t at = 0; (at = text.find("\ngpukit_gpu_info{", at)) != std::string::npos; ++at) ++installed;
  CHECK(installed == 3);
  // The lost GPU's readings end with the gap: no stale temperature for it.
  CHECK(record(dir + "/r.json")["account"]["gpus"][1]["gap_s"].get<double>() > 0);
  CHECK(text.find("gpukit_gpu_temperature_celsius{uuid=\"GPU-8d2e4f6a") == std::string::npos);
  // The MIG instances have no readings of their own (NVML answers NOT_SUPPORTED).
  CHECK(text.find("gpukit_gpu_temperature_celsius{uuid=\"GPU-4a6c8e0a-2c4e-4a6c-8e0a-2c4e6a8c0e2a\",mig_instance=\"MIG") ==
        std::string::npos);
  CHECK(text.find("gpukit_account_interval_seconds 0.1\n") != std::string::npos);
}

TEST_CASE("gpuaccount: the textfile goes when the job ends, once the record holds the final figures") {
  std::string dir = temp_dir();
  // Removed at the end, record in a file or on standard output.
  auto to_file = run_tool("gpuaccount", {"-q", "--job-id", "1", "-o", dir + "/r.json", "--prometheus", dir + "/1.prom", "--",
                                         payload(), "exit", "3"});
  CHECK(to_file.exit_code == 3);
  CHECK(exists(dir + "/r.json"));
  CHECK_FALSE(exists(dir + "/1.prom"));
  auto to_stdout = run_tool("gpuaccount", {"-q", "--job-id", "2", "--prometheus", dir + "/2.prom", "--", payload(), "exit", "0"});
  CHECK(to_stdout.exit_code == 0);
  CHECK(json::parse(to_stdout.out)["account"]["status"] == "complete");
  CHECK_FALSE(exists(dir + "/2.prom"));
  // While the job runs, it is there.
  Background g({"-q", "--interval", "0.1", "--job-id", "3", "-o", dir + "/3.json", "--prometheus", dir + "/3.prom", "--",
                payload(), "ignore-term", dir + "/ready", "0.6"});
  REQUIRE(wait_for([&] { return exists(dir + "/3.prom"); }));
  CHECK(read_file(dir + "/3.prom").find("gpukit_job_wall_seconds_total{job_id=\"3\"}") != std::string::npos);
  CHECK(g.wait() == 0);
  CHECK_FALSE(exists(dir + "/3.prom"));
  CHECK(record(dir + "/3.json")["account"]["status"] == "complete");
  // Node mode: the exporter's file goes when it stops, on SIGTERM too.
  Background n({"-q", "--node", "--interval", "0.1", "-o", dir + "/n.json", "--prometheus", dir + "/n.prom"});
  REQUIRE(wait_for([&] { return exists(dir + "/n.prom"); }));
  ::kill(n.pid, SIGTERM);
  CHECK(n.wait() == 0);
  CHECK_FALSE(exists(dir + "/n.prom"));
  CHECK(record(dir + "/n.json")["account"]["status"] == "interrupted");
  // --keep-textfile: the final figures stay.
  auto kept = run_tool("gpuaccount", {"-q", "--job-id", "4", "-o", dir + "/4.json", "--prometheus", dir + "/4.prom",
                                      "--keep-textfile", "--", payload(), "exit", "0"});
  CHECK(kept.exit_code == 0);
  double wall = record(dir + "/4.json")["account"]["wall_s"];
  std::string text = read_file(dir + "/4.prom");
  std::size_t at = text.find("gpukit_job_wall_seconds_total{job_id=\"4\"} ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(text.substr(text.find(' ', at) + 1)) == doctest::Approx(wall).epsilon(0.01));  // the final figure
  // The record cannot be written: the textfile keeps the final figures, and says so.
  auto lost = run_tool("gpuaccount", {"-q", "--job-id", "5", "-f", "apel", "--prometheus", dir + "/5.prom", "--", payload(),
                                      "exit", "0"});
  CHECK(lost.exit_code == 0);
  CHECK(lost.out.empty());
  CHECK(lost.err.find("the final figures are left in " + dir + "/5.prom") != std::string::npos);
  CHECK(read_file(dir + "/5.prom").find("gpukit_job_wall_seconds_total{job_id=\"5\"}") != std::string::npos);
  // Without a textfile, --keep-textfile is a usage error; the command is not started.
  auto refused = run_tool("gpuaccount", {"--keep-textfile", "--", payload(), "exit", "0"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err == "gpuaccount: --keep-textfile: is only for --prometheus; the command was not started\n");
}

TEST_CASE("gpuaccount: a wrapped job's GPUs come from CUDA_VISIBLE_DEVICES, MIG UUIDs and indices included") {
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", nvml()},
           {"GPUKIT_FAKE_MACHINE", fixture("machines/nvidia_telemetry.json")},
           {"CUDA_VISIBLE_DEVICES", "GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b,MIG-1f3a5c7e-9b1d-5f3a-8c5e-7a9c1e3a5c7e"}};
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--site", "TEST-SITE", "--job-id", "7", "--", "sleep", "0.7"}, o);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& gpus = doc["account"]["gpus"];
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[0]["uuid"] == "GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  CHECK(gpus[0]["held_because"] == "visible");
  CHECK(gpus[0]["model"] == "NVIDIA H100 80GB HBM3");
  CHECK(gpus[0]["count"] == 1.0);  // given to the job, whoever else ran on it
  // Held from the first sample to the end: the first sample lands a little after
  // the 0.7 s payload starts (later in a sanitizer build), never after its end.
  CHECK(gpus[0]["available_s"].get<double>() >= 0.4);
  CHECK(gpus[0]["available_s"].get<double>() <= doc["account"]["wall_s"].get<double>() + 0.01);
  // Other processes (4101, 4102) use it and the job's sleep does not: the
  // usage is theirs, per process.
  CHECK(gpus[0]["attribution"] == "process");
  CHECK(gpus[0]["active_s"] == 0.0);
  CHECK(gpus[0]["energy_j"] == 0.0);
  CHECK(gpus[0]["energy_estimated"] == true);  // apportioned
  CHECK(gpus[1]["kind"] == "mig");
  CHECK(gpus[1]["parent_uuid"] == "GPU-4a6c8e0a-2c4e-4a6c-8e0a-2c4e6a8c0e2a");
  CHECK(gpus[1]["count"].get<double>() == doctest::Approx(3.0 / 7).epsilon(0.01));
  CHECK(gpus[1]["energy_j"].is_null());
  CHECK(gpus[1]["unavailable"].contains("energy_j"));

  o.env["CUDA_VISIBLE_DEVICES"] = "1";
  auto by_index = run_tool("gpuaccount", {"-q", "-f", "apel", "--interval", "0.2", "--site", "TEST-SITE", "--job-id", "7",
                                          "--vo", "dteam", "--", "sleep", "0.3"},
                           o);
  REQUIRE(by_index.exit_code == 0);
  json message = json::parse(by_index.out);
  CHECK(validate_against(message, "../../../tests/fixtures/account/apel-accelerator-message.schema.json") == "");
  REQUIRE(message["UsageRecords"].size() == 1);
  CHECK(message["UsageRecords"][0]["Model"] == "NVIDIA H100 80GB HBM3");
  CHECK(message["UsageRecords"][0]["Count"] == 1.0);
}

TEST_CASE("gpuaccount: an output that cannot be written fails attach mode with one line and no stdout") {
  pid_t target = start_sleeper(0.3);
  auto r = run_tool("gpuaccount", {"--interval", "0.1", "--pid", std::to_string(target), "--series", "/no/such/dir/s.tsv"});
  ::waitpid(target, nullptr, 0);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("/no/such/dir/s.tsv: cannot create a temporary file") != std::string::npos);
}

TEST_CASE("gpuaccount: AMD GPUs through the fake amd_smi on an MI250X: energy and utilisation per GCD") {
  RunOptions o;
  o.env = {{"GPUKIT_SYSFS_ROOT", fixture("sysfs/amd_mi250x")},
           {"GPUKIT_AMDSMI_LIBRARY", fake("amdsmi/libamd_smi.so")},
           {"GPUKIT_FAKE_MACHINE", fixture("machines/amd_telemetry.json")},
           {"GPUKIT_NVML_LIBRARY", temp_dir() + "/libnvidia-ml.so.1"}};  // nothing there
  auto r = run_tool("gpuaccount", {"-q", "--node", "--duration", "0.4", "--interval", "0.1"}, o);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  CHECK(a["telemetry"] == "amd");
  std::map<std::string, json> by_uuid;
  for (const auto& g : a["gpus"]) by_uuid[g["uuid"]] = g;
  REQUIRE(by_uuid.count("GPU-4b8a9d0c12f3e501"));
  REQUIRE(by_uuid.count("GPU-4b8a9d0c12f3e502"));
  // GCD 0 ramps from 100 W to 300 W and from 10 % to 90 % over 0.4 s after amdsmi_init.
  const json& gcd0 = by_uuid["GPU-4b8a9d0c12f3e501"];
  REQUIRE(gcd0["energy_j"].is_number());
  CHECK(gcd0["energy_j"].get<double>() > 20);
  CHECK(gcd0["energy_j"].get<double>() < 300 * 1.0);
  REQUIRE(gcd0["utilization_mean_pct"].is_number());
  CHECK(gcd0["utilization_mean_pct"].get<double>() >= 10);
  CHECK(gcd0["utilization_mean_pct"].get<double>() <= 90);
  // GCD 1 stays at 90 W and 0 %.
  const json& gcd1 = by_uuid["GPU-4b8a9d0c12f3e502"];
  REQUIRE(gcd1["energy_j"].is_number());
  CHECK(gcd1["energy_j"].get<double>() > 0);
  CHECK(gcd1["utilization_mean_pct"] == 0);
}
