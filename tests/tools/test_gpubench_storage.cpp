// gpubench's storage workloads end to end: the node section, the formats, the
// schema, the deadline in the middle of a run and a refused scratch directory;
// after every run the scratch directory is empty (issue 16). The full disk and
// the read-only directory need mounts: storage_scratch.sh.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

using gpukit::test::RunOptions;
using gpukit::test::run_tool;
using json = nlohmann::json;

namespace {

const json* node_result(const json& doc, const std::string& workload) {
  for (const auto& r : doc["bench"]["node"]["results"])
    if (r["workload"] == workload) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("gpubench storage: four node figures on the scratch directory, which is empty after") {
  const std::string dir = gpukit::test::temp_dir();
  auto r = run_tool("gpubench", {"--device", "cpu", "--workload", "storage", "--quick", "--scratch", dir,
                                 "--max-storage", "16MiB", "-q"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json doc = json::parse(r.out);
  CHECK(gpukit::test::validate_document(doc) == "");
  CHECK(doc["bench"]["devices"][0]["results"].empty());  // a node workload, on no device
  for (const auto& [w, unit] : std::vector<std::pair<std::string, std::string>>{
           {"storage_write", "GB/s"}, {"storage_read", "GB/s"}, {"storage_randread", "IOPS"}, {"storage_metadata", "ops/s"}}) {
    const json* x = node_result(doc, w);
    REQUIRE(x);
    INFO(w, ": ", x->dump());
    CHECK((*x)["status"] == "ok");
    CHECK((*x)["unit"] == unit);
    CHECK((*x)["value"].get<double>() > 0);
    CHECK((*x)["validation"]["passed"] == true);
    CHECK((*x)["problem_size"]["scratch"] == std::filesystem::canonical(dir).string());
    CHECK((*x)["problem_size"]["filesystem"].is_string());
    CHECK((*x)["problem_size"]["device"].is_string());
  }
  CHECK((*node_result(doc, "storage_randread"))["details"]["latency_us"]["p99"].get<double>() > 0);
  CHECK((*node_result(doc, "storage_read"))["details"]["io"].is_string());
  CHECK((*node_result(doc, "storage_metadata"))["details"]["rates_per_s"]["create"].get<double>() > 0);
  CHECK(doc["bench"]["scores"]["node"].is_null());  // storage is not part of the HEP score
  CHECK(std::filesystem::is_empty(dir));

  auto csv = run_tool("gpubench", {"--rescore", "-i", "-", "-f", "csv"}, RunOptions{{}, {}, r.out});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("node,node,storage_randread,,ok,") != std::string::npos);
  auto table = run_tool("gpubench", {"--rescore", "-i", "-", "-f", "table"}, RunOptions{{}, {}, r.out});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("storage_metadata") != std::string::npos);
  CHECK(table.out.find("IOPS") != std::string::npos);
}

TEST_CASE("gpubench storage: a deadline in the middle of a run ends in exit 4 and leaves no file") {
  const std::string dir = gpukit::test::temp_dir();
  auto r = run_tool("gpubench", {"--device", "cpu", "--workload", "storage_write,storage_metadata", "--scratch", dir,
                                 "--max-storage", "256MiB", "--timeout", "0.3", "-q"});
  INFO(r.err);
  CHECK(r.exit_code == 4);
  const json doc = json::parse(r.out);
  const json* w = node_result(doc, "storage_write");
  REQUIRE(w);
  CHECK((*w)["status"] == "failed");
  CHECK((*w)["value"].is_null());
  CHECK((*w)["reason"].get<std::string>().find("did not return within 0.3 s") != std::string::npos);
  CHECK((*node_result(doc, "storage_metadata"))["status"] == "skipped");
  CHECK(std::filesystem::is_empty(dir));
}

TEST_CASE("gpubench storage: a --scratch that cannot be used is exit 2 naming it; the default one is skipped") {
  auto missing = run_tool("gpubench", {"--workload", "storage", "--scratch", "/nonexistent/scratch"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("--scratch /nonexistent/scratch") != std::string::npos);
  RunOptions o;
  o.env["TMPDIR"] = "/nonexistent/tmp";
  auto fallback = run_tool("gpubench", {"--device", "cpu", "--workload", "storage_metadata", "--quick", "-q"}, o);
  REQUIRE(fallback.exit_code == 0);
  const json fallback_doc = json::parse(fallback.out);
  const json* m = node_result(fallback_doc, "storage_metadata");
  REQUIRE(m);
  CHECK((*m)["status"] == "skipped");
  CHECK((*m)["reason"].get<std::string>().find("/nonexistent/tmp") != std::string::npos);
  auto bad = run_tool("gpubench", {"--workload", "storage", "--max-storage", "12parsecs"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--max-storage") != std::string::npos);
}

TEST_CASE("gpucost: a workflow's local reads cap a node at what its measured storage_read feeds") {
  json node = json::parse(gpukit::test::read_file(gpukit::test::fixture("cost/cpu-node.json")));
  json row = {{"workload", "storage_read"}, {"family", "storage"}, {"status", "ok"}, {"value", 0.5}, {"unit", "GB/s"}};
  node["bench"]["node"]["results"] = json::array({row});
  const std::string dir = gpukit::test::temp_dir();
  const std::string doc = dir + "/node.json", site = dir + "/site.json", none = dir + "/none.json";
  std::ofstream(doc) << node.dump();
  std::ofstream(site) << R"({"workflow_read_gb_per_unit": 1.0})";
  std::ofstream(none) << R"({"workflow_read_gb_per_unit": 0.01})";
  // 0.5 GB/s x 3600 s / 1 GB per score-hour = 1800 units per hour, below the CPU score 3456.
  auto capped = run_tool("gpucost", {"-i", doc, "--site", site, "--samples", "0"});
  INFO(capped.err);
  REQUIRE(capped.exit_code == 0);
  const json capped_doc = json::parse(capped.out);
  const json& o = capped_doc["cost"]["options"][0]["per_unit"];
  CHECK(o["score"].get<double>() == doctest::Approx(1800));
  CHECK(o["score_source"].get<std::string>().find("capped by storage: 0.5 GB/s read feeds 1800 units/h") !=
        std::string::npos);
  // Enough bandwidth: the score stays.
  auto fed = run_tool("gpucost", {"-i", doc, "--site", none, "--samples", "0"});
  REQUIRE(fed.exit_code == 0);
  CHECK(json::parse(fed.out)["cost"]["options"][0]["per_unit"]["score"].get<double>() == doctest::Approx(3456));
}
