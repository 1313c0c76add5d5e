#include "bench/progress.hpp"

namespace gpukit {

void Progress::update(int done, int total, const std::string& label) {
  if (!enabled_ || total <= 0) return;
  constexpr int width = 24;
  int filled = done * width / total;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string line = "[" + bar + "] " + std::to_string(done) + "/" + std::to_string(total) + " " + label;
  if (line.size() > 100) line = line.substr(0, 100);
  out_ << "\r\033[K" << line << std::flush;  // \033[K: clear to the end of the line
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  out_ << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace gpukit
