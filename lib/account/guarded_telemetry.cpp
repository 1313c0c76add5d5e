#include "account/guarded_telemetry.hpp"

#include <exception>

namespace gpukit {

template <class T, class Call>
Result<T> GuardedTelemetry::guarded(const std::string& key, Call&& call) {
  const std::string uuid = key.rfind("events:", 0) == 0 ? key.substr(7) : key;
  if (timed_out_.count(key))
    return deadline_error("not called again: an earlier call did not return", uuid);
  try {
    Result<T> result = call();
    if (!result.ok() && result.error().code == ExitCode::deadline) timed_out_.insert(key);
    return result;
  } catch (const std::exception& e) {
    return environment_error(std::string("telemetry call failed: ") + e.what(), uuid);
  }
}

Result<DeviceSample> GuardedTelemetry::sample(const std::string& uuid) {
  return guarded<DeviceSample>(uuid, [&] { return source_->sample(uuid); });
}

Result<std::vector<ProcessSample>> GuardedTelemetry::processes(const std::string& uuid, std::uint64_t& since_us) {
  return guarded<std::vector<ProcessSample>>(uuid, [&] { return source_->processes(uuid, since_us); });
}

Result<DeviceEvents> GuardedTelemetry::events(const std::string& uuid) {
  return guarded<DeviceEvents>(events_key(uuid), [&] { return source_->events(uuid); });
}

}  // namespace gpukit
