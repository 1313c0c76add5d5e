// Units: parse and print sizes, bandwidths and durations the way people type them.
//   sizes:      "20GiB", "512M", "1.5TB", "4096"  (KiB/MiB/GiB/TiB and bare K/M/G/T are
//               powers of 1024, as in Slurm, HTCondor and ulimit; KB/MB/GB/TB are powers of 1000)
//   bandwidths: "1.5TB/s", "900GB/s", "25GiB/s" -> bytes per second
//   durations:  "90", "90s", "5m", "1.5h", "250ms" -> seconds
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/error.hpp"

namespace gpukit {

// A whole decimal integer of type T and nothing else ("42", "-7"; not "", " 4",
// "4x" or a value outside T). The checked replacement for std::stoi and
// friends, which throw on overflow and accept trailing text.
template <class T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || stop != end) return std::nullopt;
  return value;
}

Result<std::uint64_t> parse_bytes(std::string_view text);
Result<double> parse_bandwidth(std::string_view text);  // bytes/s
Result<double> parse_duration(std::string_view text);   // seconds

// Binary units with 1 decimal below 100 ("80.0 GiB", "512 MiB", "4 KiB").
std::string format_bytes(std::uint64_t bytes);
// Decimal units as in bandwidth_gbs ("3.35 TB/s", "900 GB/s").
std::string format_bandwidth(double bytes_per_second);
std::string format_duration(double seconds);

}  // namespace gpukit
