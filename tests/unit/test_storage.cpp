// gpubench's storage workloads (lib/bench/workloads_storage.cpp, storage_fs.cpp)
// and the scratch registry (lib/core/scratch.cpp): network filesystems are told
// apart by statfs's f_type, every block read is checked, nothing is left behind.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "bench/runner.hpp"
#include "bench/storage_fs.hpp"
#include "bench/workloads.hpp"
#include "core/scratch.hpp"
#include "test_support.hpp"

using namespace gpukit;

TEST_CASE("storage: network and cluster filesystems are told apart from local ones by f_type") {
  CHECK(network_filesystem(0x6969, "") == "nfs");
  CHECK(network_filesystem(0x6969, "nfs4") == "nfs4");
  CHECK(network_filesystem(0xFF534D42, "cifs") == "cifs");
  CHECK(network_filesystem(0xFE534D42, "") == "smb2");
  CHECK(network_filesystem(0x517B, "") == "smb");
  CHECK(network_filesystem(0x0BD00BD0, "lustre") == "lustre");
  CHECK(network_filesystem(0x47504653, "gpfs") == "gpfs");
  CHECK(network_filesystem(0x00C36400, "ceph") == "ceph");
  CHECK(network_filesystem(0x19830326, "beegfs") == "beegfs");
  CHECK(network_filesystem(0x65735546, "fuse.sshfs") == "fuse.sshfs");
  CHECK(network_filesystem(0x65735546, "") == "fuse");
  CHECK(network_filesystem(0x01021997, "9p") == "9p");
  CHECK(network_filesystem(0x5346414F, "") == "afs");
  // Local ones, whatever mountinfo says beside them.
  CHECK(network_filesystem(0xEF53, "ext4") == "");
  CHECK(network_filesystem(0x58465342, "xfs") == "");
  CHECK(network_filesystem(0x01021994, "tmpfs") == "");
  CHECK(network_filesystem(0x794C7630, "overlay") == "");
  CHECK(network_filesystem(0x9123683E, "btrfs") == "");
  // An f_type this table does not know: mountinfo's type decides.
  CHECK(network_filesystem(0x12345678, "glusterfs") == "glusterfs");
  CHECK(network_filesystem(0x12345678, "fuse.cvmfs2") == "fuse.cvmfs2");
  CHECK(network_filesystem(0x12345678, "weirdfs") == "");
}

TEST_CASE("storage: the mount of a path is the longest mount point on its device") {
  const std::string mi =
      "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
      "30 22 0:27 / /tmp rw,nosuid - tmpfs tmpfs rw,size=8g\n"
      "31 22 254:1 /srv /data rw - ext4 /dev/vda1 rw\n"
      "40 22 0:50 / /scratch rw shared:9 master:2 - nfs4 server:/export rw,vers=4.2\n";
  std::string type, mp, src;
  REQUIRE(find_mount(mi, "254:1", "/data/x", type, mp, src));
  CHECK(type == "ext4");
  CHECK(mp == "/data");
  REQUIRE(find_mount(mi, "0:50", "/scratch/job1", type, mp, src));
  CHECK(type == "nfs4");
  CHECK(src == "server:/export");
  CHECK(network_filesystem(0x6969, type) == "nfs4");
  CHECK_FALSE(find_mount(mi, "9:9", "/x", type, mp, src));
}

TEST_CASE("storage: a changed byte anywhere in a block fails the check and names the block") {
  std::vector<unsigned char> data(4 * 4096);
  std::vector<std::uint64_t> sums;
  for (std::uint64_t b = 0; b < 4; ++b) {
    detail::storage_fill_block(data.data() + b * 4096, 42, b);
    sums.push_back(detail::storage_checksum(data.data() + b * 4096));
  }
  CHECK(detail::storage_verify(sums, data.data(), 0, data.size()) == "");
  for (std::size_t at : {std::size_t{0}, std::size_t{4096 + 17}, std::size_t{3 * 4096 + 4095}}) {
    data[at] ^= 0x01;
    const std::string bad = detail::storage_verify(sums, data.data(), 0, data.size());
    CHECK(bad.find("block " + std::to_string(at / 4096) + " ") == 0);
    data[at] ^= 0x01;
  }
  // Another seed is other data.
  std::vector<unsigned char> other(4096);
  detail::storage_fill_block(other.data(), 43, 0);
  CHECK(detail::storage_checksum(other.data()) != sums[0]);
}

TEST_CASE("storage: a registered scratch directory goes with its files") {
  const std::string dir = test::temp_dir() + "/scratch";
  REQUIRE(std::filesystem::create_directory(dir));
  for (int i = 0; i < 300; ++i) std::ofstream(dir + "/f" + std::to_string(i)) << "x";
  REQUIRE(register_scratch_dir(dir));
  remove_scratch_dir(dir);
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("storage: the scratch directory's filesystem and device are named") {
  const std::string dir = test::temp_dir();
  auto fs = describe_filesystem(dir);
  REQUIRE(fs);
  CHECK_FALSE(fs->type.empty());
  CHECK(fs->device.find(':') != std::string::npos);
  CHECK(fs->total_bytes > 0);
  const json j = filesystem_json(*fs);
  CHECK(j["scratch"] == fs->path);
  CHECK(j["f_type"].get<std::string>().rfind("0x", 0) == 0);
  auto missing = check_scratch(dir + "/none", false, "--scratch");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().what().find("--scratch " + dir + "/none") != std::string::npos);
}

TEST_CASE("storage: each workload runs, checks what it read and leaves nothing behind") {
  const std::string dir = test::temp_dir();
  for (const char* kind : {"write", "read", "randread", "metadata"}) {
    WorkloadContext ctx;
    ctx.kind = "node";
    ctx.config.quick = true;
    ctx.config.repetitions = 1;
    ctx.config.warmup = 0;
    ctx.config.storage.scratch = dir;
    ctx.config.storage.max_bytes = 8 << 20;
    WorkloadEntry e{std::string("storage_") + kind, "storage", [kind] { return detail::make_storage_workload(kind); }, true};
    ResultRecord r = detail::measure(e, ctx, nullptr);
    INFO(kind, ": ", r.reason);
    CHECK(r.status == "ok");
    REQUIRE(r.value());
    CHECK(*r.value() > 0);
    CHECK(r.validation.passed);
    CHECK(r.validation.checked > 0);
    CHECK(r.problem_size["scratch"].is_string());
    CHECK(r.problem_size["device"].is_string());
    CHECK(std::filesystem::is_empty(dir));
  }
}
