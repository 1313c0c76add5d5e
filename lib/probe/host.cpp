#include "probe/host.hpp"

#include <sys/utsname.h>

#include <cstdlib>
#include <sstream>

#include "core/fsroot.hpp"
#include "probe/cgroup.hpp"

namespace gpukit {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// KEY="value" lines of os-release(5); quotes and backslash escapes removed.
json read_os_release() {
  json os = {{"id", nullptr}, {"version_id", nullptr}, {"pretty_name", nullptr}};
  auto text = read_text_file(fs_path("/etc/os-release"));
  if (!text) text = read_text_file(fs_path("/usr/lib/os-release"));
  if (!text) return os;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line[0] == '#') continue;
    std::string key = trim(line.substr(0, eq));
    std::string raw = trim(line.substr(eq + 1));
    std::string value;
    char quote = (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) ? raw[0] : 0;
    for (size_t i = quote ? 1 : 0; i < raw.size(); ++i) {
      if (quote && raw[i] == quote) break;
      if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
      value += raw[i];
    }
    if (key == "ID") os["id"] = value;
    else if (key == "VERSION_ID") os["version_id"] = value;
    else if (key == "PRETTY_NAME") os["pretty_name"] = value;
  }
  return os;
}

json probe_container() {
  std::vector<std::string> hints;
  std::string runtime;
  auto note = [&](const std::string& name, const std::string& why) {
    if (runtime.empty()) runtime = name;
    hints.push_back(why);
  };
  // Apptainer/Singularity first: it runs inside batch jobs on bare hosts and
  // leaves no other trace; the OCI engines below mark their containers with files.
  if (path_exists(fs_path("/.singularity.d"))) note("apptainer", "/.singularity.d present");
  for (const char* var : {"APPTAINER_CONTAINER", "SINGULARITY_CONTAINER"})
    if (!env(var).empty()) note("apptainer", std::string(var) + "=" + env(var));
  if (path_exists(fs_path("/run/.containerenv"))) note("podman", "/run/.containerenv present");
  if (path_exists(fs_path("/.dockerenv"))) note("docker", "/.dockerenv present");
  if (!env("KUBERNETES_SERVICE_HOST").empty()) note("kubernetes", "KUBERNETES_SERVICE_HOST set");

  json c;
  c["runtime"] = runtime.empty() ? json(nullptr) : json(runtime);
  auto version = detail::cgroup_version();
  c["cgroup_version"] = version ? json(*version) : json(nullptr);
  auto path = detail::cgroup_path();
  c["cgroup_path"] = path ? json(*path) : json(nullptr);
  if (version) hints.push_back("cgroup v" + std::to_string(*version));
  c["hints"] = hints;
  return c;
}

json probe_batch_system() {
  if (!env("_CONDOR_JOB_AD").empty() || !env("_CONDOR_SCRATCH_DIR").empty()) return "htcondor";
  if (!env("SLURM_JOB_ID").empty()) return "slurm";
  if (!env("PBS_JOBID").empty()) return "pbs";
  if (!env("LSB_JOBID").empty()) return "lsf";
  return nullptr;
}

}  // namespace

json probe_host_section() {
  utsname u{};
  uname(&u);
  // /proc/sys/kernel holds the same values as uname(2); reading it first lets a
  // fixture tree stand in for the host.
  std::string hostname = read_first_line(fs_path("/proc/sys/kernel/hostname")).value_or(u.nodename);
  std::string kernel = read_first_line(fs_path("/proc/sys/kernel/osrelease")).value_or(u.release);

  json host;
  host["generator"] = generator_stamp("gpuprobe");
  host["hostname"] = hostname;
  host["os"] = read_os_release();
  host["kernel"] = kernel;
  host["arch"] = std::string(u.machine);
  host["time"] = utc_timestamp();
  host["container"] = probe_container();
  host["batch_system"] = probe_batch_system();
  host["probe_duration_s"] = 0;
  return host;
}

}  // namespace gpukit
