#include "match/requirements.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include "core/units.hpp"

namespace gpukit {

const char* to_string(MigPolicy policy) {
  switch (policy) {
    case MigPolicy::allow: return "allow";
    case MigPolicy::require: return "require";
    case MigPolicy::forbid: return "forbid";
  }
  return "?";
}

int Requirements::total_cores() const {
  if (cores_per_gpu && gpus > 0) return std::max(*cores_per_gpu * gpus, cores.value_or(0));
  if (cores) return *cores;
  return 1;
}

std::uint64_t Requirements::pinned_total_bytes() const {
  return pinned_memory_per_gpu_bytes.value_or(0) * static_cast<std::uint64_t>(std::max(gpus, 0));
}

std::uint64_t Requirements::job_memory_bytes() const {
  std::uint64_t need = memory_bytes.value_or(0);
  if (memory_per_core_bytes) need = std::max(need, *memory_per_core_bytes * static_cast<std::uint64_t>(total_cores()));
  return std::max(need, pinned_total_bytes());
}

const std::vector<std::string>& requirement_keys() {
  static const std::vector<std::string> keys = {
      "schema", "name", "gpus", "vendor", "min_compute_capability", "max_compute_capability", "amd_targets",
      "gpu_memory_bytes", "mig", "mig_profiles", "mig_min_slice", "cuda_runtime", "hip_runtime",
      "minor_version_compatibility", "ptx_jit", "min_fp64_tflops", "min_fp64_fp32_ratio", "min_score",
      "exclusive", "cores_per_gpu", "cores", "memory_per_core_bytes", "memory_bytes",
      "pinned_memory_per_gpu_bytes", "numa_local", "payloads"};
  return keys;
}

namespace {

class KeyReader {
 public:
  KeyReader(const json& object, std::string origin, std::string prefix)
      : object_(object), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

  std::string where(const std::string& key) const { return origin_ + ": " + prefix_ + "/" + key; }

  Result<int> count(const std::string& key, int min, int max) const {
    const json& v = object_.at(key);
    if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
      return usage_error(std::string("expected an integer, found ") + json_type_name(v), where(key));
    double d = v.get<double>();
    if (d < min || d > max)
      return usage_error("must be between " + std::to_string(min) + " and " + std::to_string(max), where(key));
    return static_cast<int>(d);
  }

  Result<double> positive(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_number()) return usage_error(std::string("expected a number, found ") + json_type_name(v), where(key));
    double d = v.get<double>();
    if (!std::isfinite(d) || d < 0) return usage_error("must be a number >= 0", where(key));
    return d;
  }

  Result<bool> flag(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_boolean()) return usage_error(std::string("expected true or false, found ") + json_type_name(v), where(key));
    return v.get<bool>();
  }

  Result<std::string> text(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_string()) return usage_error(std::string("expected a string, found ") + json_type_name(v), where(key));
    return v.get<std::string>();
  }

  // An integer number of bytes, or a size with a unit ("40GiB").
  Result<std::uint64_t> bytes(const std::string& key) const {
    const json& v = object_.at(key);
    if (v.is_string()) {
      auto b = parse_bytes(v.get<std::string>());
      if (!b) return usage_error("\"" + v.get<std::string>() + "\" is not a size (e.g. 40GiB, 512MB, 1073741824)", where(key));
      return *b;
    }
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) return v.get<std::uint64_t>();
    return usage_error(std::string("expected bytes (an integer >= 0) or a size string, found ") + json_type_name(v), where(key));
  }

  // "8.0", "12.4" or a number such as 8.0 (read as written, to one decimal).
  Result<Version> version(const std::string& key) const {
    const json& v = object_.at(key);
    std::string s;
    if (v.is_string()) {
      s = v.get<std::string>();
    } else if (v.is_number_integer()) {
      s = std::to_string(v.get<std::int64_t>());
    } else if (v.is_number_float()) {
      double d = v.get<double>();
      if (!std::isfinite(d) || d < 0 || d > 1000) return usage_error("not a version", where(key));
      // 8.6 is "8.6", never 8.59999: versions have one-digit minors here.
      int major = static_cast<int>(d);
      int minor = static_cast<int>(std::lround((d - major) * 10));
      if (minor == 10) { ++major; minor = 0; }
      s = std::to_string(major) + "." + std::to_string(minor);
    } else {
      return usage_error(std::string("expected a version such as \"12.4\", found ") + json_type_name(v), where(key));
    }
    auto parsed = Version::parse(s);
    if (!parsed || parsed->parts.size() > 3) return usage_error("\"" + s + "\" is not a version such as \"12.4\"", where(key));
    return *parsed;
  }

  Result<std::vector<std::string>> text_list(const std::string& key) const {
    const json& v = object_.at(key);
    std::vector<std::string> out;
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
      return out;
    }
    if (!v.is_array()) return usage_error(std::string("expected an array of strings, found ") + json_type_name(v), where(key));
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string() || v[i].get<std::string>().empty())
        return usage_error("expected a non-empty string", where(key) + "/" + std::to_string(i));
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

 private:
  const json& object_;
  std::string origin_;
  std::string prefix_;  // JSON pointer of the object ("" or "/jobs/2")
};

bool valid_amd_target(const std::string& t) {
  // gfx<hex>[...] or a generic target, then :feature+/- parts.
  if (t.rfind("gfx", 0) != 0 || t.size() < 4) return false;
  auto colon = t.find(':');
  std::string processor = t.substr(0, colon);
  for (char c : processor)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  while (colon != std::string::npos) {
    auto next = t.find(':', colon + 1);
    std::string feature = t.substr(colon + 1, next == std::string::npos ? std::string::npos : next - colon - 1);
    if (feature.size() < 2 || (feature.back() != '+' && feature.back() != '-')) return false;
    colon = next;
  }
  return true;
}

bool valid_mig_profile(const std::string& p) {
  // "1g.10gb", "3g.40gb", "1g.10gb+me", "1c.3g.40gb": the slice count before
  // "g." is a small number (at most 8 on any MIG GPU), never read past its range.
  auto g = p.find("g.");
  if (g == std::string::npos || g == 0 || !std::isdigit(static_cast<unsigned char>(p[0])) || p.size() <= g + 2) return false;
  std::size_t start = g;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(p[start - 1]))) --start;
  auto slices = parse_integer<int>(std::string_view(p).substr(start, g - start));
  return slices && *slices >= 1 && *slices <= 8;
}

#define GPUKIT_READ(expr, target)        \
  do {                                   \
    auto r_ = (expr);                    \
    if (!r_) return r_.error();          \
    target = *r_;                        \
  } while (0)

}  // namespace

Result<Requirements> parse_requirements(const json& object, const std::string& origin, const std::string& pointer) {
  if (!object.is_object())
    return usage_error(std::string("a requirement must be a JSON object, found ") + json_type_name(object),
                       origin + ": " + (pointer.empty() ? "/" : pointer));
  const auto& keys = requirement_keys();
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return usage_error("unknown requirement key (see gpumatch(1) for the keys)", origin + ": " + pointer + "/" + key);
  }
  KeyReader in(object, origin, pointer);
  Requirements r;
  auto has = [&](const char* k) { return object.contains(k) && !object[k].is_null(); };
  if (has("schema")) {
    std::string s;
    GPUKIT_READ(in.text("schema"), s);
    if (s != "gpukit-require/1") return usage_error("\"" + s + "\" is not \"gpukit-require/1\"", in.where("schema"));
  }
  if (has("name")) GPUKIT_READ(in.text("name"), r.name);
  if (has("gpus")) GPUKIT_READ(in.count("gpus", 0, 1024), r.gpus);
  if (has("vendor")) {
    GPUKIT_READ(in.text("vendor"), r.vendor);
    if (r.vendor != "nvidia" && r.vendor != "amd" && r.vendor != "any")
      return usage_error("\"" + r.vendor + "\" is not one of nvidia, amd, any", in.where("vendor"));
  }
  if (has("min_compute_capability")) {
    Version v;
    GPUKIT_READ(in.version("min_compute_capability"), v);
    r.min_compute_capability = v;
  }
  if (has("max_compute_capability")) {
    Version v;
    GPUKIT_READ(in.version("max_compute_capability"), v);
    r.max_compute_capability = v;
  }
  if (r.min_compute_capability && r.max_compute_capability && *r.max_compute_capability < *r.min_compute_capability)
    return usage_error("is below min_compute_capability", in.where("max_compute_capability"));
  if (has("amd_targets")) {
    GPUKIT_READ(in.text_list("amd_targets"), r.amd_targets);
    for (size_t i = 0; i < r.amd_targets.size(); ++i)
      if (!valid_amd_target(r.amd_targets[i]))
        return usage_error("\"" + r.amd_targets[i] + "\" is not an AMD target id (e.g. gfx90a:xnack-, gfx942)",
                           in.where("amd_targets") + "/" + std::to_string(i));
  }
  if (has("gpu_memory_bytes")) {
    std::uint64_t b;
    GPUKIT_READ(in.bytes("gpu_memory_bytes"), b);
    r.gpu_memory_bytes = b;
  }
  if (has("mig")) {
    std::string m;
    GPUKIT_READ(in.text("mig"), m);
    if (m == "allow") r.mig = MigPolicy::allow;
    else if (m == "require") r.mig = MigPolicy::require;
    else if (m == "forbid") r.mig = MigPolicy::forbid;
    else return usage_error("\"" + m + "\" is not one of allow, require, forbid", in.where("mig"));
  }
  if (has("mig_profiles")) {
    GPUKIT_READ(in.text_list("mig_profiles"), r.mig_profiles);
    for (size_t i = 0; i < r.mig_profiles.size(); ++i)
      if (!valid_mig_profile(r.mig_profiles[i]))
        return usage_error("\"" + r.mig_profiles[i] + "\" is not a MIG profile (e.g. 3g.40gb)",
                           in.where("mig_profiles") + "/" + std::to_string(i));
  }
  if (has("mig_min_slice")) {
    int s;
    GPUKIT_READ(in.count("mig_min_slice", 1, 8), s);
    r.mig_min_slice = s;
  }
  if (has("cuda_runtime")) {
    Version v;
    GPUKIT_READ(in.version("cuda_runtime"), v);
    r.cuda_runtime = v;
  }
  if (has("hip_runtime")) {
    Version v;
    GPUKIT_READ(in.version("hip_runtime"), v);
    r.hip_runtime = v;
  }
  if (has("minor_version_compatibility")) GPUKIT_READ(in.flag("minor_version_compatibility"), r.minor_version_compatibility);
  if (has("ptx_jit")) GPUKIT_READ(in.flag("ptx_jit"), r.ptx_jit);
  if (has("min_fp64_tflops")) {
    double d;
    GPUKIT_READ(in.positive("min_fp64_tflops"), d);
    r.min_fp64_tflops = d;
  }
  if (has("min_fp64_fp32_ratio")) {
    double d;
    GPUKIT_READ(in.positive("min_fp64_fp32_ratio"), d);
    if (d > 1) return usage_error("must be between 0 and 1 (FP64 rate / FP32 rate)", in.where("min_fp64_fp32_ratio"));
    r.min_fp64_fp32_ratio = d;
  }
  if (has("min_score")) {
    double d;
    GPUKIT_READ(in.positive("min_score"), d);
    r.min_score = d;
  }
  if (has("exclusive")) GPUKIT_READ(in.flag("exclusive"), r.exclusive);
  if (has("cores_per_gpu")) {
    int c;
    GPUKIT_READ(in.count("cores_per_gpu", 1, 4096), c);
    r.cores_per_gpu = c;
  }
  if (has("cores")) {
    int c;
    GPUKIT_READ(in.count("cores", 1, 65536), c);
    r.cores = c;
  }
  if (has("memory_per_core_bytes")) {
    std::uint64_t b;
    GPUKIT_READ(in.bytes("memory_per_core_bytes"), b);
    r.memory_per_core_bytes = b;
  }
  if (has("memory_bytes")) {
    std::uint64_t b;
    GPUKIT_READ(in.bytes("memory_bytes"), b);
    r.memory_bytes = b;
  }
  if (has("pinned_memory_per_gpu_bytes")) {
    std::uint64_t b;
    GPUKIT_READ(in.bytes("pinned_memory_per_gpu_bytes"), b);
    r.pinned_memory_per_gpu_bytes = b;
  }
  if (has("numa_local")) GPUKIT_READ(in.flag("numa_local"), r.numa_local);
  if (has("payloads")) GPUKIT_READ(in.text_list("payloads"), r.payloads);

  // Sizes beyond 2^50 bytes per core overflow the products above; nobody means that.
  constexpr std::uint64_t absurd = 1ULL << 50;
  for (auto [key, value] : {std::pair{"memory_per_core_bytes", r.memory_per_core_bytes},
                            std::pair{"memory_bytes", r.memory_bytes},
                            std::pair{"pinned_memory_per_gpu_bytes", r.pinned_memory_per_gpu_bytes},
                            std::pair{"gpu_memory_bytes", r.gpu_memory_bytes}})
    if (value && *value > absurd) return usage_error("larger than 1 PiB", in.where(key));
  if (r.gpus == 0) {
    for (const char* k : {"cores_per_gpu", "pinned_memory_per_gpu_bytes", "gpu_memory_bytes", "exclusive",
                          "mig_profiles", "mig_min_slice", "min_fp64_tflops", "min_fp64_fp32_ratio"})
      if (has(k) && !(object[k].is_boolean() && !object[k].get<bool>()))
        return usage_error("needs \"gpus\" >= 1", in.where(k));
  }
  if (r.exclusive && r.mig == MigPolicy::require)
    return usage_error("an exclusive GPU cannot be a MIG instance (\"mig\": \"require\")", in.where("exclusive"));
  return r;
}

Result<json> parse_json_text(std::string_view text, const std::string& origin) { return parse_json(text, origin); }

Result<Requirements> parse_requirements_text(std::string_view text, const std::string& origin) {
  auto j = parse_json_text(text, origin);
  if (!j) return j.error();
  return parse_requirements(*j, origin);
}

Result<std::vector<Requirements>> parse_jobs_text(std::string_view text, const std::string& origin) {
  auto parsed = parse_json_text(text, origin);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  const json* list = &j;
  std::string base = "/";
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      (void)value;
      if (key != "jobs" && key != "schema") return usage_error("unknown key; expected \"jobs\"", origin + ": /" + key);
    }
    if (!j.contains("jobs")) return usage_error("missing \"jobs\"", origin + ": /jobs");
    list = &j["jobs"];
    base = "/jobs/";
  }
  if (!list->is_array() || list->empty())
    return usage_error("expected a non-empty array of requirement objects", origin + ": " + (base == "/" ? "/" : "/jobs"));
  std::vector<Requirements> jobs;
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    auto r = parse_requirements((*list)[i], origin, base + std::to_string(i));
    if (!r) return r.error();
    if (r->name.empty()) r->name = "job" + std::to_string(i + 1);
    if (!names.insert(r->name).second)
      return usage_error("duplicate job name \"" + r->name + "\"", origin + ": " + base + std::to_string(i) + "/name");
    jobs.push_back(std::move(*r));
  }
  return jobs;
}

json to_json(const Requirements& r) {
  json j = json::object();
  if (!r.name.empty()) j["name"] = r.name;
  j["gpus"] = r.gpus;
  j["vendor"] = r.vendor;
  if (r.min_compute_capability) j["min_compute_capability"] = r.min_compute_capability->short_string();
  if (r.max_compute_capability) j["max_compute_capability"] = r.max_compute_capability->short_string();
  if (!r.amd_targets.empty()) j["amd_targets"] = r.amd_targets;
  if (r.gpu_memory_bytes) j["gpu_memory_bytes"] = *r.gpu_memory_bytes;
  j["mig"] = to_string(r.mig);
  if (!r.mig_profiles.empty()) j["mig_profiles"] = r.mig_profiles;
  if (r.mig_min_slice) j["mig_min_slice"] = *r.mig_min_slice;
  if (r.cuda_runtime) j["cuda_runtime"] = r.cuda_runtime->raw;
  if (r.hip_runtime) j["hip_runtime"] = r.hip_runtime->raw;
  j["minor_version_compatibility"] = r.minor_version_compatibility;
  j["ptx_jit"] = r.ptx_jit;
  if (r.min_fp64_tflops) j["min_fp64_tflops"] = *r.min_fp64_tflops;
  if (r.min_fp64_fp32_ratio) j["min_fp64_fp32_ratio"] = *r.min_fp64_fp32_ratio;
  if (r.min_score) j["min_score"] = *r.min_score;
  j["exclusive"] = r.exclusive;
  if (r.cores_per_gpu) j["cores_per_gpu"] = *r.cores_per_gpu;
  if (r.cores) j["cores"] = *r.cores;
  if (r.memory_per_core_bytes) j["memory_per_core_bytes"] = *r.memory_per_core_bytes;
  if (r.memory_bytes) j["memory_bytes"] = *r.memory_bytes;
  if (r.pinned_memory_per_gpu_bytes) j["pinned_memory_per_gpu_bytes"] = *r.pinned_memory_per_gpu_bytes;
  j["numa_local"] = r.numa_local;
  if (!r.payloads.empty()) j["payloads"] = r.payloads;
  return j;
}

}  // namespace gpukit
