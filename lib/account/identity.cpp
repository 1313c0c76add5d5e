#include "account/identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "account/voms_proxy.hpp"
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

namespace {

// The proxy the job runs with: X509_USER_PROXY, else the default location.
std::optional<std::string> proxy_path(const std::map<std::string, std::string>& env, std::optional<unsigned> uid) {
  if (auto p = get(env, "X509_USER_PROXY")) return p;
  if (uid) return "/tmp/x509up_u" + std::to_string(*uid);
  return std::nullopt;
}

std::string site_file_path(const IdentityOptions& o) {
  if (o.site_file) return *o.site_file;
  if (const char* e = std::getenv("GPUKIT_SITE_FILE"); e && *e) return e;
  return fs_path(default_site_file);
}

// The site file's string members; a file that is there and wrong is a problem
// said in the record, never a reason to lose the job's accounting.
std::map<std::string, std::string> read_site_file(const IdentityOptions& o, std::vector<std::string>& problems) {
  std::string path = site_file_path(o);
  bool named = o.site_file || std::getenv("GPUKIT_SITE_FILE");
  auto text = read_text_file(path);
  if (!text) {
    if (named) problems.push_back("site file " + path + " is unreadable; no site defaults");
    return {};
  }
  auto parsed = parse_json(*text, "site file " + path, InputLimits{1 << 20, 4});
  if (!parsed) {
    problems.push_back(parsed.error().what() + "; no site defaults");
    return {};
  }
  if (!parsed->is_object()) {
    problems.push_back("site file " + path + ": is " + json_type_name(*parsed) + ", not an object; no site defaults");
    return {};
  }
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : parsed->items()) {
    if (key != "site" && key != "vo" && key != "fqan") continue;  // other tools may keep their own keys here
    if (!value.is_string() || value.get<std::string>().empty())
      problems.push_back("site file " + path + ": ." + key + " is not a non-empty string; ignored");
    else
      out[key] = value.get<std::string>();
  }
  return out;
}

std::string vo_fqan(const std::string& vo) { return vo.starts_with("/") ? vo : "/" + vo; }

}  // namespace

JobIdentity resolve_identity(const IdentityOptions& o, const std::map<std::string, std::string>& env,
                             std::optional<int> affinity_cores) {
  JobIdentity id;
  auto set = [&](std::optional<std::string>& field, const char* name, std::optional<std::string> value,
                 const std::string& source) {
    if (field || !value) return false;
    field = valid_utf8(*value);  // arguments, job ads and the environment are not always UTF-8
    id.sources[name] = source;
    return true;
  };
  auto set_user = [&](std::optional<std::string> value, const std::string& source, const char* kind) {
    if (set(id.user, "user", value, source)) id.user_kind = kind;
  };
  auto set_cores = [&](std::optional<int> value, const std::string& source) {
    if (id.cores || !value) return;
    id.cores = value;
    id.sources["cores"] = source;
  };
  set(id.site, "site", o.site, "--site");
  set(id.job_id, "job_id", o.job_id, "--job-id");
  set_user(o.user, "--user", o.user && o.user->starts_with("/") ? "dn" : "local");
  set(id.fqan, "fqan", o.fqan, "--fqan");
  if (o.cores) set_cores(o.cores, "--cores");

  // Local user names wait until the proxy has had its say: they are not DNs.
  std::optional<std::pair<std::string, std::string>> local_user;
  if (auto job_ad_path = get(env, "_CONDOR_JOB_AD")) {
    id.batch_system = "htcondor";
    auto ad = parse_classad(read_text_file(*job_ad_path).value_or(""));
    auto from_ad = [&](const char* attr) { return get(ad, attr); };
    set(id.job_id, "job_id", from_ad("GlobalJobId"), "job ad GlobalJobId");
    if (auto c = from_ad("ClusterId"), p = from_ad("ProcId"); c && p) set(id.job_id, "job_id", *c + "." + *p, "job ad ClusterId.ProcId");
    set_user(from_ad("x509UserProxySubject"), "job ad x509UserProxySubject", "dn");
    set(id.fqan, "fqan", from_ad("x509UserProxyFirstFQAN"), "job ad x509UserProxyFirstFQAN");
    if (auto vo = from_ad("x509UserProxyVOName")) set(id.fqan, "fqan", vo_fqan(*vo), "job ad x509UserProxyVOName");
    if (auto owner = from_ad("Owner")) local_user.emplace(*owner, "job ad Owner");
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
    if (auto u = get(env, "SLURM_JOB_USER")) local_user.emplace(*u, "SLURM_JOB_USER");
    set_cores(positive_int(get(env, "SLURM_CPUS_ON_NODE")), "SLURM_CPUS_ON_NODE");
  } else if (auto pbs = get(env, "PBS_JOBID")) {
    id.batch_system = "pbs";
    set(id.job_id, "job_id", pbs, "PBS_JOBID");
    if (auto u = get(env, "PBS_O_LOGNAME")) local_user.emplace(*u, "PBS_O_LOGNAME");
    set_cores(positive_int(get(env, "NCPUS")), "NCPUS");
    set_cores(positive_int(get(env, "PBS_NP")), "PBS_NP");
  }
  if (!id.user || !id.fqan) {
    if (auto path = proxy_path(env, o.uid); path) {
      if (auto pem = read_text_file(*path)) {
        if (auto proxy = parse_proxy_pem(*pem)) {
          set_user(proxy->subject, "proxy " + *path, "dn");
          if (!proxy->fqans.empty()) set(id.fqan, "fqan", proxy->fqans.front(), "proxy " + *path + " VOMS AC");
        } else {
          id.problems.push_back("proxy " + *path + ": " + proxy.error().message);
        }
      } else if (get(env, "X509_USER_PROXY")) {
        id.problems.push_back("proxy " + *path + " (X509_USER_PROXY) is unreadable");
      }
    }
  }
  if (local_user) set_user(local_user->first, local_user->second, "local");
  // Site names that WLCG and OSG setups export.
  set(id.site, "site", get(env, "OSG_SITE_NAME"), "OSG_SITE_NAME");
  set(id.site, "site", get(env, "SITE_NAME"), "SITE_NAME");
  if (o.vo) set(id.fqan, "fqan", vo_fqan(*o.vo), "--vo");
  if (!id.site || !id.fqan) {
    auto site_file = read_site_file(o, id.problems);
    std::string from = "site file " + site_file_path(o);
    if (auto s = site_file.find("site"); s != site_file.end()) set(id.site, "site", s->second, from);
    if (auto f = site_file.find("fqan"); f != site_file.end()) set(id.fqan, "fqan", f->second, from);
    if (auto v = site_file.find("vo"); v != site_file.end()) set(id.fqan, "fqan", vo_fqan(v->second), from);
  }
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
          {"user_kind", id.user_kind.empty() ? json(nullptr) : json(id.user_kind)},
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

std::optional<unsigned> process_uid(int pid) {
  struct stat st {};
  if (::stat(fs_path("/proc/" + std::to_string(pid)).c_str(), &st) != 0) return std::nullopt;
  return static_cast<unsigned>(st.st_uid);
}

}  // namespace gpukit
