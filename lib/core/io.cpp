#include "core/io.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace gpukit {

namespace {

// Reads to the end, but never more than `max_bytes`: /dev/zero on standard
// input must end in an error, not in memory exhaustion.
Result<std::string> read_fd(int fd, const std::string& name, std::uint64_t max_bytes) {
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return usage_error(std::string("cannot read: ") + std::strerror(errno), name);
    }
    if (static_cast<std::uint64_t>(n) > max_bytes - data.size())
      return usage_error("larger than the input limit of " + std::to_string(max_bytes) +
                             " bytes (raise it with --max-input-size)",
                         name);
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

bool all_space(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// A write failure the user can fix by naming another path is a usage error;
// one of the machine (a full disk, a closed pipe, no permission) an
// environment error.
Error write_error(const std::string& what, int err, const std::string& name) {
  std::string message = what + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG || err == ELOOP) return usage_error(message, name);
  return environment_error(message, name);
}

Status write_all(int fd, const std::string& text, const std::string& name) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error("cannot write", errno, name);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

// Writes to standard output with SIGPIPE blocked in this thread, so that a
// closed pipe comes back as EPIPE instead of killing the tool. The SIGPIPE the
// write raised (thread-directed) is consumed before the mask is restored.
Status write_stdout(const std::string& text) {
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  // Whatever the tool put through std::cout goes first, under the same mask.
  std::cout.flush();
  Status st = write_all(STDOUT_FILENO, text, "<stdout>");
  if (!st && !sigismember(&old, SIGPIPE)) {
    timespec zero{};
    while (::sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return st;
}

mode_t current_umask() {
  // /proc/self/status has it without the race of umask(umask(0)) (Linux 4.7+).
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  mode_t mask = ::umask(022);
  ::umask(mask);
  return mask;
}

// A temporary file beside `path`, created 0600 by mkstemp and then given the
// mode `path` will have: an existing file's own (and, as root, its owner), or
// 0666 less the umask for a new one, as any other program would create it.
Result<int> open_temporary(const std::string& path, const std::optional<struct stat>& existing, std::string& tmp) {
  std::string dir = ".", base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  tmp = dir + "/." + base + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return write_error("cannot create a temporary file", errno, path);
  mode_t mode = existing ? existing->st_mode & 07777 : 0666 & ~current_umask();
  if (existing && ::geteuid() == 0 && (existing->st_uid != 0 || existing->st_gid != 0))
    (void)!::fchown(fd, existing->st_uid, existing->st_gid);
  ::fchmod(fd, mode);
  return fd;
}

}  // namespace

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }
bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }
bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) == 1; }

Result<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes) {
  if (path == "-") return read_fd(STDIN_FILENO, "<stdin>", max_bytes);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return usage_error(std::string("cannot open: ") + std::strerror(errno), path);
  auto data = read_fd(fd, path, max_bytes);
  ::close(fd);
  return data;
}

Result<std::optional<Document>> read_document(const std::optional<std::string>& input_path, const InputLimits& limits) {
  std::string origin;
  Result<std::string> text = std::string();
  if (input_path) {
    origin = *input_path == "-" ? "<stdin>" : *input_path;
    text = read_input_file(*input_path, limits.max_bytes);
  } else {
    if (stdin_is_terminal()) return std::optional<Document>();
    // A closed standard input (pilots often run with none) is "no document".
    if (::fcntl(STDIN_FILENO, F_GETFD) < 0) return std::optional<Document>();
    origin = "<stdin>";
    text = read_fd(STDIN_FILENO, origin, limits.max_bytes);
  }
  if (!text) return text.error();
  if (all_space(*text)) return std::optional<Document>();
  auto doc = Document::parse(*text, origin, limits);
  if (!doc) return doc.error();
  return std::optional<Document>(std::move(*doc));
}

Result<std::optional<struct stat>> output_target(const std::string& path) {
  if (path.empty()) return usage_error("is empty: name a file", "--output");
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return write_error("cannot examine", errno, path);
  }
  // Replacing a device node, a FIFO or a socket by a regular file would break
  // what else uses it (as root, "-o /dev/null" would replace /dev/null).
  if (S_ISDIR(st.st_mode)) return usage_error("is a directory, not a file to write", path);
  if (!S_ISREG(st.st_mode)) return usage_error("exists and is not a regular file: refusing to replace it", path);
  return std::optional<struct stat>(st);
}

Status write_file_atomic(const std::string& path, const std::string& text, bool sync) {
  auto existing = output_target(path);
  if (!existing) return existing.error();
  std::string tmp;
  auto fd = open_temporary(path, *existing, tmp);
  if (!fd) return fd.error();
  auto st = write_all(*fd, text, path);
  if (st && sync && ::fsync(*fd) != 0) st = write_error("cannot sync", errno, path);
  if (::close(*fd) != 0 && st) st = write_error("cannot write", errno, path);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0) st = write_error("cannot rename into place", errno, path);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Status write_output(const std::string& text, const std::optional<std::string>& output_path) {
  if (output_path && *output_path != "-") return write_file_atomic(*output_path, text);
  return write_stdout(text);
}

}  // namespace gpukit
