// The write side of lib/core/io: what an output may replace, the modes it
// leaves, and failures of standard output coming back as errors.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/io.hpp"
#include "test_support.hpp"

using namespace gpukit;
using gpukit::test::read_file;
using gpukit::test::temp_dir;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets the umask for the life of the object.
struct ScopedUmask {
  mode_t old;
  explicit ScopedUmask(mode_t mask) : old(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old); }
};

// Points standard output at `fd` for the life of the object.
struct ScopedStdout {
  int saved;
  // doctest's own output, buffered in std::cout, must not go there.
  explicit ScopedStdout(int fd) : saved((std::cout.flush(), ::dup(STDOUT_FILENO))) { ::dup2(fd, STDOUT_FILENO); }
  ~ScopedStdout() {
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::cout.clear();
  }
};

}  // namespace

TEST_CASE("write_file_atomic: a new file gets 0666 less the umask") {
  std::string dir = temp_dir();
  {
    ScopedUmask mask(027);
    REQUIRE(write_file_atomic(dir + "/a.json", "{}\n"));
  }
  CHECK(mode_of(dir + "/a.json") == 0640);
  {
    ScopedUmask mask(077);
    REQUIRE(write_file_atomic(dir + "/b.json", "{}\n", false));
  }
  CHECK(mode_of(dir + "/b.json") == 0600);
  {
    ScopedUmask mask(002);
    REQUIRE(write_output("{}\n", dir + "/c.json"));
  }
  CHECK(mode_of(dir + "/c.json") == 0664);
  CHECK(read_file(dir + "/c.json") == "{}\n");
}

TEST_CASE("write_file_atomic: an existing file keeps its mode") {
  std::string dir = temp_dir();
  std::string record = dir + "/record.json";
  std::ofstream(record) << "old";
  ::chmod(record.c_str(), 0600);
  ScopedUmask mask(0);  // would give 0666 to a new file
  REQUIRE(write_file_atomic(record, "new"));
  CHECK(read_file(record) == "new");
  CHECK(mode_of(record) == 0600);
  ::chmod(record.c_str(), 0640);
  REQUIRE(write_file_atomic(record, "newer", false));
  CHECK(mode_of(record) == 0640);
}

TEST_CASE("write_file_atomic: refuses a target that is not a regular file, and leaves it as it was") {
  std::string dir = temp_dir();
  std::string fifo = dir + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  auto st = write_file_atomic(fifo, "x");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == ExitCode::usage);
  CHECK(st.error().what() == fifo + ": exists and is not a regular file: refusing to replace it");
  struct stat s{};
  REQUIRE(::stat(fifo.c_str(), &s) == 0);
  CHECK(S_ISFIFO(s.st_mode));

  auto device = write_output("x", std::string("/dev/null"));
  REQUIRE_FALSE(device);
  CHECK(device.error().code == ExitCode::usage);
  CHECK(device.error().what() == "/dev/null: exists and is not a regular file: refusing to replace it");
  REQUIRE(::stat("/dev/null", &s) == 0);
  CHECK(S_ISCHR(s.st_mode));

  auto directory = write_file_atomic(dir, "x");
  REQUIRE_FALSE(directory);
  CHECK(directory.error().code == ExitCode::usage);
  CHECK(directory.error().what() == dir + ": is a directory, not a file to write");

  std::string sock = dir + "/sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.size() < sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  auto socket = write_file_atomic(sock, "x");
  ::close(fd);
  REQUIRE_FALSE(socket);
  CHECK(socket.error().code == ExitCode::usage);

  // Nothing was left behind beside them (no temporary files).
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 2);
}

TEST_CASE("write_file_atomic: a missing directory is a usage error, a full or forbidden one an environment error") {
  auto missing = write_file_atomic("/no/such/dir/r.json", "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ExitCode::usage);
  CHECK(missing.error().what().find("/no/such/dir/r.json: cannot create a temporary file: No such file or directory") == 0);
  if (::geteuid() != 0) {
    std::string dir = temp_dir();
    ::chmod(dir.c_str(), 0500);
    auto forbidden = write_file_atomic(dir + "/r.json", "x");
    ::chmod(dir.c_str(), 0700);
    REQUIRE_FALSE(forbidden);
    CHECK(forbidden.error().code == ExitCode::environment);
    CHECK(forbidden.error().what().find("Permission denied") != std::string::npos);
  } else {
    MESSAGE("running as root: a directory's mode cannot provoke EACCES; that case is not checked here");
  }
}

TEST_CASE("write_output: a failed standard output is an error, not a silent success") {
  int full = ::open("/dev/full", O_WRONLY);
  REQUIRE(full >= 0);
  {
    ScopedStdout out(full);
    auto st = write_output("{}\n", std::nullopt);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == ExitCode::environment);
    CHECK(st.error().what() == "<stdout>: cannot write: No space left on device");
  }
  ::close(full);

  // A pipe nobody reads: EPIPE comes back, SIGPIPE neither kills the process
  // nor stays pending.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  ::close(p[0]);
  {
    ScopedStdout out(p[1]);
    auto st = write_output("{}\n", std::string("-"));
    REQUIRE_FALSE(st);
    CHECK(st.error().what() == "<stdout>: cannot write: Broken pipe");
  }
  ::close(p[1]);
  sigset_t pending;
  sigpending(&pending);
  CHECK_FALSE(sigismember(&pending, SIGPIPE));
}
