// Who and where a job is, for the accounting records: from options first, then
// from the batch system's environment (HTCondor's job and machine ads, Slurm's
// and PBS's variables), then the job's grid proxy (its owner's DN and VOMS
// FQAN), then the local user names of the batch system, then the site's
// defaults (--vo, the site file), then this process (cores from the affinity
// mask).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"

namespace gpukit {

struct IdentityOptions {
  std::optional<std::string> site, job_id, user, fqan;
  std::optional<std::string> vo;         // the site's default VO: FQAN "/<vo>" when nothing else names one
  std::optional<std::string> site_file;  // JSON {"site", "vo", "fqan"}; unset: $GPUKIT_SITE_FILE, else /etc/gpukit/site.json
  std::optional<int> cores;
  std::optional<unsigned> uid;           // whose /tmp/x509up_u<uid> is the proxy when X509_USER_PROXY is unset
};

inline constexpr const char* default_site_file = "/etc/gpukit/site.json";

struct JobIdentity {
  std::string batch_system;               // "htcondor", "slurm", "pbs" or "" (none found)
  std::optional<std::string> site;        // APEL SiteName (GOCDB name)
  std::optional<std::string> job_id;      // APEL AssociatedRecord: the batch system's job id
  std::optional<std::string> user;        // the grid DN, else the local user
  std::string user_kind;                  // "dn" (APEL GlobalUserName), "local" (not sent to APEL) or ""
  std::optional<std::string> fqan;        // VOMS FQAN (APEL FQAN, mandatory there)
  std::optional<int> cores;
  std::map<std::string, std::string> sources;  // field -> where it came from ("--site", "SLURM_JOB_ID", ...)
  std::vector<std::string> problems;           // a proxy or site file that was there and could not be read
};

// `environment` is the job's environment (ours in wrap and node mode, the
// target's /proc/<pid>/environ in attach mode). `affinity_cores` is the count
// of CPUs the job may run on, used when nothing else names the cores.
JobIdentity resolve_identity(const IdentityOptions& options, const std::map<std::string, std::string>& environment,
                             std::optional<int> affinity_cores);

// Attributes of an HTCondor ClassAd file ("Name = value" lines); string values
// are unquoted.
std::map<std::string, std::string> parse_classad(const std::string& text);

json identity_to_json(const JobIdentity& identity);

// This process's environment, and another process's from /proc/<pid>/environ
// (nullopt when unreadable: another user's process).
std::map<std::string, std::string> own_environment();
std::optional<std::map<std::string, std::string>> process_environment(int pid);
std::optional<unsigned> process_uid(int pid);

}  // namespace gpukit
