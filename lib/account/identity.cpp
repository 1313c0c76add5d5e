#include "account/identity.hpp"

#include <unistd.h>

#include <cstdlib>

#include "core/fsroot.hpp"
#include "core/utf8.hpp"

extern char** environ;

namespace gpukit {

namespace {

std::optional<std::string> get(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::optional<int> positive_int(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(s->c_str(), &end, 10);
  if (end == s->c_str() || v <= 0) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

std::map<std::string, std::string> parse_classad(const std::string& text) {
  std::map<std::string, std::string> ad;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = trim(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      std::string unquoted;
      for (std::size_t i = 1; i + 1 < value.size(); ++i) {
        if (value[i] == '\\' && i + 2 < value.size()) ++i;
        unquoted += value[i];
      }
      value = unquoted;
    }
    if (!key.empty()) ad[key] = value;
  }
  return ad;
}

JobIdentity resolve_identity(const IdentityOptions& o, const std::map<std::string, std::string>& env,
                             std::optional<int> affinity_cores) {
  JobIdentity id;
  auto set = [&](std::optional<std::string>& field, const char* name, std::optional<std::string> value,
                 const std::string& source) {
    if (field || !value) return;
    field = valid_utf8(*value);  // arguments, job ads and the environment are not always UTF-8
    id.sources[name] = source;
  };
  auto set_cores = [&](std::optional<int> value, const std::string& source) {
    if (id.cores || !value) return;
    id.cores = value;
    id.sources["cores"] = source;
  };
  set(id.site, "site", o.site, "--site");
  set(id.job_id, "job_id", o.job_id, "--job-id");
  set(id.user, "user", o.user, "--user");
  set(id.fqan, "fqan", o.fqan, "--fqan");
  if (o.cores) set_cores(o.cores, "--cores");

  if (auto job_ad_path = get(env, "_CONDOR_JOB_AD")) {
    id.batch_system = "htcondor";
    auto ad = parse_classad(read_text_file(*job_ad_path).value_or(""));
    auto from_ad = [&](const char* attr) { return get(ad, attr); };
    set(id.job_id, "job_id", from_ad("GlobalJobId"), "job ad GlobalJobId");
    if (auto c = from_ad("ClusterId"), p = from_ad("ProcId"); c && p) set(id.job_id, "job_id", *c + "." + *p, "job ad ClusterId.ProcId");
    set(id.user, "user", from_ad("x509UserProxySubject"), "job ad x509UserProxySubject");
    set(id.fqan, "fqan", from_ad("x509UserProxyFirstFQAN"), "job ad x509UserProxyFirstFQAN");
    set(id.user, "user", from_ad("Owner"), "job ad Owner");
    set_cores(positive_int(from_ad("RequestCpus")), "job ad RequestCpus");
    if (auto machine_ad_path = get(env, "_CONDOR_MACHINE_AD")) {
      auto mad = parse_classad(read_text_file(*machine_ad_path).value_or(""));
      set(id.site, "site", get(mad, "GLIDEIN_Site"), "machine ad GLIDEIN_Site");
      set_cores(positive_int(get(mad, "Cpus")), "machine ad Cpus");
    }
  } else if (auto slurm = get(env, "SLURM_JOB_ID")) {
    id.batch_system = "slurm";
    std::optional<std::string> job = slurm;
    if (auto array = get(env, "SLURM_ARRAY_JOB_ID"), task = get(env, "SLURM_ARRAY_TASK_ID"); array && task)
      job = *array + "_" + *task;  // how sacct names an array task
    set(id.job_id, "job_id", job, job == slurm ? "SLURM_JOB_ID" : "SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID");
    set(id.user, "user", get(env, "SLURM_JOB_USER"), "SLURM_JOB_USER");
    set_cores(positive_int(get(env, "SLURM_CPUS_ON_NODE")), "SLURM_CPUS_ON_NODE");
  } else if (auto pbs = get(env, "PBS_JOBID")) {
    id.batch_system = "pbs";
    set(id.job_id, "job_id", pbs, "PBS_JOBID");
    set(id.user, "user", get(env, "PBS_O_LOGNAME"), "PBS_O_LOGNAME");
    set_cores(positive_int(get(env, "NCPUS")), "NCPUS");
    set_cores(positive_int(get(env, "PBS_NP")), "PBS_NP");
  }
  // Site names that WLCG and OSG setups export.
  set(id.site, "site", get(env, "OSG_SITE_NAME"), "OSG_SITE_NAME");
  set(id.site, "site", get(env, "SITE_NAME"), "SITE_NAME");
  set_cores(affinity_cores, "affinity");
  return id;
}

json identity_to_json(const JobIdentity& id) {
  auto opt = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  json sources = json::object();
  for (const auto& [k, v] : id.sources) sources[k] = v;
  return {{"batch_system", id.batch_system.empty() ? json(nullptr) : json(id.batch_system)},
          {"site", opt(id.site)},
          {"job_id", opt(id.job_id)},
          {"user", opt(id.user)},
          {"fqan", opt(id.fqan)},
          {"cores", id.cores ? json(*id.cores) : json(nullptr)},
          {"sources", sources}};
}

std::map<std::string, std::string> own_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::optional<std::map<std::string, std::string>> process_environment(int pid) {
  auto text = read_text_file(fs_path("/proc/" + std::to_string(pid) + "/environ"));
  if (!text) return std::nullopt;
  std::map<std::string, std::string> env;
  std::size_t pos = 0;
  while (pos < text->size()) {
    auto end = text->find('\0', pos);
    if (end == std::string::npos) end = text->size();
    std::string kv = text->substr(pos, end - pos);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    pos = end + 1;
  }
  return env;
}

}  // namespace gpukit
