#include "core/dynlib.hpp"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>

namespace gpukit {

Result<std::shared_ptr<DynamicLibrary>> DynamicLibrary::open(const std::vector<std::string>& sonames,
                                                             const char* override_env) {
  std::vector<std::string> candidates = sonames;
  if (override_env) {
    if (const char* path = std::getenv(override_env); path && *path) candidates = {path};
  }
  std::string last_error = "no library name given";
  for (const auto& name : candidates) {
    dlerror();
    if (void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return std::shared_ptr<DynamicLibrary>(new DynamicLibrary(h, name));
    const char* e = dlerror();
    last_error = e ? e : name + ": cannot be opened";
  }
  return environment_error(last_error);
}

DynamicLibrary::~DynamicLibrary() {
  // Vendor libraries start threads and register atexit handlers (NVML does);
  // unloading them can crash at exit, so the handle is kept for the process's life.
  (void)handle_;
}

void* DynamicLibrary::symbol(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    dlerror();
    void* p = dlsym(handle_, n);
    if (p && !dlerror()) return p;
  }
  if (names.size() > 0) missing_.emplace_back(*names.begin());
  return nullptr;
}

std::string DynamicLibrary::resolved_path() const {
  link_map* map = nullptr;
  if (dlinfo(handle_, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) return map->l_name;
  return name_;
}

}  // namespace gpukit
