// The compatibility rules as data: share/gpukit/{cuda-drivers,cuda-compat,ptx-isa,
// amd-targets-match}.json, loaded and checked once, queried by the matcher.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// A dotted version ("535.54.03", "12.4", "13"): compared part by part, missing
// parts count as 0, so "580" <= "580.65.06".
struct Version {
  std::vector<int> parts;
  std::string raw;

  static std::optional<Version> parse(std::string_view text);
  static Version of(int major, int minor) { return {{major, minor}, std::to_string(major) + "." + std::to_string(minor)}; }
  int major() const { return parts.empty() ? 0 : parts[0]; }
  int minor() const { return parts.size() < 2 ? 0 : parts[1]; }
  // -1, 0, 1
  int compare(const Version& other) const;
  bool operator<(const Version& o) const { return compare(o) < 0; }
  bool operator<=(const Version& o) const { return compare(o) <= 0; }
  bool operator>=(const Version& o) const { return compare(o) >= 0; }
  bool operator==(const Version& o) const { return compare(o) == 0; }
  // "12.4" (major.minor only)
  std::string short_string() const { return std::to_string(major()) + "." + std::to_string(minor()); }
};

// How a code object built for one architecture may run on another.
enum class ArchRule {
  at_least,                   // any CC >= the target (plain PTX)
  same_major_minor_at_least,  // same major, minor >= (SASS; the f family)
  exact,                      // exactly that CC (the a suffix)
};
std::optional<ArchRule> parse_arch_rule(std::string_view name);
const char* to_string(ArchRule rule);
bool arch_rule_allows(ArchRule rule, int code_major, int code_minor, int device_major, int device_minor);

struct ToolkitRow {
  Version cuda;        // "12.4"
  Version min_driver;  // "550.54.14"
  std::string source;
};

// Minor version compatibility of one runtime major: a driver in
// [min_driver, max_driver) runs any runtime of that major with limited features.
// NVIDIA states the upper bound for 11.x (< 525) and 12.x (< 580): from there
// on the driver provides a newer major and runs the runtime by backward
// compatibility instead.
struct MvcFloor {
  int major = 0;
  Version min_driver;
  std::optional<Version> max_driver;  // exclusive; nullopt: none stated
  std::string source;

  bool covers(const Version& driver) const { return driver >= min_driver && (!max_driver || driver < *max_driver); }
};

struct PtxRow {
  Version ptx_isa;  // "8.5"
  Version cuda;     // "12.5"
  std::string source;
};

struct ArchRow {
  int major = 0, minor = 0;
  std::optional<Version> first_cuda, removed_in_cuda;
  std::string source;
};

struct SuffixRule {
  std::string suffix;  // "", "a", "f"
  ArchRule sass = ArchRule::same_major_minor_at_least;
  ArchRule ptx = ArchRule::at_least;
  std::optional<Version> first_cuda;
  std::string source;
};

struct AmdFeatureRule {
  std::string feature;                        // "xnack", "sramecc"
  std::string code;                           // "any", "on", "off"
  std::vector<std::string> loads_when_device; // {"on", "off"}
  std::string source;
};

struct GenericTarget {
  std::string generic;  // "gfx9-4-generic"
  std::vector<std::string> processors;
  // The target features a code object for the generic target may name (LLVM's
  // "Target Features Supported" column): gfx9-generic takes xnack only, since
  // gfx906 has no sramecc there. nullopt: the table does not say.
  std::optional<std::vector<std::string>> features;
  std::string source;

  bool supports_feature(std::string_view feature) const;
};

struct AmdProcessor {
  std::string gfx;
  std::vector<std::string> features;  // the target features it supports
};

class CompatTables {
 public:
  // Loads the four files from `directory` (share/gpukit); a usage error naming
  // the file and the row when one is malformed or lacks its source or date.
  static Result<CompatTables> load(const std::string& directory);
  static Result<CompatTables> load_default();

  // The toolkit row for a CUDA major.minor, or nullptr. Rows whose minimum
  // driver NVIDIA has not published (min_driver null) are not loaded.
  const ToolkitRow* toolkit(const Version& cuda) const;
  // The newest CUDA release a driver provides in full (the newest row whose
  // minimum it meets); nullopt when it is older than every row.
  std::optional<Version> cuda_for_driver(const Version& driver) const;
  // The minor-version-compatibility floor of a runtime major, or nullptr.
  const MvcFloor* mvc_floor(int major) const;
  // The first CUDA release that understands a PTX ISA version, or nullptr.
  const PtxRow* ptx(const Version& isa) const;
  const ArchRow* arch(int major, int minor) const;
  const SuffixRule* suffix(std::string_view suffix) const;
  // The processors a generic target covers, or nullptr when `name` is not one.
  const GenericTarget* generic(std::string_view name) const;
  const AmdProcessor* amd_processor(std::string_view gfx) const;
  // Whether code naming `code_setting` ("any", "on", "off") for `feature` loads
  // on a device whose setting is `device_setting` ("on"/"off").
  bool feature_loads(std::string_view feature, std::string_view code_setting, std::string_view device_setting) const;

  const std::vector<ToolkitRow>& toolkits() const { return toolkits_; }
  const std::vector<PtxRow>& ptx_rows() const { return ptx_; }

 private:
  std::vector<ToolkitRow> toolkits_;
  std::vector<MvcFloor> mvc_;
  std::vector<PtxRow> ptx_;
  std::vector<ArchRow> arch_;
  std::vector<SuffixRule> suffixes_;
  std::vector<AmdFeatureRule> amd_features_;
  std::vector<GenericTarget> generics_;
  std::vector<AmdProcessor> amd_processors_;
};

}  // namespace gpukit
