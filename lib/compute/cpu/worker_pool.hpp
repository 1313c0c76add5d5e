// One worker thread per core the process may use, each bound to its core with
// hwloc, so that a worker's share of an array stays on its NUMA node (the
// workers first-touch what they later read).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace gpukit::cpu {

class WorkerPool {
 public:
  // `workers` threads; `bind(i)` binds the calling thread to core i and returns
  // false when that is not possible (the worker then runs unbound).
  WorkerPool(int workers, std::function<bool(int)> bind);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()); }
  bool all_bound() const;

  // Runs job(worker) on every worker and returns when all are done.
  void run(const std::function<void(int)>& job);

  // [begin, end) of worker w's share of n elements, aligned to `alignment`.
  static std::pair<std::uint64_t, std::uint64_t> share(std::uint64_t n, int workers, int w, std::uint64_t alignment);

 private:
  void loop(int index);

  std::vector<std::thread> threads_;
  std::function<bool(int)> bind_;
  std::mutex run_mutex_;  // one job at a time
  mutable std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  std::uint64_t generation_ = 0;
  int pending_ = 0;
  int bound_ = 0;
  bool stop_ = false;
};

}  // namespace gpukit::cpu
