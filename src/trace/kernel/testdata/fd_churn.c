/* Kernel allocation workload for memsleuth's kernel tracer tests and benchmark.
 *   fd_churn SECONDS MODE [hold] [LEAK_EVERY]
 * MODE "churn": open/close, socket/close, pipe/close, eventfd/close in a loop (nothing outstanding).
 * MODE "leak":  the same loop, but every LEAK_EVERY-th iteration (default 64) keeps its socket, eventfd and pipe open
 *               (file descriptors leak: filp, sock_inode_cache, ... objects stay allocated).
 * Prints "iterations N leaked M" on exit, then (leak mode) waits for SIGTERM/stdin EOF holding the fds
 * when HOLD is given as a third argument. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: fd_churn SECONDS churn|leak [hold]\n"); return 2; }
  double seconds = atof(argv[1]);
  int leak = strcmp(argv[2], "leak") == 0;
  int hold = argc > 3 && strcmp(argv[3], "hold") == 0;
  long leak_every = argc > 4 ? atol(argv[4]) : 64;
  if (leak_every < 1) leak_every = 1;
  struct rlimit rl = { 65536, 65536 };
  setrlimit(RLIMIT_NOFILE, &rl);
  /* Each leak keeps 4 fds: stop leaking before the fd limit (a container's hard limit may be far below 65536),
   * or the loop's calls start failing, cost next to nothing, and the iteration rate stops measuring tracing. */
  getrlimit(RLIMIT_NOFILE, &rl);
  long max_leaks = ((long)rl.rlim_cur - 64) / 4;
  if (max_leaks > 15000) max_leaks = 15000;
  long iterations = 0, leaked = 0, failed = 0;
  double end = now() + seconds;
  while (1) {
    for (int k = 0; k < 64; k++) {
      int keep = leak && (iterations % leak_every) == 0 && leaked < max_leaks;
      int f = open("/dev/null", O_RDONLY);
      if (f >= 0) close(f); else failed++;
      int s = socket(AF_UNIX, SOCK_STREAM, 0);
      int e = eventfd(0, 0);
      int p[2];
      int pr = pipe(p);
      if (keep && s >= 0 && e >= 0 && pr == 0) {
        leaked++;
      } else {
        if (s >= 0) close(s); else failed++;
        if (e >= 0) close(e); else failed++;
        if (pr == 0) { close(p[0]); close(p[1]); } else failed++;
      }
      iterations++;
    }
    if (now() >= end) break;
  }
  printf("iterations %ld leaked %ld failed %ld\n", iterations, leaked, failed);
  fflush(stdout);
  if (hold) {
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {}
  }
  return 0;
}
