// The command-line conventions every tool shares, defined once on CLI11:
// --input/-i, --output/-o, --format/-f, --quiet/-q, --timeout, --max-input-size,
// --version, --help.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

struct ToolInfo {
  std::string name;                  // "gpuprobe"
  std::vector<std::string> formats;  // accepted --format values; "json" and "table" first
  double default_timeout_s = 5;      // --timeout default, seconds
};

struct CommonOptions {
  std::optional<std::string> input;   // node document (FILE or "-")
  std::optional<std::string> output;  // where the result goes (atomic rename)
  std::string format;                 // after tool_main: never empty
  bool quiet = false;
  double timeout_s = 5;
  InputLimits limits;                 // --max-input-size; pass to read_document and read_input_file
};

// --timeout's range in seconds (man 7 gpukit): finite, so that a deadline means something.
inline constexpr double min_timeout_s = 0.01;
inline constexpr double max_timeout_s = 86400;

// Declares the shared flags on `app` and binds them to `options`.
void add_common_options(CLI::App& app, CommonOptions& options, const ToolInfo& info);

// The format when --format was not given: json into a pipe or a file, table on a terminal.
std::string default_format(const CommonOptions& options);

// Parses the command line, completes `options` (the format), runs `run` and maps
// its outcome to an exit status: a returned value is the status; an Error is one
// line "<tool>: <context>: <message>" on stderr and its ExitCode. CLI11 parse
// errors are usage errors (2). Nothing is written to stdout on error.
// `refused_note`, when not empty, ends the line of a command line that does not
// parse ("the command was not started": gpuaccount's payload).
int tool_main(CLI::App& app, CommonOptions& options, int argc, char** argv, const std::function<Result<int>()>& run,
              const std::string& refused_note = {});

// One diagnostic line on stderr, "<tool>: warning: <message>", unless --quiet.
void warn(const std::string& tool, const CommonOptions& options, const std::string& message);

}  // namespace gpukit
