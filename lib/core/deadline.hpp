// Calls that may hang (a wedged driver, a GPU that fell off the bus) run on a
// worker thread; the caller gives up after a deadline and goes on. The worker is
// detached and abandoned: it can never block the process's exit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace gpukit {

// How many calls were abandoned after their deadline so far. A tool whose count
// is non-zero ends with _exit() after flushing its output, so that no static
// destructor runs under a thread still inside a vendor library.
int abandoned_calls();

namespace detail {
void note_abandoned_call();
}

// Runs `fn` with a deadline of `limit` seconds. On expiry returns a deadline error
// "<what> did not return within N s". `fn` must own (capture by value) all it uses.
template <class T>
Result<T> run_with_deadline(std::function<Result<T>()> fn, double limit_s, const std::string& what) {
  struct Shared {
    std::mutex m;
    std::condition_variable cv;
    std::optional<Result<T>> result;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, fn = std::move(fn)]() mutable {
    Result<T> r = fn();
    std::lock_guard<std::mutex> lock(shared->m);
    shared->result.emplace(std::move(r));
    shared->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(shared->m);
  auto limit = std::chrono::duration<double>(limit_s);
  if (!shared->cv.wait_for(lock, limit, [&] { return shared->result.has_value(); })) {
    detail::note_abandoned_call();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", limit_s);
    return deadline_error(what + " did not return within " + buf + " s");
  }
  return std::move(*shared->result);
}

}  // namespace gpukit
