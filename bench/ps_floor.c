/* The C floor for `memsleuth ps`: read what procrank reads (meminfo, and status + smaps_rollup of every
 * process), summing Pss and Private_* so the compiler cannot drop the work. One snapshot per loop. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 16];

static long read_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = 0, r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  return n;
}

static long field_kb(const char *key) {
  char *p = strstr(buf, key);
  return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

int main(int argc, char **argv) {
  int loops = argc > 1 ? atoi(argv[1]) : 1;
  long total = 0;
  char path[64];
  for (int i = 0; i < loops; i++) {
    read_file("/proc/meminfo");
    total += field_kb("MemTotal:");
    DIR *d = opendir("/proc");
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
      if (read_file(path) > 0) total += field_kb("VmRSS:");
      snprintf(path, sizeof path, "/proc/%s/smaps_rollup", e->d_name);
      if (read_file(path) > 0) total += field_kb("Pss:") + field_kb("Private_Clean:") + field_kb("Private_Dirty:");
    }
    closedir(d);
  }
  printf("%ld\n", total);
  return 0;
}
