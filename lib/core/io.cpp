#include "core/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
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

Status write_all(int fd, const std::string& text, const std::string& name) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return usage_error(std::string("cannot write: ") + std::strerror(errno), name);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
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

Status write_file_atomic(const std::string& path, const std::string& text) {
  std::string dir = ".";
  std::string base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmpl = dir + "/." + base + ".XXXXXX";
  std::string tmp = tmpl;
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return usage_error(std::string("cannot create a temporary file: ") + std::strerror(errno), path);
  auto st = write_all(fd, text, path);
  if (st && ::fsync(fd) != 0) st = usage_error(std::string("cannot sync: ") + std::strerror(errno), path);
  // mkstemp creates 0600; a report is for everyone who may read the directory.
  ::fchmod(fd, 0644);
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = usage_error(std::string("cannot rename into place: ") + std::strerror(errno), path);
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Status write_output(const std::string& text, const std::optional<std::string>& output_path) {
  if (output_path && *output_path != "-") return write_file_atomic(*output_path, text);
  std::cout.flush();
  return write_all(STDOUT_FILENO, text, "<stdout>");
}

}  // namespace gpukit
