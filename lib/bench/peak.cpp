#include "bench/peak.hpp"

#include <fstream>

#include "core/paths.hpp"

namespace gpukit {

namespace {

// Usable bandwidth of one PCIe lane per direction in GB/s, after line coding:
// 8b/10b for gen 1-2, 128b/130b for gen 3-5, FLIT (242/256) for gen 6.
double pcie_lane_gbs(int generation) {
  switch (generation) {
    case 1: return 2.5 * 0.8 / 8;
    case 2: return 5.0 * 0.8 / 8;
    case 3: return 8.0 * 128 / 130 / 8;
    case 4: return 16.0 * 128 / 130 / 8;
    case 5: return 32.0 * 128 / 130 / 8;
    case 6: return 64.0 * 242 / 256 / 8;
    default: return 0;
  }
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::optional<double> number_at(const json& j, std::initializer_list<const char*> path) {
  const json* p = &j;
  for (const char* k : path) {
    if (!p->is_object() || !p->contains(k)) return std::nullopt;
    p = &(*p)[k];
  }
  if (!p->is_number()) return std::nullopt;
  return p->get<double>();
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

PeakModel PeakModel::load() {
  auto path = data_file("compute-capability.json");
  PeakModel m;
  if (!path) {
    m.problem_ = path.error().what();
    return m;
  }
  std::ifstream in(*path);
  json table = json::parse(in, nullptr, false);
  if (table.is_discarded() || !table.is_object()) {
    m.problem_ = *path + ": not valid JSON";
    return m;
  }
  m.table_ = std::move(table);
  return m;
}

PeakModel PeakModel::from_json(const json& table) {
  PeakModel m;
  m.table_ = table;
  return m;
}

double PeakModel::low_threshold(const std::string& w) {
  if (starts_with(w, "stream_")) return 0.6;
  if (w.find("pageable") != std::string::npos) return 0.2;
  if (starts_with(w, "bidir_")) return 0.35;
  if (starts_with(w, "h2d_") || starts_with(w, "d2h_")) return 0.5;
  if (starts_with(w, "fma_")) return 0.5;
  return 0;
}

PeakFigure PeakModel::peak(const DeviceFacts& f, const std::string& w, std::optional<double> measured) const {
  PeakFigure p;
  const bool gpu = f.kind != "cpu";
  const json& cat = f.catalogue;
  if (starts_with(w, "stream_")) {
    if (gpu) {
      if (auto c = number_at(cat, {"memory_bandwidth_gbs"})) p.catalogue = *c * f.memory_share;
      if (f.memory_clock_mhz > 0 && f.memory_bus_width_bits > 0) {
        // Double data rate: NVML and the runtimes report the memory clock at half the transfer rate.
        p.value = f.memory_clock_mhz * 1e6 * 2 * f.memory_bus_width_bits / 8 / 1e9 * f.memory_share;
        p.source = "memory clock " + std::to_string(f.memory_clock_mhz) + " MHz x 2 x " +
                   std::to_string(f.memory_bus_width_bits) + " bits";
        if (f.memory_share < 1) p.source += " x MIG memory share " + fmt(f.memory_share);
      } else if (p.catalogue) {
        p.value = p.catalogue;
        p.source = "hardware catalogue (memory clock or bus width not probed)";
      } else {
        p.source = "unknown: no memory clock, bus width or catalogue entry";
      }
    } else {
      p.source = "unknown: the CPU's memory channels are not probed";
    }
  } else if (starts_with(w, "fma_")) {
    const std::string prec = w.substr(4);
    if (!gpu) {
      double per_cycle = f.cpu_fp64_flops_per_cycle;
      if (prec == "fp32") per_cycle *= 2;
      if ((prec == "fp64" || prec == "fp32") && per_cycle > 0 && f.units > 0 && f.clock_mhz > 0) {
        p.value = f.units * per_cycle * f.clock_mhz * 1e6 / 1e12;
        p.source = std::to_string(f.units) + " cores x " + fmt(per_cycle) + " FLOP/cycle x " +
                   std::to_string(f.clock_mhz) + " MHz (" + f.clock_source + ")";
      } else {
        p.source = "unknown: no " + prec + " rate for this CPU";
      }
    } else {
      if (auto c = number_at(cat, {"peak_tflops", prec.c_str()})) p.catalogue = *c * f.unit_share;
      std::optional<double> lanes;
      std::string per;
      if (f.vendor == "nvidia" && table_.contains("nvidia")) {
        for (const auto& row : table_["nvidia"])
          if (row.value("cc", "") == f.cc) {
            std::string key = (prec == "bf16" ? std::string("bf16") : prec) + "_lanes_per_sm";
            if (row.contains(key) && row[key].is_number()) lanes = row[key].get<double>();
          }
        per = "SM";
      } else if (f.vendor == "amd" && table_.contains("amd")) {
        for (const auto& row : table_["amd"])
          if (row.value("gfx", "") == f.gfx) {
            std::string key = prec + "_lanes_per_cu";
            if (row.contains(key) && row[key].is_number()) lanes = row[key].get<double>();
          }
        per = "CU";
      }
      if (lanes && f.units > 0 && f.clock_mhz > 0) {
        p.value = f.units * *lanes * 2 * f.clock_mhz * 1e6 / 1e12;
        p.source = std::to_string(f.units) + " " + per + "s x " + fmt(*lanes) + " " + prec + " lanes x 2 x " +
                   std::to_string(f.clock_mhz) + " MHz (" + f.clock_source + ")";
      } else if (p.catalogue) {
        p.value = p.catalogue;
        p.source = "hardware catalogue";
      } else {
        p.source = "unknown: no " + prec + " rate for " + (f.cc.empty() ? f.gfx : "compute capability " + f.cc) +
                   (problem_.empty() ? "" : " (" + problem_ + ")");
      }
    }
  } else if (starts_with(w, "h2d_") || starts_with(w, "d2h_") || starts_with(w, "bidir_")) {
    double lane = pcie_lane_gbs(f.pcie_generation);
    if (lane > 0 && f.pcie_width > 0) {
      double one_way = lane * f.pcie_width;
      p.value = starts_with(w, "bidir_") ? 2 * one_way : one_way;
      p.source = "PCIe gen " + std::to_string(f.pcie_generation) + " x" + std::to_string(f.pcie_width) +
                 (starts_with(w, "bidir_") ? ", both directions" : ", one direction");
    } else {
      p.source = "unknown: PCIe link not probed";
    }
  } else if (w == "memtest") {
    if (f.memory_bytes > 0) {
      p.value = static_cast<double>(f.memory_bytes) / 1e9;
      p.source = "device memory (gpuprobe or the runtime)";
    } else {
      p.source = "unknown: device memory size not probed";
    }
  } else {
    p.source = "not applicable";
  }
  if (measured && p.value && *p.value > 0) judge(p, w, *measured);
  return p;
}

void PeakModel::judge(PeakFigure& p, const std::string& w, double measured) {
  p.fraction = measured / *p.value;
  if (*p.fraction > 1.0) p.flag = "above_peak";
  else if (*p.fraction < low_threshold(w)) p.flag = "implausibly_low";
}

}  // namespace gpukit
