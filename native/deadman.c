/*
 * The fence's dead man's switch for one VIP group (services/fence/deadman.ts): removes the
 * group's addresses at a deadline the fence keeps pushing forward, and does so even after
 * the fence died (it does not die with it). The kernel's address lifetime remains the last
 * line of defence if this process is killed too; this one is exact to a few ms, where the
 * kernel rounds the end of a lifetime up by as much as a quarter of a second, so the fence
 * can record when its addresses will really be gone.
 *
 * stdin, one command a line:
 *   arm <unix ms> <ip line>[;<ip line>...]   at that time, run these iproute2 lines
 *   file <path>                               the group's lifetime file (below)
 *   follow <unix ms> <epoch> <ip lines>       as arm, and the deadline moves with the file
 *   disarm                                    nothing to do
 * Following, at the deadline the lifetime file is read (shared/eventlog/pulse.ts: valid
 * until as unix ms float64, the epoch as float64, the mark 0x31474956, little-endian): if it
 * holds a later time for the same epoch, that is the new deadline. The fence then renews by
 * writing the file alone (which it does anyway, for a fence restarted after a crash): no
 * command, and no wake-up of this process at every renewal. It still sends one for a
 * deadline earlier than any it wrote, other lines or another epoch.
 * At the end of stdin (the fence stopped or died) an armed removal still happens on time,
 * then this exits. The lines go to one `ip -force -batch -`, started at the first arm (the
 * fence raises this process's priority right after starting it; ip inherits it only if
 * started after that). A program of its own, not a shell script: a shell reads a pipe a
 * byte at a time, and the fence arms twice a second.
 */
#define _GNU_SOURCE
#include "pulse_record.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 65536

static long long deadline; /* unix ms; 0: disarmed */
static char *lines;        /* what runs at the deadline, ';' between iproute2 lines */
static int lifetime_fd = -1;
static int following;      /* the deadline moves with the lifetime file */
static double follow_epoch;

/* A lifetime further ahead than this is not believed (a file written by something else). */
#define MAX_AHEAD_MS (3600LL * 1000)
static int ip_in = -1;
static pid_t ip_pid;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void start_ip(void) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    perror("dead man's switch: pipe");
    return;
  }
  ip_pid = fork();
  if (ip_pid == 0) {
    dup2(p[0], 0);
    execlp("ip", "ip", "-force", "-batch", "-", (char *)NULL);
    perror("dead man's switch: ip");
    _exit(127);
  }
  close(p[0]);
  if (ip_pid < 0) {
    perror("dead man's switch: fork");
    close(p[1]);
    return;
  }
  ip_in = p[1];
}

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      perror("dead man's switch: write to ip");
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

static void fire(void) {
  if (lines && *lines && ip_in >= 0) {
    size_t n = strlen(lines);
    for (size_t i = 0; i < n; i++)
      if (lines[i] == ';') lines[i] = '\n';
    lines[n] = '\n'; /* (room for it: see handle) */
    write_all(ip_in, lines, n + 1);
  }
  deadline = 0;
  following = 0;
  free(lines);
  lines = NULL;
}

/* The lifetime file's valid-until for the epoch followed, or -1 (unreadable, not written, another epoch, torn). */
static long long lifetime_until(void) {
  unsigned char a[24], b[24];
  if (lifetime_fd < 0 || pread(lifetime_fd, a, sizeof a, 0) != (ssize_t)sizeof a) return -1;
  /* read twice: a record being rewritten meanwhile is not taken */
  if (pread(lifetime_fd, b, sizeof b, 0) != (ssize_t)sizeof b || memcmp(a, b, sizeof a) != 0) return -1;
  double until, epoch;
  uint32_t mark;
  memcpy(&until, a, 8); /* x86-64 and arm64 Linux: little-endian, as pulse.ts writes */
  memcpy(&epoch, a + 8, 8);
  memcpy(&mark, a + 16, 4);
  if (mark != WRITTEN || epoch != follow_epoch || !(until > 0) || until > (double)(now_ms() + MAX_AHEAD_MS)) return -1;
  long long ms = (long long)until;
  return (double)ms < until ? ms + 1 : ms; /* (rounded up: never before the time written) */
}

/* Armed for ms with the ip lines that follow the number at *rest (after a space); -1 if out of memory. */
static int arm(long long ms, const char *rest) {
  const char *text = *rest == ' ' ? rest + 1 : rest;
  char *copy = malloc(strlen(text) + 2); /* + the newline fire() adds */
  if (!copy) return -1;
  strcpy(copy, text);
  if (ip_in < 0) start_ip();
  free(lines);
  lines = copy;
  deadline = ms;
  return 0;
}

static void handle(const char *line) {
  char *end;
  if (strncmp(line, "arm ", 4) == 0) {
    long long ms = strtoll(line + 4, &end, 10);
    following = 0;
    arm(ms, end);
  } else if (strncmp(line, "follow ", 7) == 0) {
    long long ms = strtoll(line + 7, &end, 10);
    follow_epoch = strtod(end, &end);
    following = arm(ms, end) == 0;
  } else if (strncmp(line, "file ", 5) == 0) {
    if (lifetime_fd >= 0) close(lifetime_fd);
    lifetime_fd = open(line + 5, O_RDONLY | O_CLOEXEC);
    if (lifetime_fd < 0) perror("dead man's switch: lifetime file");
  } else if (strcmp(line, "disarm") == 0) {
    deadline = 0;
    following = 0;
    free(lines);
    lines = NULL;
  }
}

int main(void) {
  static char buf[MAX_LINE];
  size_t have = 0;
  int eof = 0;
  signal(SIGPIPE, SIG_IGN); /* an ip that died: its write fails, this goes on */
  for (;;) {
    long long rem = -1;
    if (deadline > 0) {
      rem = deadline - now_ms();
      if (rem <= 0 && following) {
        long long until = lifetime_until();
        if (until > deadline) {
          deadline = until; /* renewed since: sleep on */
          continue;
        }
      }
      if (rem <= 0) {
        fire();
        if (eof) break;
        continue;
      }
    } else if (eof) {
      break;
    }
    if (eof) {
      struct timespec t = {(time_t)(rem / 1000), (long)(rem % 1000) * 1000000L};
      nanosleep(&t, NULL);
      continue;
    }
    struct pollfd in = {.fd = 0, .events = POLLIN};
    int r = poll(&in, 1, rem < 0 ? -1 : (int)(rem > 1000000 ? 1000000 : rem));
    if (r <= 0) continue; /* the deadline, or a signal */
    ssize_t n = read(0, buf + have, sizeof buf - have);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof = 1; /* (a last line without its newline is not a command) */
      continue;
    }
    have += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
      *nl = 0;
      handle(start);
      start = nl + 1;
    }
    have -= (size_t)(start - buf);
    memmove(buf, start, have);
    if (have == sizeof buf) have = 0; /* a line longer than any command: dropped */
  }
  if (ip_in >= 0) close(ip_in);
  if (ip_pid > 0) waitpid(ip_pid, NULL, 0);
  return 0;
}
