// Where gpubench's storage workloads write: the scratch directory's filesystem
// and device, named in every storage figure, and the checks made before any
// byte is written (a network filesystem is refused unless asked for).
#pragma once

#include <cstdint>
#include <string>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

struct FilesystemInfo {
  std::string path;            // the scratch directory, resolved
  std::string type;            // mountinfo's fstype ("ext4", "tmpfs", "fuse.sshfs"), else the f_type's name
  std::uint64_t magic = 0;     // statfs f_type
  std::string mount_point, mount_source;
  std::string device;          // st_dev as "MAJ:MIN"
  std::string block_device;    // name under /sys/dev/block ("nvme0n1p2"; "" for a virtual filesystem)
  std::string model;           // the disk's model when sysfs has one
  std::string network;         // the network filesystem's name ("" when local)
  std::uint64_t free_bytes = 0, total_bytes = 0;  // statvfs: f_bavail, f_blocks x f_frsize
};

// The network or cluster filesystem that statfs's f_type (or the mountinfo
// type, for fuse and its subtypes) names: "nfs", "cifs", "smb2", "lustre",
// "gpfs", "cephfs", "beegfs", "fuse", "afs", "9p", ...; "" for a local one.
std::string network_filesystem(std::uint64_t f_type, const std::string& mount_type);

// The mountinfo line of the mount holding `path` on device `maj:min` (the
// longest matching mount point): type, mount point, source. False when none.
bool find_mount(const std::string& mountinfo, const std::string& dev, const std::string& path, std::string& type,
                std::string& mount_point, std::string& source);

// statfs, statvfs, stat, /proc/self/mountinfo and /sys/dev/block of `dir`.
Result<FilesystemInfo> describe_filesystem(const std::string& dir);
json filesystem_json(const FilesystemInfo& fs);

// Default --max-storage: this share of the free space, at most the cap.
inline constexpr double default_storage_share = 0.10;
inline constexpr std::uint64_t default_storage_cap = 4ull << 30;

// Everything a storage run needs to know before it writes: the scratch
// directory exists, is writable (a probe directory is created and removed), and
// is local unless `allow_network`. Errors name `option` ("--scratch").
Result<FilesystemInfo> check_scratch(const std::string& dir, bool allow_network, const std::string& option);

}  // namespace gpukit
