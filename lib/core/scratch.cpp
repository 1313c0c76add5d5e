#include "core/scratch.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace gpukit {

namespace {

// Fixed storage, written under the mutex and read by the signal handler: a slot
// is published by setting its `used` flag after its path is complete.
struct Slot {
  std::atomic<bool> used{false};
  char path[max_scratch_path];
};
Slot slots[max_scratch_dirs];
std::mutex registry_mutex;
std::atomic<bool> closing{false};
bool hooks_installed = false;

// linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name.
constexpr long dirent_reclen_offset = 16;
constexpr long dirent_name_offset = 19;

// Async-signal-safe: open, getdents64, unlinkat, close, rmdir only.
void remove_flat_dir(const char* dir) {
  // Unlinking while listing may hide entries from the listing, and a writer may
  // add one before rmdir: list again until rmdir succeeds.
  for (int pass = 0; pass < 16; ++pass) {
    int fd = ::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    alignas(8) char buf[8192];
    for (;;) {
      long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        unsigned short reclen = 0;
        std::memcpy(&reclen, buf + off + dirent_reclen_offset, sizeof reclen);
        const char* name = buf + off + dirent_name_offset;
        off += reclen;
        if (reclen == 0) break;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        ::unlinkat(fd, name, 0);
      }
    }
    ::close(fd);
    if (::rmdir(dir) == 0 || errno == ENOENT) return;
  }
}

void remove_all_slots() {
  closing.store(true);
  for (auto& s : slots)
    if (s.used.load()) {
      remove_flat_dir(s.path);
      s.used.store(false);
    }
}

void on_signal(int sig) {
  const int saved = errno;
  remove_all_slots();
  errno = saved;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_hooks() {
  std::atexit(remove_scratch_dirs);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;  // keep a caller's own handler
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

bool register_scratch_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  if (closing.load() || dir.empty() || dir.size() >= static_cast<std::size_t>(max_scratch_path)) return false;
  if (!hooks_installed) {
    install_hooks();
    hooks_installed = true;
  }
  for (auto& s : slots)
    if (!s.used.load()) {
      std::memcpy(s.path, dir.c_str(), dir.size() + 1);
      s.used.store(true);
      return true;
    }
  return false;
}

void remove_scratch_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto& s : slots)
    if (s.used.load() && dir == s.path) {
      remove_flat_dir(s.path);
      s.used.store(false);
      return;
    }
  remove_flat_dir(dir.c_str());
}

bool scratch_closing() { return closing.load(); }

void remove_scratch_dirs() {
  // No lock: this also runs while an abandoned worker may hold it; the slots are atomics.
  remove_all_slots();
}

}  // namespace gpukit
