/* LD_PRELOAD shim for scripts/hostile-input: truncates the file named by
 * HOSTILE_TRUNCATE_PATH to zero bytes right after the tool has mapped it or has
 * read its first block, so "a file truncated while being read" happens at the same
 * point in every run instead of by a race. The first read of that file is capped
 * at 4096 bytes (a short read is legal for any read(2)), so a reader that loops
 * meets the truncation halfway. When it has truncated, it creates the file named by
 * HOSTILE_TRUNCATE_MARK, so the script knows the case tested something. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

static int done;

static int is_target(int fd) {
  const char* target = getenv("HOSTILE_TRUNCATE_PATH");
  if (done || !target || fd < 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  return strcmp(path, target) == 0;
}

static void truncate_target(void) {
  const char* target = getenv("HOSTILE_TRUNCATE_PATH");
  const char* mark = getenv("HOSTILE_TRUNCATE_MARK");
  done = 1;
  if (truncate(target, 0) == 0 && mark) {
    int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
  }
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  static void* (*real)(void*, size_t, int, int, int, off_t);
  if (!real) real = (void* (*)(void*, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
  void* p = real(addr, length, prot, flags, fd, offset);
  if (p != MAP_FAILED && is_target(fd)) truncate_target();
  return p;
}

void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return mmap(addr, length, prot, flags, fd, offset);
}

ssize_t read(int fd, void* buf, size_t count) {
  static ssize_t (*real)(int, void*, size_t);
  if (!real) real = (ssize_t (*)(int, void*, size_t))dlsym(RTLD_NEXT, "read");
  if (!is_target(fd)) return real(fd, buf, count);
  ssize_t n = real(fd, buf, count < 4096 ? count : 4096);
  if (n > 0) truncate_target();
  return n;
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  static ssize_t (*real)(int, void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, void*, size_t, off_t))dlsym(RTLD_NEXT, "pread");
  if (!is_target(fd)) return real(fd, buf, count, offset);
  ssize_t n = real(fd, buf, count < 4096 ? count : 4096, offset);
  if (n > 0) truncate_target();
  return n;
}

ssize_t pread64(int fd, void* buf, size_t count, off_t offset) { return pread(fd, buf, count, offset); }
