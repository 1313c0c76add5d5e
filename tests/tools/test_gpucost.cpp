#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace gpukit::test;
using nlohmann::json;

namespace {

std::string doc(const std::string& name) { return fixture("cost/" + name); }

// The output must be a valid document: every section against its schema. The
// bench section is gpubench's; it is checked when its schema is in the tree.
std::string validate(json document) {
  if (!std::filesystem::exists(fixture("../../share/gpukit/schema/bench.schema.json"))) document.erase("bench");
  return validate_document(document);
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = temp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// A usage error: exit 2, nothing on stdout, one line on stderr that says `what`.
void check_usage_error(const RunResult& r, const std::string& what) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_MESSAGE(r.err.find(what) != std::string::npos, r.err);
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return {};
}

}  // namespace

TEST_CASE("gpucost: a GPU node against itself without GPUs") {
  auto r = run_tool("gpucost", {"-i", doc("gpu-node.json"), "--samples", "300"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  json out = json::parse(r.out);
  CHECK(validate(out) == "");
  json in = json::parse(read_file(doc("gpu-node.json")));
  for (const char* section : {"host", "cpu", "memory", "drivers", "gpus", "visible", "bench"})
    CHECK(out[section] == in[section]);
  const json& cost = out["cost"];
  CHECK(cost["metric"] == "workflow");
  REQUIRE(cost["options"].size() == 2);
  CHECK(cost["options"][1]["label"] == "gpu-node without GPUs");
  CHECK(cost["options"][0]["per_unit"]["node_speedup"].get<double>() ==
        doctest::Approx(1 / (0.85 + 0.15 / 6.25)));
  CHECK(cost["decision"]["cheapest"] == "gpu-node without GPUs");
  CHECK(cost["break_even"][0]["max_node_speedup"].get<double>() == doctest::Approx(1 / 0.85));
  CHECK(cost["break_even"][0]["offload_speedup_needed"].is_null());
  CHECK(cost["options"][0]["power"]["gpu_source"] == "measured");
  CHECK(cost["options"][0]["per_score_hour"]["gpu"]["score"] == 8000);
  CHECK(cost["options"][1]["per_score_hour"]["gpu"]["reason"] == "the node has no GPUs");
  CHECK(cost["monte_carlo"]["samples"] == 300);
  CHECK(cost["parameters"]["pue"]["origin"] == "default");
  CHECK(cost["gpu_prices"]["nvidia-h100-sxm5-80gb"]["currency"] == "USD");
}

TEST_CASE("gpucost: compare a GPU node with a CPU node for the same delivered work") {
  auto r = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "--samples", "300"});
  REQUIRE(r.exit_code == 0);
  json out = json::parse(r.out);
  CHECK(validate(out) == "");
  CHECK(out["host"]["hostname"] == "gpu-node");  // the first document carries the result
  const json& cost = out["cost"];
  REQUIRE(cost["options"].size() == 2);
  CHECK(cost["options"][1]["label"] == "cpu-node");
  CHECK(cost["decision"]["cheapest"] == "cpu-node");
  // The CPU node delivers more workflow units: it sets the throughput, the GPU node needs more nodes.
  CHECK(cost["options"][1]["nodes_for_throughput"] == 1.0);
  CHECK(cost["options"][0]["nodes_for_throughput"].get<double>() > 1);
  CHECK(cost["sensitivity"]["value_is_ratio"] == true);
  CHECK(cost["sensitivity"]["base_value"].get<double>() > 1);
  CHECK(cost["monte_carlo"]["p_cheapest"]["cpu-node"].get<double>() > 0.9);
  // Options after the subcommand's documents reach the tool as well.
  auto node = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "--metric", "node", "--samples", "0"});
  REQUIRE(node.exit_code == 0);
  CHECK(json::parse(node.out)["cost"]["metric"] == "node");
  CHECK(json::parse(node.out)["cost"]["monte_carlo"].is_null());
}

TEST_CASE("gpucost: csv and table") {
  auto r = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "-f", "csv", "--samples", "100"});
  REQUIRE(r.exit_code == 0);
  std::string header = r.out.substr(0, r.out.find('\n') + 1);
  CHECK(compare_golden("../cost/csv-header.csv", header) == "");
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  CHECK(r.out.find("\ncpu-node,workflow,3456,") != std::string::npos);

  auto t = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "-f", "table", "--samples", "100"});
  REQUIRE(t.exit_code == 0);
  for (const char* part : {"unit of work: workflow score-hour", "cpu-node is cheaper per workflow score-hour",
                           "break-even against", "sensitivity: each input -/+10 %", "Monte Carlo: 100 draws, seed 42"})
    CHECK_MESSAGE(t.out.find(part) != std::string::npos, part);
}

TEST_CASE("gpucost: the same seed gives the same answer") {
  std::vector<std::string> args = {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "--samples", "400"};
  auto a = run_tool("gpucost", args);
  auto b = run_tool("gpucost", args);
  args.insert(args.end(), {"--seed", "1234"});
  auto c = run_tool("gpucost", args);
  REQUIRE((a.exit_code == 0 && b.exit_code == 0 && c.exit_code == 0));
  CHECK(a.out == b.out);
  json mc_a = json::parse(a.out)["cost"]["monte_carlo"], mc_c = json::parse(c.out)["cost"]["monte_carlo"];
  CHECK(mc_c["seed"] == 1234);
  CHECK(mc_a["value"] != mc_c["value"]);
}

TEST_CASE("gpucost: a Swiss site file") {
  auto r = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "--site", doc("site-ch.json"),
                                "--samples", "200"});
  REQUIRE(r.exit_code == 0);
  json out = json::parse(r.out);
  CHECK(validate(out) == "");
  const json& cost = out["cost"];
  CHECK(cost["currency"] == "CHF");
  CHECK(cost["country"] == "CH");
  const json& ci = cost["parameters"]["carbon_intensity_g_per_kwh"];
  CHECK(ci["value"] == 11.52);
  CHECK(ci["range"] == json::array({11.52, 78}));
  CHECK(ci["origin"] == "country table");
  CHECK(cost["parameters"]["pue"]["range"] == json::array({1.2, 1.45}));
  CHECK(cost["options"][1]["purchase"]["total"].get<double>() == doctest::Approx(30000));
  CHECK(cost["options"][0]["purchase"]["total"].get<double>() == doctest::Approx(150000));
  CHECK(cost["options"][0]["useful_lifetime"]["years"] == 5.0);
}

TEST_CASE("gpucost: software support ends the useful lifetime") {
  std::string site = write_temp("old.json", R"({"prices": {"nvidia-v100-sxm2-32gb": 3000}, "purchase_date": "2024-02",
                                               "nodes": {"old-node": {"scores": {"cpu": 500}}}})");
  auto r = run_tool("gpucost", {"-i", doc("old-node.json"), "--site", site, "--samples", "0"});
  REQUIRE(r.exit_code == 0);
  json cost = json::parse(r.out)["cost"];
  const json& life = cost["options"][0]["useful_lifetime"];
  CHECK(life["bound_by"] == "software_support");
  CHECK(life["support_end"] == "2025-08");
  CHECK(life["years"].get<double>() == doctest::Approx(1.5));
  CHECK(cost["options"][1]["useful_lifetime"]["bound_by"] == "physical");  // without its GPUs

  std::string late = write_temp("late.json", R"({"prices": {"nvidia-v100-sxm2-32gb": 3000}, "purchase_date": "2026-01"})");
  check_usage_error(run_tool("gpucost", {"-i", doc("old-node.json"), "--site", late}),
                    "old-node: software support for nvidia-v100-sxm2-32gb ended 2025-08, before the purchase date "
                    "2026-01: no useful lifetime left (set purchase_date to when the node was bought)");
}

TEST_CASE("gpucost: without scores there is no cost per unit, and it says why") {
  auto r = run_tool("gpucost", {"-i", doc("plain-node.json"), "--samples", "0"});
  REQUIRE(r.exit_code == 0);
  json cost = json::parse(r.out)["cost"];
  CHECK(cost["options"][0]["per_unit"]["score"].is_null());
  CHECK(cost["options"][0]["per_unit"]["reason"].get<std::string>().find("no node score") != std::string::npos);
  CHECK(cost["decision"]["cheapest"].is_null());
  CHECK(cost["options"][0]["annual"]["cost"]["total"].get<double>() > 0);
  CHECK(cost["sensitivity"]["value_name"] == "annual cost of plain-node");
  auto scored = run_tool("gpucost", {"-i", doc("plain-node.json"), "--cpu-score", "3000", "--samples", "0"});
  REQUIRE(scored.exit_code == 0);
  CHECK(json::parse(scored.out)["cost"]["options"][0]["per_unit"]["score"] == 3000.0);
}

TEST_CASE("gpucost: the plot renders") {
  std::string rsvg = find_program("rsvg-convert");
  REQUIRE_MESSAGE(!rsvg.empty(), "rsvg-convert (Debian librsvg2-bin) is needed to check the plot; run scripts/setup");
  std::string dir = temp_dir();
  auto r = run_tool("gpucost", {"compare", doc("gpu-node.json"), doc("cpu-node.json"), "--samples", "200", "--plot",
                                dir + "/cost.svg", "-o", dir + "/out.json"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.empty());
  std::string svg = read_file(dir + "/cost.svg");
  CHECK(svg.rfind("<?xml", 0) == 0);
  for (const char* part : {"Cost per workflow score-hour", "Carbon per workflow score-hour", "Sensitivity", "cheapest"})
    CHECK_MESSAGE(svg.find(part) != std::string::npos, part);
  auto png = run_tool(rsvg, {"-o", dir + "/cost.png", dir + "/cost.svg"});
  CHECK_MESSAGE(png.exit_code == 0, png.err);
  std::string bytes = read_file(dir + "/cost.png");
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(1, 3) == "PNG");
}

TEST_CASE("gpucost: bad input is exit 2 with one line naming the problem") {
  auto site = [](const std::string& text) { return write_temp("site.json", text); };
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site(R"({"electricty_price_per_kwh": 0.2})")}),
                    "/electricty_price_per_kwh: unknown key");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site(R"({"country": "XX"})")}),
                    "/country: unknown country code \"XX\"");
  check_usage_error(
      run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site(R"({"prices": {"nvidia-h100-sxm5-80gb": -5}})")}),
      "/prices/nvidia-h100-sxm5-80gb: must be >= 0, found -5");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site(R"({"electricity_price_per_kwh": -0.1})")}),
                    "/electricity_price_per_kwh: must be >= 0, found -0.1");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site(R"({"currency": "CHF"})")}),
                    "/usd_exchange_rate: required when the currency is CHF (the defaults are in EUR)");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", site("{\"pue\": ")}), "site.json: /pue: invalid JSON at byte 9");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--site", "/nonexistent/site.json"}),
                    "/nonexistent/site.json: cannot open");
  check_usage_error(run_tool("gpucost", {"compare", doc("gpu-node.json"), "/nonexistent/node.json"}),
                    "/nonexistent/node.json: cannot open");
  check_usage_error(run_tool("gpucost", {"compare", doc("gpu-node.json")}), "documents");
  check_usage_error(run_tool("gpucost", {"-i", doc("cpu-node.json"), "compare", doc("gpu-node.json"), doc("cpu-node.json")}),
                    "compare takes its documents as arguments, not --input");
  check_usage_error(run_tool("gpucost", {"-i", doc("gpu-node.json"), "--metric", "money"}), "--metric");
  check_usage_error(run_tool("gpucost", {"-i", doc("old-node.json")}),
                    "/prices/nvidia-v100-sxm2-32gb: no price for GPU model nvidia-v100-sxm2-32gb in the catalogue");
  // Hand-written offers are not probed (they describe other machines): their gaps are errors.
  std::string broken = write_temp("broken.json", R"({"schema": "gpukit/1", "cpu": {"sockets": 2}})");
  check_usage_error(run_tool("gpucost", {"compare", broken, doc("cpu-node.json")}), "broken.json: /cpu/cores: must be a number >= 1");
  std::string no_gpus = write_temp("nogpus.json", R"({"schema": "gpukit/1", "cpu": {"sockets": 1, "cores": 4},
                                                     "memory": {"total_bytes": 1000}})");
  check_usage_error(run_tool("gpucost", {"compare", no_gpus, doc("cpu-node.json")}), "nogpus.json: /gpus: missing");
  std::string bad_score = write_temp("badscore.json", R"({"schema": "gpukit/1", "cpu": {"sockets": 1, "cores": 4},
      "memory": {"total_bytes": 1000}, "gpus": [], "bench": {"scores": {"cpu_node": -3}}})");
  check_usage_error(run_tool("gpucost", {"compare", bad_score, doc("cpu-node.json")}),
                    "badscore.json: /bench/scores/cpu_node: must be > 0, found -3");
  check_usage_error(run_tool("gpucost", {"compare", write_temp("x.json", "{\"schema\": \"gpukit/2\"}"), doc("cpu-node.json")}),
                    "x.json: /schema: major version 2 is not supported");
}
