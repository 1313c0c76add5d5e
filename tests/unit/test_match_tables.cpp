// gpumatch's rule tables: every row class of cuda-drivers, cuda-compat,
// ptx-isa and amd-targets-match, and the checks on malformed tables.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "match/rules.hpp"
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
  CHECK(t.cuda_for_driver(v("440.33"))->short_string() == "10.2");
  CHECK_FALSE(t.cuda_for_driver(v("384.00")).has_value());
}

TEST_CASE("match tables: corrected and new toolkit rows") {
  const auto& t = tables();
  CHECK(t.toolkit(v("9.0"))->min_driver.raw == "384.81");
  CHECK(t.toolkit(v("13.3"))->min_driver.raw == "610.43.02");
  CHECK(t.cuda_for_driver(v("610.43.02"))->short_string() == "13.3");
  // Releases whose minimum driver gpukit could not read decide nothing.
  CHECK(t.toolkit(v("13.4")) == nullptr);
  CHECK(t.toolkit(v("13.5")) == nullptr);
  CHECK(t.ptx(v("9.5"))->cuda.short_string() == "13.5");
  CHECK(t.ptx(v("9.2"))->cuda.short_string() == "13.2");
  // First toolkits from the PTX ISA release history.
  CHECK(t.arch(7, 2)->first_cuda->short_string() == "9.1");
  CHECK(t.arch(8, 7)->first_cuda->short_string() == "11.4");
  REQUIRE(t.arch(8, 8));
  CHECK(t.arch(10, 3)->first_cuda->short_string() == "12.9");
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

TEST_CASE("match tables: minor version compatibility has NVIDIA's upper bounds") {
  const auto& t = tables();
  const MvcFloor* m11 = t.mvc_floor(11);
  const MvcFloor* m12 = t.mvc_floor(12);
  const MvcFloor* m13 = t.mvc_floor(13);
  REQUIRE(m11);
  REQUIRE(m12);
  REQUIRE(m13);
  CHECK(m11->max_driver->raw == "525");
  CHECK(m12->max_driver->raw == "580");
  CHECK_FALSE(m13->max_driver.has_value());
  CHECK(m12->covers(v("525.60.13")));
  CHECK(m12->covers(v("575.57.08")));
  CHECK_FALSE(m12->covers(v("580.65.06")));  // that driver runs 12.x by backward compatibility
  CHECK_FALSE(m12->covers(v("520.61.05")));
  CHECK(m11->covers(v("470.42.01")));
  CHECK_FALSE(m11->covers(v("525.60.13")));
  CHECK(m13->covers(v("610.43.02")));
}

TEST_CASE("match tables: the MVC rule applies only inside the bounds") {
  const auto& t = tables();
  NodeFacts n;
  n.nvidia_status = "ok";
  n.nvidia_driver = v("575.57.08");
  n.nvidia_cuda = v("12.9");
  // 12.x on an R575 driver: provided in full.
  CHECK(rule_cuda_runtime(v("12.4"), "the job", n, t, true).outcome == Outcome::pass);
  // 13.1 on an R575 driver: below the 13.x floor.
  CHECK(rule_cuda_runtime(v("13.1"), "the job", n, t, true).outcome == Outcome::fail);
  // A driver the table says is past the 12.x bound, reporting an older CUDA
  // (a mislabelled document), does not pass by minor version compatibility.
  n.nvidia_driver = v("580.65.06");
  n.nvidia_cuda = v("12.2");
  RuleResult r = rule_cuda_runtime(v("12.8"), "the job", n, t, true);
  CHECK(r.outcome == Outcome::fail);
  n.nvidia_driver = v("535.54.03");
  r = rule_cuda_runtime(v("12.8"), "the job", n, t, true);
  CHECK(r.outcome == Outcome::pass);
  CHECK(r.reason.find("minor version compatibility") != std::string::npos);
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
  const auto& p94 = t.generic("gfx9-4-generic")->processors;
  CHECK(std::find(p94.begin(), p94.end(), "gfx950") != p94.end());
  const GenericTarget* g125 = t.generic("gfx12-5-generic");
  REQUIRE(g125);
  CHECK(g125->processors == std::vector<std::string>{"gfx1250", "gfx1251"});
}

TEST_CASE("match tables: gfx9-generic supports xnack only") {
  const auto& t = tables();
  const GenericTarget* g9 = t.generic("gfx9-generic");
  REQUIRE(g9);
  REQUIRE(g9->features.has_value());
  CHECK(g9->supports_feature("xnack"));
  CHECK_FALSE(g9->supports_feature("sramecc"));
  NodeDevice mi50;
  mi50.id = "GPU-a";
  mi50.vendor = "amd";
  mi50.gfx = "gfx906";
  mi50.target_id = "gfx906:sramecc+:xnack-";
  std::string why;
  CHECK(amd_target_loads("gfx9-generic:xnack-", mi50, t, why) == Outcome::pass);
  CHECK(why.find("generic target gfx9-generic covers gfx906") != std::string::npos);
  CHECK(amd_target_loads("gfx9-generic:sramecc+", mi50, t, why) == Outcome::fail);
  CHECK(why.find("gfx9-generic does not support") != std::string::npos);
  // The same feature on the processor itself is fine.
  CHECK(amd_target_loads("gfx906:sramecc+", mi50, t, why) == Outcome::pass);
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

  rewrite("ptx-isa.json", R"({"schema":"gpukit-ptx-isa/1","versions":[{"ptx_isa":"9.0","cuda":"13.0","source":"s","date":"d"}]})");
  auto compat = json::parse(std::ifstream(dir + "/cuda-compat.json"));
  compat["minor_version_compatibility"][1]["max_driver_exclusive"] = "500";
  rewrite("cuda-compat.json", compat.dump());
  r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().context == dir + "/cuda-compat.json: /minor_version_compatibility/1");
  CHECK(r.error().message == "\"max_driver_exclusive\" must be above \"min_driver\"");
  fs::copy_file(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/cuda-compat.json", dir + "/cuda-compat.json",
                fs::copy_options::overwrite_existing);

  rewrite("ptx-isa.json", "[");
  r = CompatTables::load(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "not a JSON object");
  fs::remove_all(dir);
}
