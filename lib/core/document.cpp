#include "core/document.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <vector>

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
    {"account", "object"}, {"cost", "object"}, {"health", "object"},
};

const char* type_name(const json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  return "null";
}

// At most `n` bytes of `s` for a message, cut on a UTF-8 character boundary.
std::string shortened(std::string_view s, std::size_t n = 64) {
  if (s.size() <= n) return std::string(s);
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

// One JSON Pointer reference token (RFC 6901), shortened for messages.
std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : shortened(key)) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return "/" + out;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix,
// and without a long "last read" token.
std::string library_message(const nlohmann::detail::exception& e) {
  std::string m = e.what();
  if (auto close = m.find("] "); m.rfind("[json.exception", 0) == 0 && close != std::string::npos) m.erase(0, close + 2);
  return shortened(m, 200);
}

// Builds the value of a JSON text from nlohmann's SAX events. nlohmann's own
// DOM builder gives no depth bound and inserts each key of an ordered object
// with a linear search (quadratic in the keys); this one refuses a document
// nested deeper than the limit before anything recursive meets it, appends
// keys in constant time (a set per open object catches duplicates) and knows
// the JSON path of every error.
class BoundedBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  BoundedBuilder(const std::string& origin, int max_depth) : origin_(origin), max_depth_(max_depth) {}

  bool null() { return add(json(nullptr)) != nullptr; }
  bool boolean(bool v) { return add(json(v)) != nullptr; }
  bool number_integer(number_integer_t v) { return add(json(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return add(json(v)) != nullptr; }
  bool number_float(number_float_t v, const string_t& text) {
    if (!std::isfinite(v)) return fail("number out of range: " + shortened(text));
    return add(json(v)) != nullptr;
  }
  bool string(string_t& v) { return add(json(std::move(v))) != nullptr; }
  bool binary(binary_t&) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return check_duplicates() && close(); }
  bool end_array() { return close(); }
  bool key(string_t& k) {
    // A small object is checked key by key; a large one once, when it closes.
    const auto& entries = object_entries();
    if (entries.size() < linear_check_keys)
      for (const auto& [existing, value] : entries)
        if (existing == k) return duplicate(k);
    frames_.back().key = std::move(k);
    return true;
  }
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& e) {
    // 406: a number nlohmann cannot hold (1e400).
    std::string what = e.id == 406 ? "number out of range (" + library_message(e) + ")"
                                   : "invalid JSON at byte " + std::to_string(byte) + ": " + library_message(e);
    return fail(what);
  }

  json& root() { return root_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  static constexpr std::size_t linear_check_keys = 16;

  struct Frame {
    json* value;
    std::string segment;  // this container's place in its parent ("/gpus", "/0")
    std::string key;      // objects: the key of the value being read
  };

  // The innermost open object's entries: the ordered map's vector.
  json::object_t::Container& object_entries() {
    return static_cast<json::object_t::Container&>(frames_.back().value->get_ref<json::object_t&>());
  }

  bool duplicate(const std::string& k) {
    return fail("duplicate key \"" + shortened(k) + "\"", container_path() + pointer_token(k));
  }

  // Sorting views of the keys finds a duplicate in n log n time and without a
  // copy of every key.
  bool check_duplicates() {
    const auto& entries = object_entries();
    if (entries.size() <= linear_check_keys) return true;
    std::vector<std::string_view> keys;
    keys.reserve(entries.size());
    for (const auto& [k, value] : entries) keys.emplace_back(k);
    std::sort(keys.begin(), keys.end());
    auto same = std::adjacent_find(keys.begin(), keys.end());
    return same == keys.end() || duplicate(std::string(*same));
  }

  // Where the value being read goes in the innermost open container ("/3", "/name").
  std::string position() const {
    if (frames_.empty()) return {};
    const Frame& top = frames_.back();
    return top.value->is_array() ? "/" + std::to_string(top.value->size()) : pointer_token(top.key);
  }

  // The JSON path of the innermost open container ("" for the root).
  std::string container_path() const {
    std::string p;
    for (const auto& f : frames_) p += f.segment;
    return p;
  }

  // The JSON path of the value being read.
  std::string path() const {
    std::string p = container_path() + position();
    return p.empty() ? "/" : p;
  }

  bool fail(std::string message, std::string where = {}) {
    if (!error_) error_ = usage_error(std::move(message), origin_ + ": " + (where.empty() ? path() : where));
    return false;
  }

  // Stores `v` where the parser is and returns where it went.
  json* add(json v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame& top = frames_.back();
    if (top.value->is_array()) {
      auto& array = top.value->get_ref<json::array_t&>();
      array.push_back(std::move(v));
      return &array.back();
    }
    // The ordered map's vector, appended to directly: duplicates are refused
    // by key() and check_duplicates().
    auto& entries = object_entries();
    entries.emplace_back(std::move(top.key), std::move(v));
    return &entries.back().second;
  }

  bool open(json container) {
    if (static_cast<int>(frames_.size()) >= max_depth_)
      return fail("nested deeper than " + std::to_string(max_depth_) + " levels");
    std::string segment = position();
    json* at = add(std::move(container));
    frames_.push_back({at, std::move(segment), {}});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  const std::string& origin_;
  int max_depth_;
  json root_;
  std::vector<Frame> frames_;
  std::optional<Error> error_;
};

// "gpukit/1" or "gpukit/1.2" -> 1. nullopt when the string is not of that
// form; a major too large for an int is returned as its digits in `digits`.
std::optional<long> schema_major(const std::string& schema, std::string& digits) {
  const std::string prefix = "gpukit/";
  if (schema.rfind(prefix, 0) != 0) return std::nullopt;
  std::size_t i = prefix.size();
  while (i < schema.size() && std::isdigit(static_cast<unsigned char>(schema[i]))) digits += schema[i++];
  if (digits.empty() || (i != schema.size() && schema[i] != '.')) return std::nullopt;
  // More than nine digits cannot be a version this gpukit knows; never wrap.
  if (digits.size() > 9) return -1;
  return std::stol(digits);
}

}  // namespace

Result<json> parse_json(std::string_view text, const std::string& origin, const InputLimits& limits) {
  if (text.size() > limits.max_bytes)
    return usage_error("larger than the input limit of " + std::to_string(limits.max_bytes) +
                           " bytes (raise it with --max-input-size)",
                       origin);
  // nlohmann stops at a NUL byte as if the text ended there.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return usage_error("a NUL byte at byte " + std::to_string(nul) + " (JSON text holds none)", origin);
  BoundedBuilder builder(origin, limits.max_depth);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true);
  } catch (const std::exception& e) {
    // The SAX interface reports errors through parse_error; this is for
    // anything else (bad_alloc included) so that nothing reaches main.
    return usage_error(std::string("cannot be read: ") + e.what(), origin);
  }
  if (builder.error()) return *builder.error();
  if (!ok) return usage_error("invalid JSON", origin);
  return std::move(builder.root());
}

std::string dump_json(const json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

const char* json_type_name(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  return "null";
}

Document::Document() : root_(json::object({{"schema", document_schema}})) {}

const char* expected_section_type(std::string_view section) {
  for (const auto& s : known_sections)
    if (section == s.name) return s.type;
  return nullptr;
}

Result<Document> Document::parse(std::string_view text, const std::string& origin, const InputLimits& limits) {
  auto parsed = parse_json(text, origin, limits);
  if (!parsed) return parsed.error();
  json& root = *parsed;
  if (!root.is_object())
    return usage_error(std::string("expected a JSON object, found ") + type_name(root), origin + ": /");
  auto it = root.find("schema");
  if (it == root.end()) return usage_error("missing; expected \"gpukit/1\"", origin + ": /schema");
  if (!it->is_string())
    return usage_error(std::string("expected a string, found ") + type_name(*it), origin + ": /schema");
  const std::string& schema = it->get_ref<const std::string&>();
  std::string digits;
  auto major = schema_major(schema, digits);
  if (!major)
    return usage_error("\"" + shortened(schema) + "\" is not a gpukit schema; expected \"gpukit/1\"", origin + ": /schema");
  if (*major != document_schema_major)
    return usage_error("major version " + shortened(digits) + " is not supported; this gpukit reads \"gpukit/1\"",
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

bool Document::remove_section(std::string_view section) { return root_.erase(std::string(section)) > 0; }

const json& json_member(const json& object, std::string_view key) {
  static const json null;
  if (!object.is_object()) return null;
  auto it = object.find(key);
  return it == object.end() ? null : *it;
}

std::string json_text(const json& object, std::string_view key) {
  const json& v = json_member(object, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string Document::dump() const { return dump_json(root_, 2) + "\n"; }

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
