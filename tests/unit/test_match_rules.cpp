// The matcher's rules, one by one, on fixture nodes and synthetic payloads.
#include <doctest/doctest.h>

#include "match/fatbin.hpp"
#include "match/payload.hpp"
#include "match/rules.hpp"
#include "match_test_support.hpp"

using namespace gpukit;
using namespace gpukit::test;

namespace {

const char* H100 = "GPU-0000a000-1111-2222-3333-00000000a000";

PayloadInfo cuda_payload(std::vector<FatbinEntry> entries, std::vector<RuntimeNeed> runtimes = {}) {
  auto fb = make_fatbin(entries);
  auto p = inspect_payload_bytes(fb.data(), fb.size(), "app");
  REQUIRE(p.ok());
  p->runtimes = std::move(runtimes);
  return *p;
}

PayloadInfo hip_payload(std::vector<std::string> targets) {
  std::vector<std::string> ids;
  for (const auto& t : targets) ids.push_back("hipv4-amdgcn-amd-amdhsa--" + t);
  auto b = make_bundle(ids);
  auto p = inspect_payload_bytes(b.data(), b.size(), "app");
  REQUIRE(p.ok());
  return *p;
}

FatbinEntry sass(std::uint32_t arch, std::uint64_t flags = 0x11) { return FatbinEntry{2, arch, 0, 0, flags}; }
FatbinEntry ptx(std::uint32_t arch, std::uint16_t major, std::uint16_t minor, std::uint64_t flags = 0x8011) {
  return FatbinEntry{1, arch, major, minor, flags};
}

NodeDevice nvidia(int major, int minor) {
  NodeDevice d;
  d.id = "GPU-x";
  d.vendor = "nvidia";
  d.cc_major = major;
  d.cc_minor = minor;
  return d;
}

NodeDevice amd(const std::string& gfx, const std::string& target, std::vector<std::string> generic = {}) {
  NodeDevice d;
  d.id = "GPU-a";
  d.vendor = "amd";
  d.gfx = gfx;
  d.target_id = target;
  d.generic_targets = std::move(generic);
  return d;
}

Outcome code(const PayloadInfo& p, const NodeDevice& d, const NodeFacts& n, bool jit = true) {
  return rule_cuda_code(p, d, n, tables(), jit).outcome;
}

const RuleResult* find_rule(const DeviceVerdict& v, const std::string& rule, Outcome outcome) {
  for (const auto& r : v.rules)
    if (r.rule == rule && r.outcome == outcome) return &r;
  return nullptr;
}

Requirements job(const std::string& text) {
  auto r = parse_requirements_text(text, "job");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  return *r;
}

}  // namespace

TEST_CASE("match rules: SASS runs on the same major with an equal or later minor") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");
  auto p = cuda_payload({sass(80)});
  CHECK(code(p, nvidia(8, 0), n) == Outcome::pass);
  CHECK(code(p, nvidia(8, 6), n) == Outcome::pass);
  CHECK(code(p, nvidia(8, 9), n) == Outcome::pass);
  CHECK(code(p, nvidia(9, 0), n) == Outcome::fail);
  CHECK(code(cuda_payload({sass(86)}), nvidia(8, 0), n) == Outcome::fail);
  auto r = rule_cuda_code(p, nvidia(9, 0), n, tables(), true);
  CHECK(r.reason == "app: no PTX for CC <= 9.0; no SASS for sm_90 (has sm_80)");
}

TEST_CASE("match rules: the a suffix runs only on exactly its CC, f on its family") {
  NodeFacts n = node("nvidia_h100x8_cuda130.json");
  auto a = cuda_payload({sass(90, 0x100011)});
  CHECK(code(a, nvidia(9, 0), n) == Outcome::pass);
  auto a100 = cuda_payload({sass(100, 0x1100011)});
  CHECK(code(a100, nvidia(10, 0), n) == Outcome::pass);
  CHECK(code(a100, nvidia(10, 3), n) == Outcome::fail);
  auto f100 = cuda_payload({sass(100, 0x1200011)});
  CHECK(code(f100, nvidia(10, 0), n) == Outcome::pass);
  CHECK(code(f100, nvidia(10, 3), n) == Outcome::pass);
  CHECK(code(f100, nvidia(12, 0), n) == Outcome::fail);
  // PTX: compute_90a JITs only on 9.0; compute_100f only within the family.
  CHECK(code(cuda_payload({ptx(90, 8, 0, 0x108011)}), nvidia(9, 0), n) == Outcome::pass);
  CHECK(code(cuda_payload({ptx(90, 8, 0, 0x108011)}), nvidia(10, 0), n) == Outcome::fail);
  CHECK(code(cuda_payload({ptx(100, 8, 8, 0x208011)}), nvidia(10, 3), n) == Outcome::pass);
  CHECK(code(cuda_payload({ptx(100, 8, 8, 0x208011)}), nvidia(12, 0), n) == Outcome::fail);
}

TEST_CASE("match rules: PTX JIT-compiles on later CCs only when the driver knows its ISA") {
  NodeFacts old_driver = node("nvidia_h100x8_cuda122.json");  // 535.54.03, CUDA 12.2
  NodeFacts new_driver = node("nvidia_h100x8_cuda130.json");  // 580.65.06, CUDA 13.0
  auto ptx90 = cuda_payload({ptx(80, 9, 0)});                  // ISA 9.0 = CUDA 13.0
  auto ptx82 = cuda_payload({ptx(80, 8, 2)});                  // ISA 8.2 = CUDA 12.2
  auto ptx83 = cuda_payload({ptx(80, 8, 3)});                  // ISA 8.3 = CUDA 12.3
  CHECK(code(ptx90, nvidia(9, 0), new_driver) == Outcome::pass);
  CHECK(code(ptx82, nvidia(9, 0), old_driver) == Outcome::pass);
  CHECK(code(ptx83, nvidia(9, 0), old_driver) == Outcome::fail);
  auto r = rule_cuda_code(ptx90, nvidia(9, 0), old_driver, tables(), true);
  CHECK(r.outcome == Outcome::fail);
  CHECK(r.reason ==
        "app: driver 535.54.03 provides CUDA 12.2; the payload's PTX compute_80 is ISA 9.0 (CUDA 13.0): JIT impossible; "
        "no SASS for sm_90");
  // PTX never runs on an older CC, and JIT can be refused by the job.
  CHECK(code(cuda_payload({ptx(90, 8, 0)}), nvidia(8, 9), new_driver) == Outcome::fail);
  CHECK(code(ptx82, nvidia(9, 0), old_driver, false) == Outcome::fail);
  // An ISA newer than the table leaves the question open.
  CHECK(code(cuda_payload({ptx(80, 9, 9)}), nvidia(9, 0), new_driver) == Outcome::unknown);
  // SASS wins over PTX when both are there.
  auto both = cuda_payload({sass(90), ptx(90, 9, 0)});
  CHECK(rule_cuda_code(both, nvidia(9, 0), old_driver, tables(), true).reason == "app: sm_90 SASS runs on CC 9.0");
}

TEST_CASE("match rules: a runtime needs the driver's CUDA, or its major's floor") {
  NodeFacts n122 = node("nvidia_h100x8_cuda122.json");
  NodeFacts n130 = node("nvidia_h100x8_cuda130.json");
  NodeFacts n120 = node("nvidia_mixed.json");  // 525.60.13, CUDA 12.0
  auto v = [](const char* s) { return *Version::parse(s); };
  CHECK(rule_cuda_runtime(v("12.2"), "rt", n122, tables(), true).outcome == Outcome::pass);
  // 12.4 on a 12.2 driver: allowed by minor version compatibility (>= 525.60.13) unless refused.
  auto mvc = rule_cuda_runtime(v("12.4"), "rt", n122, tables(), true);
  CHECK(mvc.outcome == Outcome::pass);
  CHECK(mvc.reason.find("minor version compatibility (driver >= 525.60.13") != std::string::npos);
  auto strict = rule_cuda_runtime(v("12.4"), "rt", n122, tables(), false);
  CHECK(strict.outcome == Outcome::fail);
  CHECK(strict.reason.find("CUDA 12.4 needs driver >= 550.54.14") != std::string::npos);
  // 13.x needs the R580 floor: no 12.x driver runs it.
  auto thirteen = rule_cuda_runtime(v("13.0"), "rt", n122, tables(), true);
  CHECK(thirteen.outcome == Outcome::fail);
  CHECK(thirteen.reason ==
        "driver 535.54.03 provides CUDA 12.2; rt (CUDA 13.0) needs driver >= 580 (the CUDA 13 minor-version-compatibility "
        "floor); CUDA 13.0 needs driver >= 580.65.06");
  CHECK(rule_cuda_runtime(v("13.0"), "rt", n130, tables(), true).outcome == Outcome::pass);
  // Older majors run on newer drivers (backward compatibility).
  CHECK(rule_cuda_runtime(v("11.8"), "rt", n130, tables(), false).outcome == Outcome::pass);
  // A major alone (libcudart.so.12) needs the floor only.
  CHECK(rule_cuda_runtime(Version{{12}, "12"}, "rt", n120, tables(), true).outcome == Outcome::pass);
  CHECK(rule_cuda_runtime(Version{{13}, "13"}, "rt", n120, tables(), true).outcome == Outcome::fail);
  // Without NVIDIA driver facts the rule cannot decide; with a broken driver it fails.
  NodeFacts none = n122;
  none.nvidia_status.clear();
  CHECK(rule_cuda_runtime(v("12.0"), "rt", none, tables(), true).outcome == Outcome::unknown);
  NodeFacts absent = node("cpu_only.json");
  CHECK(rule_cuda_runtime(v("12.0"), "rt", absent, tables(), true).outcome == Outcome::fail);
}

TEST_CASE("match rules: the driver's CUDA version comes from the table when the document lacks it") {
  Document d = node_document("nvidia_h100x8_cuda122.json");
  json drivers = *d.section("drivers");
  drivers["nvidia"]["cuda_version"] = nullptr;
  d.set_section("drivers", drivers);
  auto n = read_node(d, tables());
  REQUIRE(n.ok());
  CHECK(n->nvidia_cuda->short_string() == "12.2");
  CHECK(n->nvidia_cuda_source == "driver table");
}

TEST_CASE("match rules: AMD code objects load on their exact processor with matching features") {
  const auto& t = tables();
  NodeDevice mi250 = amd("gfx90a", "gfx90a:sramecc+:xnack-");
  NodeDevice mi300 = amd("gfx942", "gfx942:sramecc+:xnack-", {"gfx9-4-generic"});
  std::string why;
  CHECK(amd_target_loads("gfx90a", mi250, t, why) == Outcome::pass);
  CHECK(amd_target_loads("gfx90a:xnack-", mi250, t, why) == Outcome::pass);
  CHECK(amd_target_loads("gfx90a:sramecc+:xnack-", mi250, t, why) == Outcome::pass);
  CHECK(amd_target_loads("gfx90a:xnack+", mi250, t, why) == Outcome::fail);
  CHECK(why == "gfx90a:xnack+ needs xnack+, the device runs xnack- (gfx90a:sramecc+:xnack-)");
  CHECK(amd_target_loads("gfx90a:sramecc-", mi250, t, why) == Outcome::fail);
  CHECK(amd_target_loads("gfx908", mi250, t, why) == Outcome::fail);
  CHECK(why.find("load only on their exact processor") != std::string::npos);
  CHECK(amd_target_loads("gfx942", mi250, t, why) == Outcome::fail);
  // Generic targets cover their processors, from the table or the device's own list.
  CHECK(amd_target_loads("gfx9-4-generic", mi300, t, why) == Outcome::pass);
  CHECK(amd_target_loads("gfx9-4-generic:xnack-", amd("gfx942", "gfx942:sramecc+:xnack-"), t, why) == Outcome::pass);
  CHECK(amd_target_loads("gfx9-generic", mi250, t, why) == Outcome::fail);
  CHECK(amd_target_loads("gfx10-3-generic", amd("gfx1030", "gfx1030"), t, why) == Outcome::pass);
  // A feature the device does not report: unknown where the processor has it, fail where it does not.
  CHECK(amd_target_loads("gfx90a:xnack-", amd("gfx90a", "gfx90a"), t, why) == Outcome::unknown);
  CHECK(amd_target_loads("gfx1030:xnack-", amd("gfx1030", "gfx1030"), t, why) == Outcome::fail);

  auto p = hip_payload({"gfx90a:xnack-", "gfx1030"});
  CHECK(rule_amd_code(p, mi250, t).outcome == Outcome::pass);
  CHECK(rule_amd_code(p, mi300, t).outcome == Outcome::fail);
  auto g = hip_payload({"gfx9-4-generic"});
  CHECK(rule_amd_code(g, mi300, t).outcome == Outcome::pass);
}

TEST_CASE("match rules: memory, MIG, exclusivity on the MIG A100 node") {
  NodeFacts n = node("nvidia_a100_mig.json");
  std::vector<PayloadInfo> none;
  MatchContext ctx{tables(), n, none, false};
  const NodeDevice& parent = n.devices[0];
  const NodeDevice& mig3g = n.devices[1];
  const NodeDevice& mig1g = n.devices[3];
  const NodeDevice& whole = n.devices[5];
  REQUIRE(parent.has_mig_instances);
  REQUIRE(*mig3g.mig_profile == "3g.40gb");
  REQUIRE(*mig1g.mig_profile == "1g.10gb");
  REQUIRE(whole.kind == "gpu");

  auto j = job(R"({"gpus": 1, "gpu_memory_bytes": "20GiB"})");
  CHECK_FALSE(evaluate_device(j, parent, ctx).fits);
  CHECK(find_rule(evaluate_device(j, parent, ctx), "available", Outcome::fail));
  CHECK(evaluate_device(j, mig3g, ctx).fits);
  CHECK_FALSE(evaluate_device(j, mig1g, ctx).fits);
  CHECK(find_rule(evaluate_device(j, mig1g, ctx), "gpu_memory", Outcome::fail)->reason == "9.9 GiB < 20 GiB needed");
  CHECK(evaluate_device(j, whole, ctx).fits);

  auto forbid = job(R"({"gpus": 1, "mig": "forbid"})");
  CHECK_FALSE(evaluate_device(forbid, mig3g, ctx).fits);
  CHECK(evaluate_device(forbid, whole, ctx).fits);
  auto require = job(R"({"gpus": 1, "mig": "require", "mig_profiles": ["2g.20gb", "3g.40gb"]})");
  CHECK(evaluate_device(require, mig3g, ctx).fits);
  CHECK_FALSE(evaluate_device(require, mig1g, ctx).fits);
  CHECK_FALSE(evaluate_device(require, whole, ctx).fits);
  auto slice = job(R"({"gpus": 1, "mig_min_slice": 2})");
  CHECK(evaluate_device(slice, mig3g, ctx).fits);
  CHECK(find_rule(evaluate_device(slice, mig1g, ctx), "mig", Outcome::fail)->reason == "1 compute slices < 2 needed");
  auto exclusive = job(R"({"gpus": 1, "exclusive": true})");
  CHECK_FALSE(evaluate_device(exclusive, mig3g, ctx).fits);
  CHECK(evaluate_device(exclusive, whole, ctx).fits);
  auto cc = job(R"({"gpus": 1, "min_compute_capability": "8.6"})");
  CHECK(find_rule(evaluate_device(cc, whole, ctx), "compute_capability", Outcome::fail)->reason == "CC 8.0 is outside [8.6, any]");
  CHECK(find_rule(evaluate_device(cc, mig3g, ctx), "compute_capability", Outcome::fail));  // inherits the parent's CC
}

TEST_CASE("match rules: precision from the catalogue, scaled for MIG, or measured") {
  NodeFacts mig = node("nvidia_a100_mig.json");
  std::vector<PayloadInfo> none;
  MatchContext ctx{tables(), mig, none, false};
  auto j = job(R"({"gpus": 1, "min_fp64_tflops": 4})");
  // 9.7 TFLOP/s x 42/108 SMs = 3.77 < 4; the whole A100 has 9.7.
  const RuleResult* r = find_rule(evaluate_device(j, mig.devices[1], ctx), "fp64", Outcome::fail);
  CHECK(r);
  CHECK(evaluate_device(j, mig.devices[5], ctx).fits);
  // Catalogue peaks are rounded: the A100's 9.7 / 19.5 is 0.497, not 0.5.
  auto ratio = job(R"({"gpus": 1, "min_fp64_fp32_ratio": 0.45})");
  CHECK(evaluate_device(ratio, mig.devices[5], ctx).fits);
  CHECK_FALSE(evaluate_device(job(R"({"gpus": 1, "min_fp64_fp32_ratio": 0.5})"), mig.devices[5], ctx).fits);

  NodeFacts mixed = node("nvidia_mixed.json");
  MatchContext mctx{tables(), mixed, none, false};
  CHECK_FALSE(evaluate_device(ratio, mixed.devices[1], mctx).fits);  // L4: 0.473 / 30.3
  CHECK(find_rule(evaluate_device(ratio, mixed.devices[1], mctx), "fp64_fp32_ratio", Outcome::fail)->reason ==
        "FP64/FP32 0.0156 (catalogue) < 0.45");

  // Measured results win over the catalogue; a score needs a bench section.
  Document d = node_document("nvidia_h100x8_cuda130.json");
  auto score = job(R"({"gpus": 1, "min_score": 900, "min_fp64_tflops": 20})");
  auto plain = read_node(d, tables());
  REQUIRE(plain.ok());
  MatchContext pctx{tables(), *plain, none, false};
  CHECK(find_rule(evaluate_device(score, plain->devices[0], pctx), "score", Outcome::fail)->reason ==
        "no bench section in the document (run gpubench first)");
  d.set_section("bench", json::parse(read_file(fixture("match/bench_h100.json"))));
  auto benched = read_node(d, tables());
  REQUIRE(benched.ok());
  MatchContext bctx{tables(), *benched, none, false};
  CHECK(evaluate_device(score, benched->devices[0], bctx).fits);
  auto slow = evaluate_device(score, benched->devices[7], bctx);  // score 610, fp64 measured 12.5
  CHECK_FALSE(slow.fits);
  CHECK(find_rule(slow, "score", Outcome::fail)->reason == "score 610 < 900");
  CHECK(find_rule(slow, "fp64", Outcome::fail)->reason == "FP64 12.5 TFLOP/s (measured) < 20 TFLOP/s needed");
}

TEST_CASE("match rules: vendor, driver status and visibility") {
  NodeFacts mi = node("amd_mi250x.json");
  std::vector<PayloadInfo> none;
  MatchContext ctx{tables(), mi, none, false};
  auto nv = job(R"({"gpus": 1, "vendor": "nvidia"})");
  CHECK(find_rule(evaluate_device(nv, mi.devices[0], ctx), "vendor", Outcome::fail)->reason ==
        "the job asks for nvidia, this is an AMD GPU");
  auto targets = job(R"({"gpus": 1, "amd_targets": ["gfx90a:xnack-"]})");
  CHECK(evaluate_device(targets, mi.devices[0], ctx).fits);
  auto hip = job(R"({"gpus": 1, "hip_runtime": "6.2"})");
  auto v = evaluate_device(hip, mi.devices[0], ctx);
  CHECK(v.fits);  // unknown does not block...
  CHECK(find_rule(v, "hip_runtime", Outcome::unknown));
  MatchContext strict{tables(), mi, none, true};
  CHECK_FALSE(evaluate_device(hip, mi.devices[0], strict).fits);  // ...unless strict

  Document d = node_document("nvidia_mixed.json");
  json visible = *d.section("visible");
  visible["restricted"] = true;
  visible["devices"].erase(0);
  d.set_section("visible", visible);
  auto n = read_node(d, tables());
  REQUIRE(n.ok());
  MatchContext vctx{tables(), *n, none, false};
  auto any = job(R"({"gpus": 1})");
  CHECK(find_rule(evaluate_device(any, n->devices[0], vctx), "available", Outcome::fail)->reason ==
        "hidden from this process by the visible-devices variables");
  CHECK(evaluate_device(any, n->devices[1], vctx).fits);
}

TEST_CASE("match rules: a payload's runtime and code together on the H100 nodes") {
  NodeFacts n122 = node("nvidia_h100x8_cuda122.json");
  NodeFacts n130 = node("nvidia_h100x8_cuda130.json");
  // Built by CUDA 13.0 with static cudart: SASS for sm_90 and PTX.
  auto p = cuda_payload({sass(90), ptx(90, 9, 0)}, {RuntimeNeed{"cuda", "static", Version::of(13, 0), "tool note", ""}});
  std::vector<PayloadInfo> ps = {p};
  auto j = job(R"({"gpus": 1})");
  MatchContext old_ctx{tables(), n122, ps, false};
  auto v = evaluate_device(j, device(n122, H100), old_ctx);
  CHECK_FALSE(v.fits);
  CHECK(find_rule(v, "payload_code", Outcome::pass));
  CHECK(find_rule(v, "cuda_runtime", Outcome::fail));
  MatchContext new_ctx{tables(), n130, ps, false};
  CHECK(evaluate_device(j, device(n130, H100), new_ctx).fits);

  // A static runtime of unknown version is judged by its PTX: ISA 9.0 means CUDA 13.
  auto unknown_rt = cuda_payload({ptx(80, 9, 0)}, {RuntimeNeed{"cuda", "static", std::nullopt, "symbol", ""}});
  std::vector<PayloadInfo> us = {unknown_rt};
  MatchContext uctx{tables(), n122, us, false};
  auto u = evaluate_device(j, device(n122, H100), uctx);
  CHECK(find_rule(u, "cuda_runtime", Outcome::fail)->reason.find("static CUDA runtime, at least as new as its PTX (CUDA 13.x) needs driver >= 580") != std::string::npos);

  // AMD code on an NVIDIA GPU, and the toolkit-architecture rule without a payload.
  std::vector<PayloadInfo> hs = {hip_payload({"gfx90a"})};
  MatchContext hctx{tables(), n130, hs, false};
  CHECK(find_rule(evaluate_device(j, device(n130, H100), hctx), "payload_code", Outcome::fail)->reason ==
        "app: carries only AMD GPU code");
  NodeFacts mixed = node("nvidia_mixed.json");
  std::vector<PayloadInfo> none;
  MatchContext mctx{tables(), mixed, none, false};
  auto t4 = evaluate_device(job(R"({"gpus": 1, "cuda_runtime": "13.0"})"), mixed.devices[2], mctx);
  CHECK(find_rule(t4, "toolkit_architecture", Outcome::pass));  // 7.5 is still built by 13.0
  CHECK(find_rule(t4, "cuda_runtime", Outcome::fail));          // but a 525 driver cannot run 13.x
}

TEST_CASE("match rules: verdicts as JSON validate against the schema") {
  NodeFacts n = node("nvidia_a100_mig.json");
  std::vector<PayloadInfo> none;
  MatchContext ctx{tables(), n, none, false};
  auto verdicts = evaluate_devices(job(R"({"gpus": 1, "gpu_memory_bytes": "16GiB", "cuda_runtime": "12.4"})"), ctx);
  CHECK(verdicts.size() == 6);
  json section = {{"generator", generator_stamp("gpumatch")}, {"time", "2026-11-24T00:00:00Z"}, {"mode", "match"},
                  {"strict", false}, {"payloads", json::array()}, {"fits", true}};
  json devices = json::array();
  for (const auto& v : verdicts) devices.push_back(to_json(v));
  section["jobs"] = json::array({{{"requirements", to_json(job(R"({"gpus": 1})"))}, {"devices", devices}, {"fits", true},
                                  {"placement", nullptr}}});
  CHECK(validate_against(section, "match.schema.json") == "");
}
