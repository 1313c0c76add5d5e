#include "match/cpuset.hpp"

#include <algorithm>
#include <charconv>

namespace gpukit {

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  // Files end in a newline; people put spaces after commas.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    std::size_t comma = text.find(',', pos);
    std::string_view part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    int lo = 0, hi = 0;
    auto dash = part.find('-');
    auto read = [](std::string_view s, int& v) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && end == s.data() + s.size() && v >= 0 && v < (1 << 20);
    };
    if (dash == std::string_view::npos) {
      if (!read(part, lo)) return usage_error("\"" + std::string(text) + "\" is not a CPU list");
      hi = lo;
    } else if (!read(part.substr(0, dash), lo) || !read(part.substr(dash + 1), hi) || hi < lo) {
      return usage_error("\"" + std::string(text) + "\" is not a CPU list");
    }
    if (cpus.size() + static_cast<std::size_t>(hi - lo) > (1u << 20)) return usage_error("CPU list too long");
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace gpukit
