#include "match/report.hpp"

#include "core/table.hpp"
#include "core/units.hpp"

namespace gpukit {

namespace {

std::string mark(const std::string& outcome) {
  if (outcome == "pass") return "ok  ";
  if (outcome == "fail") return "FAIL";
  return "??  ";
}

// `all`: every rule; else only those that did not pass (what a person must act on).
std::string rules_block(const json& rules, const std::string& indent, bool all) {
  std::string out;
  for (const auto& r : rules)
    if (all || r.value("outcome", "") != "pass")
      out += indent + mark(r.value("outcome", "")) + " " + r.value("rule", "") + ": " + r.value("reason", "") + "\n";
  return out;
}

}  // namespace

std::string render_payloads_table(const json& payloads) {
  std::string out;
  for (const auto& p : payloads) {
    out += p.value("file", "") + " (" + p.value("format", "") + ")\n";
    Table t({"kind", "target", "ptx_isa", "compression", "bytes", "toolkit"});
    for (const auto& e : p["cuda"])
      t.add_row({e.value("kind", ""), e.value("target", ""), e["ptx_isa"].is_string() ? e["ptx_isa"].get<std::string>() : "-",
                 e.value("compression", ""), std::to_string(e.value("size_bytes", 0ULL)),
                 e["toolkit"].is_string() ? e["toolkit"].get<std::string>() : "-"});
    for (const auto& e : p["hip"])
      t.add_row({"hip", e.value("target_id", ""), "-", "none", std::to_string(e.value("size_bytes", 0ULL)), "-"});
    for (const auto& c : p["compressed_hip_bundles"])
      t.add_row({"hip", "(compressed bundle)", "-", c.value("method", ""), std::to_string(c.value("uncompressed_bytes", 0ULL)), "-"});
    if (!t.empty()) out += t.render();
    else out += "  no GPU code\n";
    for (const auto& r : p["runtimes"])
      out += "  needs " + r.value("api", "") + " runtime " + (r["version"].is_string() ? r["version"].get<std::string>() : "(version unknown)") +
             " (" + r.value("linkage", "") + "): " + r.value("evidence", "") + "\n";
    for (const auto& n : p["notes"]) out += "  note: " + n.get<std::string>() + "\n";
  }
  return out;
}

std::string render_match_table(const json& match) {
  std::string out = "rules that did not pass are listed under each device; gpumatch --format json has them all\n\n";
  if (match.contains("payloads") && !match["payloads"].empty()) out += render_payloads_table(match["payloads"]) + "\n";
  for (const auto& job : match["jobs"]) {
    std::string name = job["requirements"].value("name", "");
    out += "job " + (name.empty() ? std::string("(unnamed)") : name) + ": " + (job.value("fits", false) ? "FITS" : "DOES NOT FIT") + "\n";
    for (const auto& d : job["devices"]) {
      out += "  " + d.value("id", "") + " " + d.value("name", "") +
             (d["mig_profile"].is_string() ? " [" + d["mig_profile"].get<std::string>() + "]" : "") + ": " +
             (d.value("fits", false) ? "fits" : "does not fit") + "\n";
      out += rules_block(d["rules"], "    ", false);
    }
    const json& p = job["placement"];
    if (p.is_object()) {
      out += "  placement" + (p["devices"].empty() ? std::string() : " on " + dump_json(p["devices"])) + ":\n" +
             rules_block(p["rules"], "    ", true);
    }
    out += "\n";
  }
  if (match.contains("plan")) {
    const json& plan = match["plan"];
    out += "plan: " + std::to_string(plan.value("gpu_slots", 0)) + " GPU slot(s), " + std::to_string(plan.value("cpu_slots", 0)) +
           " CPU-only slot(s) of " + std::to_string(plan["cpu_job"].value("cores", 1)) + " core(s)\n";
    if (plan["per_gpu_share"].is_object()) {
      const json& s = plan["per_gpu_share"];
      out += "  per GPU: " + std::to_string(s.value("cores", 0)) + " cores, " + format_bytes(s.value("memory_bytes", 0ULL)) +
             " memory, " + format_bytes(s.value("pinned_memory_bytes", 0ULL)) + " pinned\n";
    }
    for (const auto& s : plan["slots"])
      out += "  slot " + s.value("job", "") + ": " + dump_json(s["devices"]) + " cpus " + s.value("cpus", "") + "\n";
    for (const auto& w : plan["warnings"]) out += "  WARNING: " + w.get<std::string>() + "\n";
  }
  return out;
}

}  // namespace gpukit
