// gpumatch requirements: every key, the unit forms, and an error naming the
// key for each kind of bad value.
#include <doctest/doctest.h>

#include "match/requirements.hpp"

using namespace gpukit;

namespace {

Result<Requirements> parse(const std::string& text) { return parse_requirements_text(text, "job.json"); }

std::string error_of(const std::string& text) {
  auto r = parse(text);
  return r ? std::string("(accepted)") : r.error().context + ": " + r.error().message;
}

}  // namespace

TEST_CASE("match requirements: every key is read") {
  auto r = parse(R"({
    "schema": "gpukit-require/1", "name": "adept", "gpus": 2, "vendor": "nvidia",
    "min_compute_capability": "8.0", "max_compute_capability": 9.0,
    "gpu_memory_bytes": "40GiB", "mig": "forbid", "cuda_runtime": "12.4",
    "minor_version_compatibility": false, "ptx_jit": false,
    "min_fp64_tflops": 5.5, "min_fp64_fp32_ratio": 0.5, "min_score": 100,
    "exclusive": true, "cores_per_gpu": 8, "memory_per_core_bytes": "2GiB",
    "memory_bytes": 34359738368, "pinned_memory_per_gpu_bytes": "24GiB", "numa_local": true,
    "payloads": ["bin/adept", "lib/libadept_gpu.so"]})");
  REQUIRE(r.ok());
  CHECK(r->name == "adept");
  CHECK(r->gpus == 2);
  CHECK(r->vendor == "nvidia");
  CHECK(r->min_compute_capability->short_string() == "8.0");
  CHECK(r->max_compute_capability->short_string() == "9.0");
  CHECK(*r->gpu_memory_bytes == 40ULL << 30);
  CHECK(r->mig == MigPolicy::forbid);
  CHECK(r->cuda_runtime->raw == "12.4");
  CHECK_FALSE(r->minor_version_compatibility);
  CHECK_FALSE(r->ptx_jit);
  CHECK(*r->min_fp64_tflops == 5.5);
  CHECK(*r->min_fp64_fp32_ratio == 0.5);
  CHECK(*r->min_score == 100);
  CHECK(r->exclusive);
  CHECK(*r->cores_per_gpu == 8);
  CHECK(*r->memory_per_core_bytes == 2ULL << 30);
  CHECK(*r->memory_bytes == 32ULL << 30);
  CHECK(*r->pinned_memory_per_gpu_bytes == 24ULL << 30);
  CHECK(r->numa_local);
  CHECK(r->payloads.size() == 2);
  // Derived needs: 16 cores; memory holds 32 GiB, 2 GiB x 16 and 48 GiB pinned.
  CHECK(r->total_cores() == 16);
  CHECK(r->pinned_total_bytes() == 48ULL << 30);
  CHECK(r->job_memory_bytes() == 48ULL << 30);
}

TEST_CASE("match requirements: AMD and MIG keys, defaults") {
  auto r = parse(R"({"gpus": 1, "vendor": "amd", "amd_targets": ["gfx90a:xnack-", "gfx942", "gfx9-4-generic"],
                     "hip_runtime": "6.2", "mig": "require", "mig_profiles": ["3g.40gb"], "mig_min_slice": 2})");
  REQUIRE(r.ok());
  CHECK(r->amd_targets.size() == 3);
  CHECK(r->hip_runtime->raw == "6.2");
  CHECK(r->mig == MigPolicy::require);
  CHECK(r->mig_profiles.front() == "3g.40gb");
  CHECK(*r->mig_min_slice == 2);
  auto d = parse("{}");
  REQUIRE(d.ok());
  CHECK(d->gpus == 0);
  CHECK(d->vendor == "any");
  CHECK(d->mig == MigPolicy::allow);
  CHECK(d->minor_version_compatibility);
  CHECK(d->ptx_jit);
  CHECK(d->total_cores() == 1);
  CHECK(d->job_memory_bytes() == 0);
  // A single string is accepted where a list is expected.
  CHECK(parse(R"({"gpus":1,"amd_targets":"gfx942"})")->amd_targets.size() == 1);
}

TEST_CASE("match requirements: bad input names the key") {
  CHECK(error_of(R"({"gpu": 1})") == "job.json: /gpu: unknown requirement key (see gpumatch(1) for the keys)");
  CHECK(error_of(R"({"gpus": "two"})") == "job.json: /gpus: expected an integer, found a string");
  CHECK(error_of(R"({"gpus": 1.5})") == "job.json: /gpus: expected an integer, found a number");
  CHECK(error_of(R"({"gpus": -1})") == "job.json: /gpus: must be between 0 and 1024");
  CHECK(error_of(R"({"vendor": "intel"})") == "job.json: /vendor: \"intel\" is not one of nvidia, amd, any");
  CHECK(error_of(R"({"min_compute_capability": "eight"})") ==
        "job.json: /min_compute_capability: \"eight\" is not a version such as \"12.4\"");
  CHECK(error_of(R"({"min_compute_capability": "9.0", "max_compute_capability": "8.0"})") ==
        "job.json: /max_compute_capability: is below min_compute_capability");
  CHECK(error_of(R"({"gpus":1,"amd_targets": ["sm_80"]})") ==
        "job.json: /amd_targets/0: \"sm_80\" is not an AMD target id (e.g. gfx90a:xnack-, gfx942)");
  CHECK(error_of(R"({"gpus":1,"amd_targets": ["gfx90a:xnack"]})").find("/amd_targets/0") != std::string::npos);
  CHECK(error_of(R"({"gpus":1,"gpu_memory_bytes": "40 parsecs"})") ==
        "job.json: /gpu_memory_bytes: \"40 parsecs\" is not a size (e.g. 40GiB, 512MB, 1073741824)");
  CHECK(error_of(R"({"gpus":1,"gpu_memory_bytes": -5})") ==
        "job.json: /gpu_memory_bytes: expected bytes (an integer >= 0) or a size string, found a number");
  CHECK(error_of(R"({"mig": "sometimes"})") == "job.json: /mig: \"sometimes\" is not one of allow, require, forbid");
  CHECK(error_of(R"({"gpus":1,"mig_profiles": ["big"]})") == "job.json: /mig_profiles/0: \"big\" is not a MIG profile (e.g. 3g.40gb)");
  CHECK(error_of(R"({"gpus":1,"mig_min_slice": 9})") == "job.json: /mig_min_slice: must be between 1 and 8");
  CHECK(error_of(R"({"cuda_runtime": true})") ==
        "job.json: /cuda_runtime: expected a version such as \"12.4\", found a boolean");
  CHECK(error_of(R"({"ptx_jit": "no"})") == "job.json: /ptx_jit: expected true or false, found a string");
  CHECK(error_of(R"({"gpus":1,"min_fp64_tflops": -1})") == "job.json: /min_fp64_tflops: must be a number >= 0");
  CHECK(error_of(R"({"gpus":1,"min_fp64_fp32_ratio": 2})") ==
        "job.json: /min_fp64_fp32_ratio: must be between 0 and 1 (FP64 rate / FP32 rate)");
  CHECK(error_of(R"({"cores_per_gpu": 8})") == "job.json: /cores_per_gpu: needs \"gpus\" >= 1");
  CHECK(error_of(R"({"gpus":1,"exclusive": true, "mig": "require"})") ==
        "job.json: /exclusive: an exclusive GPU cannot be a MIG instance (\"mig\": \"require\")");
  CHECK(error_of(R"({"memory_bytes": "2000PiB"})") == "job.json: /memory_bytes: larger than 1 PiB");
  CHECK(error_of(R"({"schema": "gpukit-require/9"})") == "job.json: /schema: \"gpukit-require/9\" is not \"gpukit-require/1\"");
  CHECK(error_of(R"({"payloads": [""]})") == "job.json: /payloads/0: expected a non-empty string");
  CHECK(error_of("[1]") == "job.json: /: a requirement must be a JSON object, found an array");
  CHECK(error_of("{\"gpus\": ") ==
        "job.json: /gpus: invalid JSON at byte 10: parse error at line 1, column 10: syntax error while parsing value - "
        "unexpected end of input; expected '[', '{', or a literal");
}

TEST_CASE("match requirements: lists of jobs") {
  auto jobs = parse_jobs_text(R"({"jobs": [{"gpus": 1}, {"name": "cpu", "cores": 4}]})", "jobs.json");
  REQUIRE(jobs.ok());
  CHECK(jobs->size() == 2);
  CHECK((*jobs)[0].name == "job1");
  CHECK((*jobs)[1].name == "cpu");
  CHECK(parse_jobs_text(R"([{"gpus": 2}])", "jobs.json").ok());

  auto bad = parse_jobs_text(R"({"jobs": [{"gpus": 1}, {"gpus": "x"}]})", "jobs.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().context == "jobs.json: /jobs/1/gpus");
  auto dup = parse_jobs_text(R"([{"name": "a"}, {"name": "a"}])", "jobs.json");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().what() == "jobs.json: /1/name: duplicate job name \"a\"");
  CHECK(parse_jobs_text(R"({"job": []})", "jobs.json").error().what() == "jobs.json: /job: unknown key; expected \"jobs\"");
  CHECK(parse_jobs_text(R"({"jobs": []})", "jobs.json").error().message ==
        "expected a non-empty array of requirement objects");
  CHECK(parse_jobs_text("7", "jobs.json").error().message == "expected a non-empty array of requirement objects");
}

TEST_CASE("match requirements: the normalized form round-trips") {
  auto r = parse(R"({"gpus": 1, "gpu_memory_bytes": "1GiB", "min_compute_capability": 8.6, "name": "x"})");
  REQUIRE(r.ok());
  json j = to_json(*r);
  CHECK(j["gpu_memory_bytes"] == 1073741824ULL);
  CHECK(j["min_compute_capability"] == "8.6");
  auto again = parse_requirements(j, "normalized");
  REQUIRE(again.ok());
  CHECK(to_json(*again) == j);
}
