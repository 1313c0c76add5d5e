// The node document: one JSON object per node, passed along the pipe. Each tool
// reads it, adds or replaces its own top-level sections, and writes it whole.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace gpukit {

using json = nlohmann::ordered_json;

inline constexpr int document_schema_major = 1;
inline constexpr const char* document_schema = "gpukit/1";

// Bounds on what a tool reads (man 7 gpukit, "Input limits"). The size limit
// keeps /dev/zero on standard input from growing memory; the depth limit keeps
// every recursive walk of a document (serialisation, destruction, readers)
// far from the stack's end and output size linear in input size.
inline constexpr std::uint64_t default_max_input_bytes = 64ULL << 20;  // --max-input-size
inline constexpr int max_document_depth = 64;

struct InputLimits {
  std::uint64_t max_bytes = default_max_input_bytes;
  int max_depth = max_document_depth;
};

// Parses one JSON value, strictly and boundedly: at most `limits.max_bytes`,
// nesting at most `limits.max_depth`, valid UTF-8, finite numbers, no duplicate
// keys, nothing but white space after the value (a NUL byte included). Object
// keys keep their order. Errors are usage errors "<origin>: <path>: <problem>".
Result<json> parse_json(std::string_view text, const std::string& origin, const InputLimits& limits = {});

// Serialises `value` without ever throwing: invalid UTF-8 that reached a string
// is written as U+FFFD. indent < 0: one line.
std::string dump_json(const json& value, int indent = -1);

// The JSON type of `value` for messages: "an object", "a string", "null", ...
const char* json_type_name(const json& value);

// Lenient reads for parts the typed node model carries through opaque (a GPU's
// health, gpubench's results): they never throw, and a missing key, a wrong type
// or a non-object gives null, or "" for text. Use them only where absence is an
// answer; fields that must be there belong in the typed model (core/node.hpp).
const json& json_member(const json& object, std::string_view key);
std::string json_text(const json& object, std::string_view key);

class Document {
 public:
  // {"schema": "gpukit/1"}
  Document();

  // Parses and checks a document: valid JSON, an object, a `schema` of major 1,
  // and every known section of the right JSON type. `origin` names the input in
  // error messages ("<stdin>", a file name).
  static Result<Document> parse(std::string_view text, const std::string& origin, const InputLimits& limits = {});

  bool has(std::string_view section) const;
  // nullptr when absent.
  const json* section(std::string_view section) const;
  // Adds or replaces one top-level section; never touches the others.
  void set_section(std::string_view section, json value);
  // Removes one top-level section; false when it was absent.
  bool remove_section(std::string_view section);

  const json& root() const { return root_; }
  std::string dump() const;  // two-space indented, newline-terminated; never throws

 private:
  explicit Document(json root) : root_(std::move(root)) {}
  json root_;
};

// The JSON type each known section must have ("object" or "array"), or nullptr
// for a key this version does not know (kept as it is).
const char* expected_section_type(std::string_view section);

// {"tool": name, "version": gpukit version}: the stamp every section carries.
json generator_stamp(std::string_view tool);

// Current time as ISO 8601 UTC with seconds ("2026-11-24T03:13:25Z").
std::string utc_timestamp();

}  // namespace gpukit
