#include "match/tables.hpp"

#include <algorithm>
#include <charconv>

#include "core/document.hpp"
#include "core/io.hpp"
#include "core/paths.hpp"

namespace gpukit {

std::optional<Version> Version::parse(std::string_view text) {
  Version v;
  v.raw = std::string(text);
  size_t i = 0;
  while (i < text.size()) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() + i || value < 0) return std::nullopt;
    v.parts.push_back(value);
    i = static_cast<size_t>(end - text.data());
    if (i == text.size()) break;
    if (text[i] != '.' || i + 1 == text.size()) return std::nullopt;
    ++i;
  }
  if (v.parts.empty() || v.parts.size() > 4) return std::nullopt;
  return v;
}

int Version::compare(const Version& other) const {
  size_t n = std::max(parts.size(), other.parts.size());
  for (size_t i = 0; i < n; ++i) {
    int a = i < parts.size() ? parts[i] : 0;
    int b = i < other.parts.size() ? other.parts[i] : 0;
    if (a != b) return a < b ? -1 : 1;
  }
  return 0;
}

std::optional<ArchRule> parse_arch_rule(std::string_view name) {
  if (name == "at_least") return ArchRule::at_least;
  if (name == "same_major_minor_at_least") return ArchRule::same_major_minor_at_least;
  if (name == "exact") return ArchRule::exact;
  return std::nullopt;
}

const char* to_string(ArchRule rule) {
  switch (rule) {
    case ArchRule::at_least: return "at_least";
    case ArchRule::same_major_minor_at_least: return "same_major_minor_at_least";
    case ArchRule::exact: return "exact";
  }
  return "?";
}

bool arch_rule_allows(ArchRule rule, int code_major, int code_minor, int device_major, int device_minor) {
  switch (rule) {
    case ArchRule::at_least:
      return device_major > code_major || (device_major == code_major && device_minor >= code_minor);
    case ArchRule::same_major_minor_at_least:
      return device_major == code_major && device_minor >= code_minor;
    case ArchRule::exact:
      return device_major == code_major && device_minor == code_minor;
  }
  return false;
}

namespace {

// Reads one table file and checks the fields every row shares.
class TableReader {
 public:
  TableReader(std::string path, json root) : path_(std::move(path)), root_(std::move(root)) {}

  static Result<TableReader> open(const std::string& directory, const std::string& name, const std::string& schema) {
    std::string path = directory + "/" + name;
    auto text = read_input_file(path);
    if (!text) return text.error();
    json root = json::parse(*text, nullptr, false);
    if (root.is_discarded() || !root.is_object()) return usage_error("not a JSON object", path);
    if (root.value("schema", std::string()) != schema)
      return usage_error("expected \"schema\": \"" + schema + "\"", path);
    return TableReader(path, std::move(root));
  }

  // The array `key`, each element an object with a non-empty source and date.
  Result<const json*> rows(const std::string& key) const {
    auto it = root_.find(key);
    if (it == root_.end() || !it->is_array() || it->empty())
      return usage_error("missing or empty array", path_ + ": /" + key);
    for (size_t i = 0; i < it->size(); ++i) {
      const json& row = (*it)[i];
      std::string where = path_ + ": /" + key + "/" + std::to_string(i);
      if (!row.is_object()) return usage_error("expected an object", where);
      for (const char* field : {"source", "date"})
        if (!row.contains(field) || !row[field].is_string() || row[field].get<std::string>().empty())
          return usage_error(std::string("missing \"") + field + "\"", where);
    }
    return &*it;
  }

  Result<Version> version(const json& row, const char* field, const std::string& where) const {
    if (!row.contains(field) || !row[field].is_string()) return usage_error(std::string("missing \"") + field + "\"", where);
    auto v = Version::parse(row[field].get<std::string>());
    if (!v) return usage_error(std::string("\"") + field + "\" is not a version", where);
    return *v;
  }

  Result<std::optional<Version>> optional_version(const json& row, const char* field, const std::string& where) const {
    if (!row.contains(field) || row[field].is_null()) return std::optional<Version>();
    auto v = version(row, field, where);
    if (!v) return v.error();
    return std::optional<Version>(*v);
  }

  Result<std::vector<std::string>> strings(const json& row, const char* field, const std::string& where) const {
    if (!row.contains(field) || !row[field].is_array()) return usage_error(std::string("missing \"") + field + "\"", where);
    std::vector<std::string> out;
    for (const auto& s : row[field]) {
      if (!s.is_string()) return usage_error(std::string("\"") + field + "\" must hold strings", where);
      out.push_back(s.get<std::string>());
    }
    return out;
  }

  std::string where(const std::string& key, size_t i) const { return path_ + ": /" + key + "/" + std::to_string(i); }

 private:
  std::string path_;
  json root_;
};

#define GPUKIT_TRY_ASSIGN(var, expr) \
  auto var##_result = (expr);        \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(*var##_result)

}  // namespace

Result<CompatTables> CompatTables::load(const std::string& directory) {
  CompatTables t;
  {
    GPUKIT_TRY_ASSIGN(file, TableReader::open(directory, "cuda-drivers.json", "gpukit-cuda-drivers/1"));
    GPUKIT_TRY_ASSIGN(rows, file.rows("toolkits"));
    for (size_t i = 0; i < rows->size(); ++i) {
      const json& row = (*rows)[i];
      auto w = file.where("toolkits", i);
      GPUKIT_TRY_ASSIGN(cuda, file.version(row, "cuda", w));
      GPUKIT_TRY_ASSIGN(driver, file.optional_version(row, "min_driver", w));
      // A release whose minimum driver is not published cannot decide anything.
      if (!driver) continue;
      t.toolkits_.push_back({cuda, *driver, row["source"].get<std::string>()});
    }
  }
  {
    GPUKIT_TRY_ASSIGN(file, TableReader::open(directory, "cuda-compat.json", "gpukit-cuda-compat/1"));
    GPUKIT_TRY_ASSIGN(mvc, file.rows("minor_version_compatibility"));
    for (size_t i = 0; i < mvc->size(); ++i) {
      const json& row = (*mvc)[i];
      auto w = file.where("minor_version_compatibility", i);
      if (!row.contains("major") || !row["major"].is_number_integer()) return usage_error("missing \"major\"", w);
      GPUKIT_TRY_ASSIGN(driver, file.version(row, "min_driver", w));
      GPUKIT_TRY_ASSIGN(below, file.optional_version(row, "max_driver_exclusive", w));
      if (below && *below <= driver) return usage_error("\"max_driver_exclusive\" must be above \"min_driver\"", w);
      t.mvc_.push_back({row["major"].get<int>(), driver, below, row["source"].get<std::string>()});
    }
    GPUKIT_TRY_ASSIGN(archs, file.rows("architectures"));
    for (size_t i = 0; i < archs->size(); ++i) {
      const json& row = (*archs)[i];
      auto w = file.where("architectures", i);
      GPUKIT_TRY_ASSIGN(cc, file.version(row, "compute_capability", w));
      GPUKIT_TRY_ASSIGN(first, file.optional_version(row, "first_cuda", w));
      GPUKIT_TRY_ASSIGN(removed, file.optional_version(row, "removed_in_cuda", w));
      t.arch_.push_back({cc.major(), cc.minor(), first, removed, row["source"].get<std::string>()});
    }
    GPUKIT_TRY_ASSIGN(suffixes, file.rows("architecture_suffixes"));
    for (size_t i = 0; i < suffixes->size(); ++i) {
      const json& row = (*suffixes)[i];
      auto w = file.where("architecture_suffixes", i);
      if (!row.contains("suffix") || !row["suffix"].is_string()) return usage_error("missing \"suffix\"", w);
      auto sass = parse_arch_rule(row.value("sass", std::string()));
      auto ptx = parse_arch_rule(row.value("ptx", std::string()));
      if (!sass || !ptx) return usage_error("\"sass\" and \"ptx\" must be at_least, same_major_minor_at_least or exact", w);
      GPUKIT_TRY_ASSIGN(first, file.optional_version(row, "first_cuda", w));
      t.suffixes_.push_back({row["suffix"].get<std::string>(), *sass, *ptx, first, row["source"].get<std::string>()});
    }
  }
  {
    GPUKIT_TRY_ASSIGN(file, TableReader::open(directory, "ptx-isa.json", "gpukit-ptx-isa/1"));
    GPUKIT_TRY_ASSIGN(rows, file.rows("versions"));
    for (size_t i = 0; i < rows->size(); ++i) {
      const json& row = (*rows)[i];
      auto w = file.where("versions", i);
      GPUKIT_TRY_ASSIGN(isa, file.version(row, "ptx_isa", w));
      GPUKIT_TRY_ASSIGN(cuda, file.version(row, "cuda", w));
      t.ptx_.push_back({isa, cuda, row["source"].get<std::string>()});
    }
  }
  {
    GPUKIT_TRY_ASSIGN(file, TableReader::open(directory, "amd-targets-match.json", "gpukit-amd-targets-match/1"));
    GPUKIT_TRY_ASSIGN(features, file.rows("feature_rules"));
    for (size_t i = 0; i < features->size(); ++i) {
      const json& row = (*features)[i];
      auto w = file.where("feature_rules", i);
      GPUKIT_TRY_ASSIGN(loads, file.strings(row, "loads_when_device", w));
      std::string feature = row.value("feature", std::string()), code = row.value("code", std::string());
      if (feature.empty() || (code != "any" && code != "on" && code != "off"))
        return usage_error("\"feature\" must be named and \"code\" one of any, on, off", w);
      t.amd_features_.push_back({feature, code, loads, row["source"].get<std::string>()});
    }
    GPUKIT_TRY_ASSIGN(processors, file.rows("processors"));
    for (size_t i = 0; i < processors->size(); ++i) {
      const json& row = (*processors)[i];
      auto w = file.where("processors", i);
      GPUKIT_TRY_ASSIGN(feats, file.strings(row, "features", w));
      if (!row.contains("gfx") || !row["gfx"].is_string()) return usage_error("missing \"gfx\"", w);
      t.amd_processors_.push_back({row["gfx"].get<std::string>(), feats});
    }
    GPUKIT_TRY_ASSIGN(generics, file.rows("generic_targets"));
    for (size_t i = 0; i < generics->size(); ++i) {
      const json& row = (*generics)[i];
      auto w = file.where("generic_targets", i);
      GPUKIT_TRY_ASSIGN(procs, file.strings(row, "processors", w));
      if (!row.contains("generic") || !row["generic"].is_string()) return usage_error("missing \"generic\"", w);
      std::optional<std::vector<std::string>> feats;
      if (row.contains("features") && !row["features"].is_null()) {
        GPUKIT_TRY_ASSIGN(listed, file.strings(row, "features", w));
        feats = std::move(listed);
      }
      t.generics_.push_back({row["generic"].get<std::string>(), procs, feats, row["source"].get<std::string>()});
    }
  }
  std::sort(t.toolkits_.begin(), t.toolkits_.end(), [](const auto& a, const auto& b) { return a.cuda < b.cuda; });
  return t;
}

bool GenericTarget::supports_feature(std::string_view feature) const {
  return !features || std::find(features->begin(), features->end(), feature) != features->end();
}

Result<CompatTables> CompatTables::load_default() {
  auto dir = data_directory();
  if (!dir) return dir.error();
  return load(*dir);
}

const ToolkitRow* CompatTables::toolkit(const Version& cuda) const {
  for (const auto& row : toolkits_)
    if (row.cuda.major() == cuda.major() && row.cuda.minor() == cuda.minor()) return &row;
  return nullptr;
}

std::optional<Version> CompatTables::cuda_for_driver(const Version& driver) const {
  std::optional<Version> best;
  for (const auto& row : toolkits_)
    if (row.min_driver <= driver) best = row.cuda;
  return best;
}

const MvcFloor* CompatTables::mvc_floor(int major) const {
  for (const auto& row : mvc_)
    if (row.major == major) return &row;
  return nullptr;
}

const PtxRow* CompatTables::ptx(const Version& isa) const {
  for (const auto& row : ptx_)
    if (row.ptx_isa.major() == isa.major() && row.ptx_isa.minor() == isa.minor()) return &row;
  return nullptr;
}

const ArchRow* CompatTables::arch(int major, int minor) const {
  for (const auto& row : arch_)
    if (row.major == major && row.minor == minor) return &row;
  return nullptr;
}

const SuffixRule* CompatTables::suffix(std::string_view s) const {
  for (const auto& row : suffixes_)
    if (row.suffix == s) return &row;
  return nullptr;
}

const GenericTarget* CompatTables::generic(std::string_view name) const {
  for (const auto& row : generics_)
    if (row.generic == name) return &row;
  return nullptr;
}

const AmdProcessor* CompatTables::amd_processor(std::string_view gfx) const {
  for (const auto& row : amd_processors_)
    if (row.gfx == gfx) return &row;
  return nullptr;
}

bool CompatTables::feature_loads(std::string_view feature, std::string_view code_setting,
                                 std::string_view device_setting) const {
  for (const auto& rule : amd_features_) {
    if (rule.feature != feature || rule.code != code_setting) continue;
    return std::find(rule.loads_when_device.begin(), rule.loads_when_device.end(), device_setting) !=
           rule.loads_when_device.end();
  }
  // A feature the table does not describe: only an exact setting is safe.
  return code_setting == "any" || code_setting == device_setting;
}

}  // namespace gpukit
