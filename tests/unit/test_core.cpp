#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/deadline.hpp"
#include "core/document.hpp"
#include "core/dynlib.hpp"
#include "core/fsroot.hpp"
#include "core/io.hpp"
#include "core/stats.hpp"
#include "core/table.hpp"
#include "core/units.hpp"
#include "test_support.hpp"

using namespace gpukit;

TEST_CASE("units: sizes in binary and decimal units") {
  CHECK(*parse_bytes("4096") == 4096);
  CHECK(*parse_bytes("20GiB") == 20ULL << 30);
  CHECK(*parse_bytes("512M") == 512ULL << 20);
  CHECK(*parse_bytes("512MiB") == 512ULL << 20);
  CHECK(*parse_bytes("1.5TB") == 1500000000000ULL);
  CHECK(*parse_bytes("2 kB") == 2000);
  CHECK(*parse_bytes("1k") == 1024);
  CHECK_FALSE(parse_bytes("12 parsecs").ok());
  CHECK_FALSE(parse_bytes("GiB").ok());
  CHECK_FALSE(parse_bytes("-1G").ok());
  CHECK(parse_bytes("-1G").error().code == ExitCode::usage);
  CHECK(format_bytes(80ULL << 30) == "80 GiB");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(512) == "512 B");
}

TEST_CASE("units: bandwidths and durations") {
  CHECK(*parse_bandwidth("1.5TB/s") == doctest::Approx(1.5e12));
  CHECK(*parse_bandwidth("25GiB/s") == doctest::Approx(25.0 * (1ULL << 30)));
  CHECK_FALSE(parse_bandwidth("25GB").ok());
  CHECK(format_bandwidth(3.35e12) == "3.35 TB/s");
  CHECK(format_bandwidth(900e9) == "900 GB/s");
  CHECK(*parse_duration("90") == 90);
  CHECK(*parse_duration("5m") == 300);
  CHECK(*parse_duration("1.5h") == 5400);
  CHECK(*parse_duration("250ms") == doctest::Approx(0.25));
  CHECK_FALSE(parse_duration("3 fortnights").ok());
}

TEST_CASE("stats: summary, median, geometric means") {
  auto s = summarize({4, 1, 3, 2, 5});
  CHECK(s.count == 5);
  CHECK(s.median == 3);
  CHECK(s.min == 1);
  CHECK(s.max == 5);
  CHECK(s.mean == 3);
  CHECK(s.stddev == doctest::Approx(1.5811388));
  CHECK(s.cv == doctest::Approx(0.5270463));
  CHECK(median({1, 2, 3, 4}) == 2.5);
  CHECK(summarize({}).count == 0);
  CHECK(geometric_mean({1, 4, 16}) == doctest::Approx(4));
  CHECK(geometric_mean({2, 0}) == 0);
  CHECK(weighted_geometric_mean({2, 8}, {3, 1}) == doctest::Approx(std::pow(2.0, 1.5)));
}

TEST_CASE("document: parse, schema checks and section merge") {
  auto ok = Document::parse(R"({"schema":"gpukit/1","gpus":[],"bench":{"x":1},"custom":5})", "in.json");
  REQUIRE(ok.ok());
  CHECK(ok->has("bench"));
  CHECK(ok->section("gpus")->is_array());
  Document d = *ok;
  d.set_section("cost", json{{"a", 1}});
  CHECK(d.section("bench")->at("x") == 1);  // other sections untouched
  CHECK(d.section("custom")->get<int>() == 5);
  CHECK(d.dump().back() == '\n');

  auto minor = Document::parse(R"({"schema":"gpukit/1.3"})", "x");
  CHECK(minor.ok());

  auto bad_json = Document::parse("{\"schema\": ", "in.json");
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.error().code == ExitCode::usage);
  CHECK(bad_json.error().what().find("in.json") == 0);

  auto wrong_major = Document::parse(R"({"schema":"gpukit/2"})", "in.json");
  REQUIRE_FALSE(wrong_major.ok());
  CHECK(wrong_major.error().what() == "in.json: /schema: major version 2 is not supported; this gpukit reads \"gpukit/1\"");

  auto not_ours = Document::parse(R"({"schema":"other/1"})", "x");
  CHECK_FALSE(not_ours.ok());
  auto missing = Document::parse(R"({"gpus":[]})", "x");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().context == "x: /schema");

  auto shape = Document::parse(R"({"schema":"gpukit/1","gpus":{}})", "doc");
  REQUIRE_FALSE(shape.ok());
  CHECK(shape.error().what() == "doc: /gpus: expected an array, found object");
  auto array_root = Document::parse("[1,2]", "doc");
  CHECK_FALSE(array_root.ok());
}

TEST_CASE("io: atomic writes replace the file whole and leave no temporary") {
  std::string dir = gpukit::test::temp_dir();
  std::string path = dir + "/out.json";
  REQUIRE(write_file_atomic(path, "first\n").ok());
  REQUIRE(write_file_atomic(path, "second\n").ok());
  CHECK(gpukit::test::read_file(path) == "second\n");
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++files;
  CHECK(files == 1);
  auto bad = write_file_atomic(dir + "/no/such/dir/out.json", "x");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ExitCode::usage);
  auto unreadable = read_input_file(dir + "/missing.json");
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error().what() == dir + "/missing.json: cannot open: No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST_CASE("fsroot: GPUKIT_SYSFS_ROOT redirects /sys and /proc readers") {
  std::string dir = gpukit::test::temp_dir();
  std::filesystem::create_directories(dir + "/sys/x");
  REQUIRE(write_file_atomic(dir + "/sys/x/value", "  42\n").ok());
  setenv("GPUKIT_SYSFS_ROOT", (dir + "/").c_str(), 1);
  CHECK(fs_path("/sys/x/value") == dir + "/sys/x/value");
  CHECK(*read_integer_file(fs_path("/sys/x/value")) == 42);
  CHECK(*read_first_line(fs_path("/sys/x/value")) == "42");
  CHECK(list_directory(fs_path("/sys/x")) == std::vector<std::string>{"value"});
  CHECK_FALSE(read_text_file(fs_path("/sys/x/none")).has_value());
  unsetenv("GPUKIT_SYSFS_ROOT");
  CHECK(fs_path("/sys/x") == "/sys/x");
  std::filesystem::remove_all(dir);
}

TEST_CASE("dynlib: SONAME search, overrides, versioned and missing symbols") {
  auto missing = DynamicLibrary::open({"libgpukit-does-not-exist.so.1"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ExitCode::environment);
  CHECK(missing.error().message.find("libgpukit-does-not-exist.so.1") != std::string::npos);

  auto libm = DynamicLibrary::open({"libgpukit-does-not-exist.so.1", "libm.so.6"});
  REQUIRE(libm.ok());
  CHECK((*libm)->name() == "libm.so.6");
  using cos_fn = double(double);
  auto* f = (*libm)->function<cos_fn>({"cos_v99_not_there", "cos"});
  REQUIRE(reinterpret_cast<void*>(f) != nullptr);
  CHECK(f(0.0) == 1.0);
  CHECK((*libm)->missing_symbols().empty());
  CHECK((*libm)->symbol({"gpukit_no_such_symbol"}) == nullptr);
  CHECK((*libm)->missing_symbols() == std::vector<std::string>{"gpukit_no_such_symbol"});

  setenv("GPUKIT_TEST_LIB_OVERRIDE", "libgpukit-override-missing.so", 1);
  auto overridden = DynamicLibrary::open({"libm.so.6"}, "GPUKIT_TEST_LIB_OVERRIDE");
  CHECK_FALSE(overridden.ok());  // the override is the only candidate
  unsetenv("GPUKIT_TEST_LIB_OVERRIDE");
}

TEST_CASE("deadline: a call that hangs is abandoned at the deadline") {
  auto fast = run_with_deadline<int>([] { return Result<int>(7); }, 1.0, "fast call");
  REQUIRE(fast.ok());
  CHECK(*fast == 7);

  int before = abandoned_calls();
  auto start = std::chrono::steady_clock::now();
  auto hung = run_with_deadline<int>(
      [] {
        std::this_thread::sleep_for(std::chrono::seconds(30));
        return Result<int>(1);
      },
      0.2, "nvmlInit_v2");
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE_FALSE(hung.ok());
  CHECK(hung.error().code == ExitCode::deadline);
  CHECK(hung.error().message == "nvmlInit_v2 did not return within 0.2 s");
  CHECK(waited < 1.0);
  CHECK(abandoned_calls() == before + 1);

  auto failing = run_with_deadline<int>([] { return Result<int>(usage_error("bad")); }, 1.0, "x");
  CHECK(failing.error().message == "bad");
}

TEST_CASE("table: aligned columns, numbers to the right") {
  Table t({"gpu", "memory", "name"});
  t.add_row({"0", "80 GiB", "H100"});
  t.add_row({"10", "40 GiB", "A100-SXM4"});
  CHECK(t.render() ==
        "gpu  memory  name\n"
        "  0  80 GiB  H100\n"
        " 10  40 GiB  A100-SXM4\n");
  CHECK(render_key_values({{"a", "1"}, {"long", "2"}}) == "a:    1\nlong: 2\n");
}
