#include "core/fsroot.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gpukit {

std::string fs_root() {
  const char* root = std::getenv("GPUKIT_SYSFS_ROOT");
  if (!root || !*root) return {};
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

std::string fs_path(const std::string& path) { return fs_root() + path; }

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

std::string trim(std::string_view text) {
  const char* ws = " \t\r\n\v\f";
  auto b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  auto e = text.find_last_not_of(ws);
  return std::string(text.substr(b, e - b + 1));
}

std::optional<std::string> read_first_line(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  auto nl = text->find('\n');
  return trim(std::string_view(*text).substr(0, nl));
}

std::optional<long long> read_integer_file(const std::string& path, int base) {
  auto line = read_first_line(path);
  if (!line || line->empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(line->c_str(), &end, base);
  if (end == line->c_str()) return std::nullopt;
  return v;
}

std::vector<std::string> list_directory(const std::string& path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace gpukit
