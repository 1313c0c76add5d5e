// Level-1 GPU health through amd_smi: uncorrectable ECC (RAS) counts and bad
// (retired) pages, where the library offers them.
#include <cstdint>

#include "core/deadline.hpp"
#include "core/dynlib.hpp"
#include "vendors/amd/amd_smi_api.hpp"
#include "vendors/amd/kfd.hpp"
#include "vendors/health.hpp"

namespace gpukit {

namespace detail {
namespace {

// amdsmi_retired_page_record_t and amdsmi_memory_page_status_t (amdsmi.h, ROCm 6.x).
struct RetiredPageRecord {
  std::uint64_t page_address;
  std::uint64_t page_size;
  std::uint32_t status;  // 0 reserved, 1 pending, 2 unreservable
};
constexpr std::uint32_t page_status_pending = 1;
using get_gpu_bad_page_info_fn = amdsmi_status_t(amdsmi_processor_handle, std::uint32_t* num_pages, RetiredPageRecord* info);

struct AmdHealthApi {
  std::shared_ptr<DynamicLibrary> library;
  amdsmi::init_fn* init = nullptr;
  amdsmi::shut_down_fn* shut_down = nullptr;
  amdsmi::get_socket_handles_fn* socket_handles = nullptr;
  amdsmi::get_processor_handles_fn* processor_handles = nullptr;
  amdsmi::get_gpu_device_bdf_fn* device_bdf = nullptr;
  amdsmi::get_gpu_total_ecc_count_fn* ecc_count = nullptr;
  get_gpu_bad_page_info_fn* bad_pages = nullptr;
};

HealthCheck unavailable(const char* name, const char* call, amdsmi_status_t status) {
  HealthCheck c;
  c.name = name;
  c.source = call;
  c.status = CheckStatus::unsupported;
  c.reason = std::string(call) + (status == amdsmi::status_not_supported ? ": not supported on this GPU"
                                                                         : " returned " + std::to_string(status));
  return c;
}

void check_ecc(const AmdHealthApi& api, amdsmi_processor_handle h, const HealthLimits& limits, GpuHealthRecord& out) {
  const char* call = "amdsmi_get_gpu_total_ecc_count";
  if (!api.ecc_count) {
    out.checks.push_back(unavailable("ecc_uncorrected_volatile", call, amdsmi::status_not_supported));
    return;
  }
  amdsmi::ErrorCount count{};
  if (auto st = api.ecc_count(h, &count); st != amdsmi::status_success) {
    out.checks.push_back(unavailable("ecc_uncorrected_volatile", call, st));
    return;
  }
  HealthCheck c;
  c.name = "ecc_uncorrected_volatile";
  c.source = call;
  c.value = count.uncorrectable_count;
  c.threshold = limits.amd_ecc_fail_above;
  const bool above = static_cast<double>(count.uncorrectable_count) > limits.amd_ecc_fail_above;
  c.status = above ? CheckStatus::fail : CheckStatus::pass;
  if (above) c.reason = std::to_string(count.uncorrectable_count) + " uncorrectable ECC (RAS) errors";
  out.checks.push_back(std::move(c));
}

void check_bad_pages(const AmdHealthApi& api, amdsmi_processor_handle h, const HealthLimits& limits,
                     GpuHealthRecord& out) {
  const char* call = "amdsmi_get_gpu_bad_page_info";
  std::uint32_t n = 0;
  amdsmi_status_t st = api.bad_pages ? api.bad_pages(h, &n, nullptr) : amdsmi::status_not_supported;
  std::vector<RetiredPageRecord> pages(n);
  if (st == amdsmi::status_success && n > 0) st = api.bad_pages(h, &n, pages.data());
  if (st != amdsmi::status_success) {
    out.checks.push_back(unavailable("retired_pages", call, st));
    out.checks.push_back(unavailable("retired_pages_pending", call, st));
    return;
  }
  pages.resize(std::min<std::size_t>(n, pages.size()));
  std::uint64_t pending = 0;
  for (const auto& p : pages) pending += p.status == page_status_pending ? 1 : 0;
  HealthCheck total;
  total.name = "retired_pages";
  total.source = call;
  total.value = n;
  total.threshold = limits.amd_bad_pages_fail_at;
  const bool over = static_cast<double>(n) >= limits.amd_bad_pages_fail_at;
  total.status = over ? CheckStatus::fail : CheckStatus::pass;
  if (over) total.reason = std::to_string(n) + " bad pages retired: replace the GPU";
  out.checks.push_back(std::move(total));
  HealthCheck p;
  p.name = "retired_pages_pending";
  p.source = call;
  p.value = pending;
  p.threshold = 0;
  p.status = pending ? CheckStatus::fail : CheckStatus::pass;
  if (pending) p.reason = std::to_string(pending) + " bad pages pending retirement: reset the GPU";
  out.checks.push_back(std::move(p));
}

Result<VendorHealth> run_amd_health(const AmdHealthApi& api, const HealthLimits& limits) {
  VendorHealth out;
  out.vendor = "amd";
  if (auto st = api.init(amdsmi::init_amd_gpus); st != amdsmi::status_success) {
    out.status = {VendorState::init_failed, "amdsmi_init returned " + std::to_string(st)};
    return out;
  }
  std::uint32_t sockets = 0;
  api.socket_handles(&sockets, nullptr);
  std::vector<amdsmi_socket_handle> socket_list(sockets);
  if (sockets) api.socket_handles(&sockets, socket_list.data());
  socket_list.resize(std::min<std::size_t>(sockets, socket_list.size()));
  int index = 0;
  for (auto socket : socket_list) {
    std::uint32_t count = 0;
    if (api.processor_handles(socket, &count, nullptr) != amdsmi::status_success || count == 0) continue;
    std::vector<amdsmi_processor_handle> handles(count);
    if (api.processor_handles(socket, &count, handles.data()) != amdsmi::status_success) continue;
    handles.resize(std::min<std::size_t>(count, handles.size()));
    for (auto h : handles) {
      amdsmi::Bdf bdf;
      if (api.device_bdf(h, &bdf) != amdsmi::status_success) continue;  // cannot be matched to the inventory
      GpuHealthRecord r;
      r.index = index++;
      r.pci_bus_id = bdf.text();
      check_ecc(api, h, limits, r);
      check_bad_pages(api, h, limits, r);
      HealthCheck throttle;
      throttle.name = "clocks_event_reasons";
      throttle.source = "amdsmi_get_gpu_metrics_info";
      throttle.reason = "the throttle status of amd_smi's GPU metrics is not read by gpukit yet";
      r.checks.push_back(std::move(throttle));
      out.gpus.push_back(std::move(r));
    }
  }
  api.shut_down();
  out.status = {out.gpus.empty() ? VendorState::no_gpu : VendorState::ok, ""};
  return out;
}

}  // namespace
}  // namespace detail

VendorHealth check_amd_health(const HealthLimits& limits, double timeout_s) {
  VendorHealth out;
  out.vendor = "amd";
  auto opened = detail::open_amdsmi_library();
  if (!opened) {
    out.status = {VendorState::library_absent, opened.error().what()};
    return out;
  }
  auto api = std::make_shared<detail::AmdHealthApi>();
  auto& lib = **opened;
  api->library = *opened;
  api->init = lib.function<amdsmi::init_fn>({"amdsmi_init"});
  api->shut_down = lib.function<amdsmi::shut_down_fn>({"amdsmi_shut_down"});
  api->socket_handles = lib.function<amdsmi::get_socket_handles_fn>({"amdsmi_get_socket_handles"});
  api->processor_handles = lib.function<amdsmi::get_processor_handles_fn>({"amdsmi_get_processor_handles"});
  api->device_bdf = lib.function<amdsmi::get_gpu_device_bdf_fn>({"amdsmi_get_gpu_device_bdf"});
  api->ecc_count = lib.function<amdsmi::get_gpu_total_ecc_count_fn>({"amdsmi_get_gpu_total_ecc_count"});
  api->bad_pages = lib.function<detail::get_gpu_bad_page_info_fn>({"amdsmi_get_gpu_bad_page_info"});
  if (!api->init || !api->shut_down || !api->socket_handles || !api->processor_handles || !api->device_bdf) {
    out.status = {VendorState::library_absent, lib.resolved_path() + ": lacks the entry points gpukit needs"};
    return out;
  }
  std::shared_ptr<const detail::AmdHealthApi> shared = api;
  HealthLimits copy = limits;
  auto result = run_with_deadline<VendorHealth>([shared, copy]() { return detail::run_amd_health(*shared, copy); },
                                                timeout_s, "amd_smi");
  if (result) return std::move(*result);
  out.status = {result.error().code == ExitCode::deadline ? VendorState::timeout : VendorState::init_failed,
                result.error().what()};
  return out;
}

}  // namespace gpukit
