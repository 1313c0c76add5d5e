#include "probe/catalogue.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <vector>

#include "core/io.hpp"
#include "core/paths.hpp"

namespace gpukit {

namespace {

constexpr const char* catalogue_schema = "gpukit-hardware/1";

// Keys whose value is a number or null when present.
constexpr const char* numeric_keys[] = {
    "multiprocessors", "memory_bytes", "memory_bandwidth_gbs", "memory_bus_width_bits", "boost_clock_mhz",
    "tdp_w",           "launch_price_usd", "embodied_carbon_kg", "devices_per_board",
};

// Keys whose value is a string or null when present.
constexpr const char* text_keys[] = {
    "architecture", "compute_capability", "gfx_target", "release_date", "last_toolkit", "end_of_support",
    "driver_end_of_support",
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// "0x2330", "2330", "0X2330" -> "0x2330"; empty when it is not a 16-bit hex id.
std::string normalize_pci_id(const std::string& id) {
  std::string s = lower(trim(id));
  if (s.rfind("0x", 0) == 0) s = s.substr(2);
  if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    return {};
  return "0x" + std::string(4 - s.size(), '0') + s;
}

// Checks one entry; returns the problem and the JSON pointer below the entry
// where it is, or nothing.
struct Problem {
  std::string pointer, message;
};

std::optional<Problem> check_entry(const json& e) {
  if (!e.is_object()) return Problem{"", std::string("expected an object, found ") + json_type_name(e)};
  for (const char* key : {"id", "name", "source"}) {
    auto it = e.find(key);
    if (it == e.end()) return Problem{std::string("/") + key, "missing"};
    if (!it->is_string()) return Problem{std::string("/") + key, std::string("expected a string, found ") + json_type_name(*it)};
    if (trim(it->get<std::string>()).empty()) return Problem{std::string("/") + key, "is empty"};
  }
  auto vendor = e.find("vendor");
  if (vendor == e.end()) return Problem{"/vendor", "missing"};
  if (!vendor->is_string() || (*vendor != "nvidia" && *vendor != "amd" && *vendor != "intel"))
    return Problem{"/vendor", "expected \"nvidia\", \"amd\" or \"intel\""};
  auto match = e.find("match");
  if (match == e.end()) return Problem{"/match", "missing"};
  if (!match->is_object()) return Problem{"/match", std::string("expected an object, found ") + json_type_name(*match)};
  for (const char* key : {"names", "pci_device_ids"}) {
    auto list = match->find(key);
    if (list == match->end()) continue;
    if (!list->is_array()) return Problem{std::string("/match/") + key, std::string("expected an array, found ") + json_type_name(*list)};
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      std::string where = std::string("/match/") + key + "/" + std::to_string(i);
      if (!item.is_string()) return Problem{where, std::string("expected a string, found ") + json_type_name(item)};
      if (std::string(key) == "pci_device_ids" && normalize_pci_id(item.get<std::string>()).empty())
        return Problem{where, "\"" + item.get<std::string>() + "\" is not a PCI device id like \"0x2330\""};
    }
  }
  for (const char* key : numeric_keys) {
    auto it = e.find(key);
    if (it != e.end() && !it->is_null() && !it->is_number())
      return Problem{std::string("/") + key, std::string("expected a number or null, found ") + json_type_name(*it)};
  }
  for (const char* key : text_keys) {
    auto it = e.find(key);
    if (it != e.end() && !it->is_null() && !it->is_string())
      return Problem{std::string("/") + key, std::string("expected a string or null, found ") + json_type_name(*it)};
  }
  if (auto peaks = e.find("peak_tflops"); peaks != e.end() && !peaks->is_null()) {
    if (!peaks->is_object()) return Problem{"/peak_tflops", std::string("expected an object, found ") + json_type_name(*peaks)};
    for (const auto& [key, value] : peaks->items())
      if (!value.is_null() && !value.is_number())
        return Problem{"/peak_tflops/" + key, std::string("expected a number or null, found ") + json_type_name(value)};
  }
  return std::nullopt;
}

bool name_matches(const json& entry, const std::string& name) {
  std::string want = lower(trim(name));
  if (want.empty()) return false;
  auto match = entry.find("match");
  if (match == entry.end()) return false;
  auto names = match->find("names");
  if (names == match->end()) return false;
  return std::any_of(names->begin(), names->end(), [&](const json& n) { return lower(trim(n.get<std::string>())) == want; });
}

bool id_matches(const json& entry, const std::string& pci_id) {
  auto match = entry.find("match");
  if (match == entry.end()) return false;
  auto ids = match->find("pci_device_ids");
  if (ids == match->end()) return false;
  return std::any_of(ids->begin(), ids->end(), [&](const json& i) { return normalize_pci_id(i.get<std::string>()) == pci_id; });
}

// The catalogue keys copied into a GPU's "catalogue": everything but the
// matching rules and the free-text notes.
json catalogue_view(const json& entry, const char* matched_by) {
  json view = json::object();
  for (const auto& [key, value] : entry.items())
    if (key != "match" && key != "notes" && key != "note") view[key] = value;
  view["matched_by"] = matched_by;
  return view;
}

const json* number_or_null(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? &*it : nullptr;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// The string at `key`, or "" when absent or not a string.
std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The compute-capability table's row for the GPU ("nvidia" by "cc", "amd" by "gfx").
const json* lanes_row(const json& gpu, const json& lanes) {
  std::string vendor = text_of(gpu, "vendor"), key, want;
  if (vendor == "nvidia") {
    auto cc = gpu.find("compute_capability");
    if (cc == gpu.end() || !cc->is_object()) return nullptr;
    auto major = cc->find("major"), minor = cc->find("minor");
    if (major == cc->end() || minor == cc->end() || !major->is_number_integer() || !minor->is_number_integer())
      return nullptr;
    key = "cc";
    want = std::to_string(major->get<int>()) + "." + std::to_string(minor->get<int>());
  } else if (vendor == "amd") {
    auto amd = gpu.find("amdgpu");
    if (amd == gpu.end() || !amd->is_object()) return nullptr;
    key = "gfx";
    want = text_of(*amd, "gfx");
  }
  auto rows = lanes.find(vendor);
  if (want.empty() || rows == lanes.end() || !rows->is_array()) return nullptr;
  for (const json& row : *rows)
    if (row.is_object() && text_of(row, key.c_str()) == want) return &row;
  return nullptr;
}

std::string no_entry_reason(const json& gpu, const HardwareCatalogue& catalogue) {
  std::string pci_id = text_of(gpu, "pci_device_id");
  std::string pci = pci_id.empty() ? "" : " (PCI device " + pci_id + ")";
  return "no hardware-catalogue entry for " + text_of(gpu, "vendor") + " \"" + text_of(gpu, "name") + "\"" + pci +
         "; the catalogue" +
         (catalogue.updated().empty() ? "" : " (updated " + catalogue.updated() + ")") +
         " is older than the device or the site has not added it (GPUKIT_SITE_HARDWARE)";
}

}  // namespace

json derive_peaks(const json& gpu, const json& lanes) {
  json out = {{"fp64_tflops", nullptr}, {"fp32_tflops", nullptr}, {"fp16_tflops", nullptr},
              {"memory_bandwidth_gbs", nullptr}, {"sources", json::array()}, {"unknown", json::array()}};
  const json clocks = gpu.contains("clocks") && gpu["clocks"].is_object() ? gpu["clocks"] : json::object();
  const json* units = number_or_null(gpu, "multiprocessors");
  const json* sm_mhz = number_or_null(clocks, "max_sm_mhz");
  const json* row = lanes_row(gpu, lanes);
  const std::string per = text_of(gpu, "vendor") == "amd" ? "cu" : "sm";
  for (const char* prec : {"fp64", "fp32", "fp16"}) {
    std::string out_key = std::string(prec) + "_tflops";
    const json* lane = row ? number_or_null(*row, (std::string(prec) + "_lanes_per_" + per).c_str()) : nullptr;
    if (!units || !sm_mhz || !lane) {
      out["unknown"].push_back(out_key);
      continue;
    }
    // An FMA is two operations.
    double tflops = units->get<double>() * lane->get<double>() * 2 * sm_mhz->get<double>() * 1e6 / 1e12;
    out[out_key] = tflops;
    out["sources"].push_back(out_key + " = " + fmt(units->get<double>()) + " " + (per == "sm" ? "SMs" : "CUs") + " x " +
                             fmt(lane->get<double>()) + " lanes x 2 x " + fmt(sm_mhz->get<double>()) +
                             " MHz (probed max clock; lanes from compute-capability.json)");
  }
  const json* mem_mhz = number_or_null(clocks, "max_memory_mhz");
  const json* bus = number_or_null(gpu, "memory_bus_width_bits");
  if (mem_mhz && bus) {
    // Double data rate: NVML and amd-smi report the memory clock at half the transfer rate.
    out["memory_bandwidth_gbs"] = mem_mhz->get<double>() * 1e6 * 2 * bus->get<double>() / 8 / 1e9;
    out["sources"].push_back("memory_bandwidth_gbs = " + fmt(mem_mhz->get<double>()) + " MHz x 2 x " +
                             fmt(bus->get<double>()) + " bits / 8 (probed)");
  } else {
    out["unknown"].push_back("memory_bandwidth_gbs");
  }
  return out;
}

Result<HardwareCatalogue> HardwareCatalogue::load(const std::string& path) {
  auto text = read_input_file(path);
  if (!text) return text.error();
  json root;
  try {
    root = json::parse(*text);
  } catch (const json::parse_error& e) {
    return usage_error("invalid JSON at byte " + std::to_string(e.byte), path);
  }
  if (!root.is_object()) return usage_error(std::string("expected a JSON object, found ") + json_type_name(root), path + ": /");
  auto schema = root.find("schema");
  if (schema == root.end() || !schema->is_string() || *schema != catalogue_schema)
    return usage_error(std::string("expected \"") + catalogue_schema + "\"", path + ": /schema");
  auto entries = root.find("entries");
  if (entries == root.end()) return usage_error("missing", path + ": /entries");
  if (!entries->is_array()) return usage_error(std::string("expected an array, found ") + json_type_name(*entries), path + ": /entries");

  std::set<std::string> ids;
  for (size_t i = 0; i < entries->size(); ++i) {
    const json& e = (*entries)[i];
    std::string where = path + ": /entries/" + std::to_string(i);
    if (auto problem = check_entry(e)) return usage_error(problem->message, where + problem->pointer);
    std::string id = e["id"].get<std::string>();
    if (!ids.insert(id).second) return usage_error("duplicate id \"" + id + "\"", where + "/id");
  }
  HardwareCatalogue catalogue;
  catalogue.entries_ = std::move(*entries);
  if (auto u = root.find("updated"); u != root.end() && u->is_string()) catalogue.updated_ = u->get<std::string>();
  return catalogue;
}

Result<HardwareCatalogue> HardwareCatalogue::load_default() {
  auto path = data_file("hardware.json");
  if (!path) return path.error();
  auto catalogue = load(*path);
  if (!catalogue) return catalogue.error();
  // Without the lanes table, unknown GPUs get only a derived memory bandwidth.
  if (auto lanes_path = data_file("compute-capability.json")) {
    if (auto text = read_input_file(*lanes_path)) {
      json lanes = json::parse(*text, nullptr, false);
      if (lanes.is_object()) catalogue->set_lanes(std::move(lanes));
    }
  }
  if (const char* site = std::getenv("GPUKIT_SITE_HARDWARE"); site && *site) {
    auto extra = load(site);
    if (!extra) return Error{extra.error().code, extra.error().message, "GPUKIT_SITE_HARDWARE=" + extra.error().context};
    catalogue->merge_site(*extra);
  }
  return catalogue;
}

void HardwareCatalogue::merge_site(const HardwareCatalogue& site) {
  for (json entry : site.entries_) {
    entry["origin"] = "site";
    auto same = std::find_if(entries_.begin(), entries_.end(), [&](const json& e) { return e["id"] == entry["id"]; });
    if (same != entries_.end()) *same = std::move(entry);
    else entries_.push_back(std::move(entry));
  }
}

const json* HardwareCatalogue::match(const std::string& vendor, const std::string& name,
                                     const std::string& pci_device_id) const {
  std::vector<const json*> by_id, by_name;
  std::string id = normalize_pci_id(pci_device_id);
  for (const json& e : entries_) {
    if (e["vendor"] != vendor) continue;
    if (!id.empty() && id_matches(e, id)) by_id.push_back(&e);
    if (name_matches(e, name)) by_name.push_back(&e);
  }
  if (by_id.size() == 1) return by_id.front();
  // Several boards share a device id (MI250/MI250X): the name decides among them.
  if (by_id.size() > 1) {
    std::vector<const json*> both;
    for (const json* e : by_name)
      if (std::find(by_id.begin(), by_id.end(), e) != by_id.end()) both.push_back(e);
    return both.size() == 1 ? both.front() : nullptr;
  }
  return by_name.size() == 1 ? by_name.front() : nullptr;
}

std::vector<std::string> attach_catalogue(json& gpus, const HardwareCatalogue& catalogue) {
  std::vector<std::string> unknown;
  if (!gpus.is_array()) return unknown;
  for (json& gpu : gpus) {
    if (!gpu.is_object()) continue;
    auto text = [&](const char* key) {
      auto it = gpu.find(key);
      return it != gpu.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string vendor = text("vendor"), name = text("name"), pci_id = text("pci_device_id");
    const json* entry = catalogue.match(vendor, name, pci_id);
    if (!entry) {
      gpu["catalogue"] = nullptr;
      gpu["catalogue_reason"] = no_entry_reason(gpu, catalogue);
      gpu["derived_peaks"] = derive_peaks(gpu, catalogue.lanes());
      unknown.push_back(name.empty() ? vendor + " " + pci_id : name);
      continue;
    }
    gpu.erase("catalogue_reason");
    gpu.erase("derived_peaks");
    // The id alone decided when no other entry of the vendor lists it.
    bool by_id = catalogue.match(vendor, "", pci_id) == entry;
    gpu["catalogue"] = catalogue_view(*entry, by_id ? "pci_device_id" : "name");
  }
  return unknown;
}

}  // namespace gpukit
