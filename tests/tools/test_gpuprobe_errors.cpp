// gpuprobe's error paths: every message a user can meet, as a pilot sees it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

using gpukit::test::run_tool;
using gpukit::test::RunOptions;

namespace {

// A node with nothing on it, so these tests do not depend on the build machine.
RunOptions quiet_node() {
  RunOptions o;
  o.env["GPUKIT_SYSFS_ROOT"] = gpukit::test::fixture("sysfs/cpu_2socket");
  o.env["GPUKIT_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1";
  o.env["GPUKIT_CUDA_LIBRARY"] = "/nonexistent/libcuda.so.1";
  o.env["GPUKIT_AMDSMI_LIBRARY"] = "/nonexistent/libamd_smi.so";
  return o;
}

void check_usage_error(const gpukit::test::RunResult& r, const std::string& expected_stderr) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == expected_stderr);
}

std::string write_temp(const std::string& name, const std::string& content) {
  std::string path = gpukit::test::temp_dir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

}  // namespace

TEST_CASE("gpuprobe: malformed JSON on stdin is exit 2 with one line naming the byte") {
  RunOptions o = quiet_node();
  o.stdin_data = "{\"schema\": \"gpukit/1\", \"gpus\": [";
  check_usage_error(run_tool("gpuprobe", {}, o),
                    "gpuprobe: <stdin>: /gpus/0: invalid JSON at byte 33: parse error at line 1, column 33: syntax error "
                    "while parsing value - unexpected end of input; expected '[', '{', or a literal\n");
}

TEST_CASE("gpuprobe: a wrong schema major is exit 2") {
  std::string path = write_temp("node.json", R"({"schema": "gpukit/2", "gpus": []})");
  check_usage_error(run_tool("gpuprobe", {"--input", path}, quiet_node()),
                    "gpuprobe: " + path + ": /schema: major version 2 is not supported; this gpukit reads \"gpukit/1\"\n");
}

TEST_CASE("gpuprobe: a document without schema is exit 2") {
  RunOptions o = quiet_node();
  o.stdin_data = R"({"gpus": []})";
  check_usage_error(run_tool("gpuprobe", {}, o), "gpuprobe: <stdin>: /schema: missing; expected \"gpukit/1\"\n");
}

TEST_CASE("gpuprobe: a section of the wrong shape is exit 2 naming its path") {
  RunOptions o = quiet_node();
  o.stdin_data = R"({"schema": "gpukit/1", "bench": [1, 2]})";
  check_usage_error(run_tool("gpuprobe", {}, o), "gpuprobe: <stdin>: /bench: expected an object, found array\n");
}

TEST_CASE("gpuprobe: an unknown format is exit 2 listing the accepted ones") {
  auto r = run_tool("gpuprobe", {"--format", "yaml"}, quiet_node());
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("gpuprobe: --format: yaml not in {json,table,classad,nfd,gres,cric}") == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("gpuprobe: an unreadable input file is exit 2") {
  check_usage_error(run_tool("gpuprobe", {"--input", "/nonexistent/node.json"}, quiet_node()),
                    "gpuprobe: /nonexistent/node.json: cannot open: No such file or directory\n");
}

TEST_CASE("gpuprobe: an unknown flag and a bad timeout are usage errors") {
  auto flag = run_tool("gpuprobe", {"--frobnicate"}, quiet_node());
  CHECK(flag.exit_code == 2);
  CHECK(flag.out.empty());
  CHECK(flag.err.find("gpuprobe: The following argument was not expected: --frobnicate") == 0);
  auto timeout = run_tool("gpuprobe", {"--timeout", "-1"}, quiet_node());
  CHECK(timeout.exit_code == 2);
  CHECK(timeout.out.empty());
}

TEST_CASE("gpuprobe: an unwritable output leaves nothing half-written") {
  auto r = run_tool("gpuprobe", {"--output", "/nonexistent/dir/node.json"}, quiet_node());
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("gpuprobe: /nonexistent/dir/node.json: cannot create a temporary file") == 0);
}

TEST_CASE("gpuprobe: --from-input needs a document with the inventory") {
  auto none = run_tool("gpuprobe", {"--from-input"}, quiet_node());
  check_usage_error(none, "gpuprobe: --from-input needs a node document on standard input or --input\n");
  RunOptions o = quiet_node();
  o.stdin_data = R"({"schema": "gpukit/1"})";
  check_usage_error(run_tool("gpuprobe", {"--from-input"}, o),
                    "gpuprobe: --from-input: the input document has no 'host' section\n");
}

TEST_CASE("gpuprobe: --version and --help succeed") {
  auto v = run_tool("gpuprobe", {"--version"}, quiet_node());
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("gpuprobe (gpukit) ") == 0);
  auto h = run_tool("gpuprobe", {"--help"}, quiet_node());
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("--timeout") != std::string::npos);
}
