#include "core/cli.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <iostream>

#include "core/deadline.hpp"
#include "core/io.hpp"
#include "core/scratch.hpp"
#include "core/version.hpp"

namespace gpukit {

namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// A number of seconds in [min_timeout_s, max_timeout_s]; CLI11's own checks
// let nan and inf through.
std::string check_timeout(const std::string& text) {
  double v = 0;
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return "not a number of seconds: " + text;
  }
  if (used != text.size() || !std::isfinite(v) || v < min_timeout_s || v > max_timeout_s) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", min_timeout_s, max_timeout_s);
    return "must be a number of seconds from " + std::string(range) + ", found " + text;
  }
  return {};
}

std::string check_input_size(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 15)
    return "must be a number of bytes (at least 1), found " + text;
  if (std::stoull(text) == 0) return "must be at least 1 byte";
  return {};
}

}  // namespace

void add_common_options(CLI::App& app, CommonOptions& o, const ToolInfo& info) {
  o.timeout_s = info.default_timeout_s;
  app.set_version_flag("--version", std::string(info.name) + " (gpukit) " + version());
  app.add_option("-i,--input", o.input, "Read the node document from FILE ('-': standard input)")
      ->type_name("FILE");
  app.add_option("-o,--output", o.output, "Write the result to FILE (atomically) instead of standard output")
      ->type_name("FILE");
  std::string formats;
  for (const auto& f : info.formats) formats += (formats.empty() ? "" : "|") + f;
  app.add_option("-f,--format", o.format,
                 "Output format: " + formats + " (default: json into a pipe or file, table on a terminal)")
      ->check(CLI::IsMember(info.formats))
      ->type_name("FORMAT");
  app.add_flag("-q,--quiet", o.quiet, "No progress or warnings on standard error");
  app.add_option("--timeout", o.timeout_s, "Deadline in seconds for each call that may hang")
      ->check(CLI::Validator(check_timeout, "SECONDS"))
      ->capture_default_str()
      ->type_name("SECONDS");
  app.add_option("--max-input-size", o.limits.max_bytes,
                 "Refuse a node document or input file larger than BYTES (default 64 MiB)")
      ->check(CLI::Validator(check_input_size, "BYTES"))
      ->type_name("BYTES");
}

std::string default_format(const CommonOptions& o) {
  if (o.output && *o.output != "-") return "json";
  return stdout_is_terminal() ? "table" : "json";
}

int tool_main(CLI::App& app, CommonOptions& options, int argc, char** argv,
              const std::function<Result<int>()>& run, const std::string& refused_note) {
  const std::string tool = app.get_name();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << tool << ": " << one_line(e.what()) << " (see " << tool << " --help)"
              << (refused_note.empty() ? "" : "; " + refused_note) << "\n";
    return static_cast<int>(ExitCode::usage);
  }
  if (options.format.empty()) options.format = default_format(options);
  Result<int> outcome = run();
  // Before either way out: _exit below runs no atexit handler.
  remove_scratch_dirs();
  int status;
  if (outcome) {
    status = *outcome;
  } else {
    std::cerr << tool << ": " << one_line(outcome.error().what()) << "\n";
    status = static_cast<int>(outcome.error().code);
  }
  if (abandoned_calls() > 0) {
    // A worker is still inside a vendor library: leave without running static
    // destructors under it.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    ::_exit(status);
  }
  return status;
}

void warn(const std::string& tool, const CommonOptions& options, const std::string& message) {
  if (options.quiet) return;
  std::cerr << tool << ": warning: " << one_line(message) << "\n";
}

}  // namespace gpukit
