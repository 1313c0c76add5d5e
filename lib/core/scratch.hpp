// Scratch directories a tool creates on a node's disks (gpubench's storage
// workloads) are removed on every way out: the normal end, an error, the
// deadline exit of tool_main (which leaves with _exit while a worker may still
// be writing), exit(), and SIGINT/SIGTERM/SIGHUP. The registry is process-wide
// on purpose: a signal handler and tool_main cannot be handed an object.
#pragma once

#include <string>

namespace gpukit {

// At most this many directories are registered at once (a signal handler needs
// fixed storage); registering more is refused.
inline constexpr int max_scratch_dirs = 8;
inline constexpr int max_scratch_path = 4096;

// Registers `dir` (created by this process, flat: files only) for removal with
// its files. The first call installs the exit and signal clean-up. False when
// the registry is full, the path too long, or clean-up has begun.
bool register_scratch_dir(const std::string& dir);

// Removes `dir` with its files now and forgets it.
void remove_scratch_dir(const std::string& dir);

// True once the process-wide clean-up has begun: writers stop creating files.
bool scratch_closing();

// Removes every registered directory with its files (tool_main calls this before
// it returns or _exits; it also runs at exit and on the signals above).
void remove_scratch_dirs();

}  // namespace gpukit
