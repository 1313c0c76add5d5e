// A payload for the gpuaccount tool tests. Modes:
//   signals READY LOG DEPTH  catch the forwarded signals; DEPTH 0..2 adds a child
//                            and a grandchild that catch them too; every process
//                            appends "<role> <SIGNAL>" to LOG; the top exits 64 + signo
//   ignore-term READY S      ignore SIGTERM, create READY, exit 0 after S seconds
//   fork-exit PIDFILE        fork a child that sleeps 30 s, write its pid, exit 0
//   spin S [CHILDREN]        burn S seconds of CPU, in CHILDREN more processes too
//   exit CODE                exit with CODE
//   kill SIGNO               kill itself with SIGNO
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* log_path = nullptr;
const char* role = "payload";
volatile sig_atomic_t got = 0;

void on_signal(int s) { got = s; }

const char* name(int s) {
  switch (s) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "OTHER";
  }
}

void append(const std::string& line) {
  int fd = ::open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return;
  (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

void touch(const char* path) {
  int fd = ::open(path, O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) ::close(fd);
}

double cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

void spin(double seconds) {
  volatile double x = 0;
  double start = cpu_seconds();
  while (cpu_seconds() - start < seconds)
    for (int i = 0; i < 100000; ++i) x = x + i * 0.5;
}

int signals_mode(const char* ready, int depth) {
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(s, &sa, nullptr);
  }
  std::vector<pid_t> kids;
  for (int level = 1; level <= depth; ++level) {
    pid_t pid = ::fork();
    if (pid == 0) {
      role = level == 1 ? "child" : "grandchild";
      kids.clear();
      continue;  // the child forks the next level
    }
    kids.push_back(pid);
    break;
  }
  std::string mine = std::string(ready) + "." + role;
  touch(mine.c_str());
  if (std::strcmp(role, "payload") == 0) {
    // READY once every level is up.
    for (const char* r : {"child", "grandchild"}) {
      if ((std::strcmp(r, "child") == 0 && depth < 1) || (std::strcmp(r, "grandchild") == 0 && depth < 2)) continue;
      std::string p = std::string(ready) + "." + r;
      while (::access(p.c_str(), F_OK) != 0) ::usleep(10000);
    }
    touch(ready);
  }
  while (!got) ::pause();
  append(std::string(role) + " " + name(got) + "\n");
  for (pid_t k : kids) ::waitpid(k, nullptr, 0);
  return 64 + got;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  if (mode == "signals" && argc == 5) {
    log_path = argv[3];
    return signals_mode(argv[2], std::atoi(argv[4]));
  }
  if (mode == "ignore-term" && argc == 4) {
    ::signal(SIGTERM, SIG_IGN);
    touch(argv[2]);
    ::usleep(static_cast<useconds_t>(std::atof(argv[3]) * 1e6));
    return 0;
  }
  if (mode == "fork-exit" && argc == 3) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::sleep(30);
      return 0;
    }
    FILE* f = std::fopen(argv[2], "w");
    if (f) {
      std::fprintf(f, "%d\n", static_cast<int>(pid));
      std::fclose(f);
    }
    return 0;
  }
  if (mode == "spin" && argc >= 3) {
    double s = std::atof(argv[2]);
    int children = argc > 3 ? std::atoi(argv[3]) : 0;
    std::vector<pid_t> kids;
    for (int i = 0; i < children; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        if (i == 0 && children > 1) {
          // a grandchild under the first child
          pid_t g = ::fork();
          spin(s);
          if (g > 0) ::waitpid(g, nullptr, 0);
          return 0;
        }
        spin(s);
        return 0;
      }
      kids.push_back(pid);
      if (i == 0 && children > 1) ++i;  // the grandchild counts as one of them
    }
    spin(s);
    for (pid_t k : kids) ::waitpid(k, nullptr, 0);
    return 0;
  }
  if (mode == "exit" && argc == 3) return std::atoi(argv[2]);
  if (mode == "kill" && argc == 3) {
    ::kill(::getpid(), std::atoi(argv[2]));
    ::pause();
  }
  return 2;
}
