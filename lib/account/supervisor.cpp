#include "account/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <vector>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "account/proc_tree.hpp"

namespace gpukit {

namespace {

// What the last-resort handlers need, in the only form a signal handler can
// reach: the payload, and its status once the supervisor has reaped it.
std::atomic<pid_t> last_resort_payload{-1};
std::atomic<int> last_resort_status{-1};

sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : forwarded_signals()) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  return set;
}

// The program that execv will run: argv[0] as a path, or found on PATH. Done
// before fork, because the child of a process with threads may only call
// async-signal-safe functions.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::string first_found;
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    auto colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(pos, colon - pos);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st{};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (first_found.empty()) first_found = candidate;
    }
    pos = colon + 1;
  }
  return first_found.empty() ? name : first_found;
}

int exec_failure_status(int err) { return err == ENOENT || err == ENOTDIR ? 127 : 126; }

}  // namespace

const std::vector<int>& forwarded_signals() {
  static const std::vector<int> signals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  return signals;
}

std::string signal_name(int s) {
  switch (s) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGXCPU: return "SIGXCPU";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "SIG" + std::to_string(s);
  }
}

Result<Supervisor> Supervisor::create() {
  Supervisor s;
  Supervisor::Inherited& in = s.inherited_;
  sigset_t set = handled_set();
  sigset_t with_ttou = set;
  // SIGTTOU too: gpuaccount takes the terminal back from the payload's group
  // at the end, which a background group may only do with SIGTTOU blocked.
  sigaddset(&with_ttou, SIGTTOU);
  if (pthread_sigmask(SIG_BLOCK, &with_ttou, &in.mask) != 0) return environment_error("cannot block signals", "pthread_sigmask");
  // A closed stdout must not kill the wrapper (and with it the record).
  struct sigaction ignore{};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &in.pipe_action);
  ::sigaction(SIGTTOU, nullptr, &in.ttou_action);
  s.signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s.signal_fd_ < 0) return environment_error(std::string("cannot open a signalfd: ") + std::strerror(errno), "signalfd");
  return s;
}

Supervisor::Supervisor(Supervisor&& o) noexcept
    : inherited_(o.inherited_),
      signal_fd_(o.signal_fd_),
      pid_fd_(o.pid_fd_),
      payload_(o.payload_),
      watched_(o.watched_),
      gave_terminal_(o.gave_terminal_),
      stop_(o.stop_),
      exit_(std::move(o.exit_)),
      forwarded_names_(std::move(o.forwarded_names_)),
      exec_error_(std::move(o.exec_error_)) {
  o.signal_fd_ = -1;
  o.pid_fd_ = -1;
}

Supervisor::~Supervisor() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (pid_fd_ >= 0) ::close(pid_fd_);
}

Result<pid_t> Supervisor::spawn(const std::vector<std::string>& command) {
  if (command.empty()) return usage_error("no command to run after --");
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  bool give_terminal = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  std::string program = resolve_program(command[0]);
  std::vector<std::string> args = command;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return environment_error(std::string("pipe: ") + std::strerror(errno));
  const Inherited& in = inherited_;

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return environment_error(std::string("cannot fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Async-signal-safe calls only from here to exec.
    ::close(report[0]);
    ::setpgid(0, 0);
    if (give_terminal) ::tcsetpgrp(STDIN_FILENO, ::getpid());
    ::sigaction(SIGPIPE, &in.pipe_action, nullptr);
    ::sigaction(SIGTTOU, &in.ttou_action, nullptr);
    ::sigprocmask(SIG_SETMASK, &in.mask, nullptr);
    ::execv(program.c_str(), argv.data());
    int err = errno;
    ssize_t ignored = ::write(report[1], &err, sizeof err);
    (void)ignored;
    ::_exit(exec_failure_status(err));
  }
  ::close(report[1]);
  ::setpgid(pid, pid);  // also here: whichever of the two runs first
  if (give_terminal) {
    ::tcsetpgrp(STDIN_FILENO, pid);
    gave_terminal_ = true;
  }
  payload_ = pid;
  int err = 0;
  ssize_t n;
  do n = ::read(report[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    exec_error_ = command[0] + ": " + std::strerror(err);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    finish_payload(st);
  }
  return pid;
}

Status Supervisor::watch(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return usage_error("no such process", "--pid " + std::to_string(pid));
  watched_ = pid;
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) pid_fd_ = static_cast<int>(fd);
#endif
  return {};
}

void Supervisor::finish_payload(int st) {
  PayloadExit e;
  if (WIFEXITED(st)) {
    e.exit_code = WEXITSTATUS(st);
    e.status = *e.exit_code;
  } else if (WIFSIGNALED(st)) {
    e.signal = WTERMSIG(st);
    e.status = 128 + *e.signal;
  }
  struct rusage ru{};
  if (::getrusage(RUSAGE_CHILDREN, &ru) == 0) {
    e.user_s = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
    e.system_s = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
    e.max_rss_kb = static_cast<std::uint64_t>(ru.ru_maxrss);
  }
  exit_ = e;
  last_resort_status.store(e.status);
}

void Supervisor::reap() {
  for (;;) {
    int st = 0;
    pid_t pid = ::waitpid(-1, &st, WNOHANG);
    if (pid <= 0) return;
    if (pid == payload_ && !exit_) finish_payload(st);
  }
}

Wakeup Supervisor::wait(double timeout_s) {
  bool had_exit = exit_.has_value();
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {pid_fd_, POLLIN, 0}};
  int nfds = pid_fd_ >= 0 ? 2 : 1;
  int ms = timeout_s <= 0 ? 0 : static_cast<int>(std::ceil(timeout_s * 1000));
  int r = ::poll(fds, static_cast<nfds_t>(nfds), ms);
  if (r > 0 && (fds[0].revents & POLLIN)) {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
        continue;
      }
      if (payload_ > 0) {
        if (!exit_) {
          // The whole group, as the batch system would have signalled the job;
          // the leader alone if the group is already gone.
          if (::kill(-payload_, sig) != 0) ::kill(payload_, sig);
          forwarded_names_.push_back(signal_name(sig));
        }
      } else if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
        stop_ = true;
      }
    }
  }
  if (payload_ > 0) reap();  // a SIGCHLD may have been merged with an earlier one
  if (!had_exit && exit_) return Wakeup::payload_exited;
  if (stop_) return Wakeup::stop_requested;
  if (watched_ > 0) {
    bool gone = (nfds == 2 && r > 0 && (fds[1].revents & POLLIN)) || (::kill(watched_, 0) != 0 && errno == ESRCH);
    if (gone) return Wakeup::target_exited;
  }
  return Wakeup::timeout;
}

std::vector<int> Supervisor::remaining_descendants() const {
  if (payload_ <= 0) return {};
  return read_tree(::getpid(), false).pids;
}

void Supervisor::restore_inherited_signals() {
  ::sigaction(SIGPIPE, &inherited_.pipe_action, nullptr);
  ::sigaction(SIGTTOU, &inherited_.ttou_action, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &inherited_.mask, nullptr);
}

void Supervisor::restore_terminal() {
  if (!gave_terminal_) return;
  ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
  gave_terminal_ = false;
}

namespace {

int status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

// Async-signal-safe calls only: it runs in a signal handler.
[[noreturn]] void outlive_gpuaccount() {
  static const char message[] =
      "gpuaccount: internal failure: accounting stopped; waiting for the command to return its status\n";
  ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
  pid_t payload = last_resort_payload.load();
  sigset_t set = handled_set();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  for (;;) {
    for (;;) {
      int st = 0;
      pid_t pid = ::waitpid(-1, &st, WNOHANG);
      if (pid == payload) ::_exit(status_of(st));
      if (pid < 0 && errno == ECHILD) {
        int known = last_resort_status.load();
        ::_exit(known >= 0 ? known : 1);
      }
      if (pid <= 0) break;
    }
    timespec second{1, 0};
    siginfo_t info{};
    int sig = ::sigtimedwait(&set, &info, &second);
    if (sig > 0 && sig != SIGCHLD && ::kill(-payload, sig) != 0) ::kill(payload, sig);
  }
}

void on_fatal_signal(int) { outlive_gpuaccount(); }

}  // namespace

void arm_last_resort(pid_t payload) {
  last_resort_payload.store(payload);
  std::set_terminate([] { outlive_gpuaccount(); });
  // An own stack, so that a stack overflow can still be handled.
  static std::vector<char> alternate(1 << 16);
  stack_t ss{};
  ss.ss_sp = alternate.data();
  ss.ss_size = alternate.size();
  ::sigaltstack(&ss, nullptr);
  struct sigaction fatal{};
  fatal.sa_handler = on_fatal_signal;
  fatal.sa_flags = SA_ONSTACK;
  sigemptyset(&fatal.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &fatal, nullptr);
}

}  // namespace gpukit
