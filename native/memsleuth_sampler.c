/*
 * libmemsleuth_sampler.so: a sampling heap profiler for `memsleuth trace user` (docs/design.md, native/).
 *
 * Every allocation function of the C library (malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc, anonymous mmap, munmap) is interposed: by LD_PRELOAD when memsleuth launches
 * the program, or by patching the GOT slots of every loaded module when memsleuth injects the library into a
 * running process through gdb (memsleuth_attach / memsleuth_detach).
 *
 * Sampling is by bytes with exponential (Poisson) intervals, as heapprofd, tcmalloc and Go do: each thread
 * counts bytes down from a random draw of mean M; an allocation that crosses zero is sampled. Every byte has the
 * same chance 1/M, so an allocation of s bytes is sampled with probability 1 - exp(-s/M), whatever its size;
 * memsleuth scales each sample back by the inverse of that probability. Only sampled allocations are unwound
 * (backtrace() from libgcc_s, loaded at start so no unwinder is dlopen'ed inside malloc) and sent; their frees
 * are found in a lock-free open-addressing table of addresses behind a counting filter, so the free of an
 * unsampled block costs one load from a 64 KiB array.
 *
 * Records go over a Unix stream socket (path in MEMSLEUTH_SOCKET, or given to memsleuth_attach) with
 * MSG_NOSIGNAL: if memsleuth goes away the library switches itself off instead of killing the program with
 * SIGPIPE. A spin lock keeps records whole between threads; a forked child opens its own connection.
 * Nothing here allocates through the hooked allocator: the real functions are glibc's __libc_* entry points
 * (mmap/munmap come from dlsym(RTLD_NEXT) at start), and a thread that is already inside the sampler's slow path
 * is never sampled again (the unwinder and dlsym may call malloc).
 *
 * Environment (launch mode): MEMSLEUTH_SOCKET=path (nothing is done without it), MEMSLEUTH_SAMPLE_BYTES=mean
 * interval in bytes (0 = every allocation), MEMSLEUTH_MAX_FRAMES (default 32).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <execinfo.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS __thread __attribute__((tls_model("initial-exec")))
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() do { } while (0)
#endif

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);

/* Record kinds and the allocation function that made a block (the host names the innermost frame after it). */
enum { REC_HELLO = 1, REC_ALLOC = 2, REC_FREE = 3, REC_BYE = 4, REC_MAPS = 5 };
enum { FN_MALLOC, FN_CALLOC, FN_REALLOC, FN_MEMALIGN, FN_POSIX_MEMALIGN, FN_ALIGNED_ALLOC, FN_VALLOC, FN_MMAP, FN_REALLOCARRAY };

#define MAX_FRAMES 64
/* 48 bytes, then `frames` 8-byte return addresses. HELLO: ptr = pid, size = mean interval, t = start time.
 * BYE: ptr = samples dropped because the address table was full, size = records that could not be sent.
 * MAPS: size = length of the /proc/self/maps text that follows the header (sent after HELLO and before BYE, so
 * a process that is gone by the time memsleuth reads can still be symbolized). */
struct record {
  uint32_t len;
  uint16_t kind;
  uint16_t fn;
  uint32_t frames;
  uint32_t tid;
  uint64_t ptr;
  uint64_t size;
  uint64_t t_ns;
  uint64_t mean;  /* ALLOC: the mean interval this sample was drawn with (0 = every allocation) */
  uint64_t stack[MAX_FRAMES];
};

static volatile int active;       /* sampling on: hooks do more than pass through */
static int sock = -1;
static volatile int send_lock;
/* Adaptive interval, per thread: it starts at MIN_MEAN and doubles (up to mean_bytes, the configured cap) while the
 * thread takes more than ADAPT_SAMPLES samples in ADAPT_NS (1,000 a second), and halves again when it takes ten
 * times fewer. A program that allocates little is sampled finely (a 50 KB/s leak of 1 KB blocks gets ~30 samples a
 * second) for ~0.3% of a core at most; a malloc-bound loop reaches the cap within a few milliseconds. The floor
 * doubles for everyone when the address table is a quarter full, so a long trace of a leak never fills it. */
#define MIN_MEAN 1024ull
#define ADAPT_SAMPLES 64
#define ADAPT_NS 64000000ull
static uint64_t mean_bytes = 262144;
static int max_frames = 32;
static char sock_path[108];
static volatile uint64_t dropped_table, dropped_send;
static volatile uint64_t tracked_now;   /* addresses in the table */
static volatile uint64_t floor_mean = MIN_MEAN;

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

static TLS int64_t countdown;     /* bytes until the next sample */
static TLS uint64_t rng;          /* xorshift64* state; 0 = this thread is not initialised */
static TLS int in_slow;           /* re-entrancy guard of the slow path */
static TLS uint64_t t_mean;       /* this thread's mean interval now */
static TLS uint64_t t_draw_mean;  /* the mean the current countdown was drawn with */
static TLS uint64_t t_window_ns;  /* start of the adaptation window */
static TLS uint32_t t_window_n;   /* samples in it */

/* ---- the table of sampled addresses ---------------------------------------------------------------------- */
#define TABLE_BITS 18
#define TABLE_SIZE (1u << TABLE_BITS)
#define FILTER_BITS 16
#define EMPTY 0
#define TOMB 1
static uintptr_t table[TABLE_SIZE];
static uint8_t filter[1u << FILTER_BITS]; /* how many tracked addresses hash to this byte (saturates at 255) */

static inline uint32_t hash_bits(uintptr_t p, int bits) { return (uint32_t)(((uint64_t)p * 0x9E3779B97F4A7C15ull) >> (64 - bits)); }

static int track(uintptr_t p) {
  uint32_t h = hash_bits(p, TABLE_BITS);
  for (uint32_t i = 0; i < 256; i++) {
    uintptr_t *slot = &table[(h + i) & (TABLE_SIZE - 1)];
    uintptr_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if ((cur == EMPTY || cur == TOMB) && __atomic_compare_exchange_n(slot, &cur, p, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      uint8_t *f = &filter[hash_bits(p, FILTER_BITS)];
      if (__atomic_load_n(f, __ATOMIC_RELAXED) != 255) __atomic_add_fetch(f, 1, __ATOMIC_RELAXED);
      /* A quarter full: double the floor; then again at 5/8, 13/16, ... (each doubling halves the inflow). */
      uint64_t fl = __atomic_load_n(&floor_mean, __ATOMIC_RELAXED);
      uint64_t limit = TABLE_SIZE - (((uint64_t)TABLE_SIZE / 4 * 3) >> __builtin_ctzll(fl / MIN_MEAN));
      if (__atomic_add_fetch(&tracked_now, 1, __ATOMIC_RELAXED) > limit && fl < (1ull << 30)) __atomic_compare_exchange_n(&floor_mean, &fl, fl * 2, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
      return 1;
    }
  }
  __atomic_add_fetch(&dropped_table, 1, __ATOMIC_RELAXED);
  return 0;
}

/* 1 when p was tracked (and is not any more). */
static int untrack(uintptr_t p) {
  uint8_t *f = &filter[hash_bits(p, FILTER_BITS)];
  if (LIKELY(__atomic_load_n(f, __ATOMIC_RELAXED) == 0)) return 0;
  uint32_t h = hash_bits(p, TABLE_BITS);
  for (uint32_t i = 0; i < 256; i++) {
    uintptr_t *slot = &table[(h + i) & (TABLE_SIZE - 1)];
    uintptr_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (cur == EMPTY) return 0;
    if (cur == p && __atomic_compare_exchange_n(slot, &cur, (uintptr_t)TOMB, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      if (__atomic_load_n(f, __ATOMIC_RELAXED) != 255) __atomic_sub_fetch(f, 1, __ATOMIC_RELAXED);
      __atomic_sub_fetch(&tracked_now, 1, __ATOMIC_RELAXED);
      return 1;
    }
  }
  return 0;
}

/* ---- sending ------------------------------------------------------------------------------------------- */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Records are batched in one buffer under the lock (a send() per sample cost ~4 us, four times the unwinding);
 * the buffer goes out when the next record does not fit, when FLUSH_NS passed since the last send, and at stop,
 * exit and fork. One buffer for all threads keeps an allocation ahead of its free. */
#define BATCH 16384
#define FLUSH_NS 50000000ull
static char batch[BATCH];
static size_t batched;
static uint64_t last_flush_ns;

static void lock(void) { while (__atomic_exchange_n(&send_lock, 1, __ATOMIC_ACQUIRE)) while (__atomic_load_n(&send_lock, __ATOMIC_RELAXED)) CPU_RELAX(); }
static void unlock(void) { __atomic_store_n(&send_lock, 0, __ATOMIC_RELEASE); }

/* With the lock held. */
static void flush_locked(void) {
  const char *b = batch;
  size_t left = batched;
  while (left > 0 && sock >= 0) {
    ssize_t n = send(sock, b, left, MSG_NOSIGNAL);
    if (n > 0) { b += n; left -= (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    /* memsleuth is gone (EPIPE) or the socket broke: stop sampling, the program runs on untouched. */
    active = 0;
    __atomic_add_fetch(&dropped_send, 1, __ATOMIC_RELAXED);
    close(sock);
    sock = -1;
  }
  batched = 0;
}

static void send_record(struct record *r, int flush_now) {
  r->len = (uint32_t)(offsetof(struct record, stack) + r->frames * sizeof(uint64_t));
  lock();
  if (batched + r->len > BATCH) flush_locked();
  memcpy(batch + batched, r, r->len);
  batched += r->len;
  if (flush_now || r->t_ns - last_flush_ns > FLUSH_NS) { flush_locked(); last_flush_ns = r->t_ns; }
  unlock();
}

static int connect_socket(void) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, sock_path, sizeof a.sun_path - 1);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { close(s); return -1; }
  return s;
}

/* /proc/self/maps, read with plain system calls into a static buffer (no allocation), sent whole. */
static char maps_text[1 << 18];

static void send_maps(void) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t n = 0;
  for (;;) {
    ssize_t got = read(fd, maps_text + n, sizeof maps_text - n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    n += (size_t)got;
    if (n == sizeof maps_text) break;
  }
  close(fd);
  struct record r;
  memset(&r, 0, offsetof(struct record, stack));
  r.kind = REC_MAPS;
  r.size = n;
  r.t_ns = now_ns();
  r.len = (uint32_t)(offsetof(struct record, stack) + n);
  lock();
  flush_locked();
  const char *parts[2] = { (const char *)&r, maps_text };
  size_t lens[2] = { offsetof(struct record, stack), n };
  for (int i = 0; i < 2; i++) {
    const char *b = parts[i];
    size_t left = lens[i];
    while (left > 0 && sock >= 0) {
      ssize_t k = send(sock, b, left, MSG_NOSIGNAL);
      if (k > 0) { b += k; left -= (size_t)k; continue; }
      if (k < 0 && errno == EINTR) continue;
      active = 0;
      close(sock);
      sock = -1;
    }
  }
  unlock();
}

static void send_hello(void) {
  struct record r;
  memset(&r, 0, offsetof(struct record, stack));
  r.kind = REC_HELLO;
  r.ptr = (uint64_t)getpid();
  r.size = mean_bytes;
  r.t_ns = now_ns();
  send_record(&r, 1);
  send_maps();
}

/* ---- sampling ------------------------------------------------------------------------------------------ */
static uint64_t next_random(void) {
  rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}

/* An exponential draw of this thread's mean (at least 1). */
static int64_t draw_interval(void) {
  t_draw_mean = t_mean;
  if (t_mean == 0) return 1;
  double u = ((double)(next_random() >> 11) + 0.5) / 9007199254740992.0;
  double v = -log(u) * (double)t_mean;
  return v < 1 ? 1 : v > 9e18 ? (int64_t)9e18 : (int64_t)v;
}

static void thread_init(void) {
  rng = now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^ (uint64_t)(uintptr_t)&countdown;
  if (rng == 0) rng = 0x9E3779B97F4A7C15ull;
  t_mean = mean_bytes < MIN_MEAN ? mean_bytes : MIN_MEAN;
  t_window_ns = now_ns();
  t_window_n = 0;
  countdown = draw_interval();
}

__attribute__((noinline)) static void slow_path(void *p, size_t size, int fn) {
  if (in_slow) return;
  in_slow = 1;
  if (rng == 0) {
    /* This thread's first allocation (its countdown started at 0): draw where its first sample falls. */
    thread_init();
    countdown -= (int64_t)(size == 0 ? 1 : size);
    if (countdown > 0) { in_slow = 0; return; }
  }
  uint64_t drawn_with = t_draw_mean;
  uint64_t t = now_ns();
  if (++t_window_n >= ADAPT_SAMPLES) {
    uint64_t dt = t - t_window_ns;
    if (dt < ADAPT_NS && t_mean < mean_bytes) t_mean = t_mean * 2 > mean_bytes ? mean_bytes : t_mean * 2;
    else if (dt > 10 * ADAPT_NS && t_mean > MIN_MEAN) t_mean = t_mean / 2 < MIN_MEAN ? MIN_MEAN : t_mean / 2;
    uint64_t fl = __atomic_load_n(&floor_mean, __ATOMIC_RELAXED);
    if (t_mean != 0 && t_mean < fl) t_mean = fl > mean_bytes ? mean_bytes : fl;
    t_window_ns = t;
    t_window_n = 0;
  }
  while (countdown <= 0) countdown += draw_interval();
  if (active && track((uintptr_t)p)) {
    struct record r;
    r.mean = drawn_with;
    r.kind = REC_ALLOC;
    r.fn = (uint16_t)fn;
    r.tid = (uint32_t)syscall(SYS_gettid);
    r.ptr = (uint64_t)(uintptr_t)p;
    r.size = size;
    r.t_ns = t;
    void *frames[MAX_FRAMES + 2];
    int n = backtrace(frames, max_frames + 2);
    /* frames[0] is this function, frames[1] the hook: the program starts at frames[2]. */
    int skip = n > 2 ? 2 : n;
    r.frames = (uint32_t)(n - skip);
    for (int i = skip; i < n; i++) r.stack[i - skip] = (uint64_t)(uintptr_t)frames[i];
    send_record(&r, 0);
  }
  in_slow = 0;
}

static inline void on_alloc(void *p, size_t size, int fn) {
  if (LIKELY(!active) || UNLIKELY(p == NULL)) return;
  countdown -= (int64_t)(size == 0 ? 1 : size);
  if (LIKELY(countdown > 0)) return;
  slow_path(p, size, fn);
}

static inline void on_free(void *p) {
  if (p == NULL || !active) return;
  if (LIKELY(!untrack((uintptr_t)p))) return;
  struct record r;
  r.kind = REC_FREE;
  r.fn = 0;
  r.frames = 0;
  r.tid = 0;
  r.mean = 0;
  r.ptr = (uint64_t)(uintptr_t)p;
  r.size = 0;
  r.t_ns = now_ns();
  send_record(&r, 0);
}

/* ---- the hooks (exported: LD_PRELOAD binds the program to them; attach mode writes their address into GOTs) -- */
static void *ms_malloc(size_t n) { void *p = __libc_malloc(n); on_alloc(p, n, FN_MALLOC); return p; }
static void ms_free(void *p) { on_free(p); __libc_free(p); }
static void *ms_calloc(size_t a, size_t b) {
  void *p = __libc_calloc(a, b);
  on_alloc(p, a * b, FN_CALLOC);
  return p;
}
static void *ms_realloc(void *old, size_t n) {
  /* The old block leaves the table before the allocator may hand its address to another thread. */
  on_free(old);
  void *p = __libc_realloc(old, n);
  on_alloc(p, n, FN_REALLOC);
  return p;
}
static void *ms_reallocarray(void *old, size_t a, size_t b) {
  size_t n;
  if (__builtin_mul_overflow(a, b, &n)) { errno = ENOMEM; return NULL; }
  on_free(old);
  void *p = __libc_realloc(old, n);
  on_alloc(p, n, FN_REALLOCARRAY);
  return p;
}
static void *ms_memalign(size_t al, size_t n) { void *p = __libc_memalign(al, n); on_alloc(p, n, FN_MEMALIGN); return p; }
static void *ms_aligned_alloc(size_t al, size_t n) { void *p = __libc_memalign(al, n); on_alloc(p, n, FN_ALIGNED_ALLOC); return p; }
static void *ms_valloc(size_t n) { void *p = __libc_valloc(n); on_alloc(p, n, FN_VALLOC); return p; }
static int ms_posix_memalign(void **out, size_t al, size_t n) {
  if (al % sizeof(void *) != 0 || (al & (al - 1)) != 0 || al == 0) return EINVAL;
  void *p = __libc_memalign(al, n);
  if (p == NULL) return ENOMEM;
  *out = p;
  on_alloc(p, n, FN_POSIX_MEMALIGN);
  return 0;
}


static void *ms_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (UNLIKELY(real_mmap == NULL)) {
    /* Before the constructor ran (another library's constructor): go straight to the kernel. */
#ifdef SYS_mmap
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
#else
    long r = syscall(SYS_mmap2, addr, len, prot, flags, fd, off / 4096); /* 32-bit ARM: offset in pages */
#endif
    return (void *)r;
  }
  void *p = real_mmap(addr, len, prot, flags, fd, off);
  if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && !(flags & MAP_FIXED)) on_alloc(p, len, FN_MMAP);
  return p;
}
static void *ms_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return ms_mmap(addr, len, prot, flags, fd, off); }
static int ms_munmap(void *addr, size_t len) {
  on_free(addr);
  if (UNLIKELY(real_munmap == NULL)) return (int)syscall(SYS_munmap, addr, len);
  return real_munmap(addr, len);
}

/* The exported names. Inside this library the hooks are always called by their ms_ names: in attach mode the
 * library is loaded without RTLD_GLOBAL and `malloc` would bind to the C library's, not to ours. */
#define ALIAS(fn) EXPORT __typeof__(ms_##fn) fn __attribute__((alias("ms_" #fn)));
ALIAS(malloc) ALIAS(free) ALIAS(calloc) ALIAS(realloc) ALIAS(reallocarray) ALIAS(memalign) ALIAS(aligned_alloc)
ALIAS(valloc) ALIAS(posix_memalign) ALIAS(mmap) ALIAS(mmap64) ALIAS(munmap)

/* ---- start, stop, fork ----------------------------------------------------------------------------------- */
/* RTLD_NEXT when preloaded; a library dlopen'ed without RTLD_GLOBAL finds the C library's through RTLD_DEFAULT.
 * Anything that resolves back to us is refused: the hooks then go straight to the kernel. */
static void resolve_mmap(void) {
  void *m = dlsym(RTLD_NEXT, "mmap"), *u = dlsym(RTLD_NEXT, "munmap");
  if (m == NULL || m == (void *)ms_mmap) m = dlsym(RTLD_DEFAULT, "mmap");
  if (u == NULL || u == (void *)ms_munmap) u = dlsym(RTLD_DEFAULT, "munmap");
  real_mmap = m == (void *)ms_mmap ? NULL : (void *(*)(void *, size_t, int, int, int, off_t))m;
  real_munmap = u == (void *)ms_munmap ? NULL : (int (*)(void *, size_t))u;
}

static void after_fork_child(void) {
  /* The parent's connection and lock are the parent's: the child speaks on its own connection, as its own pid. */
  send_lock = 0;
  batched = 0; /* the parent's records: the parent sends them */
  if (!active) return;
  if (sock >= 0) close(sock);
  sock = connect_socket();
  if (sock < 0) { active = 0; return; }
  send_hello();
}

static uint64_t env_number(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (v == NULL || *v == 0) return dflt;
  uint64_t n = 0;
  for (; *v >= '0' && *v <= '9'; v++) n = n * 10 + (uint64_t)(*v - '0');
  return n;
}

static int start(const char *path, uint64_t mean, int frames) {
  if (path == NULL || strlen(path) >= sizeof sock_path) return -1;
  resolve_mmap();
  /* Load libgcc_s's unwinder now: backtrace() dlopen()s it on first use, which must not happen inside malloc. */
  void *warm[4];
  in_slow = 1;
  backtrace(warm, 4);
  in_slow = 0;
  memcpy(sock_path, path, strlen(path) + 1);
  mean_bytes = mean;
  max_frames = frames < 1 ? 1 : frames > MAX_FRAMES ? MAX_FRAMES : frames;
  sock = connect_socket();
  if (sock < 0) return -1;
  static int atfork_done;
  if (!atfork_done) { atfork_done = 1; pthread_atfork(NULL, NULL, after_fork_child); }
  active = 1;
  send_hello();
  return 0;
}

static void stop(void) {
  if (sock < 0) { active = 0; return; }
  active = 0;
  send_maps();
  struct record r;
  memset(&r, 0, offsetof(struct record, stack));
  r.kind = REC_BYE;
  r.ptr = dropped_table;
  r.size = dropped_send;
  r.t_ns = now_ns();
  send_record(&r, 1);
  lock();
  if (sock >= 0) close(sock);
  sock = -1;
  unlock();
}

__attribute__((constructor)) static void preload_start(void) {
  resolve_mmap();
  const char *path = getenv("MEMSLEUTH_SOCKET");
  if (path == NULL || *path == 0) return;
  start(path, env_number("MEMSLEUTH_SAMPLE_BYTES", 65536), (int)env_number("MEMSLEUTH_MAX_FRAMES", 32));
}

__attribute__((destructor)) static void preload_stop(void) { stop(); }

/* ---- attach mode: GOT patching ---------------------------------------------------------------------------- */
struct hook { const char *name; void *ours; };
static const struct hook hooks[] = {
  { "malloc", (void *)ms_malloc }, { "free", (void *)ms_free }, { "calloc", (void *)ms_calloc }, { "realloc", (void *)ms_realloc },
  { "reallocarray", (void *)ms_reallocarray }, { "memalign", (void *)ms_memalign }, { "aligned_alloc", (void *)ms_aligned_alloc },
  { "valloc", (void *)ms_valloc }, { "posix_memalign", (void *)ms_posix_memalign }, { "mmap", (void *)ms_mmap },
  { "mmap64", (void *)ms_mmap64 }, { "munmap", (void *)ms_munmap },
};
#define NHOOKS (sizeof hooks / sizeof hooks[0])

/* Every slot we wrote, with what it held, to put back at detach. */
#define MAX_PATCHES 4096
static struct { void **slot; void *old; } patches[MAX_PATCHES];
static int npatches;
static uintptr_t self_base;

static void write_slot(void **slot, void *value) {
  uintptr_t page = (uintptr_t)slot & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
  size_t span = ((uintptr_t)slot + sizeof(void *) - page) > (size_t)sysconf(_SC_PAGESIZE) ? 2 * (size_t)sysconf(_SC_PAGESIZE) : (size_t)sysconf(_SC_PAGESIZE);
  /* A full-RELRO GOT is read-only after start: open it for the write. Pages stay writable afterwards, as they
   * were before RELRO was applied; the values are what matters for the program. */
  mprotect((void *)page, span, PROT_READ | PROT_WRITE);
  __atomic_store_n(slot, value, __ATOMIC_SEQ_CST);
}

static int patch_module(struct dl_phdr_info *info, size_t sz, void *data) {
  (void)sz; (void)data;
#if !defined(__x86_64__) && !defined(__aarch64__)
  /* 32-bit targets use REL relocations: attach mode is not supported there (launch mode is). */
  (void)info;
  return 0;
#endif
  if (info->dlpi_addr == self_base) return 0;
  const char *name = info->dlpi_name;
  if (name != NULL && (strstr(name, "linux-vdso") || strstr(name, "/ld-linux") || strstr(name, "libmemsleuth_sampler"))) return 0;
  const ElfW(Dyn) *dyn = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++) if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  if (dyn == NULL) return 0;
  const ElfW(Sym) *symtab = NULL;
  const char *strtab = NULL;
  const ElfW(Rela) *jmprel = NULL, *rela = NULL;
  size_t jmprelsz = 0, relasz = 0;
  for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
    /* glibc relocates these d_ptr entries to absolute addresses in the link map of a loaded object. */
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = (const ElfW(Sym) *)d->d_un.d_ptr; break;
      case DT_STRTAB: strtab = (const char *)d->d_un.d_ptr; break;
      case DT_JMPREL: jmprel = (const ElfW(Rela) *)d->d_un.d_ptr; break;
      case DT_PLTRELSZ: jmprelsz = d->d_un.d_val; break;
      case DT_RELA: rela = (const ElfW(Rela) *)d->d_un.d_ptr; break;
      case DT_RELASZ: relasz = d->d_un.d_val; break;
      default: break;
    }
  }
  if (symtab == NULL || strtab == NULL) return 0;
  const ElfW(Rela) *tables[2] = { jmprel, rela };
  size_t sizes[2] = { jmprelsz, relasz };
  for (int t = 0; t < 2; t++) {
    if (tables[t] == NULL) continue;
    for (size_t i = 0; i < sizes[t] / sizeof(ElfW(Rela)); i++) {
      const ElfW(Rela) *r = &tables[t][i];
#if defined(__x86_64__)
      unsigned type = ELF64_R_TYPE(r->r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
#elif defined(__aarch64__)
      unsigned type = ELF64_R_TYPE(r->r_info);
      if (type != R_AARCH64_JUMP_SLOT && type != R_AARCH64_GLOB_DAT) continue;
#else
      unsigned type = ELF64_R_TYPE(r->r_info);
      (void)type;
#endif
      const char *sym = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
      for (size_t h = 0; h < NHOOKS; h++) {
        if (strcmp(sym, hooks[h].name) != 0) continue;
        void **slot = (void **)(info->dlpi_addr + r->r_offset);
        if (*slot == hooks[h].ours) break;
        int seen = 0;
        for (int k = 0; k < npatches; k++) if (patches[k].slot == slot) { seen = 1; break; }
        if (!seen && npatches < MAX_PATCHES) { patches[npatches].slot = slot; patches[npatches].old = *slot; npatches++; }
        else if (!seen) break;
        write_slot(slot, hooks[h].ours);
        break;
      }
    }
  }
  return 0;
}

/* Called through gdb after dlopen: start streaming to `path`, then point every module's allocator GOT slots here.
 * Returns the number of slots patched, or -1 when the socket cannot be reached. */
EXPORT int memsleuth_attach(const char *path, unsigned long mean, int frames) {
  Dl_info me;
  if (dladdr((void *)memsleuth_attach, &me) != 0) self_base = (uintptr_t)me.dli_fbase;
  struct link_map *lm = NULL;
  Dl_info info2;
  if (dladdr1((void *)memsleuth_attach, &info2, (void **)&lm, RTLD_DL_LINKMAP) != 0 && lm != NULL) self_base = lm->l_addr;
  if (start(path, mean, frames) != 0) return -1;
  dl_iterate_phdr(patch_module, NULL);
  return npatches;
}

/* Called through gdb at the end of the trace: put every GOT slot back and stop. The library stays mapped (a
 * thread may still be inside a hook, and code may hold a pointer to one) but only passes calls through. */
EXPORT int memsleuth_detach(void) {
  for (int k = npatches - 1; k >= 0; k--) write_slot(patches[k].slot, patches[k].old);
  int n = npatches;
  npatches = 0;
  active = 0;
  /* The thread this runs on was stopped wherever it was, perhaps inside send_record() holding the lock: never
   * wait for it. When the lock is free, send what is batched and close; otherwise the holder finishes its send and
   * the next one fails on the socket memsleuth closes, which switches the library off all the same. */
  if (!__atomic_exchange_n(&send_lock, 1, __ATOMIC_ACQUIRE)) {
    flush_locked();
    if (sock >= 0) close(sock);
    sock = -1;
    unlock();
  }
  return n;
}
