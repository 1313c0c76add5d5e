// The storage workloads: sequential write with fsync, sequential read (O_DIRECT
// where the filesystem takes it, else buffered after dropping the page cache),
// random 4 KiB reads at queue depth 1, and file create/stat/remove, on the
// scratch directory. Every byte read is checked against the checksum of what was
// written. Data files are unlinked as soon as they are open, so they vanish with
// the process however it ends; the metadata files live in a directory the scratch
// registry (core/scratch.hpp) removes on every way out.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/storage_fs.hpp"
#include "bench/workloads.hpp"
#include "compute/kernels/common.cuh"
#include "core/fsroot.hpp"
#include "core/scratch.hpp"
#include "core/stats.hpp"
#include "core/units.hpp"

namespace gpukit::detail {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t block = 4096;              // checksum and random-read unit
constexpr std::size_t chunk = 4u << 20;          // sequential I/O size
constexpr std::uint64_t full_file = 1ull << 30;  // sequential file, full run
constexpr std::uint64_t quick_file = 64ull << 20;
constexpr std::uint64_t full_reads = 20000, quick_reads = 2000;
constexpr std::uint64_t full_files = 10000, quick_files = 1000;

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }
std::string sys_error(const std::string& what) { return what + ": " + std::strerror(errno); }

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<unsigned char[], AlignedFree>;
Buffer aligned_buffer(std::size_t bytes) {
  return Buffer(static_cast<unsigned char*>(std::aligned_alloc(block, bytes)));
}

void fill_block(unsigned char* p, std::uint64_t seed, std::uint64_t index) { storage_fill_block(p, seed, index); }
std::uint64_t checksum(const unsigned char* p) { return storage_checksum(p); }

// A directory of this run under the scratch directory, removed on every way out.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> create(const std::string& scratch) {
    std::string pattern = scratch + "/gpubench-storage.XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back(0);
    if (!::mkdtemp(buf.data())) return environment_error(sys_error("mkdtemp " + pattern));
    auto dir = std::unique_ptr<ScratchDir>(new ScratchDir(buf.data()));
    if (!register_scratch_dir(dir->path_)) {
      ::rmdir(dir->path_.c_str());
      dir->path_.clear();
      return environment_error("the scratch registry is full or closing");
    }
    return dir;
  }
  ~ScratchDir() {
    if (!path_.empty()) remove_scratch_dir(path_);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// An open data file whose name is already gone.
struct DataFile {
  int fd = -1;
  std::uint64_t bytes = 0;
  std::vector<std::uint64_t> sums;  // one per block
  ~DataFile() {
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<DataFile>> open_anonymous(const ScratchDir& dir, std::uint64_t bytes) {
  if (scratch_closing()) return deadline_error("the scratch directory is being removed");
  const std::string path = dir.path() + "/data";
  auto f = std::make_unique<DataFile>();
  f->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (f->fd < 0) return environment_error(sys_error("open " + path));
  ::unlink(path.c_str());
  f->bytes = bytes;
  f->sums.resize(bytes / block);
  return f;
}

// Writes the file's data of `seed` chunk by chunk, then fsync; returns the
// seconds spent in write() and fsync() (filling the buffer is not timed).
Result<double> write_data(DataFile& f, std::uint64_t seed, unsigned char* buf) {
  double seconds = 0;
  if (::ftruncate(f.fd, 0) != 0 || ::lseek(f.fd, 0, SEEK_SET) != 0) return environment_error(sys_error("truncate"));
  for (std::uint64_t off = 0; off < f.bytes; off += chunk) {
    if (scratch_closing()) return deadline_error("the scratch directory is being removed");
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, f.bytes - off));
    for (std::size_t b = 0; b < n / block; ++b) {
      fill_block(buf + b * block, seed, off / block + b);
      f.sums[off / block + b] = checksum(buf + b * block);
    }
    const auto t = clock_type::now();
    for (std::size_t done = 0; done < n;) {
      ssize_t w = ::write(f.fd, buf + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return environment_error(sys_error("write at byte " + std::to_string(off + done)));
      done += static_cast<std::size_t>(w);
    }
    seconds += since(t);
  }
  const auto t = clock_type::now();
  if (::fsync(f.fd) != 0) return environment_error(sys_error("fsync"));
  return seconds + since(t);
}

std::string verify(const DataFile& f, const unsigned char* buf, std::uint64_t off, std::size_t n) {
  return storage_verify(f.sums, buf, off, n);
}

ssize_t read_full(int fd, unsigned char* buf, std::size_t n, std::uint64_t off) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return r;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// Drops the file's pages from the page cache and says how far that worked.
std::string drop_cache(const DataFile& f) {
  if (int e = ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED); e != 0)
    return std::string("the page cache could not be dropped (posix_fadvise: ") + std::strerror(e) + ")";
  void* map = ::mmap(nullptr, f.bytes, PROT_READ, MAP_SHARED, f.fd, 0);
  if (map == MAP_FAILED) return "page cache dropped (POSIX_FADV_DONTNEED; residency not checked: mmap failed)";
  std::vector<unsigned char> resident((f.bytes + block - 1) / block);
  std::string note;
  if (::mincore(map, f.bytes, resident.data()) == 0) {
    std::size_t in = 0;
    for (unsigned char r : resident) in += r & 1;
    const double share = static_cast<double>(in) / static_cast<double>(resident.size());
    char b[160];
    if (share < 0.05)
      std::snprintf(b, sizeof b, "page cache dropped (POSIX_FADV_DONTNEED; %.1f %% resident after)", share * 100);
    else
      std::snprintf(b, sizeof b, "the page cache could not be dropped (%.1f %% still resident after POSIX_FADV_DONTNEED): "
                    "reads may come from memory", share * 100);
    note = b;
  } else {
    note = "page cache dropped (POSIX_FADV_DONTNEED; residency not checked: mincore failed)";
  }
  ::munmap(map, f.bytes);
  return note;
}

// O_DIRECT on the open file when the filesystem takes it (a test read decides).
bool try_direct(const DataFile& f, unsigned char* buf) {
  const int flags = ::fcntl(f.fd, F_GETFL);
  if (flags < 0 || ::fcntl(f.fd, F_SETFL, flags | O_DIRECT) != 0) return false;
  if (::pread(f.fd, buf, block, 0) == static_cast<ssize_t>(block)) return true;
  ::fcntl(f.fd, F_SETFL, flags);
  return false;
}

class StorageWorkload : public Workload {
 public:
  explicit StorageWorkload(std::string kind) : kind_(std::move(kind)) {}
  std::string name() const override { return "storage_" + kind_; }
  std::string family() const override { return "storage"; }
  std::string unit() const override {
    if (kind_ == "randread") return "IOPS";
    if (kind_ == "metadata") return "ops/s";
    return "GB/s";
  }
  bool additive() const override { return false; }
  std::string unsupported(const WorkloadContext& ctx) const override { return ctx.config.storage.unusable; }

  Status prepare(WorkloadContext& ctx) override {
    const StorageConfig& sc = ctx.config.storage;
    auto fs = describe_filesystem(sc.scratch);
    if (!fs) return fs.error();
    fs_ = *fs;
    budget_ = sc.max_bytes ? sc.max_bytes
                           : std::min<std::uint64_t>(static_cast<std::uint64_t>(static_cast<double>(fs_.free_bytes) *
                                                                                 default_storage_share),
                                                     default_storage_cap);
    auto dir = ScratchDir::create(sc.scratch);
    if (!dir) return dir.error();
    dir_ = std::move(*dir);
    if (kind_ == "metadata") {
      files_ = ctx.config.quick ? quick_files : full_files;
      return {};
    }
    reads_ = ctx.config.quick ? quick_reads : full_reads;
    bytes_ = std::min<std::uint64_t>(budget_, ctx.config.quick ? quick_file : full_file);
    bytes_ -= bytes_ % block;
    if (bytes_ < block) return usage_error("--max-storage leaves less than one 4 KiB block", "--max-storage");
    buf_ = aligned_buffer(chunk);
    if (!buf_) return environment_error("cannot allocate the I/O buffer");
    if (kind_ == "write") return {};
    // read, randread: one file written now, read by every repetition.
    auto f = open_anonymous(*dir_, bytes_);
    if (!f) return f.error();
    file_ = std::move(*f);
    if (auto w = write_data(*file_, ctx.config.seed, buf_.get()); !w) return w.error();
    direct_ = try_direct(*file_, buf_.get());
    return {};
  }

  Result<Measurement> run(WorkloadContext&, std::uint64_t seed) override {
    if (kind_ == "write") return run_write(seed);
    if (kind_ == "read") return run_read();
    if (kind_ == "randread") return run_randread(seed);
    return run_metadata();
  }

  Status sustain(WorkloadContext&, double) override { return {}; }

  json problem_size() const override {
    json j = filesystem_json(fs_);
    j["max_storage_bytes"] = budget_;
    if (kind_ == "metadata") {
      j["files"] = files_;
    } else {
      j["file_bytes"] = bytes_;
      j["io_bytes"] = kind_ == "randread" ? block : chunk;
    }
    if (kind_ == "randread") j["queue_depth"] = 1;
    return j;
  }

  json details() const override {
    json j = json::object();
    if (kind_ == "read" || kind_ == "randread")
      j["io"] = direct_ ? "O_DIRECT (the page cache is bypassed)" : "buffered: " + cache_note_;
    if (kind_ == "write") j["io"] = "buffered write() of 4 MiB chunks, then fsync(); filling the buffer is not timed";
    if (kind_ == "randread" && !latencies_.empty()) {
      std::vector<double> l = latencies_;
      std::sort(l.begin(), l.end());
      auto pct = [&](double p) { return l[static_cast<std::size_t>(p * static_cast<double>(l.size() - 1))] * 1e6; };
      j["latency_us"] = {{"p50", pct(0.50)}, {"p99", pct(0.99)}, {"max", l.back() * 1e6}, {"reads", l.size()}};
    }
    if (kind_ == "metadata") j["rates_per_s"] = {{"create", rates_[0]}, {"stat", rates_[1]}, {"remove", rates_[2]}};
    return j;
  }

  void release(WorkloadContext&) override {
    file_.reset();
    dir_.reset();
    buf_.reset();
  }

 private:
  Result<Measurement> run_write(std::uint64_t seed) {
    auto f = open_anonymous(*dir_, bytes_);
    if (!f) return f.error();
    auto seconds = write_data(**f, seed, buf_.get());
    if (!seconds) return seconds.error();
    Measurement m;
    m.seconds = *seconds;
    m.value = static_cast<double>(bytes_) / *seconds / 1e9;
    // Read back what reached the file (not from the cache where it can be dropped).
    drop_cache(**f);
    m.validation = read_back(**f, "every block read back after fsync against the checksum of what was written");
    return m;
  }

  Validation read_back(DataFile& f, const std::string& method) {
    Validation v;
    v.method = method;
    for (std::uint64_t off = 0; off < f.bytes && v.passed; off += chunk) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, f.bytes - off));
      if (read_full(f.fd, buf_.get(), n, off) != static_cast<ssize_t>(n)) {
        v.passed = false;
        v.detail = sys_error("read back at byte " + std::to_string(off));
        break;
      }
      if (auto bad = verify(f, buf_.get(), off, n); !bad.empty()) {
        v.passed = false;
        v.detail = bad;
      }
      v.checked += n / block;
    }
    return v;
  }

  Result<Measurement> run_read() {
    if (!direct_) cache_note_ = drop_cache(*file_);
    Measurement m;
    m.validation.method = "every block against the checksum of what was written";
    double seconds = 0;
    for (std::uint64_t off = 0; off < bytes_; off += chunk) {
      if (scratch_closing()) return deadline_error("the scratch directory is being removed");
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, bytes_ - off));
      const auto t = clock_type::now();
      const ssize_t r = read_full(file_->fd, buf_.get(), n, off);
      seconds += since(t);
      if (r != static_cast<ssize_t>(n)) return environment_error(sys_error("read at byte " + std::to_string(off)));
      m.validation.checked += n / block;
      if (auto bad = verify(*file_, buf_.get(), off, n); !bad.empty()) {
        m.validation.passed = false;
        m.validation.detail = bad;
        break;
      }
    }
    m.seconds = seconds;
    m.value = static_cast<double>(bytes_) / seconds / 1e9;
    return m;
  }

  Result<Measurement> run_randread(std::uint64_t seed) {
    if (!direct_) cache_note_ = drop_cache(*file_);
    const std::uint64_t blocks = bytes_ / block;
    Measurement m;
    m.validation.method = "every block read against the checksum of what was written";
    double seconds = 0;
    for (std::uint64_t i = 0; i < reads_; ++i) {
      if (scratch_closing()) return deadline_error("the scratch directory is being removed");
      const std::uint64_t b = kernels::mix64(seed + i) % blocks;
      const auto t = clock_type::now();
      const ssize_t r = read_full(file_->fd, buf_.get(), block, b * block);
      const double s = since(t);
      if (r != static_cast<ssize_t>(block)) return environment_error(sys_error("read of block " + std::to_string(b)));
      seconds += s;
      latencies_.push_back(s);
      ++m.validation.checked;
      if (auto bad = verify(*file_, buf_.get(), b * block, block); !bad.empty()) {
        m.validation.passed = false;
        m.validation.detail = bad;
        break;
      }
    }
    m.seconds = seconds / static_cast<double>(reads_);
    m.value = static_cast<double>(reads_) / seconds;
    return m;
  }

  Result<Measurement> run_metadata() {
    std::vector<std::string> names(files_);
    for (std::uint64_t i = 0; i < files_; ++i) names[i] = dir_->path() + "/f" + std::to_string(i);
    Measurement m;
    m.validation.method = "each file stat()s as an empty regular file with its own inode; the directory is empty after";
    auto t = clock_type::now();
    for (const auto& n : names) {
      if (scratch_closing()) return deadline_error("the scratch directory is being removed");
      const int fd = ::open(n.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return environment_error(sys_error("create " + n));
      ::close(fd);
    }
    const double create_s = since(t);
    std::vector<ino_t> inodes;
    inodes.reserve(files_);
    t = clock_type::now();
    for (const auto& n : names) {
      struct stat st {};
      if (::stat(n.c_str(), &st) != 0) return environment_error(sys_error("stat " + n));
      if (!S_ISREG(st.st_mode) || st.st_size != 0) {
        m.validation.passed = false;
        m.validation.detail = n + " is not the empty regular file just created";
      }
      inodes.push_back(st.st_ino);
    }
    const double stat_s = since(t);
    t = clock_type::now();
    for (const auto& n : names)
      if (::unlink(n.c_str()) != 0) return environment_error(sys_error("remove " + n));
    const double remove_s = since(t);
    std::sort(inodes.begin(), inodes.end());
    if (std::adjacent_find(inodes.begin(), inodes.end()) != inodes.end() && m.validation.passed) {
      m.validation.passed = false;
      m.validation.detail = "two files share an inode";
    }
    if (!list_directory(dir_->path()).empty()) {
      m.validation.passed = false;
      m.validation.detail = "the directory is not empty after removing every file";
    }
    m.validation.checked = files_;
    const double total = create_s + stat_s + remove_s;
    rates_ = {static_cast<double>(files_) / create_s, static_cast<double>(files_) / stat_s,
              static_cast<double>(files_) / remove_s};
    m.seconds = total;
    m.value = 3.0 * static_cast<double>(files_) / total;
    return m;
  }

  std::string kind_;
  FilesystemInfo fs_;
  std::uint64_t budget_ = 0, bytes_ = 0, files_ = 0, reads_ = 0;
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<DataFile> file_;
  Buffer buf_;
  bool direct_ = false;
  std::string cache_note_;
  std::vector<double> latencies_;
  std::array<double, 3> rates_{};
};

}  // namespace

void storage_fill_block(unsigned char* p, std::uint64_t seed, std::uint64_t index) {
  for (std::size_t w = 0; w < block / 8; ++w) {
    const std::uint64_t v = kernels::mix64(seed ^ (index * 0x9e3779b97f4a7c15ULL + w));
    std::memcpy(p + w * 8, &v, 8);
  }
}

std::uint64_t storage_checksum(const unsigned char* p) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t w = 0; w < block / 8; ++w) {
    std::uint64_t v;
    std::memcpy(&v, p + w * 8, 8);
    h = kernels::mix64(h ^ v);
  }
  return h;
}

std::string storage_verify(const std::vector<std::uint64_t>& sums, const unsigned char* buf, std::uint64_t off,
                           std::size_t n) {
  for (std::size_t b = 0; b < n / block; ++b)
    if (storage_checksum(buf + b * block) != sums[off / block + b])
      return "block " + std::to_string(off / block + b) + " (bytes " + std::to_string(off + b * block) + " to " +
             std::to_string(off + (b + 1) * block - 1) + ") does not match the checksum of what was written";
  return "";
}

std::unique_ptr<Workload> make_storage_workload(const std::string& kind) {
  return std::make_unique<StorageWorkload>(kind);
}

}  // namespace gpukit::detail
