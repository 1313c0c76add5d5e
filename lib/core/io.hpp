// Where a tool's input comes from and where its output goes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

// Reads the node document from `input_path` (when set; "-" is stdin) or from
// standard input when it is not a terminal. Empty input means "no document yet":
// nullopt. Unreadable files, input over `limits` and bad documents are usage
// errors (Document::parse).
Result<std::optional<Document>> read_document(const std::optional<std::string>& input_path,
                                              const InputLimits& limits = {});

// Reads a whole file ("-": standard input); a usage error naming the file when it
// cannot be read or holds more than `max_bytes`.
Result<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes = default_max_input_bytes);

// Writes `text` to `output_path` atomically (a temporary file in the same
// directory, then rename), or to standard output when no path is given.
Status write_output(const std::string& text, const std::optional<std::string>& output_path);

// Atomic replacement of `path` with `text`: readers see the old or the new file,
// never a half-written one, even if the process is killed.
Status write_file_atomic(const std::string& path, const std::string& text);

bool stdout_is_terminal();
bool stderr_is_terminal();
bool stdin_is_terminal();

}  // namespace gpukit
