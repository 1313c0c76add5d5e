#include "core/document.hpp"

#include <ctime>

#include "core/version.hpp"

namespace gpukit {

namespace {

struct SectionType {
  const char* name;
  const char* type;
};

constexpr SectionType known_sections[] = {
    {"host", "object"},  {"cpu", "object"},   {"memory", "object"}, {"drivers", "object"},
    {"gpus", "array"},   {"visible", "object"}, {"bench", "object"}, {"match", "object"},
    {"account", "object"}, {"cost", "object"},
};

const char* type_name(const json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  return "null";
}

// "gpukit/1" or "gpukit/1.2" -> 1; -1 when the string is not of that form.
int schema_major(const std::string& schema) {
  const std::string prefix = "gpukit/";
  if (schema.rfind(prefix, 0) != 0) return -1;
  std::string rest = schema.substr(prefix.size());
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest[0]))) return -1;
  int major = 0;
  size_t i = 0;
  for (; i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i])); ++i) major = major * 10 + (rest[i] - '0');
  if (i != rest.size() && rest[i] != '.') return -1;
  return major;
}

}  // namespace

Document::Document() : root_(json::object({{"schema", document_schema}})) {}

const char* expected_section_type(std::string_view section) {
  for (const auto& s : known_sections)
    if (section == s.name) return s.type;
  return nullptr;
}

Result<Document> Document::parse(std::string_view text, const std::string& origin) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    // Parse again with exceptions for the byte position nlohmann reports.
    try {
      json reparsed = json::parse(text);
      (void)reparsed;
    } catch (const json::parse_error& e) {
      return usage_error("invalid JSON at byte " + std::to_string(e.byte), origin);
    }
    return usage_error("invalid JSON", origin);
  }
  if (!root.is_object())
    return usage_error(std::string("expected a JSON object, found ") + type_name(root), origin + ": /");
  auto it = root.find("schema");
  if (it == root.end()) return usage_error("missing; expected \"gpukit/1\"", origin + ": /schema");
  if (!it->is_string())
    return usage_error(std::string("expected a string, found ") + type_name(*it), origin + ": /schema");
  int major = schema_major(it->get<std::string>());
  if (major < 0)
    return usage_error("\"" + it->get<std::string>() + "\" is not a gpukit schema; expected \"gpukit/1\"",
                       origin + ": /schema");
  if (major != document_schema_major)
    return usage_error("major version " + std::to_string(major) + " is not supported; this gpukit reads \"gpukit/1\"",
                       origin + ": /schema");
  for (const auto& [key, value] : root.items()) {
    const char* want = expected_section_type(key);
    if (!want) continue;
    if (std::string_view(want) != type_name(value))
      return usage_error(std::string("expected ") + "an " + want + ", found " + type_name(value),
                         origin + ": /" + key);
  }
  return Document(std::move(root));
}

bool Document::has(std::string_view section) const { return root_.contains(section); }

const json* Document::section(std::string_view section) const {
  auto it = root_.find(section);
  return it == root_.end() ? nullptr : &*it;
}

void Document::set_section(std::string_view section, json value) { root_[std::string(section)] = std::move(value); }

std::string Document::dump() const { return root_.dump(2) + "\n"; }

json generator_stamp(std::string_view tool) {
  return json::object({{"tool", std::string(tool)}, {"version", version()}});
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace gpukit
