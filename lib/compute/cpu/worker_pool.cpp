#include "compute/cpu/worker_pool.hpp"

#include <algorithm>

namespace gpukit::cpu {

WorkerPool::WorkerPool(int workers, std::function<bool(int)> bind) : bind_(std::move(bind)) {
  threads_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i); });
  // Wait until every worker has bound itself: the first job must already run
  // where it will always run.
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return pending_ == -workers; });
  pending_ = 0;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::all_bound() const {
  std::lock_guard lock(mutex_);
  return bound_ == size();
}

void WorkerPool::loop(int index) {
  bool bound = bind_ ? bind_(index) : false;
  std::uint64_t seen = 0;
  {
    std::lock_guard lock(mutex_);
    if (bound) ++bound_;
    --pending_;  // counts down to -workers during start-up
  }
  done_.notify_all();
  for (;;) {
    const std::function<void(int)>* job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(index);
    {
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_all();
    }
  }
}

void WorkerPool::run(const std::function<void(int)>& job) {
  std::lock_guard one_job(run_mutex_);
  std::unique_lock lock(mutex_);
  job_ = &job;
  pending_ = size();
  ++generation_;
  wake_.notify_all();
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

std::pair<std::uint64_t, std::uint64_t> WorkerPool::share(std::uint64_t n, int workers, int w,
                                                          std::uint64_t alignment) {
  std::uint64_t per = (n + static_cast<std::uint64_t>(workers) - 1) / static_cast<std::uint64_t>(workers);
  per = (per + alignment - 1) / alignment * alignment;
  std::uint64_t begin = std::min(n, per * static_cast<std::uint64_t>(w));
  std::uint64_t end = std::min(n, begin + per);
  return {begin, end};
}

}  // namespace gpukit::cpu
