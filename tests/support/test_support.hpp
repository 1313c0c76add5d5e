// Helpers shared by the unit and tool tests: running a binary as a pilot would,
// fixture paths, golden files and JSON Schema validation.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gpukit::test {

struct RunResult {
  int exit_code = -1;       // 128+signal when killed
  std::string out, err;
  bool timed_out = false;
  double seconds = 0;
};

struct RunOptions {
  std::map<std::string, std::string> env;  // added to (or replacing) the environment
  std::vector<std::string> unset_env;      // removed from the environment
  std::optional<std::string> stdin_data;   // nullopt: /dev/null
  double timeout_s = 60;
};

// Runs bin/<tool> from the build tree (or an absolute path) with `args`.
RunResult run_tool(const std::string& tool, const std::vector<std::string>& args, const RunOptions& options = {});

// Sets or unsets environment variables for the life of the object, then puts back
// what each variable was before its first change here.
class ScopedEnvironment {
 public:
  ScopedEnvironment() = default;
  ScopedEnvironment(const std::string& name, const std::string& value) { set(name, value); }
  ~ScopedEnvironment();
  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

  ScopedEnvironment& set(const std::string& name, const std::optional<std::string>& value);  // nullopt: unset
  ScopedEnvironment& set(const std::string& name, const char* value);  // nullptr: unset
  ScopedEnvironment& unset(const std::string& name) { return set(name, std::nullopt); }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;  // first value of each name
};

std::string fixture(const std::string& relative);  // tests/fixtures/<relative>
std::string fake(const std::string& file);         // <build>/tests/fakes/<file>
std::string read_file(const std::string& path);
std::string temp_dir();                             // a fresh directory for this test

// Compares `actual` with tests/fixtures/golden/<name>; GPUKIT_UPDATE_GOLDEN=1 rewrites it.
// Returns an empty string when they match, else a short diff description.
std::string compare_golden(const std::string& name, const std::string& actual);

// Validates a whole node document: the top level against document.schema.json and
// each present section against <section>.schema.json. Empty when valid, else the
// validator's messages.
std::string validate_document(const nlohmann::json& document);
// Validates `value` against share/gpukit/schema/<schema_file>.
std::string validate_against(const nlohmann::json& value, const std::string& schema_file);

// A grid proxy file made by openssl in `dir`: the proxy certificate (subject
// `dn` + "/CN=123456789", RFC 3820 proxyCertInfo, and a VOMS attribute
// certificate extension whose FQAN attribute lists `fqans`), its key, then the
// end-entity certificate of `dn`. "" when openssl is not installed.
// `with_eec` false leaves the end-entity certificate out.
std::string make_voms_proxy(const std::string& dir, const std::string& dn, const std::vector<std::string>& fqans,
                            bool with_eec = true);

}  // namespace gpukit::test
