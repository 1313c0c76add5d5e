// Payload inspection: fatbins and offload bundles built byte by byte (every
// flag, every truncation), and real binaries built by nvcc and hipcc.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "match/fatbin.hpp"
#include "match/payload.hpp"
#include "match_test_support.hpp"

using namespace gpukit;
using namespace gpukit::test;

namespace {

std::vector<CudaCodeEntry> entries_of(const std::vector<unsigned char>& bytes) {
  std::vector<CudaCodeEntry> out;
  auto st = parse_fatbins({bytes.data(), bytes.size()}, "test", out);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().what()));
  return out;
}

// A test case that needs a payload calls this first, before any check: its
// "skipped:" message marks the whole test skipped in CTest
// (SKIP_REGULAR_EXPRESSION in tests/unit/CMakeLists.txt), never passed.
bool have(const std::string& name) {
  if (std::filesystem::exists(payload_path(name))) return true;
  MESSAGE("skipped: test payload " << name << " was not built (nvcc or hipcc missing; scripts/setup installs hipcc)");
  return false;
}

PayloadInfo inspect(const std::string& name) {
  auto p = inspect_payload(payload_path(name));
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().what()));
  return *p;
}

std::vector<std::string> targets(const PayloadInfo& p) {
  std::vector<std::string> t;
  for (const auto& e : p.cuda) t.push_back(e.kind + ":" + e.target());
  for (const auto& e : p.hip) t.push_back("hip:" + e.target_id);
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

}  // namespace

TEST_CASE("match payload: fatbin entries, kinds and flags") {
  FatbinEntry sass;  // sm_80, uncompressed
  FatbinEntry ptx{1, 80, 9, 0, 0x8011};
  FatbinEntry sm90a{2, 90, 0, 0, 0x100011};
  FatbinEntry ptx100f{1, 100, 8, 8, 0x208011};
  FatbinEntry lz4{2, 86, 0, 0, 0x2011};
  auto e = entries_of(make_fatbin({sass, ptx, sm90a, ptx100f, lz4}));
  REQUIRE(e.size() == 5);
  CHECK(e[0].kind == "sass");
  CHECK(e[0].target() == "sm_80");
  CHECK(e[0].compression == "none");
  CHECK(e[0].size_bytes == 32);
  CHECK(e[1].kind == "ptx");
  CHECK(e[1].target() == "compute_80");
  CHECK(*e[1].ptx_isa_major == 9);
  CHECK(*e[1].ptx_isa_minor == 0);
  CHECK(e[1].compression == "zstd");
  CHECK(e[2].target() == "sm_90a");
  CHECK(e[3].target() == "compute_100f");
  CHECK(*e[3].ptx_isa_minor == 8);
  CHECK(e[4].compression == "lz4");
  CHECK(e[4].cc_major() == 8);
  CHECK(e[4].cc_minor() == 6);
}

TEST_CASE("match payload: several fatbins with padding, unknown kinds skipped") {
  auto a = make_fatbin({FatbinEntry{}});
  auto b = make_fatbin({FatbinEntry{7, 75}, FatbinEntry{2, 75}});
  std::vector<unsigned char> both = a;
  both.insert(both.end(), 8, 0);  // section alignment
  both.insert(both.end(), b.begin(), b.end());
  both.insert(both.end(), 3, 0);  // trailing padding shorter than a header
  auto e = entries_of(both);
  REQUIRE(e.size() == 2);
  CHECK(e[1].target() == "sm_75");
  CHECK(e[1].offset > a.size());
}

TEST_CASE("match payload: every truncation of a fatbin is an error, never a crash") {
  auto full = make_fatbin({FatbinEntry{}, FatbinEntry{1, 80, 8, 5, 0x11}});
  for (std::size_t n = 1; n < full.size(); ++n) {
    std::vector<CudaCodeEntry> out;
    auto st = parse_fatbins({full.data(), n}, "cut", out);
    // A cut that leaves only zero padding would parse; ours never does.
    CHECK_FALSE(st.ok());
    if (!st.ok()) CHECK(st.error().code == ExitCode::usage);
  }
}

TEST_CASE("match payload: malformed fatbin fields name the offset") {
  auto check = [](std::vector<unsigned char> bytes, const std::string& message) {
    std::vector<CudaCodeEntry> out;
    auto st = parse_fatbins({bytes.data(), bytes.size()}, "f", out);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().what() == "f: " + message);
  };
  auto good = make_fatbin({FatbinEntry{}});
  auto bad_magic = good;
  bad_magic[0] = 0x51;
  check(bad_magic, "not a fatbin (magic 0xba55ed51) at offset 0");
  auto big = good;
  big[8] = 0xff;  // fat size low byte
  big[12] = 0x01;
  check(big, "fatbin size 4294967551 runs past the end (96 bytes left) at offset 0");
  auto small_header = good;
  small_header[6] = 4;
  check(small_header, "fatbin header size 4 out of range at offset 0");
  auto entry_header = good;
  entry_header[16 + 4] = 8;
  check(entry_header, "fatbin entry header size 8 out of range at offset 16");
  auto entry_size = good;
  entry_size[16 + 8] = 0xff;
  check(entry_size, "fatbin entry size 255 runs past its fatbin at offset 16");
  auto arch = good;
  arch[16 + 28] = 0;
  check(arch, "fatbin entry architecture 0 out of range at offset 16");
}

TEST_CASE("match payload: offload bundles, target ids and compressed bundles") {
  auto bundle = make_bundle({"host-x86_64-unknown-linux-gnu-", "hipv4-amdgcn-amd-amdhsa--gfx90a:xnack-",
                             "hipv4-amdgcn-amd-amdhsa--gfx9-4-generic:sramecc+", "hip-amdgcn-amd-amdhsa--gfx1030"});
  std::vector<HipCodeEntry> entries;
  std::vector<CompressedBundle> compressed;
  REQUIRE(parse_offload_bundles({bundle.data(), bundle.size()}, "b", entries, compressed).ok());
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].offload_kind == "hipv4");
  CHECK(entries[0].triple == "amdgcn-amd-amdhsa-");
  CHECK(entries[0].target_id == "gfx90a:xnack-");
  CHECK(entries[1].target_id == "gfx9-4-generic:sramecc+");
  CHECK(entries[2].offload_kind == "hip");
  CHECK(entries[2].target_id == "gfx1030");

  // A compressed bundle (CCOB v3) after the first: header read, targets not.
  std::vector<unsigned char> ccob = {'C', 'C', 'O', 'B'};
  put<std::uint16_t>(ccob, 3);
  put<std::uint16_t>(ccob, 1);
  put<std::uint64_t>(ccob, 40);
  put<std::uint64_t>(ccob, 4096);
  put<std::uint64_t>(ccob, 0x1234);
  ccob.insert(ccob.end(), 8, 0x55);
  auto two = bundle;
  two.insert(two.end(), 4, 0);
  two.insert(two.end(), ccob.begin(), ccob.end());
  entries.clear();
  REQUIRE(parse_offload_bundles({two.data(), two.size()}, "b", entries, compressed).ok());
  CHECK(entries.size() == 3);
  REQUIRE(compressed.size() == 1);
  CHECK(compressed[0].version == 3);
  CHECK(compressed[0].method == "zstd");
  CHECK(*compressed[0].total_bytes == 40);
  CHECK(compressed[0].uncompressed_bytes == 4096);

  auto bad_version = ccob;
  bad_version[4] = 9;
  compressed.clear();
  auto st = parse_offload_bundles({bad_version.data(), bad_version.size()}, "c", entries, compressed);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().what() == "c: compressed bundle version 9 is not 1, 2 or 3 at offset 0");
}

TEST_CASE("match payload: every truncation of a bundle is an error, never a crash") {
  auto full = make_bundle({"hipv4-amdgcn-amd-amdhsa--gfx90a", "hipv4-amdgcn-amd-amdhsa--gfx942"});
  for (std::size_t n = 1; n < full.size(); ++n) {
    std::vector<HipCodeEntry> e;
    std::vector<CompressedBundle> c;
    CHECK_FALSE(parse_offload_bundles({full.data(), n}, "cut", e, c).ok());
  }
  auto bad = make_bundle({"amdgcn"});
  std::vector<HipCodeEntry> e;
  std::vector<CompressedBundle> c;
  auto st = parse_offload_bundles({bad.data(), bad.size()}, "x", e, c);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("is not <kind>-<triple>-<target>") != std::string::npos);
  std::vector<unsigned char> junk(64, 0x33);
  CHECK(parse_offload_bundles({junk.data(), junk.size()}, "x", e, c).error().message == "no offload bundle found at offset 0");
}

TEST_CASE("match payload: AMD target ids") {
  auto t = parse_amd_target_id("gfx90a:sramecc+:xnack-");
  REQUIRE(t);
  CHECK(t->processor == "gfx90a");
  CHECK(t->setting("sramecc") == "on");
  CHECK(t->setting("xnack") == "off");
  CHECK(parse_amd_target_id("gfx942")->setting("xnack") == "any");
  CHECK(parse_amd_target_id("gfx9-4-generic:xnack+")->processor == "gfx9-4-generic");
  CHECK_FALSE(parse_amd_target_id("sm_80"));
  CHECK_FALSE(parse_amd_target_id("gfx90a:xnack"));
  CHECK_FALSE(parse_amd_target_id("gfx90a::"));
}

TEST_CASE("match payload: bare containers and non-payloads") {
  auto fb = make_fatbin({FatbinEntry{1, 86, 8, 4, 0x11}});
  auto p = inspect_payload_bytes(fb.data(), fb.size(), "x.fatbin");
  REQUIRE(p.ok());
  CHECK(p->format == "fatbin");
  CHECK(p->cuda.front().target() == "compute_86");
  auto b = make_bundle({"hipv4-amdgcn-amd-amdhsa--gfx942"});
  auto q = inspect_payload_bytes(b.data(), b.size(), "x.hipfb");
  REQUIRE(q.ok());
  CHECK(q->format == "offload-bundle");
  CHECK(q->hip.front().target_id == "gfx942");
  std::string text = "#!/bin/sh\necho hi\n";
  auto r = inspect_payload_bytes(reinterpret_cast<const unsigned char*>(text.data()), text.size(), "run.sh");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().what() == "run.sh: not an ELF file, a fatbin or an offload bundle");
  auto missing = inspect_payload("/nonexistent/payload");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().what() == "/nonexistent/payload: cannot open: No such file or directory");
  CHECK(inspect_payload("/").error().message == "not a regular file");
}

TEST_CASE("match payload: only regular files, opened without waiting, read whole or refused") {
  // A FIFO with no writer: open() would block forever without O_NONBLOCK.
  std::string fifo = temp_dir() + "/payload.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = inspect_payload(fifo);
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().code == ExitCode::usage);
  CHECK(f.error().message == "not a regular file");
  CHECK(inspect_payload("/dev/zero").error().message == "not a regular file");
  CHECK(inspect_payload("/dev/null").error().message == "not a regular file");
  // A file that yields fewer bytes than its size, as one truncated while it is
  // read does (read, not mapped: no SIGBUS). sysfs attributes report 4096.
  const std::string short_file = "/sys/devices/system/cpu/online";
  struct stat st{};
  if (::stat(short_file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4096) {
    auto s = inspect_payload(short_file);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ExitCode::usage);
    CHECK(s.error().message.rfind("the file changed size while it was read (4096 bytes, then ", 0) == 0);
  } else {
    FAIL_CHECK("no sysfs attribute of size 4096 at " << short_file << " to stand for a truncated file");
  }
  // Still a regular file, read whole: the same answer as from memory.
  std::string text = "#!/bin/sh\nexit 0\n";
  std::string script = temp_dir() + "/run.sh";
  std::ofstream(script) << text;
  CHECK(inspect_payload(script).error().message == "not an ELF file, a fatbin or an offload bundle");
}

TEST_CASE("match payload: an ELF without GPU code, and a truncated ELF") {
  auto ls = inspect_payload("/bin/sh");
  REQUIRE(ls.ok());
  CHECK(ls->cuda.empty());
  CHECK(ls->hip.empty());
  CHECK(ls->runtimes.empty());
  CHECK(ls->format == "elf-executable");
}

TEST_CASE("match payload: truncated copies of an nvcc-built ELF") {
  if (!have("sm80")) return;
  std::string bytes = read_file(payload_path("sm80"));
  // Cut inside the .nv_fatbin section and at the section headers.
  for (std::size_t n : {std::size_t(64), bytes.size() / 2, bytes.size() - 100}) {
    auto r = inspect_payload_bytes(reinterpret_cast<const unsigned char*>(bytes.data()), n, "cut");
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.error().code == ExitCode::usage);
  }
}

TEST_CASE("match payload: nvcc-built binaries") {
  if (!have("sm80") || !have("ptx80") || !have("sm90a") || !have("multi") || !have("shared80") || !have("rdc86.o")) return;
  auto sm80 = inspect("sm80");
  CHECK(sm80.format == "elf-executable");
  CHECK(targets(sm80) == std::vector<std::string>{"sass:sm_80"});
  REQUIRE(sm80.runtime("cuda"));
  CHECK(sm80.runtime("cuda")->linkage == "static");
  REQUIRE(sm80.runtime("cuda")->version);
  // The cubin's tool note names the toolkit that built it.
  CHECK(sm80.cuda.front().toolkit.has_value());
  CHECK(sm80.runtime("cuda")->version->short_string() == *sm80.cuda.front().toolkit);

  auto ptx80 = inspect("ptx80");
  CHECK(targets(ptx80) == std::vector<std::string>{"ptx:compute_80"});
  CHECK(ptx80.cuda.front().ptx_isa_major.value_or(0) >= 7);

  auto sm90a = inspect("sm90a");
  CHECK(targets(sm90a) == std::vector<std::string>{"sass:sm_90a"});

  auto multi = inspect("multi");
  CHECK(targets(multi) == std::vector<std::string>{"ptx:compute_90", "sass:sm_75", "sass:sm_90"});

  auto shared = inspect("shared80");
  REQUIRE(shared.runtime("cuda"));
  CHECK(shared.runtime("cuda")->linkage == "shared");
  CHECK(shared.runtime("cuda")->library.rfind("libcudart.so.", 0) == 0);

  auto rdc = inspect("rdc86.o");
  CHECK(rdc.format == "elf-relocatable");
  CHECK(targets(rdc) == std::vector<std::string>{"sass:sm_86"});
  CHECK(rdc.cuda.front().origin.find("__nv_relfatbin") != std::string::npos);
}

TEST_CASE("match payload: hipcc-built binaries") {
  if (!have("hip_gfx90a_xnack_off") || !have("hip_gfx90a") || !have("hip_gfx1030")) return;
  CHECK(targets(inspect("hip_gfx90a_xnack_off")) == std::vector<std::string>{"hip:gfx90a:xnack-"});
  CHECK(targets(inspect("hip_gfx90a")) == std::vector<std::string>{"hip:gfx90a"});
  auto p = inspect("hip_gfx1030");
  CHECK(targets(p) == std::vector<std::string>{"hip:gfx1030"});
  REQUIRE(p.runtime("hip"));
  CHECK(p.runtime("hip")->library.rfind("libamdhip64.so.", 0) == 0);
}

TEST_CASE("match payload: JSON form") {
  auto fb = make_fatbin({FatbinEntry{1, 80, 8, 5, 0x8011}});
  auto p = inspect_payload_bytes(fb.data(), fb.size(), "k.fatbin");
  REQUIRE(p.ok());
  json j = to_json(*p);
  CHECK(j["cuda"][0]["ptx_isa"] == "8.5");
  CHECK(j["cuda"][0]["compression"] == "zstd");
  CHECK(j["cuda"][0]["suffix"].is_null());
  json listing = {{"schema", "gpukit-payloads/1"}, {"generator", generator_stamp("gpumatch")}, {"payloads", {j}}};
  CHECK(validate_against(listing, "payloads.schema.json") == "");
}
