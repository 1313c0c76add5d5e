#include "bench/storage_fs.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "core/fsroot.hpp"

namespace gpukit {

namespace {

struct Magic {
  std::uint64_t value;
  const char* name;
  bool network;
};

// linux/magic.h and the filesystems' own headers (Lustre, GPFS, BeeGFS, CephFS).
constexpr std::array<Magic, 24> magics{{
    {0x6969, "nfs", true},           {0x517B, "smb", true},          {0xFF534D42, "cifs", true},
    {0xFE534D42, "smb2", true},      {0x0BD00BD0, "lustre", true},   {0x47504653, "gpfs", true},
    {0x00C36400, "cephfs", true},    {0x19830326, "beegfs", true},   {0x65735546, "fuse", true},
    {0x5346414F, "afs", true},       {0x6B414653, "kafs", true},     {0x01021997, "9p", true},
    {0x73757245, "coda", true},      {0x564C, "ncp", true},          {0x7461636F, "ocfs2", true},
    {0x01161970, "gfs2", true},      {0xEF53, "ext4", false},        {0x58465342, "xfs", false},
    {0x9123683E, "btrfs", false},    {0x01021994, "tmpfs", false},   {0x794C7630, "overlay", false},
    {0x2FC12FC1, "zfs", false},      {0xF2F52010, "f2fs", false},    {0x4D44, "vfat", false},
}};

// Cluster and network types by the name mountinfo gives (fuse subtypes such as
// fuse.sshfs, fuse.glusterfs, fuse.cvmfs all count as network: a daemon serves them).
bool network_type_name(const std::string& t) {
  static const char* names[] = {"nfs",    "nfs4",  "cifs",   "smb3",  "smbfs", "lustre", "gpfs", "ceph",
                                "beegfs", "afs",   "9p",     "coda",  "ncpfs", "ocfs2",  "gfs2", "glusterfs",
                                "fuse",   "pvfs2", "orangefs", "panfs", "wekafs", "virtiofs"};
  for (const char* n : names)
    if (t == n) return true;
  return t.rfind("fuse.", 0) == 0 || t.rfind("fuseblk", 0) == 0;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

std::string network_filesystem(std::uint64_t f_type, const std::string& mount_type) {
  for (const auto& m : magics)
    if (m.value == f_type) {
      if (m.network) return mount_type.empty() ? std::string(m.name) : mount_type;
      return "";
    }
  if (!mount_type.empty() && network_type_name(mount_type)) return mount_type;
  return "";
}

bool find_mount(const std::string& mountinfo, const std::string& dev, const std::string& path, std::string& type,
                std::string& mount_point, std::string& source) {
  std::istringstream lines(mountinfo);
  std::string line;
  std::size_t best = 0;
  bool found = false;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, mp;
    if (!(f >> id >> parent >> majmin >> root >> mp) || majmin != dev) continue;
    std::string word;
    while (f >> word && word != "-") {}
    std::string fstype, src;
    if (!(f >> fstype >> src)) continue;
    const bool under = path == mp || mp == "/" || path.rfind(mp + "/", 0) == 0;
    if (!under || (found && mp.size() < best)) continue;
    best = mp.size();
    found = true;
    type = fstype;
    mount_point = mp;
    source = src;
  }
  return found;
}

Result<FilesystemInfo> describe_filesystem(const std::string& dir) {
  FilesystemInfo fs;
  char resolved[PATH_MAX];
  if (!::realpath(dir.c_str(), resolved)) return usage_error(errno_text(errno), dir);
  fs.path = resolved;
  struct stat st {};
  if (::stat(fs.path.c_str(), &st) != 0) return usage_error(errno_text(errno), dir);
  if (!S_ISDIR(st.st_mode)) return usage_error("not a directory", dir);
  struct statfs sf {};
  if (::statfs(fs.path.c_str(), &sf) != 0) return usage_error("statfs: " + errno_text(errno), dir);
  fs.magic = static_cast<std::uint64_t>(static_cast<unsigned long>(sf.f_type));
  struct statvfs sv {};
  if (::statvfs(fs.path.c_str(), &sv) == 0) {
    fs.free_bytes = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
    fs.total_bytes = static_cast<std::uint64_t>(sv.f_blocks) * sv.f_frsize;
  }
  fs.device = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  // The real /proc and /sys, not GPUKIT_SYSFS_ROOT: st_dev is this machine's.
  if (auto mi = read_text_file("/proc/self/mountinfo"))
    find_mount(*mi, fs.device, fs.path, fs.type, fs.mount_point, fs.mount_source);
  if (fs.type.empty())
    for (const auto& m : magics)
      if (m.value == fs.magic) fs.type = m.name;
  const std::string sys = "/sys/dev/block/" + fs.device;
  char link[PATH_MAX];
  if (ssize_t n = ::readlink(sys.c_str(), link, sizeof link - 1); n > 0) {
    link[n] = 0;
    std::string target = link;
    fs.block_device = target.substr(target.find_last_of('/') + 1);
    // A partition's model is its parent disk's.
    for (const char* m : {"/device/model", "/../device/model"})
      if (auto model = read_first_line(sys + m); model && !model->empty()) {
        fs.model = *model;
        break;
      }
  }
  fs.network = network_filesystem(fs.magic, fs.type);
  return fs;
}

json filesystem_json(const FilesystemInfo& fs) {
  auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  char magic[24];
  std::snprintf(magic, sizeof magic, "0x%llx", static_cast<unsigned long long>(fs.magic));
  return json{{"scratch", fs.path},
              {"filesystem", text(fs.type)},
              {"f_type", magic},
              {"mount_point", text(fs.mount_point)},
              {"mount_source", text(fs.mount_source)},
              {"device", fs.device},
              {"block_device", text(fs.block_device)},
              {"model", text(fs.model)},
              {"network", !fs.network.empty()},
              {"free_bytes", fs.free_bytes},
              {"total_bytes", fs.total_bytes}};
}

Result<FilesystemInfo> check_scratch(const std::string& dir, bool allow_network, const std::string& option) {
  auto fs = describe_filesystem(dir);
  if (!fs) return usage_error(fs.error().message, option + " " + dir);
  if (!fs->network.empty() && !allow_network)
    return usage_error("on a network filesystem (" + fs->network + " at " + fs->mount_point +
                           "): its figures would measure the network and its server; refused without "
                           "--allow-network-scratch",
                       option + " " + dir);
  std::string probe = fs->path + "/gpubench-probe.XXXXXX";
  std::vector<char> buf(probe.begin(), probe.end());
  buf.push_back(0);
  if (!::mkdtemp(buf.data()))
    return usage_error("cannot create files there: " + errno_text(errno), option + " " + dir);
  ::rmdir(buf.data());
  return fs;
}

}  // namespace gpukit
