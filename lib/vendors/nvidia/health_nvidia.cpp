// Level-1 GPU health through NVML: the state DCGM's software plugin and health
// watches look at, read without a host engine and without root.
#include <cstdio>
#include <mutex>

#include "vendors/health.hpp"
#include "vendors/nvidia/nvml_library.hpp"
#include "vendors/pci/pci.hpp"

namespace gpukit {

namespace detail {
namespace {

using namespace nvml;

// What the worker has found so far; the caller reads it when the deadline expires.
struct HealthProgress {
  std::mutex mutex;
  std::vector<GpuHealthRecord> gpus;
  int current = -1;         // the position in gpus of the device being checked
  const char* check = "";   // the check under way (a literal)
  VendorStatus status{VendorState::ok, ""};
};

std::string count_text(unsigned long long n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A call that did not answer a value: unsupported where NVML says the device
// cannot tell, fail where the GPU is gone, warn where the read failed otherwise.
HealthCheck unanswered(const char* name, const CallStatus& s, const std::string& why = "") {
  HealthCheck c;
  c.name = name;
  c.source = s.call;
  if (s.missing || s.code == NVML_ERROR_NOT_SUPPORTED || s.code == NVML_ERROR_FUNCTION_NOT_FOUND ||
      s.code == NVML_ERROR_NO_PERMISSION) {
    c.status = CheckStatus::unsupported;
  } else if (s.code == NVML_ERROR_GPU_IS_LOST || s.code == NVML_ERROR_RESET_REQUIRED) {
    c.status = CheckStatus::fail;
  } else {
    c.status = CheckStatus::warn;
  }
  c.reason = s.note() + why;
  return c;
}

HealthCheck answered(const char* name, const CallStatus& s, CheckStatus status, json value, json threshold) {
  HealthCheck c;
  c.name = name;
  c.source = s.call;
  c.status = status;
  c.value = std::move(value);
  c.threshold = std::move(threshold);
  return c;
}

class NvmlHealth {
 public:
  NvmlHealth(std::shared_ptr<NvmlLibrary> nvml, const HealthLimits& limits, std::shared_ptr<HealthProgress> progress,
             CallTracker& tracker)
      : nvml_(std::move(nvml)), limits_(limits), progress_(std::move(progress)), tracker_(tracker) {}

  void run();

 private:
  template <class F, class... Args>
  CallStatus call(const VendorFunction<F>& f, const std::string& device, Args... args) {
    return nvml_->check(tracker_, f, device, args...);
  }
  void begin(const char* check) {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->check = check;
  }
  void add(HealthCheck c) {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->gpus[static_cast<std::size_t>(progress_->current)].checks.push_back(std::move(c));
  }

  void check_device(nvmlDevice_t device, const std::string& label);
  void remapped_rows(nvmlDevice_t device, const std::string& label, bool mig_enabled);
  void retired_pages(nvmlDevice_t device, const std::string& label);
  void ecc(nvmlDevice_t device, const std::string& label);
  void inforom(nvmlDevice_t device, const std::string& label);
  void persistence(nvmlDevice_t device, const std::string& label);
  void pcie(nvmlDevice_t device, const std::string& label);
  void clocks(nvmlDevice_t device, const std::string& label);
  void fabric(nvmlDevice_t device, const std::string& label);
  void xid_events(nvmlEventSet_t set, const std::vector<nvmlDevice_t>& devices, const std::vector<bool>& registered);

  std::shared_ptr<NvmlLibrary> nvml_;
  HealthLimits limits_;
  std::shared_ptr<HealthProgress> progress_;
  CallTracker& tracker_;
};

void NvmlHealth::run() {
  const auto& api = nvml_->api();
  if (CallStatus s = call(api.nvmlInit, ""); !s.ok()) {
    VendorState state = s.code == NVML_ERROR_DRIVER_NOT_LOADED ? VendorState::driver_absent
                        : s.code == NVML_ERROR_NO_PERMISSION   ? VendorState::permission_denied
                                                               : VendorState::init_failed;
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->status = {state, s.error().what()};
    return;
  }
  unsigned int count = 0;
  if (CallStatus s = call(api.nvmlDeviceGetCount, "", &count); !s.ok()) {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->status = {VendorState::init_failed, s.error().what()};
    call(api.nvmlShutdown, "");
    return;
  }
  {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->gpus.resize(count);
    for (unsigned int i = 0; i < count; ++i) progress_->gpus[i].index = static_cast<int>(i);
    if (count == 0) progress_->status = {VendorState::no_gpu, "NVML reports no GPU"};
  }
  // Xid events are delivered only for errors after registration: register first,
  // run the checks, then drain what arrived meanwhile.
  nvmlEventSet_t set = nullptr;
  const bool have_set = call(api.nvmlEventSetCreate, "", &set).ok();
  std::vector<nvmlDevice_t> devices(count, nullptr);
  std::vector<bool> registered(count, false);
  for (unsigned int i = 0; i < count; ++i) {
    const std::string label = "GPU " + std::to_string(i);
    if (!call(api.nvmlDeviceGetHandleByIndex, label, i, &devices[i]).ok()) continue;
    if (have_set)
      registered[i] = call(api.nvmlDeviceRegisterEvents, label, devices[i], nvmlEventTypeXidCriticalError, set).ok();
  }
  for (unsigned int i = 0; i < count; ++i) {
    {
      std::lock_guard<std::mutex> lock(progress_->mutex);
      progress_->current = static_cast<int>(i);
    }
    if (devices[i]) check_device(devices[i], "GPU " + std::to_string(i));
  }
  xid_events(have_set ? set : nullptr, devices, registered);
  if (have_set) call(api.nvmlEventSetFree, "", set);
  {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->current = -1;
  }
  call(api.nvmlShutdown, "");
}

void NvmlHealth::check_device(nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  nvmlPciInfo_t pci{};
  if (call(api.nvmlDeviceGetPciInfo, label, device, &pci).ok()) {
    const char* bus_id = nvml_->pci_info_v1() || !pci.busId[0] ? pci.busIdLegacy : pci.busId;
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->gpus[static_cast<std::size_t>(progress_->current)].pci_bus_id =
        normalize_bus_id(std::string(bus_id, strnlen(bus_id, sizeof pci.busId)));
  }
  unsigned int mig_current = 0, mig_pending = 0;
  const bool mig_enabled = call(api.nvmlDeviceGetMigMode, label, device, &mig_current, &mig_pending).ok() &&
                           mig_current == NVML_DEVICE_MIG_ENABLE;
  remapped_rows(device, label, mig_enabled);
  retired_pages(device, label);
  ecc(device, label);
  inforom(device, label);
  persistence(device, label);
  pcie(device, label);
  clocks(device, label);
  fabric(device, label);
}

void NvmlHealth::remapped_rows(nvmlDevice_t device, const std::string& label, bool mig_enabled) {
  begin("row_remap_pending");
  unsigned int corrected = 0, uncorrected = 0, pending = 0, failure = 0;
  CallStatus s = call(nvml_->api().nvmlDeviceGetRemappedRows, label, device, &corrected, &uncorrected, &pending, &failure);
  if (!s.ok()) {
    // Under MIG the driver does not report row remapping: that is unknown, never a pass.
    const std::string why = mig_enabled && s.code == NVML_ERROR_NOT_SUPPORTED ? " (MIG is enabled)" : "";
    add(unanswered("row_remap_pending", s, why));
    add(unanswered("row_remap_failure", s, why));
    return;
  }
  HealthCheck p = answered("row_remap_pending", s, pending ? CheckStatus::fail : CheckStatus::pass,
                           {{"pending", pending != 0}, {"uncorrectable_rows", uncorrected}, {"correctable_rows", corrected}},
                           {{"pending", false}});
  if (pending) {
    p.dcgm_code = uncorrected > 0 ? "DCGM_FR_UNCORRECTABLE_ROW_REMAP" : "DCGM_FR_PENDING_ROW_REMAP";
    p.reason = "row remap pending (" + count_text(uncorrected, "row", "rows") +
               " remapped for uncorrectable errors): reset the GPU";
  }
  add(std::move(p));
  HealthCheck f = answered("row_remap_failure", s, failure ? CheckStatus::fail : CheckStatus::pass, failure != 0, false);
  if (failure) {
    f.dcgm_code = "DCGM_FR_ROW_REMAP_FAILURE";
    f.reason = "row remapping failed: the GPU has no spare rows left";
  }
  add(std::move(f));
}

void NvmlHealth::retired_pages(nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  begin("retired_pages");
  unsigned long long total = 0;
  CallStatus s;
  for (auto cause : {NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS, NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR}) {
    unsigned int n = 0;
    s = api.nvmlDeviceGetRetiredPages_v2
            ? call(api.nvmlDeviceGetRetiredPages_v2, label, device, cause, &n, static_cast<unsigned long long*>(nullptr),
                   static_cast<unsigned long long*>(nullptr))
            : call(api.nvmlDeviceGetRetiredPages, label, device, cause, &n, static_cast<unsigned long long*>(nullptr));
    // Asking for the count alone may answer INSUFFICIENT_SIZE with the count filled in.
    if (s.code == NVML_ERROR_INSUFFICIENT_SIZE) s = CallStatus{0, false, s.call, s.device, {}};
    if (!s.ok()) break;
    total += n;
  }
  if (!s.ok()) {
    add(unanswered("retired_pages", s));
  } else {
    const bool over = static_cast<double>(total) >= limits_.retired_pages_fail_at;
    HealthCheck c = answered("retired_pages", s, over ? CheckStatus::fail : CheckStatus::pass, total,
                             limits_.retired_pages_fail_at);
    if (over) {
      c.dcgm_code = "DCGM_FR_RETIRED_PAGES_LIMIT";
      c.reason = count_text(total, "page", "pages") + " retired (limit " +
                 std::to_string(static_cast<long long>(limits_.retired_pages_fail_at)) + "): replace the GPU";
    }
    add(std::move(c));
  }
  begin("retired_pages_pending");
  nvmlEnableState_t pending{};
  CallStatus p = call(api.nvmlDeviceGetRetiredPagesPendingStatus, label, device, &pending);
  if (!p.ok()) {
    add(unanswered("retired_pages_pending", p));
    return;
  }
  const bool is = pending == NVML_FEATURE_ENABLED;
  HealthCheck c = answered("retired_pages_pending", p, is ? CheckStatus::fail : CheckStatus::pass, is, false);
  if (is) {
    c.dcgm_code = "DCGM_FR_PENDING_PAGE_RETIREMENTS";
    c.reason = "a page retirement is pending: reset the GPU";
  }
  add(std::move(c));
}

void NvmlHealth::ecc(nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  nvmlEnableState_t current{}, pending{};
  CallStatus mode = call(api.nvmlDeviceGetEccMode, label, device, &current, &pending);
  const bool off = mode.ok() && current != NVML_FEATURE_ENABLED;
  struct Counter {
    const char* name;
    nvmlEccCounterType_t type;
    double limit;
    CheckStatus over;
  };
  for (const Counter& k : {Counter{"ecc_uncorrected_volatile", NVML_VOLATILE_ECC, limits_.ecc_volatile_fail_above, CheckStatus::fail},
                           Counter{"ecc_uncorrected_aggregate", NVML_AGGREGATE_ECC, limits_.ecc_aggregate_warn_above, CheckStatus::warn}}) {
    begin(k.name);
    if (off) {
      HealthCheck c = answered(k.name, mode, CheckStatus::unsupported, json(), k.limit);
      c.reason = "ECC is disabled";
      add(std::move(c));
      continue;
    }
    unsigned long long n = 0;
    CallStatus s = call(api.nvmlDeviceGetTotalEccErrors, label, device, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, k.type, &n);
    if (!s.ok()) {
      add(unanswered(k.name, s));
      continue;
    }
    const bool above = static_cast<double>(n) > k.limit;
    HealthCheck c = answered(k.name, s, above ? k.over : CheckStatus::pass, n, k.limit);
    if (above) {
      if (k.type == NVML_VOLATILE_ECC) {
        c.dcgm_code = "DCGM_FR_VOLATILE_DBE_DETECTED";
        c.reason = count_text(n, "uncorrected ECC error", "uncorrected ECC errors") + " since the driver loaded";
      } else {
        c.reason = count_text(n, "uncorrected ECC error", "uncorrected ECC errors") + " in the GPU's lifetime";
      }
    }
    add(std::move(c));
  }
}

void NvmlHealth::inforom(nvmlDevice_t device, const std::string& label) {
  begin("inforom");
  CallStatus s = call(nvml_->api().nvmlDeviceValidateInforom, label, device);
  if (s.code == NVML_ERROR_CORRUPTED_INFOROM) {
    HealthCheck c = answered("inforom", s, CheckStatus::fail, false, true);
    c.dcgm_code = "DCGM_FR_CORRUPT_INFOROM";
    c.reason = "the InfoROM is corrupted: flash it again or replace the board";
    add(std::move(c));
    return;
  }
  if (!s.ok()) {
    add(unanswered("inforom", s));
    return;
  }
  add(answered("inforom", s, CheckStatus::pass, true, true));
}

void NvmlHealth::persistence(nvmlDevice_t device, const std::string& label) {
  begin("persistence_mode");
  nvmlEnableState_t mode{};
  CallStatus s = call(nvml_->api().nvmlDeviceGetPersistenceMode, label, device, &mode);
  if (!s.ok()) {
    add(unanswered("persistence_mode", s));
    return;
  }
  const bool on = mode == NVML_FEATURE_ENABLED;
  HealthCheck c = answered("persistence_mode", s, on ? CheckStatus::pass : verdict(limits_.persistence_disabled), on, true);
  if (!on) {
    c.dcgm_code = "DCGM_FR_PERSISTENCE_MODE";
    c.reason = "persistence mode is off: each job pays the driver's initialisation (enable nvidia-persistenced)";
  }
  add(std::move(c));
}

void NvmlHealth::pcie(nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  begin("pcie_link");
  PcieLink link;
  auto read = [&](const VendorFunction<nvmlDeviceGetUInt_fn>& f, std::optional<int>& out) {
    if (unsigned int v = 0; call(f, label, device, &v).ok()) out = static_cast<int>(v);
  };
  read(api.nvmlDeviceGetCurrPcieLinkGeneration, link.current_generation);
  read(api.nvmlDeviceGetCurrPcieLinkWidth, link.current_width);
  read(api.nvmlDeviceGetMaxPcieLinkGeneration, link.max_generation);
  read(api.nvmlDeviceGetMaxPcieLinkWidth, link.max_width);
  add(pcie_link_check(link, limits_, "nvmlDeviceGetCurrPcieLinkGeneration/Width, nvmlDeviceGetMaxPcieLinkGeneration/Width"));

  begin("pcie_replay");
  unsigned int replays = 0;
  CallStatus s = call(api.nvmlDeviceGetPcieReplayCounter, label, device, &replays);
  if (!s.ok()) {
    add(unanswered("pcie_replay", s));
    return;
  }
  const bool above = replays > limits_.pcie_replay_warn_above;
  HealthCheck c = answered("pcie_replay", s, above ? CheckStatus::warn : CheckStatus::pass, replays,
                           limits_.pcie_replay_warn_above);
  if (above) {
    c.dcgm_code = "DCGM_FR_PCI_REPLAY_RATE";
    c.reason = count_text(replays, "PCIe replay", "PCIe replays") + " since boot: a marginal link";
  }
  add(std::move(c));
}

// nvml.h nvmlClocksEventReason* names, for the reason text.
std::string reason_names(unsigned long long mask) {
  static const std::pair<unsigned long long, const char*> names[] = {
      {nvmlClocksEventReasonGpuIdle, "gpu_idle"},
      {nvmlClocksEventReasonApplicationsClocksSetting, "applications_clocks_setting"},
      {nvmlClocksEventReasonSwPowerCap, "sw_power_cap"},
      {nvmlClocksEventReasonHwSlowdown, "hw_slowdown"},
      {nvmlClocksEventReasonSyncBoost, "sync_boost"},
      {nvmlClocksEventReasonSwThermalSlowdown, "sw_thermal_slowdown"},
      {nvmlClocksEventReasonHwThermalSlowdown, "hw_thermal_slowdown"},
      {nvmlClocksEventReasonHwPowerBrakeSlowdown, "hw_power_brake_slowdown"},
      {nvmlClocksEventReasonDisplayClockSetting, "display_clock_setting"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (mask & bit) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

void NvmlHealth::clocks(nvmlDevice_t device, const std::string& label) {
  begin("clocks_event_reasons");
  unsigned long long mask = 0;
  CallStatus s = call(nvml_->api().nvmlDeviceGetCurrentClocksEventReasons, label, device, &mask);
  if (!s.ok()) {
    add(unanswered("clocks_event_reasons", s));
    return;
  }
  const unsigned long long bad = mask & limits_.clocks_fail_mask, doubtful = mask & limits_.clocks_warn_mask;
  CheckStatus status = bad ? CheckStatus::fail : doubtful ? CheckStatus::warn : CheckStatus::pass;
  HealthCheck c = answered("clocks_event_reasons", s, status, mask,
                           {{"fail_mask", limits_.clocks_fail_mask}, {"warn_mask", limits_.clocks_warn_mask}});
  if (bad || doubtful) {
    const unsigned long long shown = bad ? bad : doubtful;
    const bool thermal = shown & (nvmlClocksEventReasonHwThermalSlowdown | nvmlClocksEventReasonSwThermalSlowdown);
    c.dcgm_code = thermal ? "DCGM_FR_CLOCK_THROTTLE_THERMAL" : "DCGM_FR_CLOCK_THROTTLE_POWER";
    c.reason = "clocks held down: " + reason_names(shown);
  }
  add(std::move(c));
}

void NvmlHealth::fabric(nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  begin("fabric");
  unsigned char state = 0;
  nvmlReturn_t outcome = NVML_SUCCESS;
  CallStatus s;
  if (api.nvmlDeviceGetGpuFabricInfoV) {
    nvmlGpuFabricInfo_v2_t info{};
    info.version = nvmlGpuFabricInfo_v2;
    s = call(api.nvmlDeviceGetGpuFabricInfoV, label, device, &info);
    state = info.state;
    outcome = info.status;
  } else {
    nvmlGpuFabricInfo_t info{};
    s = call(api.nvmlDeviceGetGpuFabricInfo, label, device, &info);
    state = info.state;
    outcome = info.status;
  }
  if (!s.ok() || state == NVML_GPU_FABRIC_STATE_NOT_SUPPORTED) {
    HealthCheck c = s.ok() ? answered("fabric", s, CheckStatus::unsupported, json(), json()) : unanswered("fabric", s);
    c.reason = "no NVSwitch fabric on this GPU (" + (s.ok() ? std::string("state not_supported") : s.note()) + ")";
    add(std::move(c));
    return;
  }
  static const char* names[] = {"not_supported", "not_started", "in_progress", "completed"};
  const char* name = state <= NVML_GPU_FABRIC_STATE_COMPLETED ? names[state] : "unknown";
  const bool done = state == NVML_GPU_FABRIC_STATE_COMPLETED && outcome == NVML_SUCCESS;
  HealthCheck c = answered("fabric", s, done ? CheckStatus::pass : CheckStatus::fail,
                           {{"state", name}, {"status", static_cast<int>(outcome)}}, {{"state", "completed"}, {"status", 0}});
  if (!done) {
    c.dcgm_code = "DCGM_FR_CUDA_FM_NOT_INITIALIZED";
    c.reason = state != NVML_GPU_FABRIC_STATE_COMPLETED
                   ? std::string("fabric registration ") + name + ": CUDA cannot start (is nvidia-fabricmanager running?)"
                   : "fabric registration failed with NVML status " + std::to_string(static_cast<int>(outcome));
  }
  add(std::move(c));
}

void NvmlHealth::xid_events(nvmlEventSet_t set, const std::vector<nvmlDevice_t>& devices,
                            const std::vector<bool>& registered) {
  const auto& api = nvml_->api();
  std::vector<std::vector<unsigned long long>> seen(devices.size());
  {
    std::lock_guard<std::mutex> lock(progress_->mutex);
    progress_->current = -1;
    progress_->check = "xid_critical";
  }
  if (set) {
    // Drain what is queued, then wait once for the configured time.
    const unsigned int wait_ms = static_cast<unsigned int>(limits_.xid_wait_s * 1000 + 0.5);
    for (int n = 0; n < 1024; ++n) {
      nvmlEventData_t data{};
      CallStatus s = call(api.nvmlEventSetWait, "", set, &data, n == 0 ? wait_ms : 0u);
      if (!s.ok()) break;
      for (std::size_t i = 0; i < devices.size(); ++i)
        if (devices[i] == data.device && (data.eventType & nvmlEventTypeXidCriticalError)) seen[i].push_back(data.eventData);
    }
  }
  std::lock_guard<std::mutex> lock(progress_->mutex);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    HealthCheck c;
    c.name = "xid_critical";
    c.source = "nvmlDeviceRegisterEvents(nvmlEventTypeXidCriticalError), nvmlEventSetWait";
    if (!set || !registered[i]) {
      c.status = CheckStatus::unsupported;
      c.reason = "Xid events cannot be registered for this GPU";
    } else {
      c.value = seen[i];
      c.threshold = limits_.xid_fail_above;
      const bool above = static_cast<double>(seen[i].size()) > limits_.xid_fail_above;
      c.status = above ? CheckStatus::fail : CheckStatus::pass;
      if (above) {
        c.dcgm_code = "DCGM_FR_XID_ERROR";
        std::string list;
        for (auto x : seen[i]) list += (list.empty() ? "" : ", ") + std::to_string(x);
        c.reason = "critical Xid " + list + " while probing";
      }
    }
    progress_->gpus[i].checks.push_back(std::move(c));
  }
}

}  // namespace
}  // namespace detail

VendorHealth check_nvidia_health(const HealthLimits& limits, double timeout_s) {
  VendorHealth out;
  out.vendor = "nvidia";
  auto nvml = detail::NvmlLibrary::open();
  if (!nvml) {
    out.status = {VendorState::library_absent, nvml.error().what()};
    return out;
  }
  auto progress = std::make_shared<detail::HealthProgress>();
  std::shared_ptr<detail::NvmlLibrary> library = *nvml;
  auto result = detail::run_tracked<bool>(timeout_s, [library, limits, progress](detail::CallTracker& tracker) -> Result<bool> {
    detail::NvmlHealth(library, limits, progress, tracker).run();
    return true;
  });
  std::lock_guard<std::mutex> lock(progress->mutex);
  out.gpus = progress->gpus;
  out.status = progress->status;
  if (!result) {
    // What was checked stays; the check in flight says which call did not return.
    out.status = {VendorState::timeout, result.error().what()};
    HealthCheck c;
    c.name = progress->check;
    c.status = CheckStatus::timeout;
    c.reason = result.error().what();
    c.source = "NVML";
    if (progress->current >= 0) {
      out.gpus[static_cast<std::size_t>(progress->current)].checks.push_back(c);
    } else {
      for (auto& g : out.gpus) g.checks.push_back(c);
    }
  }
  return out;
}

}  // namespace gpukit
