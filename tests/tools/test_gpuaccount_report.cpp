// gpuaccount report: a generated fleet of records, its figures checked against
// the arithmetic done here on the same files.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "test_support.hpp"

using nlohmann::json;
using namespace gpukit::test;

namespace {

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
  return {};
}

// A fleet of `jobs` job records, `nodes` node records, and broken files.
std::string fleet(int jobs, int nodes) {
  std::string python = find_program("python3");
  REQUIRE_MESSAGE(!python.empty(), "python3 is needed to generate the records");
  std::string dir = temp_dir() + "/records";
  auto r = run_tool(python, {std::string(GPUKIT_TEST_SOURCE_DIR) + "/scripts/generate-account-records", dir,
                             std::to_string(jobs), "--node-records", std::to_string(nodes), "--broken"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return dir;
}

// The figures computed here, independently of gpuaccount's code.
struct Expected {
  int jobs = 0, nodes = 0;
  double held_h = 0, active_h = 0, idle_h = 0, energy_kwh = 0, score_hours = 0;
  double fp64_h = 0, fp32_h = 0, fp16_h = 0, tensor_h = 0, gpm_h = 0, occupied_h = 0;
  std::map<std::string, double> held_by_month, held_by_vo, held_by_model;
};

Expected compute(const std::string& dir) {
  Expected e;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".json" || entry.path().parent_path().filename() == "broken") continue;
    json a = json::parse(read_file(entry.path().string()))["account"];
    if (a["mode"] == "node") {
      ++e.nodes;
      for (const auto& g : a["gpus"]) e.occupied_h += g["occupancy"].get<double>() * g["available_s"].get<double>() / 3600;
      continue;
    }
    ++e.jobs;
    std::map<std::string, double> score;
    if (a["normalised"].is_object())
      for (const auto& d : a["normalised"]["gpu"]["devices"]) score[d["uuid"]] = d["score_hours"];
    std::string fqan = a["identity"]["fqan"].is_string() ? a["identity"]["fqan"].get<std::string>() : "";
    std::string vo = fqan.empty() ? "(none)" : fqan.substr(1, fqan.find('/', 1) - 1);
    for (const auto& g : a["gpus"]) {
      double h = g["available_s"].get<double>() * g["count"].get<double>() / 3600;
      e.held_h += h;
      e.held_by_month[a["end_time"].get<std::string>().substr(0, 7)] += h;
      e.held_by_vo[vo] += h;
      e.held_by_model[g["model"]] += h;
      e.active_h += g["active_s"].get<double>() / 3600;
      if (g["energy_j"].is_number()) e.energy_kwh += g["energy_j"].get<double>() / 3.6e6;
      if (score.count(g["uuid"])) e.score_hours += score[g["uuid"]];
      const json& m = g["activity"]["mean"];
      bool idle = m.is_object() ? m["sm_active_pct"].get<double>() < 5 : g["utilization_mean_pct"].get<double>() < 5;
      if (idle) e.idle_h += h;
      if (!m.is_object()) continue;
      e.gpm_h += h;
      double dfma = m["tensor_dfma_active_pct"];
      e.fp64_h += h * (m["fp64_active_pct"].get<double>() + dfma) / 100;
      e.fp32_h += h * m["fp32_active_pct"].get<double>() / 100;
      e.fp16_h += h * m["fp16_active_pct"].get<double>() / 100;
      e.tensor_h += h * (m["tensor_active_pct"].get<double>() - dfma) / 100;
    }
  }
  return e;
}

const json& row(const json& rows, const std::string& key) {
  for (const auto& r : rows)
    if (r["key"] == key) return r;
  FAIL("no row " << key);
  static json none;
  return none;
}

}  // namespace

TEST_CASE("gpuaccount report: a fleet's figures match an independent computation") {
  std::string dir = fleet(300, 12);
  Expected e = compute(dir);
  REQUIRE(e.jobs == 300);
  auto r = run_tool("gpuaccount", {"report", dir, "-f", "json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json rep = json::parse(r.out);
  CHECK(validate_against(rep, "report.schema.json") == "");
  const json& in = rep["inputs"];
  CHECK(in["job_records"] == 300);
  CHECK(in["node_records"] == 12);
  CHECK(in["ignored_files"] == 1);  // the .tsv
  REQUIRE(in["skipped_count"] == 3);
  std::string reasons;
  for (const auto& s : in["skipped"]) reasons += s["reason"].get<std::string>() + "\n";
  CHECK(reasons.find("truncated.json: /account/mode: invalid JSON at byte 44") != std::string::npos);
  CHECK(reasons.find("future.json: /schema: major version 2 is not supported") != std::string::npos);
  CHECK(reasons.find("wrong-type.json: /account/gpus/0/available_s: expected a number, found a string") != std::string::npos);
  // Each skipped file is said on stderr too, never silently dropped.
  CHECK(r.err.find("warning: skipped") != std::string::npos);

  auto near = [](const json& got, double want) {
    REQUIRE(got.is_number());
    return std::fabs(got.get<double>() - want) <= 1e-3 + 1e-6 * std::fabs(want);
  };
  const json& t = rep["total"];
  CHECK(t["jobs"] == 300);
  CHECK(near(t["gpu_hours_held"], e.held_h));
  CHECK(near(t["gpu_hours_active"], e.active_h));
  CHECK(near(t["gpu_hours_idle_held"], e.idle_h));
  CHECK(e.idle_h > 0);
  CHECK(near(t["energy_kwh"], e.energy_kwh));
  CHECK(near(t["score_hours"], e.score_hours));
  const json& mix = t["precision_mix"];
  double pipes = e.fp64_h + e.fp32_h + e.fp16_h + e.tensor_h;
  CHECK(near(mix["gpu_hours_with_gpm"], e.gpm_h));
  CHECK(near(mix["fp64_gpu_hours"], e.fp64_h));
  CHECK(near(mix["fp64_share"], e.fp64_h / pipes));
  CHECK(near(mix["tensor_share"], e.tensor_h / pipes));
  CHECK(near(mix["fp32_share"], e.fp32_h / pipes));
  for (const auto& [month, h] : e.held_by_month) CHECK(near(row(rep["by_month"], month)["gpu_hours_held"], h));
  for (const auto& [vo, h] : e.held_by_vo) CHECK(near(row(rep["by_vo"], vo)["gpu_hours_held"], h));
  for (const auto& [model, h] : e.held_by_model) CHECK(near(row(rep["by_model"], model)["gpu_hours_held"], h));
  // The A100s have no GPM: their precision mix is null, not zeros.
  CHECK(row(rep["by_model"], "NVIDIA A100-SXM4-80GB")["precision_mix"].is_null());
  double held_by_class = 0;
  for (const auto& c : rep["by_class"]) held_by_class += c["gpu_hours_held"].get<double>();
  CHECK(held_by_class == doctest::Approx(e.held_h).epsilon(1e-6));
  CHECK(near(row(rep["by_class"], "idle-held")["gpu_hours_held"], e.idle_h));
  for (const char* cls : {"tensor", "fp64", "fp32", "memory-bound", "unknown"}) CHECK_MESSAGE(row(rep["by_class"], cls)["jobs"] > 0, cls);
  double occupied = 0;
  REQUIRE(rep["occupancy"].is_object());
  for (const auto& b : rep["occupancy"]["bins"]) occupied += b["occupied_gpu_hours"].get<double>();
  CHECK(occupied == doctest::Approx(e.occupied_h).epsilon(1e-3));

  // CSV: one total row and one row per group, the same figures.
  auto csv = run_tool("gpuaccount", {"report", "-q", dir, "-f", "csv"});
  REQUIRE(csv.exit_code == 0);
  std::istringstream lines(csv.out);
  std::string header, total;
  std::getline(lines, header);
  std::getline(lines, total);
  CHECK(header.rfind("dimension,key,jobs,gpu_hours_held,", 0) == 0);
  CHECK(total.rfind("total,,300,", 0) == 0);
  CHECK(std::fabs(std::stod(total.substr(11)) - e.held_h) < 1e-3);
  CHECK(csv.out.find("\"/DC=ch/DC=cern/OU=Users/CN=user01, test\"") != std::string::npos);  // quoted: it has a comma
  CHECK(csv.err.empty());  // -q

  auto table = run_tool("gpuaccount", {"report", "-q", dir, "-f", "table"});
  REQUIRE(table.exit_code == 0);
  for (const char* part : {"GPU-hours held", "precision mix", "usage class", "idle-held", "occupancy %", "skipped: "})
    CHECK_MESSAGE(table.out.find(part) != std::string::npos, part);
}

TEST_CASE("gpuaccount report: the SVG renders") {
  std::string rsvg = find_program("rsvg-convert");
  REQUIRE_MESSAGE(!rsvg.empty(), "rsvg-convert (Debian librsvg2-bin) is needed to check the plot; run scripts/setup");
  std::string dir = fleet(200, 40);
  std::string out = temp_dir();
  auto r = run_tool("gpuaccount", {"report", "-q", dir, "-f", "svg", "-o", out + "/report.svg"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.empty());
  std::string svg = read_file(out + "/report.svg");
  for (const char* part : {"GPU occupancy over time", "Precision mix", "NVIDIA H100 80GB HBM3", "no GPM activity"})
    CHECK_MESSAGE(svg.find(part) != std::string::npos, part);
  auto png = run_tool(rsvg, {"-o", out + "/report.png", out + "/report.svg"});
  CHECK_MESSAGE(png.exit_code == 0, png.err);
  std::string bytes = read_file(out + "/report.png");
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(1, 3) == "PNG");
  if (const char* keep = std::getenv("GPUKIT_KEEP_REPORT_PNG")) std::filesystem::copy_file(out + "/report.png", keep,
                                                                   std::filesystem::copy_options::overwrite_existing);
}

TEST_CASE("gpuaccount report: --month, and what it refuses") {
  std::string dir = fleet(60, 0);
  auto r = run_tool("gpuaccount", {"report", "-q", dir, "--month", "2026-10", "-f", "json"});
  REQUIRE(r.exit_code == 0);
  json rep = json::parse(r.out);
  CHECK(rep["period"]["month"] == "2026-10");
  CHECK(rep["by_month"].size() == 1);
  CHECK(rep["inputs"]["outside_month"].get<int>() > 0);
  CHECK(rep["inputs"]["records"].get<int>() + rep["inputs"]["outside_month"].get<int>() == 60);

  auto bad_month = run_tool("gpuaccount", {"report", dir, "--month", "2026-13"});
  CHECK(bad_month.exit_code == 2);
  CHECK(bad_month.err == "gpuaccount: --month: must be a month as YYYY-MM, not 2026-13\n");
  auto missing = run_tool("gpuaccount", {"report", "/no/such/records"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "gpuaccount: /no/such/records: no such file or directory\n");
  CHECK(missing.out.empty());
  // Only broken files: nothing to report, exit 2, nothing on stdout.
  auto broken = run_tool("gpuaccount", {"report", "-q", dir + "/broken"});
  CHECK(broken.exit_code == 2);
  CHECK(broken.out.empty());
  CHECK(broken.err.find("no record could be read (3 skipped; the first: ") != std::string::npos);
  auto apel = run_tool("gpuaccount", {"report", dir, "-f", "apel"});
  CHECK(apel.exit_code == 2);
  CHECK(apel.err.find("a report is written as json, table, csv or svg, not apel") != std::string::npos);
  auto csv_record = run_tool("gpuaccount", {"-f", "csv", "--", "true"});
  CHECK(csv_record.exit_code == 2);
  CHECK(csv_record.err.find("is for gpuaccount report") != std::string::npos);
  // An empty directory is a report of nothing, not an error.
  std::string empty = temp_dir();
  auto none = run_tool("gpuaccount", {"report", empty, "-f", "json"});
  CHECK(none.exit_code == 0);
  CHECK(json::parse(none.out)["inputs"]["records"] == 0);
}

TEST_CASE("gpuaccount report: a site's thresholds classify every record again") {
  std::string dir = fleet(80, 0);
  std::string site = temp_dir() + "/classes.json";
  // Everything below 50 % SM activity is idle-held at this site.
  std::ofstream(site) << R"({"thresholds": {"idle_sm_active_pct": 50, "idle_utilization_pct": 50}})";
  auto base = run_tool("gpuaccount", {"report", "-q", dir, "-f", "json"});
  auto strict = run_tool("gpuaccount", {"report", "-q", dir, "-f", "json", "--usage-classes", site});
  REQUIRE(base.exit_code == 0);
  REQUIRE(strict.exit_code == 0);
  double idle = json::parse(base.out)["total"]["gpu_hours_idle_held"], idle_strict = json::parse(strict.out)["total"]["gpu_hours_idle_held"];
  CHECK(idle_strict > idle);
  CHECK(json::parse(strict.out)["usage_classes"] != "records");
  std::ofstream(site) << R"({"thresholds": {"idle_gpu_pct": 50}})";
  auto unknown = run_tool("gpuaccount", {"report", dir, "--usage-classes", site});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("classes.json: thresholds.idle_gpu_pct: no rule uses this threshold") != std::string::npos);
}
