/*
 * memsleuth_inject: loads libmemsleuth_sampler.so into a running process and starts it, or stops it again,
 * by calling functions inside the process through ptrace (what gdb's `call` does; gdb 13 cannot do it on kernels
 * whose extended register state it fails to write back: "Couldn't write extended state status").
 *
 *   memsleuth_inject attach PID LIB SOCKET MEAN FRAMES   -> dlopen(LIB) then memsleuth_attach(SOCKET, MEAN, FRAMES)
 *   memsleuth_inject detach PID LIB                      -> memsleuth_detach()
 * Prints the called function's result ("result N") and exits 0, or one line on stderr and exits 1.
 *
 * Only the thread group leader is stopped; the call runs on it with the general registers and the x87/SSE state
 * saved and restored. orig_rax = -1 keeps the kernel from "restarting" the interrupted system call onto our
 * call; restoring the saved registers at the end lets it restart the real one. The callee returns to address 0:
 * the SIGSEGV that follows is our signal that it is done, and is never delivered. Function addresses in the
 * target are our own addresses of the same file (the C library, the sampler) moved by the difference of the
 * load addresses, so both must map the same file. x86-64 only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t pid;
static int attached;
static struct user_regs_struct saved;
static struct user_fpregs_struct saved_fp;
static int pending_signal;

static void fail(const char *what) {
  fprintf(stderr, "%s\n", what);
  if (attached) {
    ptrace(PTRACE_SETFPREGS, pid, 0, &saved_fp);
    ptrace(PTRACE_SETREGS, pid, 0, &saved);
    ptrace(PTRACE_DETACH, pid, 0, (void *)(intptr_t)pending_signal);
  }
  exit(1);
}

/* The start of the first mapping of `file` (same device and inode) in /proc/P/maps: its load base. */
static uintptr_t base_of(pid_t p, const char *file) {
  struct stat want;
  if (stat(file, &want) != 0) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)p);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  char line[4096];
  uintptr_t base = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long start, off, ino;
    unsigned maj, min;
    char perms[8];
    if (sscanf(line, "%lx-%*[0-9a-f] %7s %lx %x:%x %lu", &start, perms, &off, &maj, &min, &ino) != 6) continue;
    if (ino != (unsigned long)want.st_ino || ino == 0) continue;
    char *name = strchr(line, '/');
    if (name == NULL) continue;
    name[strcspn(name, "\n")] = 0;
    struct stat got;
    if (stat(name, &got) != 0 || got.st_ino != want.st_ino || got.st_dev != want.st_dev) continue;
    base = start - off;
    break;
  }
  fclose(f);
  return base;
}

/* Our own load base and file of the object holding `addr`. */
static uintptr_t own_base(void *addr, const char **file) {
  Dl_info info;
  if (dladdr(addr, &info) == 0) return 0;
  *file = info.dli_fname;
  return (uintptr_t)info.dli_fbase;
}

static void wait_stop(int *sig) {
  int st;
  for (;;) {
    if (waitpid(pid, &st, __WALL) < 0) { if (errno == EINTR) continue; attached = 0; fail("the process went away"); }
    if (WIFEXITED(st) || WIFSIGNALED(st)) { attached = 0; fail("the process exited during the call"); }
    if (WIFSTOPPED(st)) { *sig = WSTOPSIG(st); return; }
  }
}

static void write_mem(uintptr_t at, const void *buf, size_t n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
  int fd = open(path, O_RDWR);
  if (fd < 0 || pwrite(fd, buf, n, (off_t)at) != (ssize_t)n) fail("cannot write into the process's stack");
  close(fd);
}

/* Room below the thread's stack pointer (past the red zone) for strings; call() puts its frame below them. */
static uintptr_t scratch;

static uintptr_t push_string(const char *text) {
  if (scratch == 0) scratch = (saved.rsp - 4096) & ~(uintptr_t)15;
  scratch -= (strlen(text) + 16) & ~(size_t)15;
  write_mem(scratch, text, strlen(text) + 1);
  return scratch;
}

/* Calls fn(a0, a1, a2) on the stopped thread; returns rax. */
static unsigned long long call(uintptr_t fn, uint64_t a0, uint64_t a1, uint64_t a2) {
  struct user_regs_struct r = saved;
  if (scratch == 0) scratch = (saved.rsp - 4096) & ~(uintptr_t)15;
  uintptr_t sp = (scratch - 64) & ~(uintptr_t)15;
  sp -= 8; /* the return address: 0. At entry (rsp + 8) is 16-byte aligned, as the ABI wants. */
  uint64_t zero = 0;
  write_mem(sp, &zero, sizeof zero);
  r.rsp = sp;
  r.rip = fn;
  r.rdi = a0;
  r.rsi = a1;
  r.rdx = a2;
  r.rax = 0;
  r.orig_rax = (unsigned long long)-1;
  if (ptrace(PTRACE_SETREGS, pid, 0, &r) != 0) fail("cannot set the registers");
  for (;;) {
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) fail("cannot resume the process");
    int sig;
    wait_stop(&sig);
    if (ptrace(PTRACE_GETREGS, pid, 0, &r) != 0) fail("cannot read the registers");
    if (sig == SIGSEGV && r.rip == 0) return r.rax;
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) fail("the call crashed inside the process (its registers are restored)");
    /* Any other signal waits until we are done, then goes in with the detach. */
    if (sig != SIGSTOP) pending_signal = sig;
  }
}

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[1], "attach") != 0 && strcmp(argv[1], "detach") != 0) || (strcmp(argv[1], "attach") == 0 && argc < 7)) {
    fprintf(stderr, "usage: memsleuth_inject attach PID LIB SOCKET MEAN FRAMES | detach PID LIB\n");
    return 2;
  }
  int attach = strcmp(argv[1], "attach") == 0;
  pid = (pid_t)atoi(argv[2]);
  const char *lib = argv[3];
  /* Our copy of the sampler, to learn its symbols' offsets: without MEMSLEUTH_SOCKET it stays switched off. */
  unsetenv("MEMSLEUTH_SOCKET");
  void *own = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (own == NULL) { fprintf(stderr, "cannot load %s: %s\n", lib, dlerror()); return 1; }
  void *fn_attach = dlsym(own, "memsleuth_attach"), *fn_detach = dlsym(own, "memsleuth_detach");
  const char *libfile = NULL, *libcfile = NULL;
  uintptr_t own_lib = own_base(fn_attach, &libfile);
  uintptr_t own_libc = own_base((void *)dlopen, &libcfile);
  if (fn_attach == NULL || fn_detach == NULL || own_lib == 0 || own_libc == 0) { fprintf(stderr, "cannot find the sampler's entry points in %s\n", lib); return 1; }

  if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) { fprintf(stderr, "cannot ptrace process %d: %s\n", (int)pid, strerror(errno)); return 1; }
  attached = 1;
  int sig;
  wait_stop(&sig);
  while (sig != SIGSTOP) {
    pending_signal = sig;
    if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) fail("cannot resume the process");
    wait_stop(&sig);
  }
  if (ptrace(PTRACE_GETREGS, pid, 0, &saved) != 0) fail("cannot read the registers");
  if (ptrace(PTRACE_GETFPREGS, pid, 0, &saved_fp) != 0) fail("cannot read the floating-point registers");

  unsigned long long result;
  if (attach) {
    uintptr_t libc = base_of(pid, libcfile);
    if (libc == 0) fail("the process does not map the same C library as memsleuth_inject (another root filesystem, or static)");
    uintptr_t target_dlopen = libc + ((uintptr_t)dlopen - own_libc);
    unsigned long long handle = call(target_dlopen, push_string(lib), RTLD_NOW, 0);
    if (handle == 0) fail("dlopen of the sampler failed inside the process");
    uintptr_t l = base_of(pid, libfile);
    if (l == 0) fail("the sampler is not mapped after dlopen");
    /* memsleuth_attach(socket path, mean interval, frames) */
    result = call(l + ((uintptr_t)fn_attach - own_lib), push_string(argv[4]), strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10));
  } else {
    uintptr_t l = base_of(pid, libfile);
    if (l == 0) fail("the sampler is not loaded in this process");
    result = call(l + ((uintptr_t)fn_detach - own_lib), 0, 0, 0);
  }
  ptrace(PTRACE_SETFPREGS, pid, 0, &saved_fp);
  if (ptrace(PTRACE_SETREGS, pid, 0, &saved) != 0) fail("cannot restore the registers");
  ptrace(PTRACE_DETACH, pid, 0, (void *)(intptr_t)pending_signal);
  printf("result %lld\n", (long long)(int)result);
  return 0;
}
