#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

extern char** environ;

namespace gpukit::test {

ScopedEnvironment::~ScopedEnvironment() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
    if (it->second) setenv(it->first.c_str(), it->second->c_str(), 1);
    else unsetenv(it->first.c_str());
  }
}

ScopedEnvironment& ScopedEnvironment::set(const std::string& name, const std::optional<std::string>& value) {
  bool seen = false;
  for (const auto& [n, v] : saved_) seen = seen || n == name;
  if (!seen) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
  }
  if (value) setenv(name.c_str(), value->c_str(), 1);
  else unsetenv(name.c_str());
  return *this;
}

ScopedEnvironment& ScopedEnvironment::set(const std::string& name, const char* value) {
  return set(name, value ? std::optional<std::string>(value) : std::nullopt);
}

std::string fixture(const std::string& relative) { return std::string(GPUKIT_TEST_FIXTURES) + "/" + relative; }
std::string fake(const std::string& file) { return std::string(GPUKIT_TEST_FAKES) + "/" + file; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "gpukit-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

RunResult run_tool(const std::string& tool, const std::vector<std::string>& args, const RunOptions& options) {
  std::string path = tool.find('/') != std::string::npos ? tool : std::string(GPUKIT_TEST_BINDIR) + "/" + tool;
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : options.unset_env) env.erase(k);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = {path};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    if (options.stdin_data) dup2(in_pipe[0], 0);
    else {
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
    }
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult r;
  std::string to_write = options.stdin_data.value_or("");
  size_t written = 0;
  if (!options.stdin_data || to_write.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  signal(SIGPIPE, SIG_IGN);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed > options.timeout_s) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out_pipe[0], POLLIN, 0};
    if (err_open) fds[n++] = {err_pipe[0], POLLIN, 0};
    if (in_pipe[1] >= 0) fds[n++] = {in_pipe[1], POLLOUT, 0};
    if (poll(fds, n, 100) <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_pipe[1]) {
        ssize_t w = write(in_pipe[1], to_write.data() + written, to_write.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == to_write.size()) {
          close(in_pipe[1]);
          in_pipe[1] = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      bool is_out = fds[i].fd == out_pipe[0];
      if (got <= 0) {
        (is_out ? out_open : err_open) = false;
      } else {
        (is_out ? r.out : r.err).append(buf, static_cast<size_t>(got));
      }
    }
  }
  if (in_pipe[1] >= 0) close(in_pipe[1]);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  return r;
}

std::string compare_golden(const std::string& name, const std::string& actual) {
  std::string path = fixture("golden/" + name);
  const char* update = std::getenv("GPUKIT_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    return {};
  }
  std::string expected;
  try {
    expected = read_file(path);
  } catch (const std::exception&) {
    return "golden file " + path + " is missing (run with GPUKIT_UPDATE_GOLDEN=1 to create it)";
  }
  if (expected == actual) return {};
  std::istringstream e(expected), a(actual);
  std::string el, al;
  for (int line = 1;; ++line) {
    bool he = static_cast<bool>(std::getline(e, el)), ha = static_cast<bool>(std::getline(a, al));
    if (!he && !ha) break;
    if (!he || !ha || el != al)
      return name + ": first difference at line " + std::to_string(line) + "\n  expected: " + (he ? el : "<end>") +
             "\n  actual:   " + (ha ? al : "<end>");
  }
  return name + ": differs";
}

std::string validate_against(const nlohmann::json& value, const std::string& schema_file) {
  std::string path = std::string(GPUKIT_TEST_SCHEMA_DIR) + "/" + schema_file;
  nlohmann::json schema_json;
  try {
    schema_json = nlohmann::json::parse(read_file(path));
  } catch (const std::exception& e) {
    return "cannot load schema " + path + ": " + e.what();
  }
  valijson::Schema schema;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_json);
  try {
    parser.populateSchema(schema_adapter, schema);
  } catch (const std::exception& e) {
    return "invalid schema " + path + ": " + e.what();
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  if (validator.validate(schema, target, &results)) return {};
  std::string messages;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string ctx;
    for (const auto& c : error.context) ctx += c;
    messages += schema_file + " " + ctx + ": " + error.description + "\n";
  }
  return messages.empty() ? schema_file + ": invalid" : messages;
}

std::string validate_document(const nlohmann::json& document) {
  std::string problems = validate_against(document, "document.schema.json");
  if (!document.is_object()) return problems;
  for (const auto& [key, value] : document.items()) {
    if (key == "schema") continue;
    std::string file = key + ".schema.json";
    if (!std::filesystem::exists(std::string(GPUKIT_TEST_SCHEMA_DIR) + "/" + file)) {
      problems += "no schema file for section '" + key + "'\n";
      continue;
    }
    problems += validate_against(value, file);
  }
  return problems;
}

namespace {

std::string der(unsigned char tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  std::size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    for (; n; n >>= 8) len.insert(len.begin(), static_cast<char>(n & 0xff));
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  return out + content;
}

std::string der_oid(const std::vector<unsigned long>& arcs) {
  std::string body(1, static_cast<char>(arcs[0] * 40 + arcs[1]));
  for (std::size_t i = 2; i < arcs.size(); ++i) {
    std::string enc;
    unsigned long v = arcs[i];
    enc.insert(enc.begin(), static_cast<char>(v & 0x7f));
    for (v >>= 7; v; v >>= 7) enc.insert(enc.begin(), static_cast<char>(0x80 | (v & 0x7f)));
    body += enc;
  }
  return der(0x06, body);
}

// A VOMS attribute certificate shaped as voms-proxy-init writes it (RFC 3281
// AttributeCertificate; the holder, issuer and signature are placeholders:
// nothing reads them).
std::string voms_ac_extension(const std::vector<std::string>& fqans) {
  std::string values;
  for (const auto& f : fqans) values += der(0x04, f);
  std::string ietf_attr = der(0x30, der(0xa0, der(0x86, "vo://voms.example.org:15000")) + der(0x30, values));
  std::string attribute = der(0x30, der_oid({1, 3, 6, 1, 4, 1, 8005, 100, 100, 4}) + der(0x31, ietf_attr));
  std::string sha256_rsa = der(0x30, der_oid({1, 2, 840, 113549, 1, 1, 11}) + der(0x05, ""));
  std::string validity = der(0x30, der(0x18, "20260101000000Z") + der(0x18, "20270101000000Z"));
  std::string acinfo = der(0x30, der(0x02, "\x01") + der(0x30, der(0xa0, der(0x30, ""))) + der(0xa0, der(0x30, "")) +
                                     sha256_rsa + der(0x02, "\x2a") + validity + der(0x30, attribute));
  std::string ac = der(0x30, acinfo + sha256_rsa + der(0x03, std::string("\x00\x01", 2)));
  return der(0x30, ac);
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

std::string make_voms_proxy(const std::string& dir, const std::string& dn, const std::vector<std::string>& fqans,
                            bool with_eec) {
  if (std::system("command -v openssl > /dev/null 2>&1") != 0) return "";
  const std::string req = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 ";
  std::string proxy_ext = "-addext 'proxyCertInfo=critical,language:id-ppl-inheritAll' ";
  if (!fqans.empty()) proxy_ext += "-addext '1.3.6.1.4.1.8005.100.100.5=DER:" + hex(voms_ac_extension(fqans)) + "' ";
  std::string commands = req + "-keyout " + dir + "/eec.key -out " + dir + "/eec.pem -subj '" + dn + "' 2>/dev/null && " +
                         req + proxy_ext + "-keyout " + dir + "/proxy.key -out " + dir + "/proxy.pem -subj '" + dn +
                         "/CN=123456789' 2>/dev/null && cat " + dir + "/proxy.pem " + dir + "/proxy.key " +
                         (with_eec ? dir + "/eec.pem " : std::string()) + "> " + dir + "/x509up";
  if (std::system(commands.c_str()) != 0) throw std::runtime_error("openssl could not make a test proxy: " + commands);
  return dir + "/x509up";
}

}  // namespace gpukit::test
