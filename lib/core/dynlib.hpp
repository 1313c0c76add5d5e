// Vendor libraries are opened at run time, never linked: a binary runs on nodes
// without them, with old ones, and with fakes in tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

class DynamicLibrary {
 public:
  // Opens the first of `sonames` that loads (dlopen with RTLD_NOW | RTLD_LOCAL).
  // When the environment variable `override_env` is set and non-empty, only that
  // path is tried. The error (ExitCode::environment) carries dlerror()'s text of
  // the last attempt.
  static Result<std::shared_ptr<DynamicLibrary>> open(const std::vector<std::string>& sonames,
                                                      const char* override_env = nullptr);

  ~DynamicLibrary();
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // The address of the first of `names` present (e.g. {"nvmlInit_v2", "nvmlInit"}),
  // or nullptr; a miss is recorded in missing_symbols().
  void* symbol(std::initializer_list<const char*> names);

  template <class F>
  F* function(std::initializer_list<const char*> names) {
    return reinterpret_cast<F*>(symbol(names));
  }

  // What was asked for and not found, first name of each request.
  const std::vector<std::string>& missing_symbols() const { return missing_; }
  // The name or path that was opened.
  const std::string& name() const { return name_; }
  // The file the dynamic linker resolved it to (from dlinfo), or name().
  std::string resolved_path() const;

 private:
  DynamicLibrary(void* handle, std::string name) : handle_(handle), name_(std::move(name)) {}
  void* handle_;
  std::string name_;
  std::vector<std::string> missing_;
};

}  // namespace gpukit
