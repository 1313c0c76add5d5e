// What every tool does with its output: a standard output that cannot be
// written (a full disk, a pipe nobody reads) is a failure with a message,
// never exit 0; an -o target that is not a regular file is refused.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "test_support.hpp"

using namespace gpukit::test;

namespace {

struct Outcome {
  int status = -1;
  std::string err;
};

// Runs bin/<tool> with standard output on `stdout_fd` and standard input from
// /dev/null; standard error is collected.
Outcome run_with_stdout(const std::string& tool, const std::vector<std::string>& args, int stdout_fd) {
  std::string err_path = temp_dir() + "/stderr";
  pid_t pid = ::fork();
  if (pid == 0) {
    int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = ::open("/dev/null", O_RDONLY);
    ::dup2(n, 0);
    ::dup2(stdout_fd, 1);
    ::dup2(e, 2);
    std::string path = std::string(GPUKIT_TEST_BINDIR) + "/" + tool;
    std::vector<std::string> a = {path};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), read_file(err_path)};
}

}  // namespace

TEST_CASE("every tool: a standard output that cannot be written is exit 3 with one line, -o onto a device is exit 2") {
  std::string dir = temp_dir();
  auto probed = run_tool("gpuprobe", {"-f", "json"});
  REQUIRE(probed.exit_code == 0);
  std::string doc = dir + "/node.json";
  std::ofstream(doc) << probed.out;
  const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
      {"gpuprobe", {"-f", "json"}},
      {"gpumatch", {"-i", doc}},
      {"gpucost", {"-i", doc}},
      {"gpubench", {"-i", doc, "--quick", "-w", "launch", "--device", "cpu"}},
      {"gpuaccount", {"--node", "--duration", "0.2", "--interval", "0.1"}},
  };
  for (const auto& [tool, args] : runs) {
    CAPTURE(tool);
    int full = ::open("/dev/full", O_WRONLY);
    REQUIRE(full >= 0);
    Outcome on_full = run_with_stdout(tool, args, full);
    ::close(full);
    CHECK(on_full.status == 3);
    CHECK(on_full.err == tool + ": <stdout>: cannot write: No space left on device\n");

    int p[2];
    REQUIRE(::pipe(p) == 0);
    ::close(p[0]);
    Outcome on_pipe = run_with_stdout(tool, args, p[1]);
    ::close(p[1]);
    CHECK(on_pipe.status == 3);  // not 141: SIGPIPE does not kill it
    CHECK(on_pipe.err == tool + ": <stdout>: cannot write: Broken pipe\n");

    std::vector<std::string> to_null = args;
    to_null.insert(to_null.end(), {"-o", "/dev/null"});
    auto refused = run_tool(tool, to_null);
    CHECK(refused.exit_code == 2);
    CHECK(refused.out.empty());
    CHECK(refused.err == tool + ": /dev/null: exists and is not a regular file: refusing to replace it\n");
    struct stat st{};
    REQUIRE(::stat("/dev/null", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
}
