// gpuaccount: what a job or a node used, recorded so that nothing is lost.
//   wrap    gpuaccount [options] -- CMD ARGS...   runs and accounts CMD and its tree
//   attach  gpuaccount --pid PID                  accounts a running tree until it ends
//   node    gpuaccount --node [--duration S]      samples the whole node
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "account/identity.hpp"
#include "core/cli.hpp"
#include "core/error.hpp"

namespace gpukit {

struct AccountOptions {
  CommonOptions common;
  std::vector<std::string> command;   // wrap mode: after --
  std::optional<int> pid;             // attach mode
  bool node = false;                  // node mode
  std::optional<double> duration_s;   // node mode: stop after this long
  double interval_s = 1;
  std::optional<std::string> series;      // prmon-style TSV, rewritten every interval
  std::optional<std::string> prometheus;  // node_exporter textfile, rewritten every interval
  bool keep_textfile = false;            // leave the textfile with the final figures at the end
  std::optional<std::string> benchmark;   // benchmark scores for normalised usage
  std::optional<std::string> usage_classes;  // a site's usage-class thresholds
  IdentityOptions identity;
};

ToolInfo account_tool_info();

// Runs the mode the options select. In wrap mode the result is the payload's
// exit status whatever happens to the accounting (problems go to stderr and
// into the record); errors are returned only in attach and node mode, or in
// wrap mode before anything was started.
Result<int> run_account(AccountOptions& options);

}  // namespace gpukit
