// Where the tools look for plugins and data: beside the executable, or where
// the environment says; never a build or source directory compiled in.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/paths.hpp"
#include "test_support.hpp"

using namespace gpukit;
using namespace gpukit::test;

TEST_CASE("paths: plugins only beside the executable unless GPUKIT_PLUGIN_PATH says otherwise") {
  ScopedEnvironment env;
  env.unset("GPUKIT_PLUGIN_PATH");
  auto dirs = plugin_directories();
  REQUIRE(dirs.size() == 1);
  CHECK(dirs[0].rfind(executable_directory() + "/", 0) == 0);
  // The build tree has the installed layout: this test's bin/ finds the build's plugin directory.
  CHECK(std::filesystem::path(dirs[0]).lexically_normal() ==
        std::filesystem::path(GPUKIT_TEST_PLUGINDIR).lexically_normal());
  env.set("GPUKIT_PLUGIN_PATH", "/a::/b:");
  CHECK(plugin_directories() == std::vector<std::string>{"/a", "/b"});
}

TEST_CASE("paths: data beside the executable unless GPUKIT_DATA_DIR says otherwise") {
  ScopedEnvironment env;
  env.unset("GPUKIT_DATA_DIR");
  auto dir = data_directory();
  REQUIRE_MESSAGE(dir.ok(), (dir.ok() ? "" : dir.error().what()));
  CHECK(std::filesystem::exists(*dir + "/hardware.json"));
  env.set("GPUKIT_DATA_DIR", "/nonexistent/gpukit");
  auto missing = data_directory();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().what() == "GPUKIT_DATA_DIR=/nonexistent/gpukit: directory does not exist");
}
