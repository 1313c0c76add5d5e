// A one-line progress bar on standard error, for people at a terminal; silent
// in pipes and with --quiet.
#pragma once

#include <ostream>
#include <string>

namespace gpukit {

class Progress {
 public:
  Progress(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}
  ~Progress() { finish(); }
  void update(int done, int total, const std::string& label);
  void finish();

 private:
  std::ostream& out_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace gpukit
