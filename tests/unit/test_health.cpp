// Health (issue 14): the typed health part of the node model, the thresholds
// file and its site override, and the vendor-neutral PCIe link check.
#include <doctest/doctest.h>

#include <string>

#include "core/document.hpp"
#include "core/health_limits.hpp"
#include "core/node.hpp"
#include "test_support.hpp"
#include "vendors/health.hpp"

using namespace gpukit;

namespace {

json gpu_with_health(json health) {
  return json{{"schema", "gpukit/1"}, {"gpus", json::array({json{{"index", 0}, {"vendor", "nvidia"}, {"health", health}}})}};
}

std::string model_error(const json& doc) {
  auto m = read_node_model(doc, "node.json");
  if (m) return "read";
  CHECK(m.error().code == ExitCode::usage);
  return m.error().what();
}

std::string shipped() { return test::read_file(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/health-thresholds.json"); }

}  // namespace

TEST_CASE("node model: gpus[].health is typed and checked") {
  json check = {{"name", "row_remap_pending"}, {"status", "fail"}, {"level", 1}, {"value", {{"pending", true}}},
                {"threshold", {{"pending", false}}}, {"source", "nvmlDeviceGetRemappedRows"},
                {"reason", "row remap pending"}, {"dcgm_code", "DCGM_FR_PENDING_ROW_REMAP"}};
  auto m = read_node_model(gpu_with_health({{"level", 1}, {"status", "fail"}, {"checks", {check}}}), "node.json");
  REQUIRE(m.ok());
  const NodeGpu& g = m->gpu_list().at(0);
  REQUIRE(g.health);
  CHECK(*g.health->level == 1);
  REQUIRE(g.health->checks.size() == 1);
  CHECK(g.health->checks[0].value["pending"] == true);
  CHECK(g.health->failures().size() == 1);
  CHECK_FALSE(g.healthy());

  // A GPU without health data is healthy: documents from before --health match as they did.
  auto plain = read_node_model(json{{"schema", "gpukit/1"}, {"gpus", json::array({json{{"index", 0}}})}}, "node.json");
  REQUIRE(plain.ok());
  CHECK(plain->gpu_list()[0].healthy());
  CHECK_FALSE(plain->gpu_list()[0].health);
}

TEST_CASE("node model: a malformed health part is one error naming its path") {
  CHECK(model_error(gpu_with_health("bad")) == "node.json: /gpus/0/health: expected an object or null, found a string");
  CHECK(model_error(gpu_with_health({{"checks", {{{"name", "x"}, {"status", "broken"}}}}})) ==
        "node.json: /gpus/0/health/checks/0/status: expected one of pass, warn, fail, unsupported, timeout");
  CHECK(model_error(gpu_with_health({{"checks", {{{"status", "pass"}}}}})) ==
        "node.json: /gpus/0/health/checks/0/name: expected a non-empty string");
  CHECK(model_error(gpu_with_health({{"level", 3}})) ==
        "node.json: /gpus/0/health/level: expected an integer from 1 to 2, found 3");
  CHECK(model_error(gpu_with_health({{"checks", {{{"name", "x"}, {"status", "pass"}, {"reason", 5}}}}})) ==
        "node.json: /gpus/0/health/checks/0/reason: expected a string or null, found a number");
  CHECK(model_error(json{{"schema", "gpukit/1"}, {"health", json::array()}}) ==
        "node.json: /health: expected an object, found an array");
}

TEST_CASE("health statuses order: fail > timeout > warn > pass > unsupported") {
  CHECK(worse_health_status("pass", "warn") == "warn");
  CHECK(worse_health_status("fail", "timeout") == "fail");
  CHECK(worse_health_status("unsupported", "pass") == "pass");
  CHECK(worse_health_status("warn", "timeout") == "timeout");
}

TEST_CASE("health thresholds: the shipped file reads, with a source for every check; a site overrides") {
  auto l = parse_health_limits(shipped(), "health-thresholds.json", "", "");
  REQUIRE(l.ok());
  CHECK(l->retired_pages_fail_at == 60);
  CHECK(l->clocks_fail_mask == 0xC8);
  CHECK(l->pcie_width_below_max == "fail");
  CHECK(l->pcie_generation_below_max == "warn");
  for (const auto& [name, source] : l->sources) CHECK_MESSAGE(!source.empty(), name);

  auto site = parse_health_limits(shipped(), "health-thresholds.json",
                                  R"({"checks": {"retired_pages": {"fail_at_or_above": 10}}})", "site.json");
  REQUIRE(site.ok());
  CHECK(site->retired_pages_fail_at == 10);
  CHECK(site->source("retired_pages").rfind("site: site.json", 0) == 0);
  CHECK(site->ecc_volatile_fail_above == 0);

  auto bad = parse_health_limits(shipped(), "health-thresholds.json", R"({"checks": {"pcie_replay": {"warn_above": -1}}})",
                                 "site.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.error().what()) == "site: site.json: /checks/pcie_replay/warn_above: expected a number >= 0, found a number");
  CHECK(bad.error().code == ExitCode::usage);
}

TEST_CASE("pcie_link check: width below its maximum fails, generation below warns, unknown is unsupported") {
  auto l = parse_health_limits(shipped(), "health-thresholds.json", "", "");
  REQUIRE(l.ok());
  PcieLink link{5, 16, 5, 4};
  HealthCheck c = pcie_link_check(link, *l, "sysfs");
  CHECK(c.status == CheckStatus::fail);
  CHECK(c.dcgm_code == "DCGM_FR_PCIE_WIDTH");
  CHECK(c.reason.rfind("PCIe link trained at x4 of x16", 0) == 0);
  link = {5, 16, 3, 16};
  CHECK(pcie_link_check(link, *l, "sysfs").status == CheckStatus::warn);
  link = {5, 16, 5, 16};
  CHECK(pcie_link_check(link, *l, "sysfs").status == CheckStatus::pass);
  link = {std::nullopt, 16, 5, 16};
  CHECK(pcie_link_check(link, *l, "sysfs").status == CheckStatus::unsupported);
}
