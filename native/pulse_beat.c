/*
 * A service's heartbeat written by a thread of its own, for Node through Node-API: no
 * JavaScript runs for it. start(file, offset, pid, periodMs, probeFile, probeEveryMs)
 * writes the slot (shared/eventlog/heartbeats.ts: unix ms as float64, pid as int32, the
 * mark 0x31474956, little-endian) every period, but only
 *   - if the event loop is waiting for I/O (the main thread asleep in epoll_wait, from
 *     /proc/self/task/<tid>/wchan: an idle loop is not woken for its beats), or else if it
 *     answered the wake-up sent the period before (a loop blocked by JavaScript or by a
 *     system call never answers: a hung service looks dead; a stopped process stops its
 *     thread too), and
 *   - after the disk took a fresh block: a byte written to the probe file, which is then
 *     emptied, probeEveryMs apart while that works, at every period once it failed. While
 *     the filesystem has more than PLENTY_BYTES free (statvfs) no block needs proving.
 * A beat is a store into the slot's page, mapped shared: no system call, and no journal
 * entry for the file's times at every beat (a pwrite cost more than the rest of the
 * beat); a file found shorter than the slot (cut by hand) is written with pwrite instead.
 * stop() ends the thread (the service then records its stop itself). One per process.
 *
 * The same thread watches other slots (watch(offset, timeoutMs, onChange, alive, deadPollMs),
 * up to MAX_WATCHES): the service this one depends on (the fence the vrrp service's, and
 * the other way round), the services the relay reports silent. It reads each at its beats
 * and when it would turn stale (a beat older than the timeout), every deadPollMs while it
 * is not alive, and calls its onChange only when it turns alive or not alive (or another
 * pid beats there): JavaScript wakes for changes only, not two or three times a second to
 * find the same.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include "napi_errno.h"
#include "pulse_record.h"
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Free space beyond any filesystem's reserve for its own metadata (ext4 keeps up to 16 MiB). */
#define PLENTY_BYTES (64ull << 20)
#define MAX_WATCHES 8

/* A watched slot (under lock); state: 0 not alive, 1 alive. */
struct watch {
  int used, fresh;
  long offset;
  double timeout_ms, dead_poll_ms;
  int state;
  int32_t pid; /* -1: learnt at the first read */
  napi_threadsafe_function cb;
};

static struct {
  int running;
  int board, probe;
  long offset;
  unsigned char *map; /* the slot's page, mapped shared, or NULL */
  long map_len, map_at;
  int32_t pid;
  uint64_t period_ns, probe_every_ms;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stopping;
  uv_async_t async;
  atomic_uint sent, answered;
  int wchan; /* /proc/self/task/<main thread>/wchan, or -1 */
  atomic_uint idle_beats;
  double disk_ok_at;
  atomic_uint beats, failures;
  struct watch watches[MAX_WATCHES];
  atomic_uint watch_reads, watch_calls;
} b = {.running = 0, .lock = PTHREAD_MUTEX_INITIALIZER};

static double unix_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static void on_async(uv_async_t *a) {
  (void)a;
  atomic_store(&b.answered, atomic_load(&b.sent));
}

/* Whether the main thread sleeps in epoll_wait now: the event loop waits for I/O, so it is not blocked. */
static int loop_waiting(void) {
  char where[64];
  if (b.wchan < 0) return 0;
  ssize_t n = pread(b.wchan, where, sizeof where - 1, 0);
  if (n <= 0) return 0;
  where[n] = 0;
  return strstr(where, "epoll") != NULL;
}

static int plenty_free(void) {
  struct statvfs v;
  if (fstatvfs(b.probe, &v) != 0) return 0;
  unsigned long long blocks = geteuid() == 0 ? v.f_bfree : v.f_bavail;
  return blocks * (unsigned long long)v.f_frsize > PLENTY_BYTES;
}

static int disk_ok(double now) {
  if (now - b.disk_ok_at < (double)b.probe_every_ms) return 1;
  if (!plenty_free() && (pwrite(b.probe, "x", 1, 0) != 1 || ftruncate(b.probe, 0) != 0)) return 0;
  b.disk_ok_at = now;
  return 1;
}

/* Maps the slot's page once the file holds the slot. */
static void map_slot(void) {
  struct stat st;
  long page = sysconf(_SC_PAGESIZE), base = b.offset - b.offset % page;
  if (fstat(b.board, &st) != 0 || st.st_size < b.offset + 16) return;
  void *m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, b.board, base);
  if (m == MAP_FAILED) return;
  b.map = m;
  b.map_len = page;
  b.map_at = b.offset - base;
}

static void unmap_slot(void) {
  if (b.map) munmap(b.map, (size_t)b.map_len);
  b.map = NULL;
}

/* Whether the slot could be stored into the mapping: a store past the file's end would raise SIGBUS. */
static int store(const unsigned char *slot) {
  struct stat st;
  if (!b.map) return 0;
  if (fstat(b.board, &st) != 0 || st.st_size < b.offset + 16) {
    unmap_slot(); /* the file was cut: written again below, mapped again after */
    return 0;
  }
  memcpy(b.map + b.map_at, slot, 16);
  return 1;
}

static void beat(void) {
  double now = unix_ms();
  if (!disk_ok(now)) {
    atomic_fetch_add(&b.failures, 1);
    return;
  }
  unsigned char slot[16];
  uint32_t mark = WRITTEN;
  memcpy(slot, &now, 8); /* x86-64 and arm64 Linux: little-endian, as heartbeats.ts reads */
  memcpy(slot + 8, &b.pid, 4);
  memcpy(slot + 12, &mark, 4);
  if (store(slot)) {
    atomic_fetch_add(&b.beats, 1);
  } else if (pwrite(b.board, slot, sizeof slot, b.offset) == (ssize_t)sizeof slot) {
    atomic_fetch_add(&b.beats, 1);
    map_slot();
  } else {
    atomic_fetch_add(&b.failures, 1);
  }
}

/*
 * Reads a watched slot (lock held) and calls its onChange if it turned alive or not, or
 * another pid beats there (a service restarted, or one that started and died between two
 * reads); ms until it must be read again.
 */
static double watch_check(struct watch *w) {
  unsigned char slot[16];
  double ts = 0, now = unix_ms();
  int32_t pid = 0;
  uint32_t mark = 0;
  atomic_fetch_add(&b.watch_reads, 1);
  w->fresh = 0;
  if (pread(b.board, slot, sizeof slot, w->offset) == (ssize_t)sizeof slot) {
    memcpy(&ts, slot, 8);
    memcpy(&pid, slot + 8, 4);
    memcpy(&mark, slot + 12, 4);
  }
  /* Alive a millisecond longer than the timeout: JavaScript reads the slot after this call
   * with Date.now(), whole milliseconds behind this clock, and must find what this found
   * (the beats of the watched service fall on the same instants as these reads, one timeout
   * apart: at exactly the timeout, JavaScript read alive what this had called not alive,
   * and neither looked again). */
  double stale_after = w->timeout_ms + 1;
  int alive = mark == WRITTEN && isfinite(ts) && ts != 0 && now - ts <= stale_after;
  if (mark != WRITTEN) pid = 0;
  if (alive == w->state && w->pid == -1) w->pid = pid; /* as JavaScript last read it: its pid is learnt here */
  if (alive != w->state || pid != w->pid) {
    w->state = alive;
    w->pid = pid;
    atomic_fetch_add(&b.watch_calls, 1);
    napi_call_threadsafe_function(w->cb, NULL, napi_tsfn_nonblocking);
  }
  return alive ? ts + stale_after - now + 1 : w->dead_poll_ms;
}

static int any_fresh(void) {
  for (int i = 0; i < MAX_WATCHES; i++)
    if (b.watches[i].used && b.watches[i].fresh) return 1;
  return 0;
}

static void add_ms(struct timespec *t, double ms) {
  uint64_t ns = (uint64_t)(ms * 1e6);
  t->tv_nsec += (long)(ns % 1000000000ull);
  t->tv_sec += (time_t)(ns / 1000000000ull) + t->tv_nsec / 1000000000L;
  t->tv_nsec %= 1000000000L;
}

/* The first multiple of the period after t. */
static void next_on_grid(struct timespec *t) {
  uint64_t at = (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
  at = (at / b.period_ns + 1) * b.period_ns;
  t->tv_sec = (time_t)(at / 1000000000ull);
  t->tv_nsec = (long)(at % 1000000000ull);
}

static int before(const struct timespec *a, const struct timespec *c) {
  return a->tv_sec < c->tv_sec || (a->tv_sec == c->tv_sec && a->tv_nsec < c->tv_nsec);
}

static void *run(void *arg) {
  (void)arg;
  struct timespec next, now, until;
  /*
   * The beats fall on the multiples of the period on the machine's monotonic clock: every
   * service's beater wakes at the same instants (those of a longer period at every few of
   * them), and a wake-up that follows another on the same instant costs about a third less
   * (the kernel's paths still in cache; measured with four processes beating at 125 ms:
   * 36 us a beat at random phases, 23 us aligned).
   */
  clock_gettime(CLOCK_MONOTONIC, &next); /* the first beat at once, the next ones on the grid */
  pthread_mutex_lock(&b.lock);
  while (!b.stopping) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!before(&now, &next)) {
      pthread_mutex_unlock(&b.lock);
      if (loop_waiting()) {
        atomic_fetch_add(&b.idle_beats, 1);
        beat();
      } else {
        /* busy now: it must show that it still turns, by answering within a period */
        if (atomic_load(&b.answered) == atomic_load(&b.sent)) beat();
        atomic_fetch_add(&b.sent, 1);
        uv_async_send(&b.async);
      }
      pthread_mutex_lock(&b.lock);
      next_on_grid(&next);
    }
    until = next;
    for (int i = 0; i < MAX_WATCHES; i++) {
      if (!b.watches[i].used) continue;
      struct timespec check;
      clock_gettime(CLOCK_MONOTONIC, &check);
      add_ms(&check, watch_check(&b.watches[i]));
      if (before(&check, &until)) until = check;
    }
    while (!b.stopping && pthread_cond_timedwait(&b.wake, &b.lock, &until) != ETIMEDOUT) {
      if (any_fresh()) break; /* a new watch: read it now */
    }
  }
  pthread_mutex_unlock(&b.lock);
  return NULL;
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  char board[4096], probe[4096];
  size_t len;
  int64_t offset;
  int32_t pid;
  double period_ms, probe_every_ms;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_string_utf8(env, argv[0], board, sizeof board, &len) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int32(env, argv[2], &pid) != napi_ok ||
      napi_get_value_double(env, argv[3], &period_ms) != napi_ok || !(period_ms >= 1) ||
      napi_get_value_string_utf8(env, argv[4], probe, sizeof probe, &len) != napi_ok ||
      napi_get_value_double(env, argv[5], &probe_every_ms) != napi_ok) {
    napi_throw_type_error(env, NULL, "start(file, offset, pid, periodMs, probeFile, probeEveryMs): bad arguments");
    return NULL;
  }
  if (b.running) {
    napi_throw_error(env, NULL, "the heartbeat thread is already running");
    return NULL;
  }
  b.board = open(board, O_RDWR | O_CREAT | O_CLOEXEC, 0644); /* (read too: a shared writable mapping needs it) */
  if (b.board < 0) return throw_errno(env, board);
  b.probe = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (b.probe < 0) {
    int e = errno;
    close(b.board);
    errno = e;
    return throw_errno(env, probe);
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_async_init(loop, &b.async, on_async);
  uv_unref((uv_handle_t *)&b.async); /* the beats never keep the process alive */
  b.offset = (long)offset;
  b.pid = pid;
  b.period_ns = (uint64_t)(period_ms * 1e6);
  b.probe_every_ms = (uint64_t)probe_every_ms;
  b.disk_ok_at = -INFINITY;
  b.map = NULL;
  b.stopping = 0;
  char wchan[64];
  snprintf(wchan, sizeof wchan, "/proc/self/task/%ld/wchan", (long)syscall(SYS_gettid)); /* start() runs on the main thread */
  b.wchan = open(wchan, O_RDONLY | O_CLOEXEC);
  atomic_store(&b.idle_beats, 0);
  /* the periods are counted on the monotonic clock (a condition variable waits on the wall clock unless told) */
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b.wake, &attr);
  pthread_condattr_destroy(&attr);
  atomic_store(&b.beats, 0);
  atomic_store(&b.failures, 0);
  atomic_store(&b.sent, 0);
  atomic_store(&b.answered, 0);
  if (pthread_create(&b.thread, NULL, run, NULL) != 0) {
    close(b.board);
    close(b.probe);
    if (b.wchan >= 0) close(b.wchan);
    uv_close((uv_handle_t *)&b.async, NULL);
    return throw_errno(env, "pthread_create");
  }
  b.running = 1;
  return NULL;
}

static void call_on_change(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  (void)data;
  if (env == NULL || js_cb == NULL) return;
  napi_value global;
  napi_get_global(env, &global);
  napi_call_function(env, global, js_cb, 0, NULL, NULL);
}

/* Ends a watch (lock held). */
static void release_watch(struct watch *w) {
  if (!w->used) return;
  w->used = 0;
  napi_release_threadsafe_function(w->cb, napi_tsfn_release);
  w->cb = NULL;
}

static void release_watches(void) {
  for (int i = 0; i < MAX_WATCHES; i++) release_watch(&b.watches[i]);
}

/* The watch of that slot, else a free one, else NULL (lock held). */
static struct watch *watch_for(long offset) {
  struct watch *free_one = NULL;
  for (int i = 0; i < MAX_WATCHES; i++) {
    if (b.watches[i].used && b.watches[i].offset == offset) return &b.watches[i];
    if (!b.watches[i].used && free_one == NULL) free_one = &b.watches[i];
  }
  return free_one;
}

/*
 * watch(offset, timeoutMs, onChange, alive, deadPollMs): watches that slot (in place of any
 * watch of it), with the beats' thread, from the state JavaScript just read (alive or not),
 * reading it every deadPollMs while it is not alive; false if the thread does not run.
 */
static napi_value watch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out, name;
  int64_t offset;
  double timeout_ms, dead_poll_ms;
  bool alive;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || napi_get_value_int64(env, argv[0], &offset) != napi_ok ||
      offset < 0 || napi_get_value_double(env, argv[1], &timeout_ms) != napi_ok || !(timeout_ms > 0) ||
      napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function || napi_get_value_bool(env, argv[3], &alive) != napi_ok ||
      napi_get_value_double(env, argv[4], &dead_poll_ms) != napi_ok || !(dead_poll_ms >= 1)) {
    napi_throw_type_error(env, NULL, "watch(offset, timeoutMs, onChange, alive, deadPollMs): bad arguments");
    return NULL;
  }
  if (!b.running) {
    napi_get_boolean(env, 0, &out);
    return out;
  }
  napi_threadsafe_function cb;
  napi_create_string_utf8(env, "heartbeat watch", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, call_on_change, &cb) != napi_ok) {
    napi_throw_error(env, NULL, "watch: napi_create_threadsafe_function failed");
    return NULL;
  }
  napi_unref_threadsafe_function(env, cb); /* the watch never keeps the process alive */
  pthread_mutex_lock(&b.lock);
  struct watch *w = watch_for((long)offset);
  if (w == NULL) {
    pthread_mutex_unlock(&b.lock);
    napi_release_threadsafe_function(cb, napi_tsfn_release);
    napi_throw_error(env, NULL, "watch: every watch is taken");
    return NULL;
  }
  release_watch(w);
  w->cb = cb;
  w->offset = (long)offset;
  w->timeout_ms = timeout_ms;
  w->dead_poll_ms = dead_poll_ms;
  w->state = alive ? 1 : 0;
  w->pid = -1;
  w->used = 1;
  w->fresh = 1;
  pthread_cond_signal(&b.wake);
  pthread_mutex_unlock(&b.lock);
  napi_get_boolean(env, 1, &out);
  return out;
}

/* unwatch(offset): that slot not watched any more; unwatch(): none. */
static napi_value unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t offset = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || (argc >= 1 && napi_get_value_int64(env, argv[0], &offset) != napi_ok)) {
    napi_throw_type_error(env, NULL, "unwatch(offset?): bad arguments");
    return NULL;
  }
  pthread_mutex_lock(&b.lock);
  if (argc >= 1) {
    for (int i = 0; i < MAX_WATCHES; i++)
      if (b.watches[i].used && b.watches[i].offset == (long)offset) release_watch(&b.watches[i]);
  } else {
    release_watches();
  }
  pthread_mutex_unlock(&b.lock);
  return NULL;
}

/* A JavaScript array of these counts. */
static napi_value counts(napi_env env, const uint32_t *values, uint32_t n) {
  napi_value out, v;
  napi_create_array_with_length(env, n, &out);
  for (uint32_t i = 0; i < n; i++) {
    napi_create_uint32(env, values[i], &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

/* watchStats(): [reads of watched slots, onChange calls] since the process started */
static napi_value watch_stats(napi_env env, napi_callback_info info) {
  (void)info;
  return counts(env, (uint32_t[]){atomic_load(&b.watch_reads), atomic_load(&b.watch_calls)}, 2);
}

/* stats(): [beats written, beats not written (disk or write failed), periods the loop was found waiting for I/O] since start */
static napi_value stats(napi_env env, napi_callback_info info) {
  (void)info;
  return counts(env, (uint32_t[]){atomic_load(&b.beats), atomic_load(&b.failures), atomic_load(&b.idle_beats)}, 3);
}

static napi_value stop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (!b.running) return NULL;
  pthread_mutex_lock(&b.lock);
  b.stopping = 1;
  pthread_cond_signal(&b.wake);
  pthread_mutex_unlock(&b.lock);
  pthread_join(b.thread, NULL);
  pthread_mutex_lock(&b.lock);
  release_watches(); /* they read through this thread and file */
  pthread_mutex_unlock(&b.lock);
  unmap_slot();
  close(b.board);
  close(b.probe);
  if (b.wchan >= 0) close(b.wchan);
  uv_close((uv_handle_t *)&b.async, NULL);
  pthread_cond_destroy(&b.wake);
  b.running = 0;
  return NULL;
}

/*
 * limitArenas(n): glibc's malloc keeps at most n arenas. Each thread that allocates gets an
 * arena of its own by default (up to 8 per core), and what a thread freed stays in its
 * arena: the checkpoint thread and V8's compiler threads left 5-8 MiB resident in each
 * service. Called before those threads allocate; threads already attached keep theirs.
 */
static napi_value limit_arenas(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "limitArenas(n): n >= 1");
    return NULL;
  }
  napi_get_boolean(env, mallopt(M_ARENA_MAX, n) == 1, &out);
  return out;
}

/* trim(): what malloc's arenas hold free goes back to the system (malloc_trim). */
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, malloc_trim(0) == 1, &out);
  return out;
}

/*
 * unmapCleanFilePages(): every page this process maps read-only from a file (the node
 * binary, the shared libraries) and never wrote is unmapped (MADV_DONTNEED), to be mapped
 * again from the page cache by the next access. Start-up touches ~38 MiB of the node
 * binary (the dynamic linker's relocations and symbols, V8's start-up) and the kernel's
 * fault-around maps 64 KiB around each fault: counted in every service's RSS, though an
 * idle service runs a few MiB of it. Only a mapping that is not writable and holds no
 * anonymous, swapped, dirty or locked page (not a RELRO region the linker wrote) is
 * touched: for it the page cache has exactly what the mapping shows. Returns the bytes of
 * the mappings advised.
 */
#define MAX_CLEAN_MAPPINGS 256
static napi_value unmap_clean_file_pages(napi_env env, napi_callback_info info) {
  (void)info;
  struct { uintptr_t start, end; } clean[MAX_CLEAN_MAPPINGS];
  size_t n = 0;
  FILE *f = fopen("/proc/self/smaps", "re");
  napi_value out;
  if (f == NULL) {
    napi_create_double(env, 0, &out);
    return out;
  }
  char line[4352];
  uintptr_t start = 0, end = 0;
  int candidate = 0, dirty = 0;
  for (;;) {
    char *got = fgets(line, sizeof line, f);
    unsigned long a, b, inode;
    char perms[8];
    int header = got != NULL && sscanf(line, "%lx-%lx %7s %*s %*s %lu", &a, &b, perms, &inode) == 4;
    if (got == NULL || header) {
      if (candidate && !dirty && n < MAX_CLEAN_MAPPINGS) {
        clean[n].start = start;
        clean[n].end = end;
        n++;
      }
      if (got == NULL) break;
      start = a;
      end = b;
      candidate = inode != 0 && perms[1] != 'w';
      dirty = 0;
      continue;
    }
    unsigned long kb;
    /* (Swap: a written private page swapped out is anonymous too, though not resident) */
    if ((sscanf(line, "Anonymous: %lu kB", &kb) == 1 || sscanf(line, "Swap: %lu kB", &kb) == 1 || sscanf(line, "Private_Dirty: %lu kB", &kb) == 1 ||
         sscanf(line, "Shared_Dirty: %lu kB", &kb) == 1 || sscanf(line, "Locked: %lu kB", &kb) == 1) && kb > 0)
      dirty = 1;
  }
  fclose(f);
  double advised = 0;
  for (size_t i = 0; i < n; i++)
    if (madvise((void *)clean[i].start, clean[i].end - clean[i].start, MADV_DONTNEED) == 0) advised += (double)(clean[i].end - clean[i].start);
  napi_create_double(env, advised, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
    {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, stats, NULL, NULL, NULL, napi_default, NULL},
    {"watch", NULL, watch, NULL, NULL, NULL, napi_default, NULL},
    {"unwatch", NULL, unwatch, NULL, NULL, NULL, napi_default, NULL},
    {"watchStats", NULL, watch_stats, NULL, NULL, NULL, napi_default, NULL},
    {"limitArenas", NULL, limit_arenas, NULL, NULL, NULL, napi_default, NULL},
    {"trim", NULL, trim, NULL, NULL, NULL, napi_default, NULL},
    {"unmapCleanFilePages", NULL, unmap_clean_file_pages, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
