// Who and where a job is, for the accounting records: from options first, then
// from the batch system's environment (HTCondor's job and machine ads, Slurm's
// and PBS's variables), then from this process (cores from the affinity mask).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/document.hpp"

namespace gpukit {

struct IdentityOptions {
  std::optional<std::string> site, job_id, user, fqan;
  std::optional<int> cores;
};

struct JobIdentity {
  std::string batch_system;               // "htcondor", "slurm", "pbs" or "" (none found)
  std::optional<std::string> site;        // APEL SiteName (GOCDB name)
  std::optional<std::string> job_id;      // APEL AssociatedRecord: the batch system's job id
  std::optional<std::string> user;        // APEL GlobalUserName: the grid DN, else the local user
  std::optional<std::string> fqan;        // VOMS FQAN
  std::optional<int> cores;
  std::map<std::string, std::string> sources;  // field -> where it came from ("--site", "SLURM_JOB_ID", ...)
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

}  // namespace gpukit
