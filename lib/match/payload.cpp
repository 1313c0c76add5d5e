#include "match/payload.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"

namespace gpukit {

const RuntimeNeed* PayloadInfo::runtime(const std::string& api) const {
  for (const auto& r : runtimes)
    if (r.api == api) return &r;
  return nullptr;
}

namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

bool libelf_ready() {
  // elf_version only records the version the caller speaks; calling it again is harmless.
  return elf_version(EV_CURRENT) != EV_NONE;
}

bool starts_with(const unsigned char* data, std::size_t size, std::string_view magic) {
  return size >= magic.size() && std::memcmp(data, magic.data(), magic.size()) == 0;
}

// "Cuda compilation tools, release 13.0, V13.0.88" -> "13.0".
std::optional<std::string> release_in(std::string_view text) {
  static constexpr std::string_view key = "release ";
  auto p = text.find(key);
  if (p == std::string_view::npos) return std::nullopt;
  p += key.size();
  std::size_t e = p;
  while (e < text.size() && (std::isdigit(static_cast<unsigned char>(text[e])) || text[e] == '.')) ++e;
  auto v = Version::parse(text.substr(p, e - p));
  if (!v || v->parts.size() < 2) return std::nullopt;
  return v->short_string();
}

// The toolkit a cubin names in its .note.nv.tkinfo note (ptxas/nvlink write it).
std::optional<std::string> cubin_toolkit(ByteView cubin) {
  if (!libelf_ready() || cubin.size < 64) return std::nullopt;
  // libelf may write to a private image: give it a copy, never the caller's buffer.
  std::vector<char> image(reinterpret_cast<const char*>(cubin.data), reinterpret_cast<const char*>(cubin.data) + cubin.size);
  ElfHandle elf(elf_memory(image.data(), image.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return std::nullopt;
  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return std::nullopt;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE) continue;
    const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    if (!name || std::string_view(name) != ".note.nv.tkinfo") continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) continue;
    GElf_Nhdr nhdr;
    std::size_t name_off = 0, desc_off = 0;
    for (std::size_t off = 0; (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0;) {
      if (desc_off + nhdr.n_descsz > data->d_size) break;
      std::string_view desc(static_cast<const char*>(data->d_buf) + desc_off, nhdr.n_descsz);
      // The description holds NUL-separated strings after a small header.
      std::string flat(desc);
      std::replace(flat.begin(), flat.end(), '\0', ' ');
      if (auto r = release_in(flat)) return r;
    }
  }
  return std::nullopt;
}

std::string_view section_name(Elf* elf, std::size_t shstrndx, const GElf_Shdr& shdr) {
  const char* n = elf_strptr(elf, shstrndx, shdr.sh_name);
  return n ? std::string_view(n) : std::string_view();
}

// "libcudart.so.12" -> 12; nullopt when `name` is not `stem` followed by ".so.N".
std::optional<int> soname_major(std::string_view name, std::string_view stem) {
  if (name.rfind(stem, 0) != 0) return std::nullopt;
  std::string_view rest = name.substr(stem.size());
  if (rest.rfind(".so.", 0) != 0) return std::nullopt;
  rest.remove_prefix(4);
  auto v = Version::parse(rest);
  if (!v) return std::nullopt;
  return v->major();
}

Status inspect_elf(unsigned char* data, std::size_t size, PayloadInfo& info) {
  if (!libelf_ready()) return environment_error("libelf is unusable (elf_version failed)", info.path);
  ElfHandle elf(elf_memory(reinterpret_cast<char*>(data), size));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
    return usage_error(std::string("not a readable ELF file: ") + elf_errmsg(-1), info.path);
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return usage_error(std::string("bad ELF header: ") + elf_errmsg(-1), info.path);
  // libelf reads headers lazily: a cut file must be caught here, not read as "no sections".
  std::size_t shnum = 0, phnum_all = 0;
  if (elf_getshdrnum(elf.get(), &shnum) != 0 || elf_getphdrnum(elf.get(), &phnum_all) != 0)
    return usage_error(std::string("bad ELF header: ") + elf_errmsg(-1), info.path);
  auto table_fits = [size](std::uint64_t offset, std::uint64_t count, std::uint64_t entry) {
    return count == 0 || (offset <= size && entry != 0 && count <= (size - offset) / entry);
  };
  // libelf reports no sections when the table lies beyond the image; the header still counts them.
  std::uint64_t sections = std::max<std::uint64_t>(shnum, ehdr.e_shnum);
  if ((ehdr.e_shoff != 0 && ehdr.e_shoff >= size) || !table_fits(ehdr.e_shoff, sections, ehdr.e_shentsize))
    return usage_error("the section header table runs past the end of the file (truncated?)", info.path);
  if (!table_fits(ehdr.e_phoff, std::max<std::uint64_t>(phnum_all, ehdr.e_phnum), ehdr.e_phentsize))
    return usage_error("the program header table runs past the end of the file (truncated?)", info.path);
  switch (ehdr.e_type) {
    case ET_EXEC: info.format = "elf-executable"; break;
    case ET_DYN: info.format = "elf-shared-object"; break;
    case ET_REL: info.format = "elf-relocatable"; break;
    default: info.format = "elf"; break;
  }
  // A position-independent executable is ET_DYN with a program interpreter.
  if (ehdr.e_type == ET_DYN) {
    std::size_t phnum = 0;
    if (elf_getphdrnum(elf.get(), &phnum) == 0)
      for (std::size_t i = 0; i < phnum; ++i) {
        GElf_Phdr phdr;
        if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdr) && phdr.p_type == PT_INTERP) info.format = "elf-executable";
      }
  }
  // EM_CUDA (190): a bare cubin.
  if (ehdr.e_machine == 190) {
    info.format = "cubin";
    info.notes.push_back("a bare cubin: its architecture is in the ELF flags, which gpumatch does not decode; wrap it in a fatbin or inspect the program that embeds it");
    return {};
  }
  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0)
    return usage_error(std::string("bad section header string table: ") + elf_errmsg(-1), info.path);

  bool defines_cudart = false, has_registered_fatbin = false;
  std::vector<std::string> needed;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) return usage_error(std::string("bad section header: ") + elf_errmsg(-1), info.path);
    std::string_view name = section_name(elf.get(), shstrndx, shdr);
    bool fatbin_section = name == ".nv_fatbin" || name == "__nv_relfatbin";
    bool bundle_section = name == ".hip_fatbin";
    bool wanted = fatbin_section || bundle_section || shdr.sh_type == SHT_DYNAMIC || shdr.sh_type == SHT_SYMTAB ||
                  shdr.sh_type == SHT_DYNSYM;
    if (!wanted || shdr.sh_type == SHT_NOBITS) continue;
    if (shdr.sh_offset > size || shdr.sh_size > size - shdr.sh_offset)
      return usage_error("section " + std::string(name) + " runs past the end of the file (truncated?)", info.path);
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d) return usage_error("cannot read section " + std::string(name) + ": " + elf_errmsg(-1), info.path);
    if (fatbin_section) {
      if (name == ".nv_fatbin") has_registered_fatbin = true;
      if (d->d_buf && d->d_size > 0) {
        auto st = parse_fatbins({static_cast<const unsigned char*>(d->d_buf), d->d_size}, info.path + ": " + std::string(name),
                                info.cuda, &cubin_toolkit);
        if (!st) return st;
      }
    } else if (bundle_section) {
      if (d->d_buf && d->d_size > 0) {
        auto st = parse_offload_bundles({static_cast<const unsigned char*>(d->d_buf), d->d_size},
                                        info.path + ": " + std::string(name), info.hip, info.compressed_hip);
        if (!st) return st;
      }
    } else if (shdr.sh_type == SHT_DYNAMIC) {
      std::size_t count = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      for (std::size_t i = 0; i < count; ++i) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(d, static_cast<int>(i), &dyn)) break;
        if (dyn.d_tag == DT_NULL) break;
        if (dyn.d_tag != DT_NEEDED) continue;
        const char* lib = elf_strptr(elf.get(), shdr.sh_link, dyn.d_un.d_val);
        if (!lib) return usage_error("a DT_NEEDED entry points outside the string table", info.path);
        needed.emplace_back(lib);
      }
    } else {
      std::size_t count = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      for (std::size_t i = 0; i < count && !defines_cudart; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(d, static_cast<int>(i), &sym)) break;
        if (sym.st_shndx == SHN_UNDEF) continue;
        const char* s = elf_strptr(elf.get(), shdr.sh_link, sym.st_name);
        if (s && std::string_view(s) == "cudaRuntimeGetVersion") defines_cudart = true;
      }
    }
  }

  // The toolkit the device code names, and what its PTX implies.
  std::optional<Version> toolkit;
  for (const auto& e : info.cuda)
    if (e.toolkit)
      if (auto v = Version::parse(*e.toolkit); v && (!toolkit || *toolkit < *v)) toolkit = v;

  for (const auto& lib : needed) {
    if (auto major = soname_major(lib, "libcudart")) {
      RuntimeNeed r{"cuda", "shared", Version{{*major}, std::to_string(*major)}, "DT_NEEDED " + lib, lib};
      if (toolkit && toolkit->major() == *major) {
        r.version = toolkit;
        r.evidence += "; device code built by CUDA " + toolkit->raw;
      }
      info.runtimes.push_back(std::move(r));
    } else if (auto hip = soname_major(lib, "libamdhip64")) {
      info.runtimes.push_back({"hip", "shared", Version{{*hip}, std::to_string(*hip)}, "DT_NEEDED " + lib, lib});
    } else if (lib == "libcuda.so.1" || lib == "libcuda.so") {
      info.notes.push_back("links the CUDA driver library directly (DT_NEEDED " + lib + ")");
    }
  }
  if (!info.runtime("cuda") && (defines_cudart || has_registered_fatbin)) {
    RuntimeNeed r{"cuda", "static", std::nullopt,
                  defines_cudart ? "defines cudaRuntimeGetVersion" : "registers a .nv_fatbin but needs no libcudart.so", ""};
    if (toolkit) {
      r.version = toolkit;
      r.evidence += "; device code built by CUDA " + toolkit->raw;
    }
    info.runtimes.push_back(std::move(r));
  }
  return {};
}

}  // namespace

Result<PayloadInfo> inspect_payload_bytes(const unsigned char* data, std::size_t size, const std::string& name) {
  PayloadInfo info;
  info.path = name;
  if (starts_with(data, size, "\x7f" "ELF")) {
    std::vector<unsigned char> copy(data, data + size);
    auto st = inspect_elf(copy.data(), copy.size(), info);
    if (!st) return st.error();
    return info;
  }
  if (size >= 4 && data[0] == 0x50 && data[1] == 0xed && data[2] == 0x55 && data[3] == 0xba) {
    info.format = "fatbin";
    auto st = parse_fatbins({data, size}, name, info.cuda, &cubin_toolkit);
    if (!st) return st.error();
    return info;
  }
  if (starts_with(data, size, offload_bundle_magic) || starts_with(data, size, compressed_bundle_magic)) {
    info.format = "offload-bundle";
    auto st = parse_offload_bundles({data, size}, name, info.hip, info.compressed_hip);
    if (!st) return st.error();
    return info;
  }
  return usage_error("not an ELF file, a fatbin or an offload bundle", name);
}

namespace {

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// The whole file, read (not mapped: a file truncated under a mapping raises
// SIGBUS) into writable memory, since libelf may patch its image. O_NONBLOCK:
// opening a FIFO must not wait for a writer; anything but a regular file is
// refused before it is read. A file that changes size while it is read is an
// error, not a partial inspection.
Result<std::vector<unsigned char>> read_payload_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return usage_error(std::string("cannot open: ") + std::strerror(errno), path);
  FdCloser closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) return usage_error(std::string("cannot stat: ") + std::strerror(errno), path);
  if (!S_ISREG(st.st_mode)) return usage_error("not a regular file", path);
  if (st.st_size == 0) return usage_error("empty file", path);
  if (static_cast<std::uint64_t>(st.st_size) > max_payload_bytes)
    return usage_error("larger than " + std::to_string(max_payload_bytes >> 30) + " GiB, not inspected", path);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return usage_error(std::string("cannot read: ") + std::strerror(errno), path);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  // One byte more than fstat said is asked for, so growth shows as well as truncation.
  if (got != static_cast<std::size_t>(st.st_size))
    return usage_error("the file changed size while it was read (" + std::to_string(st.st_size) + " bytes, then " +
                           std::to_string(got) + (got == bytes.size() ? " or more)" : ")"),
                       path);
  bytes.pop_back();
  return bytes;
}

}  // namespace

Result<PayloadInfo> inspect_payload(const std::string& path) {
  auto bytes = read_payload_file(path);
  if (!bytes) return bytes.error();
  PayloadInfo info;
  info.path = path;
  if (starts_with(bytes->data(), bytes->size(), "\x7f" "ELF")) {
    if (auto s = inspect_elf(bytes->data(), bytes->size(), info); !s) return s.error();
    return info;
  }
  return inspect_payload_bytes(bytes->data(), bytes->size(), path);
}

json to_json(const PayloadInfo& p) {
  json j = json::object();
  j["file"] = valid_utf8(p.path);
  j["format"] = p.format;
  json cuda = json::array();
  for (const auto& e : p.cuda) {
    json c = {{"kind", e.kind}, {"target", e.target()}, {"arch", e.arch}, {"suffix", e.suffix.empty() ? json(nullptr) : json(e.suffix)}};
    c["ptx_isa"] = e.ptx_isa_major ? json(std::to_string(*e.ptx_isa_major) + "." + std::to_string(*e.ptx_isa_minor)) : json(nullptr);
    c["compression"] = e.compression;
    c["size_bytes"] = e.size_bytes;
    c["toolkit"] = e.toolkit ? json(*e.toolkit) : json(nullptr);
    c["section"] = e.origin.substr(e.origin.rfind(": ") == std::string::npos ? 0 : e.origin.rfind(": ") + 2);
    cuda.push_back(std::move(c));
  }
  j["cuda"] = std::move(cuda);
  json hip = json::array();
  for (const auto& e : p.hip)
    hip.push_back({{"bundle_id", e.bundle_id}, {"offload_kind", e.offload_kind}, {"triple", e.triple},
                   {"target_id", e.target_id}, {"size_bytes", e.size_bytes}});
  j["hip"] = std::move(hip);
  json compressed = json::array();
  for (const auto& c : p.compressed_hip)
    compressed.push_back({{"version", c.version}, {"method", c.method},
                          {"total_bytes", c.total_bytes ? json(*c.total_bytes) : json(nullptr)},
                          {"uncompressed_bytes", c.uncompressed_bytes}});
  j["compressed_hip_bundles"] = std::move(compressed);
  json runtimes = json::array();
  for (const auto& r : p.runtimes)
    runtimes.push_back({{"api", r.api}, {"linkage", r.linkage}, {"version", r.version ? json(r.version->raw) : json(nullptr)},
                        {"evidence", r.evidence}});
  j["runtimes"] = std::move(runtimes);
  j["notes"] = p.notes;
  return j;
}

}  // namespace gpukit
