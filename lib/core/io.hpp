// Where a tool's input comes from and where its output goes.
#pragma once

#include <sys/stat.h>

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
// directory, then rename), or to standard output when no path is given. A
// failed write to standard output (a full disk, a closed pipe: EPIPE, never
// SIGPIPE) is an error like any other.
Status write_output(const std::string& text, const std::optional<std::string>& output_path);

// Atomic replacement of `path` with `text`: readers see the old or the new file,
// never a half-written one, even if the process is killed. A target that exists
// and is not a regular file (a device node, a FIFO, a directory, a socket) is
// refused with a usage error. A new file gets 0666 less the umask; an existing
// file keeps its mode (and, as root, its owner). `sync`: fsync before the
// rename, so that the file also survives a power cut. Errors the user can fix
// with another path are usage errors, the machine's (ENOSPC, EACCES, EIO...)
// environment errors.
Status write_file_atomic(const std::string& path, const std::string& text, bool sync = true);

// What `path` is before it is replaced: nullopt when it does not exist, its
// stat when it is a regular file, else the usage error write_file_atomic gives.
Result<std::optional<struct stat>> output_target(const std::string& path);

bool stdout_is_terminal();
bool stderr_is_terminal();
bool stdin_is_terminal();

}  // namespace gpukit
