// Checked integer parsing (std::stoi and friends threw std::out_of_range on
// large numbers, which aborted the tools) and the readers that use it.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "core/document.hpp"
#include "core/units.hpp"
#include "probe/visible.hpp"
#include "test_support.hpp"

using namespace gpukit;

TEST_CASE("units: parse_integer takes a whole number in range and nothing else") {
  CHECK(parse_integer<int>("42") == 42);
  CHECK(parse_integer<int>("-7") == -7);
  CHECK(parse_integer<long long>("9223372036854775807") == std::numeric_limits<long long>::max());
  CHECK_FALSE(parse_integer<long long>("9223372036854775808"));
  CHECK_FALSE(parse_integer<int>("99999999999"));
  CHECK_FALSE(parse_integer<std::size_t>("-1"));
  CHECK_FALSE(parse_integer<std::uint64_t>("18446744073709551616"));
  for (const char* bad : {"", " 4", "4 ", "4x", "+4", "0x10", "1e3", "4.0"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_integer<int>(bad));
  }
}

TEST_CASE("visible: numbers beyond any range in CUDA_VISIBLE_DEVICES are no device, not an abort") {
  json gpus = json::parse(test::read_file(test::fixture("documents/nvidia_a100_mig.json")))["gpus"];
  using Env = std::map<std::string, std::string>;
  for (const std::string token : {"MIG-GPU-abc/99999999999999999999/1", "0:99999999999999999999", "99999999999999999999"}) {
    INFO(token);
    json v = visible_section(gpus, Env{{"CUDA_VISIBLE_DEVICES", token}});
    CHECK(v["devices"].empty());
    CHECK(v["problems"].size() == 1);
  }
}
