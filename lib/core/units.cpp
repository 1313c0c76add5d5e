#include "core/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace gpukit {

namespace {

struct Number {
  double value;
  std::string_view suffix;
};

Result<Number> split_number(std::string_view text, const char* what) {
  std::string s(text);
  const char* begin = s.c_str();
  while (*begin == ' ') ++begin;
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v))
    return usage_error("\"" + s + "\" is not a " + what);
  if (v < 0) return usage_error("\"" + s + "\" is negative; expected a " + std::string(what));
  std::string_view suffix = text.substr(static_cast<size_t>(end - s.c_str()));
  while (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  while (!suffix.empty() && suffix.back() == ' ') suffix.remove_suffix(1);
  return Number{v, suffix};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Multiplier for a size suffix, 0 when unknown.
double size_multiplier(std::string_view suffix) {
  if (suffix.empty() || iequals(suffix, "b")) return 1;
  static const char prefixes[] = "kmgtpe";
  char p = static_cast<char>(std::tolower(static_cast<unsigned char>(suffix[0])));
  const char* at = std::char_traits<char>::find(prefixes, 6, p);
  if (!at) return 0;
  int power = static_cast<int>(at - prefixes) + 1;
  std::string_view rest = suffix.substr(1);
  if (rest.empty() || iequals(rest, "i") || iequals(rest, "ib")) return std::pow(1024.0, power);
  if (iequals(rest, "b")) return std::pow(1000.0, power);
  return 0;
}

}  // namespace

Result<std::uint64_t> parse_bytes(std::string_view text) {
  auto n = split_number(text, "size");
  if (!n) return n.error();
  double m = size_multiplier(n->suffix);
  if (m == 0) return usage_error("\"" + std::string(text) + "\": unknown size unit \"" + std::string(n->suffix) + "\"");
  double bytes = std::round(n->value * m);
  if (bytes >= 18446744073709551615.0) return usage_error("\"" + std::string(text) + "\" is too large");
  return static_cast<std::uint64_t>(bytes);
}

Result<double> parse_bandwidth(std::string_view text) {
  auto n = split_number(text, "bandwidth");
  if (!n) return n.error();
  std::string_view suffix = n->suffix;
  if (suffix.size() < 2 || !(suffix.substr(suffix.size() - 2) == "/s"))
    return usage_error("\"" + std::string(text) + "\": a bandwidth needs a unit such as GB/s");
  double m = size_multiplier(suffix.substr(0, suffix.size() - 2));
  if (m == 0) return usage_error("\"" + std::string(text) + "\": unknown bandwidth unit");
  return n->value * m;
}

Result<double> parse_duration(std::string_view text) {
  auto n = split_number(text, "duration");
  if (!n) return n.error();
  std::string_view s = n->suffix;
  double m = 0;
  if (s.empty() || s == "s") m = 1;
  else if (s == "ms") m = 1e-3;
  else if (s == "us") m = 1e-6;
  else if (s == "m" || s == "min") m = 60;
  else if (s == "h") m = 3600;
  else if (s == "d") m = 86400;
  if (m == 0) return usage_error("\"" + std::string(text) + "\": unknown time unit \"" + std::string(s) + "\"");
  return n->value * m;
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0 || v >= 100 || v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string format_bandwidth(double bps) {
  static const char* units[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s"};
  double v = bps;
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : "%.3g %s", v, units[u]);
  return buf;
}

std::string format_duration(double s) {
  char buf[48];
  if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.3g us", s * 1e6);
  else if (s < 1) std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.3g s", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  else std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  return buf;
}

}  // namespace gpukit
