// Running and watching the payload, and the signals around it.
//
// Signals arrive through a signalfd (they are blocked in every thread, so no
// handler runs): SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are
// forwarded to the payload's process group, which is its own (the payload is
// the leader), so that a batch system's SIGTERM to gpuaccount reaches the
// payload and all its children, as it would without the wrapper. On a
// terminal the payload's group is made the foreground group, so Ctrl-C and
// job control reach it directly and gpuaccount does not forward them twice.
// gpuaccount is a child subreaper: orphaned descendants stay in the tree it
// accounts, and it reaps them.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

struct PayloadExit {
  int status = 0;                   // what gpuaccount exits with: the code, or 128 + signal
  std::optional<int> exit_code;     // WEXITSTATUS
  std::optional<int> signal;        // WTERMSIG
  double user_s = 0, system_s = 0;  // rusage of all reaped descendants (RUSAGE_CHILDREN)
  std::uint64_t max_rss_kb = 0;     // largest single process
};

// What happened while waiting.
enum class Wakeup { timeout, payload_exited, target_exited, stop_requested };

const std::vector<int>& forwarded_signals();
std::string signal_name(int signal);  // "SIGTERM"

class Supervisor {
 public:
  // Blocks the forwarded signals and SIGCHLD in this thread (and so in every
  // thread started later) and opens the signalfd. Call before starting threads.
  static Result<Supervisor> create();
  ~Supervisor();
  Supervisor(Supervisor&& other) noexcept;
  Supervisor& operator=(Supervisor&&) = delete;
  Supervisor(const Supervisor&) = delete;

  // Wrap mode: becomes a subreaper and starts `argv` (PATH searched) in its own
  // process group with the signal mask and dispositions gpuaccount inherited.
  // When it cannot be executed, the exit is already known: 127 (not found) or
  // 126 (not executable), with the reason in exec_error().
  Result<pid_t> spawn(const std::vector<std::string>& argv);
  const std::string& exec_error() const { return exec_error_; }

  // Attach mode: watch `pid` (a pidfd when the kernel has one, else polling).
  Status watch(pid_t pid);

  // Waits up to `timeout_s`. Forwarded signals go to the payload in wrap mode;
  // in attach and node mode SIGINT, SIGTERM and SIGHUP request a stop.
  Wakeup wait(double timeout_s);

  bool payload_running() const { return payload_ > 0 && !exit_; }
  const std::optional<PayloadExit>& payload_exit() const { return exit_; }
  const std::vector<std::string>& forwarded() const { return forwarded_names_; }
  // Descendants still alive when the payload ended (they are left running).
  std::vector<int> remaining_descendants() const;
  // Puts back the signal mask and dispositions gpuaccount inherited (before
  // exec'ing the payload in gpuaccount's place).
  void restore_inherited_signals();
  // Gives the terminal back to gpuaccount's group if the payload had it.
  void restore_terminal();

 private:
  Supervisor() = default;
  void reap();
  void finish_payload(int wait_status);

  // The signal state gpuaccount inherited, restored in the payload before exec
  // so that it starts as it would have without the wrapper.
  struct Inherited {
    sigset_t mask;
    struct sigaction pipe_action, ttou_action;
  };
  Inherited inherited_{};
  int signal_fd_ = -1;
  int pid_fd_ = -1;
  pid_t payload_ = -1;
  pid_t watched_ = -1;
  bool gave_terminal_ = false;
  bool stop_ = false;
  std::optional<PayloadExit> exit_;
  std::vector<std::string> forwarded_names_;
  std::string exec_error_;
};

// Once a payload runs, gpuaccount must not take it down with it. After
// arm_last_resort(), a std::terminate or a fatal signal in gpuaccount (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGABRT) no longer kills it: one line on stderr, then
// it goes on forwarding signals to the payload's group, waits for the payload
// and exits with its status (the record is then left as last written).
void arm_last_resort(pid_t payload);

}  // namespace gpukit
