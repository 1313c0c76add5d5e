// gpumatch's rule tables: every row class of cuda-drivers, cuda-compat,
// ptx-isa and amd-targets-match, and the checks on malformed tables.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "match/tables.hpp"
#include "match_test_support.hpp"

using namespace gpukit;
using gpukit::test::tables;

namespace {

Version v(const char* s) { return *Version::parse(s); }

}  // namespace

TEST_CASE("match tables: versions compare part by part") {
  CHECK(v("535.54.03") < v("535.104.05"));
  CHECK(v("580") <= v("580.65.06"));
  CHECK(v("580.65.06") >= v("580"));
  CHECK(v("12.4") == v("12.4.0"));
  CHECK(v("13.0").major() == 13);
  CHECK(v("12.9").minor() == 9);
  CHECK_FALSE(Version::parse("").has_value());
  CHECK_FALSE(Version::parse("12.").has_value());
  CHECK_FALSE(Version::parse("12..4").has_value());
  CHECK_FALSE(Version::parse("r535").has_value());
  CHECK_FALSE(Version::parse("1.2.3.4.5").has_value());
  CHECK(Version::of(9, 0).short_string() == "9.0");
}

TEST_CASE("match tables: toolkit rows give each release's minimum driver") {
  const auto& t = tables();
  REQUIRE(t.toolkit(v("11.0")));
  CHECK(t.toolkit(v("11.0"))->min_driver.raw == "450.51.05");
  CHECK(t.toolkit(v("12.2"))->min_driver.raw == "535.54.03");
  CHECK(t.toolkit(v("12.4"))->min_driver.raw == "550.54.14");
  CHECK(t.toolkit(v("13.0"))->min_driver.raw == "580.65.06");
  CHECK(t.toolkit(v("12.7")) == nullptr);  // there was no 12.7 release
  for (const auto& row : t.toolkits()) CHECK_FALSE(row.source.empty());
  // The newest release a driver provides in full.
  CHECK(t.cuda_for_driver(v("535.54.03"))->short_string() == "12.2");
  CHECK(t.cuda_for_driver(v("535.104.05"))->short_string() == "12.2");
  CHECK(t.cuda_for_driver(v("550.54.13"))->short_string() == "12.3");
  CHECK(t.cuda_for_driver(v("580.65.06"))->short_string() == "13.0");
  CHECK_FALSE(t.cuda_for_driver(v("440.33")).has_value());
}

TEST_CASE("match tables: minor-version-compatibility floors per major") {
  const auto& t = tables();
  REQUIRE(t.mvc_floor(11));
  CHECK(t.mvc_floor(11)->min_driver.raw == "450.80.02");
  CHECK(t.mvc_floor(12)->min_driver.raw == "525.60.13");
  CHECK(t.mvc_floor(13)->min_driver <= v("580.65.06"));
  CHECK(v("575.57.08") < t.mvc_floor(13)->min_driver);
  CHECK(t.mvc_floor(10) == nullptr);
}

TEST_CASE("match tables: PTX ISA versions map to the CUDA that understands them") {
  const auto& t = tables();
  CHECK(t.ptx(v("7.0"))->cuda.short_string() == "11.0");
  CHECK(t.ptx(v("8.5"))->cuda.short_string() == "12.5");
  CHECK(t.ptx(v("8.6"))->cuda.short_string() == "12.7");
  CHECK(t.ptx(v("8.7"))->cuda.short_string() == "12.8");
  CHECK(t.ptx(v("9.0"))->cuda.short_string() == "13.0");
  CHECK(t.ptx(v("9.9")) == nullptr);
  // Monotonic: a newer ISA never needs an older CUDA.
  const auto& rows = t.ptx_rows();
  for (std::size_t i = 1; i < rows.size(); ++i) CHECK(rows[i - 1].cuda < rows[i].cuda);
}

TEST_CASE("match tables: compute capabilities have first and last toolkits") {
  const auto& t = tables();
  REQUIRE(t.arch(9, 0));
  CHECK(t.arch(9, 0)->first_cuda->short_string() == "11.8");
  CHECK_FALSE(t.arch(9, 0)->removed_in_cuda.has_value());
  CHECK(t.arch(7, 0)->removed_in_cuda->short_string() == "13.0");
  CHECK(t.arch(10, 0)->first_cuda->short_string() == "12.8");
  CHECK(t.arch(3, 5)->removed_in_cuda->short_string() == "12.0");
  CHECK(t.arch(4, 2) == nullptr);
}

TEST_CASE("match tables: the a and f suffixes and plain targets") {
  const auto& t = tables();
  const SuffixRule* plain = t.suffix("");
  const SuffixRule* a = t.suffix("a");
  const SuffixRule* f = t.suffix("f");
  REQUIRE(plain);
  REQUIRE(a);
  REQUIRE(f);
  // Plain SASS: same major, minor at least.
  CHECK(arch_rule_allows(plain->sass, 8, 0, 8, 6));
  CHECK_FALSE(arch_rule_allows(plain->sass, 8, 6, 8, 0));
  CHECK_FALSE(arch_rule_allows(plain->sass, 8, 0, 9, 0));
  // Plain PTX: any later CC.
  CHECK(arch_rule_allows(plain->ptx, 8, 0, 9, 0));
  CHECK(arch_rule_allows(plain->ptx, 8, 0, 12, 0));
  CHECK_FALSE(arch_rule_allows(plain->ptx, 9, 0, 8, 9));
  // a: exactly that CC, SASS and PTX alike.
  CHECK(arch_rule_allows(a->sass, 9, 0, 9, 0));
  CHECK_FALSE(arch_rule_allows(a->sass, 10, 0, 10, 3));
  CHECK_FALSE(arch_rule_allows(a->ptx, 9, 0, 10, 0));
  // f: the family (same major, later minors), and its PTX stays in the family.
  CHECK(arch_rule_allows(f->sass, 10, 0, 10, 3));
  CHECK(arch_rule_allows(f->sass, 12, 0, 12, 1));
  CHECK_FALSE(arch_rule_allows(f->sass, 10, 3, 10, 0));
  CHECK_FALSE(arch_rule_allows(f->ptx, 10, 0, 12, 0));
  CHECK(f->first_cuda->short_string() == "12.9");
  CHECK(t.suffix("x") == nullptr);
}

TEST_CASE("match tables: AMD generic targets and feature rules") {
  const auto& t = tables();
  REQUIRE(t.generic("gfx9-4-generic"));
  const auto& p = t.generic("gfx9-4-generic")->processors;
  CHECK(std::find(p.begin(), p.end(), "gfx942") != p.end());
  CHECK(std::find(p.begin(), p.end(), "gfx90a") == p.end());
  CHECK(t.generic("gfx10-3-generic")->processors.front() == "gfx1030");
  CHECK(t.generic("gfx90a") == nullptr);
  CHECK(t.feature_loads("xnack", "any", "on"));
  CHECK(t.feature_loads("xnack", "any", "off"));
  CHECK(t.feature_loads("xnack", "off", "off"));
  CHECK_FALSE(t.feature_loads("xnack", "off", "on"));
  CHECK_FALSE(t.feature_loads("sramecc", "on", "off"));
  CHECK(t.amd_processor("gfx1030")->features.empty());
  CHECK(t.amd_processor("gfx90a")->features.size() == 2);
}

TEST_CASE("match tables: a malformed table names the file and the row") {
  namespace fs = std::filesystem;
  std::string dir = gpukit::test::temp_dir();
  for (const char* f : {"cuda-drivers.json", "cuda-compat.json", "ptx-isa.json", "amd-targets-match.json"})
    fs::copy_file(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/" + f, dir + "/" + f);
  CHECK(CompatTables::load(dir).ok());

  auto rewrite = [&](const char* file, const std::string& text) { std::ofstream(dir + "/" + file) << text; };
  rewrite("ptx-isa.json", R"({"schema":"gpukit-ptx-isa/1","versions":[{"ptx_isa":"9.0","cuda":"13.0","date":"2026-11-24"}]})");
  auto r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::usage);
  CHECK(r.error().context == dir + "/ptx-isa.json: /versions/0");
  CHECK(r.error().message == "missing \"source\"");

  rewrite("ptx-isa.json", R"({"schema":"gpukit-ptx-isa/1","versions":[{"ptx_isa":"nine","cuda":"13.0","source":"s","date":"d"}]})");
  r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "\"ptx_isa\" is not a version");

  rewrite("ptx-isa.json", R"({"schema":"gpukit-ptx-isa/2","versions":[]})");
  r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "expected \"schema\": \"gpukit-ptx-isa/1\"");

  rewrite("ptx-isa.json", "[");
  r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "not a JSON object");
  fs::remove_all(dir);
}
