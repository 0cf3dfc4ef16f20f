/*
 * Raw IPv4 sockets of IP protocol 112 (VRRP) for Node, through Node-API and libuv.
 * One job: open a socket bound to an interface, join/leave a multicast group, send
 * datagrams whose IP header we wrote (IP_HDRINCL: TTL 255 and our source), and call a
 * JavaScript function with the datagrams received (IP header included).
 *
 * Datagrams arriving far apart (a few instances) are handed over as each arrives. When
 * they come densely (hundreds of instances at 100 ms adverts: a datagram every ms or less),
 * the socket is read every BATCH_MS and everything waiting goes to JavaScript in one call:
 * one wake-up of the process per period instead of one per datagram (a backup receiving
 * 2,500 adverts a second spent most of its time waking up). An advert is then handled at
 * most BATCH_MS late, against master-down intervals of hundreds of ms. Datagrams that come
 * in bursts (a vigil master's slot) are read a burst at a time, as they wake the process.
 *
 * Two kinds of datagram never reach JavaScript: a VRID's routine advert (the same bytes
 * from the same master again: counted and timed here, see routine()), and, once told
 * which VRIDs this interface's instances have (known()), adverts of other VRIDs (other
 * routers on the segment, which keepalived ignores too): only counted (unknown()).
 *
 * And a master's routine adverts are sent from here (repeat()): the same datagrams every
 * interval on a fixed schedule, with no JavaScript at each one (counted, failures too, for
 * repeated()). JavaScript still decides everything: it names them, changes them when the
 * priority changes, and stops them when the instance leaves MASTER; they run on the
 * process's event loop, so a process that hangs or stops sends none, as before.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#define NAPI_VERSION 8
#include <node_api.h>
#include "napi_errno.h"
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VRRP_PROTO 112
/* How long a dense stream of datagrams is gathered before it is read. */
#define BATCH_MS 4
/* Datagrams count as dense when the socket was read less than this before. */
#define DENSE_MS 10
/* A read that finds this many datagrams or more found a burst. */
#define BURST 3
/* At most this many datagrams per call (a flood is still read in bounded steps). */
#define MAX_BATCH 256
/* Datagrams read per recvmmsg, and the room for each: an IPv4 VRRP packet is at most ~1.1 kB. */
#define RECV_BATCH 32
#define RECV_BYTES 4096

/* An IPv4 VRRP packet is at most 8 + 255 * 4 + 8 (v2 authentication) bytes. */
#define ROUTINE_MAX 1040

typedef struct {
  int active;
  uint32_t src, dst; /* network order */
  uint16_t len;
  unsigned char payload[ROUTINE_MAX];
  uint64_t down_ns; /* the master-down interval */
  uint64_t last_ns; /* uv_hrtime() of the last one (or of routine()) */
  uint32_t count;   /* absorbed since the last collect() */
  uint32_t total;   /* absorbed since routine() named it */
} routine_t;

/* Adverts due within this of the earliest are sent with it (one wake-up for a slot's burst). */
#define REPEAT_SLACK_NS 1000000

typedef struct {
  struct sockaddr_in to;
  uint16_t len;
  unsigned char datagram[ROUTINE_MAX + 60]; /* with its IP header */
} repeat_target_t;

typedef struct {
  int active;
  uint32_t n;
  repeat_target_t *targets;
  uint64_t interval_ns;
  uint64_t next_ns;  /* uv_hrtime() of the next send */
  uint32_t sent;     /* since the last repeated() */
  uint32_t failed;   /* likewise */
  int last_errno;    /* of the last failure since the last repeated() */
} repeat_t;

typedef struct {
  int fd;
  uv_poll_t poll;
  uv_timer_t batch;
  uv_timer_t overdue;
  uv_timer_t adverts;
  routine_t *routine[256];
  repeat_t *repeat[256];
  uint8_t known[256];  /* VRIDs of this interface's instances, once filtering */
  int filter_unknown;  /* whether adverts of other VRIDs are only counted */
  uint32_t unknown;    /* counted since the last unknown() */
  uint64_t last_read;
  uint32_t last_got;   /* datagrams the last read found (delivered, absorbed or dropped) */
  napi_env env;
  napi_ref callback;
  int polling;
  int handles;
} vrrp_sock;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static vrrp_sock *unwrap(napi_env env, napi_value v) {
  vrrp_sock *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || s == NULL || s->fd < 0) {
    napi_throw_error(env, NULL, "not an open VRRP socket");
    return NULL;
  }
  return s;
}

/* The n arguments of a method whose first argument is an open socket; NULL (exception set) if not. */
static vrrp_sock *socket_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "napi_get_cb_info failed");
    return NULL;
  }
  return unwrap(env, argv[0]);
}

static void free_repeat(repeat_t *r) {
  if (r) free(r->targets);
  free(r);
}

static void free_sock(vrrp_sock *s) {
  for (int i = 0; i < 256; i++) {
    free(s->routine[i]);
    free_repeat(s->repeat[i]);
  }
  free(s);
}

static void on_closed(uv_handle_t *h) {
  vrrp_sock *s = h->data;
  if (--s->handles == 0) free_sock(s);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  vrrp_sock *s = data;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->polling) {
    s->handles = 4;
    uv_close((uv_handle_t *)&s->poll, on_closed);
    uv_close((uv_handle_t *)&s->batch, on_closed);
    uv_close((uv_handle_t *)&s->overdue, on_closed);
    uv_close((uv_handle_t *)&s->adverts, on_closed);
  } else {
    free_sock(s);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events);

/* Whether the datagram is its VRID's routine advert: then counted and timed, not delivered. */
static int absorb(vrrp_sock *s, const unsigned char *buf, size_t len) {
  if (len < 20 || (buf[0] >> 4) != 4) return 0;
  size_t ihl = (size_t)(buf[0] & 0x0f) * 4, total = ((size_t)buf[2] << 8) | buf[3];
  if (total < ihl || total > len) total = len; /* as services/vrrp/codec.ts slices it */
  if (ihl < 20 || total < ihl + 8 || buf[8] != 255) return 0;
  routine_t *r = s->routine[buf[ihl + 1]];
  if (!r || !r->active || total - ihl != r->len || memcmp(buf + 12, &r->src, 4) != 0 || memcmp(buf + 16, &r->dst, 4) != 0 ||
      memcmp(buf + ihl, r->payload, r->len) != 0)
    return 0;
  r->last_ns = uv_hrtime();
  r->count++;
  r->total++;
  return 1;
}

/* Whether the datagram is an advert for a VRID none of this interface's instances has (and we were told to drop those). */
static int unknown_vrid(const vrrp_sock *s, const unsigned char *buf, size_t len) {
  if (!s->filter_unknown || len < 20 || (buf[0] >> 4) != 4) return 0;
  size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
  if (ihl < 20 || len < ihl + 2) return 0; /* malformed: JavaScript counts it */
  return !s->known[buf[ihl + 1]];
}

/* Calls the callback with (err, datagrams, overdueVrids), each one given or null. */
static void call_back(vrrp_sock *s, napi_value err, napi_value datagrams, napi_value overdue) {
  napi_env env = s->env;
  napi_value cb, global, null, args[3];
  napi_get_reference_value(env, s->callback, &cb);
  napi_get_global(env, &global);
  napi_get_null(env, &null);
  args[0] = err ? err : null;
  args[1] = datagrams ? datagrams : null;
  args[2] = overdue ? overdue : null;
  napi_call_function(env, global, cb, 3, args, NULL);
}

/* recvmmsg's vectors over the read buffers, set once (the kernel writes only msg_len and msg_flags). */
static unsigned char recv_bufs[RECV_BATCH][RECV_BYTES];
static struct mmsghdr *recv_vectors(void) {
  static struct iovec iov[RECV_BATCH];
  static struct mmsghdr msgs[RECV_BATCH];
  static int ready;
  if (!ready) {
    for (int i = 0; i < RECV_BATCH; i++) {
      iov[i].iov_base = recv_bufs[i];
      iov[i].iov_len = RECV_BYTES;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    ready = 1;
  }
  return msgs;
}

/* Calls the callback with (err, null, null) or (null, [datagram, ...], null); the number of datagrams. */
static uint32_t deliver(vrrp_sock *s, const char *error) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  uint32_t n = 0;
  if (error) {
    napi_value e;
    napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &e);
    call_back(s, e, NULL, NULL);
  } else {
    /* a burst in one recvmmsg (a slot's adverts from a vigil master come together) */
    struct mmsghdr *msgs = recv_vectors();
    napi_value list = NULL; /* made for the first datagram delivered: a read that is all routine makes nothing */
    s->last_got = 0;
    while (n < MAX_BATCH) {
      int got = recvmmsg(s->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (got <= 0) break; /* EAGAIN: drained */
      s->last_got += (uint32_t)got;
      for (int i = 0; i < got; i++) {
        const unsigned char *buf = recv_bufs[i];
        size_t len = msgs[i].msg_len; /* a longer datagram (never a VRRP packet) arrives cut: malformed all the same */
        if (absorb(s, buf, len)) continue;
        if (unknown_vrid(s, buf, len)) {
          s->unknown++;
          continue;
        }
        napi_value data;
        void *copy;
        if (!list) napi_create_array(env, &list);
        napi_create_buffer_copy(env, len, buf, &copy, &data);
        napi_set_element(env, list, n++, data);
      }
      if (got < RECV_BATCH) break; /* fewer than asked: drained (no read just to hear EAGAIN) */
    }
    if (n > 0) call_back(s, NULL, list, NULL);
  }
  napi_close_handle_scope(env, scope);
  return n;
}

/* Calls the callback with (null, null, [vrid, ...]): these VRIDs' routine adverts stopped. */
static void deliver_overdue(vrrp_sock *s, const uint8_t *vrids, uint32_t count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value list, v;
  napi_create_array_with_length(env, count, &list);
  for (uint32_t i = 0; i < count; i++) {
    napi_create_uint32(env, vrids[i], &v);
    napi_set_element(env, list, i, v);
  }
  call_back(s, NULL, NULL, list);
  napi_close_handle_scope(env, scope);
}

static void schedule_overdue(vrrp_sock *s);

static void on_overdue(uv_timer_t *t) {
  vrrp_sock *s = t->data;
  if (s->fd < 0) return;
  uint64_t now = uv_hrtime();
  uint8_t due[256];
  uint32_t n = 0;
  for (int i = 0; i < 256; i++) {
    routine_t *r = s->routine[i];
    if (r && r->active && now >= r->last_ns + r->down_ns) {
      r->active = 0; /* JavaScript takes over this VRID until it names a routine again */
      due[n++] = (uint8_t)i;
    }
  }
  if (n > 0) deliver_overdue(s, due, n);
  if (s->fd >= 0) schedule_overdue(s);
}

/* The overdue timer at the earliest end of a routine's master-down interval (stopped when none). */
static void schedule_overdue(vrrp_sock *s) {
  uint64_t earliest = UINT64_MAX;
  for (int i = 0; i < 256; i++) {
    routine_t *r = s->routine[i];
    if (r && r->active && r->last_ns + r->down_ns < earliest) earliest = r->last_ns + r->down_ns;
  }
  if (earliest == UINT64_MAX) {
    uv_timer_stop(&s->overdue);
    return;
  }
  uint64_t now = uv_hrtime();
  /* whole ms, rounded up: never before the end */
  uint64_t wait_ms = earliest > now ? (earliest - now + 999999) / 1000000 : 0;
  uv_timer_start(&s->overdue, on_overdue, wait_ms, 0);
}

static void schedule_adverts(vrrp_sock *s);

/* Sends a slot's datagrams with one sendmmsg per SEND_BATCH: they reach a backup together,
   which reads them in one wake-up. A datagram the kernel refuses is counted failed (errno
   kept) and the rest go on. */
#define SEND_BATCH 64
typedef struct {
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iov[SEND_BATCH];
  repeat_t *owner[SEND_BATCH];
  unsigned n;
} send_batch_t;

static void flush_sends(vrrp_sock *s, send_batch_t *b) {
  unsigned done = 0;
  while (done < b->n) {
    int got = sendmmsg(s->fd, b->msgs + done, b->n - done, 0);
    if (got < 0) {
      b->owner[done]->failed++;
      b->owner[done]->last_errno = errno;
      done++;
      continue;
    }
    for (int i = 0; i < got; i++) b->owner[done + i]->sent++;
    done += (unsigned)got;
  }
  b->n = 0;
}

static void queue_send(vrrp_sock *s, send_batch_t *b, repeat_t *r, repeat_target_t *d) {
  if (b->n == SEND_BATCH) flush_sends(s, b);
  unsigned i = b->n++;
  b->iov[i].iov_base = d->datagram;
  b->iov[i].iov_len = d->len;
  memset(&b->msgs[i].msg_hdr, 0, sizeof b->msgs[i].msg_hdr);
  b->msgs[i].msg_hdr.msg_name = &d->to;
  b->msgs[i].msg_hdr.msg_namelen = sizeof d->to;
  b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
  b->msgs[i].msg_hdr.msg_iovlen = 1;
  b->owner[i] = r;
}

/* Sends every repeated advert due now (or within REPEAT_SLACK_NS), each on its fixed schedule. */
static void on_adverts(uv_timer_t *t) {
  vrrp_sock *s = t->data;
  if (s->fd < 0) return;
  uint64_t now = uv_hrtime();
  static send_batch_t batch;
  for (int i = 0; i < 256; i++) {
    repeat_t *r = s->repeat[i];
    if (!r || !r->active || r->next_ns > now + REPEAT_SLACK_NS) continue;
    for (uint32_t k = 0; k < r->n; k++) queue_send(s, &batch, r, &r->targets[k]);
    r->next_ns += r->interval_ns;
    /* late by one interval or more (a stalled process): the next on the schedule, no catching up */
    if (r->next_ns <= now) r->next_ns += ((now - r->next_ns) / r->interval_ns + 1) * r->interval_ns;
  }
  flush_sends(s, &batch);
  schedule_adverts(s);
}

/* The adverts timer at the earliest next send (stopped when nothing repeats). */
static void schedule_adverts(vrrp_sock *s) {
  uint64_t earliest = UINT64_MAX;
  for (int i = 0; i < 256; i++) {
    repeat_t *r = s->repeat[i];
    if (r && r->active && r->next_ns < earliest) earliest = r->next_ns;
  }
  if (earliest == UINT64_MAX) {
    uv_timer_stop(&s->adverts);
    return;
  }
  uv_update_time(s->adverts.loop);
  uint64_t now = uv_hrtime();
  /* whole ms, rounded to the nearest: a send is at most half a ms early (the slack takes it) or late */
  uint64_t wait_ms = earliest > now ? (earliest - now + 500000) / 1000000 : 0;
  uv_timer_start(&s->adverts, on_adverts, wait_ms, 0);
}

static uint32_t read_now(vrrp_sock *s) {
  s->last_read = uv_now(s->poll.loop);
  return deliver(s, NULL);
}

/* While datagrams keep coming, the socket is read every BATCH_MS by this timer alone (one
   wake-up per period, whatever the rate); a period without any goes back to waiting for one. */
static void on_batch(uv_timer_t *t) {
  vrrp_sock *s = t->data;
  if (s->fd < 0) return;
  read_now(s);
  if (s->fd < 0) return;
  if (s->last_got > 0) uv_timer_start(&s->batch, on_batch, BATCH_MS, 0);
  else uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  vrrp_sock *s = handle->data;
  if (status < 0) {
    deliver(s, uv_strerror(status));
    return;
  }
  int dense = uv_now(handle->loop) - s->last_read < DENSE_MS;
  read_now(s);
  /* datagrams one by one, densely: batched; a burst read at once (a vigil master's slot,
     see services/vrrp/decider.ts nextAdvertAt) is one wake-up already, the next comes later */
  if (dense && s->last_got < BURST && s->fd >= 0) {
    uv_poll_stop(&s->poll); /* what comes next is read in BATCH_MS, with what follows it */
    uv_timer_start(&s->batch, on_batch, BATCH_MS, 0);
  }
}

/* open(ifname: string, callback: (err, datagrams, overdueVrids) => void): handle */
static napi_value sock_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE];
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok || len == 0) {
    napi_throw_type_error(env, NULL, "open(ifname, callback): ifname must be a non-empty string of at most 15 characters");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_PROTO);
  if (fd < 0) return throw_errno(env, "socket(AF_INET, SOCK_RAW, 112)");
  int one = 1, zero = 0, ttl = 255;
  if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "setsockopt");
  }
  vrrp_sock *s = calloc(1, sizeof *s);
  s->fd = fd;
  s->env = env;
  s->poll.data = s;
  CHECK(napi_create_reference(env, argv[1], 1, &s->callback));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "uv_poll_init_socket failed");
    return NULL;
  }
  uv_timer_init(loop, &s->batch);
  s->batch.data = s;
  uv_timer_init(loop, &s->overdue);
  s->overdue.data = s;
  uv_timer_init(loop, &s->adverts);
  s->adverts.data = s;
  s->polling = 1;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  napi_value handle;
  CHECK(napi_create_external(env, s, finalize, NULL, &handle));
  return handle;
}

static int parse_ipv4(napi_env env, napi_value v, struct in_addr *out) {
  char text[INET_ADDRSTRLEN];
  size_t len;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok || inet_pton(AF_INET, text, out) != 1) {
    napi_throw_type_error(env, NULL, "expected an IPv4 address");
    return -1;
  }
  return 0;
}

/* membership(handle, group, ifname, join: boolean) */
static napi_value sock_membership(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  vrrp_sock *s = socket_args(env, info, 4, argv);
  if (!s) return NULL;
  struct ip_mreqn m;
  memset(&m, 0, sizeof m);
  if (parse_ipv4(env, argv[1], &m.imr_multiaddr) < 0) return NULL;
  char ifname[IF_NAMESIZE];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[2], ifname, sizeof ifname, &len));
  m.imr_ifindex = (int)if_nametoindex(ifname);
  if (m.imr_ifindex == 0) return throw_errno(env, "if_nametoindex");
  bool join;
  CHECK(napi_get_value_bool(env, argv[3], &join));
  if (setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m) < 0)
    return throw_errno(env, join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP");
  return NULL;
}

/* send(handle, datagram: Buffer (IP header included), dst: string) */
static napi_value sock_send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  vrrp_sock *s = socket_args(env, info, 3, argv);
  if (!s) return NULL;
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "send: datagram must be a Buffer");
    return NULL;
  }
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  if (parse_ipv4(env, argv[2], &to.sin_addr) < 0) return NULL;
  if (sendto(s->fd, data, len, 0, (struct sockaddr *)&to, sizeof to) < 0) return throw_errno(env, "sendto");
  return NULL;
}

static int vrid_arg(napi_env env, napi_value v, uint32_t *vrid) {
  if (napi_get_value_uint32(env, v, vrid) != napi_ok || *vrid > 255) {
    napi_throw_type_error(env, NULL, "expected a VRID (0-255)");
    return -1;
  }
  return 0;
}

/* routine(handle, vrid, src, dst, vrrp: Buffer, masterDownMs) names the VRID's routine advert; routine(handle, vrid) forgets it. */
static napi_value sock_routine(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  vrrp_sock *s = unwrap(env, argv[0]);
  uint32_t vrid;
  if (!s || vrid_arg(env, argv[1], &vrid) < 0) return NULL;
  if (argc < 6) {
    if (s->routine[vrid]) s->routine[vrid]->active = 0;
    schedule_overdue(s);
    return NULL;
  }
  struct in_addr src, dst;
  void *data;
  size_t len;
  double down_ms;
  if (parse_ipv4(env, argv[2], &src) < 0 || parse_ipv4(env, argv[3], &dst) < 0) return NULL;
  if (napi_get_buffer_info(env, argv[4], &data, &len) != napi_ok || len < 8 || len > ROUTINE_MAX ||
      napi_get_value_double(env, argv[5], &down_ms) != napi_ok || !(down_ms > 0)) {
    napi_throw_type_error(env, NULL, "routine(handle, vrid, src, dst, vrrp, masterDownMs): bad arguments");
    return NULL;
  }
  routine_t *r = s->routine[vrid];
  if (!r) r = s->routine[vrid] = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, NULL, "routine: out of memory");
    return NULL;
  }
  r->active = 1;
  r->src = src.s_addr;
  r->dst = dst.s_addr;
  r->len = (uint16_t)len;
  memcpy(r->payload, data, len);
  r->down_ns = (uint64_t)(down_ms * 1e6);
  r->last_ns = uv_hrtime();
  r->count = 0;
  r->total = 0;
  schedule_overdue(s);
  return NULL;
}

/* collect(handle, vrid): [absorbed since the last collect, ms since the last one (or since it was named), absorbed since it was named]; null if no routine was ever named. */
static napi_value sock_collect(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, v;
  vrrp_sock *s = socket_args(env, info, 2, argv);
  uint32_t vrid;
  if (!s || vrid_arg(env, argv[1], &vrid) < 0) return NULL;
  routine_t *r = s->routine[vrid];
  if (!r) {
    napi_get_null(env, &out);
    return out;
  }
  napi_create_array_with_length(env, 3, &out);
  napi_create_uint32(env, r->count, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, (double)(uv_hrtime() - r->last_ns) / 1e6, &v);
  napi_set_element(env, out, 1, v);
  napi_create_uint32(env, r->total, &v);
  napi_set_element(env, out, 2, v);
  r->count = 0;
  return out;
}

/* known(handle, [vrid, ...]) drops (and counts) adverts of every other VRID from now on; known(handle, null) delivers them all again. */
static napi_value sock_known(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  vrrp_sock *s = socket_args(env, info, 2, argv);
  if (!s) return NULL;
  napi_valuetype type;
  CHECK(napi_typeof(env, argv[1], &type));
  uint8_t known[256] = {0};
  if (type != napi_null) {
    bool is_array = false;
    uint32_t n = 0;
    if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok) {
      napi_throw_type_error(env, NULL, "known(handle, vrids: number[] | null): bad arguments");
      return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      uint32_t vrid;
      CHECK(napi_get_element(env, argv[1], i, &v));
      if (vrid_arg(env, v, &vrid) < 0) return NULL;
      known[vrid] = 1;
    }
  }
  memcpy(s->known, known, sizeof known);
  s->filter_unknown = type != napi_null;
  return NULL;
}

/* unknown(handle): adverts of other VRIDs dropped since the last call. */
static napi_value sock_unknown(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  vrrp_sock *s = socket_args(env, info, 1, argv);
  if (!s) return NULL;
  napi_create_uint32(env, s->unknown, &out);
  s->unknown = 0;
  return out;
}

/*
 * repeat(handle, vrid, datagrams: Buffer[], dsts: string[], intervalMs, firstInMs) sends
 * each datagram (IP header included) to its destination every intervalMs, the first time in
 * firstInMs; it replaces what the VRID repeated (its counts go on). repeat(handle, vrid) stops.
 */
static napi_value sock_repeat(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  vrrp_sock *s = unwrap(env, argv[0]);
  uint32_t vrid;
  if (!s || vrid_arg(env, argv[1], &vrid) < 0) return NULL;
  if (argc < 6) {
    if (s->repeat[vrid]) s->repeat[vrid]->active = 0;
    schedule_adverts(s);
    return NULL;
  }
  uint32_t n = 0, n_dsts = 0;
  bool is_array = false, dsts_array = false;
  double interval_ms, first_ms;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &n) != napi_ok ||
      napi_is_array(env, argv[3], &dsts_array) != napi_ok || !dsts_array || napi_get_array_length(env, argv[3], &n_dsts) != napi_ok ||
      n == 0 || n != n_dsts || napi_get_value_double(env, argv[4], &interval_ms) != napi_ok || !(interval_ms >= 1) ||
      napi_get_value_double(env, argv[5], &first_ms) != napi_ok || !(first_ms >= 0)) {
    napi_throw_type_error(env, NULL, "repeat(handle, vrid, datagrams, dsts, intervalMs, firstInMs): bad arguments");
    return NULL;
  }
  repeat_target_t *targets = calloc(n, sizeof *targets);
  if (!targets) {
    napi_throw_error(env, NULL, "repeat: out of memory");
    return NULL;
  }
  for (uint32_t k = 0; k < n; k++) {
    napi_value d, dst;
    void *data;
    size_t len;
    if (napi_get_element(env, argv[2], k, &d) != napi_ok || napi_get_buffer_info(env, d, &data, &len) != napi_ok ||
        len < 28 || len > sizeof targets[k].datagram || napi_get_element(env, argv[3], k, &dst) != napi_ok) {
      free(targets);
      napi_throw_type_error(env, NULL, "repeat: each datagram must be a Buffer of an IPv4 VRRP packet");
      return NULL;
    }
    targets[k].to.sin_family = AF_INET;
    if (parse_ipv4(env, dst, &targets[k].to.sin_addr) < 0) {
      free(targets);
      return NULL;
    }
    targets[k].len = (uint16_t)len;
    memcpy(targets[k].datagram, data, len);
  }
  repeat_t *r = s->repeat[vrid];
  if (!r) r = s->repeat[vrid] = calloc(1, sizeof *r);
  if (!r) {
    free(targets);
    napi_throw_error(env, NULL, "repeat: out of memory");
    return NULL;
  }
  free(r->targets);
  r->targets = targets;
  r->n = n;
  r->interval_ns = (uint64_t)(interval_ms * 1e6);
  r->next_ns = uv_hrtime() + (uint64_t)(first_ms * 1e6);
  r->active = 1;
  schedule_adverts(s);
  return NULL;
}

/*
 * repeated(handle, vrid): [sent, failed, the last failure's message or null (both since the
 * last call), ms until the next send or null if it does not repeat]; null if it never did.
 */
static napi_value sock_repeated(napi_env env, napi_callback_info info) {
  napi_value argv[2], out, v;
  vrrp_sock *s = socket_args(env, info, 2, argv);
  uint32_t vrid;
  if (!s || vrid_arg(env, argv[1], &vrid) < 0) return NULL;
  repeat_t *r = s->repeat[vrid];
  if (!r) {
    napi_get_null(env, &out);
    return out;
  }
  napi_create_array_with_length(env, 4, &out);
  napi_create_uint32(env, r->sent, &v);
  napi_set_element(env, out, 0, v);
  napi_create_uint32(env, r->failed, &v);
  napi_set_element(env, out, 1, v);
  if (r->failed > 0) napi_create_string_utf8(env, strerror(r->last_errno), NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  napi_set_element(env, out, 2, v);
  if (r->active) {
    uint64_t now = uv_hrtime();
    napi_create_double(env, r->next_ns > now ? (double)(r->next_ns - now) / 1e6 : 0, &v);
  } else {
    napi_get_null(env, &v);
  }
  napi_set_element(env, out, 3, v);
  r->sent = 0;
  r->failed = 0;
  return out;
}

static napi_value sock_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  vrrp_sock *s = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&s) != napi_ok || s == NULL || s->fd < 0) return NULL;
  if (s->polling) {
    uv_poll_stop(&s->poll);
    uv_timer_stop(&s->batch);
    uv_timer_stop(&s->overdue);
    uv_timer_stop(&s->adverts);
  }
  close(s->fd);
  s->fd = -1;
  napi_delete_reference(env, s->callback);
  s->callback = NULL;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"open", NULL, sock_open, NULL, NULL, NULL, napi_default, NULL},
    {"membership", NULL, sock_membership, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, sock_send, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, sock_close, NULL, NULL, NULL, napi_default, NULL},
    {"routine", NULL, sock_routine, NULL, NULL, NULL, napi_default, NULL},
    {"collect", NULL, sock_collect, NULL, NULL, NULL, napi_default, NULL},
    {"known", NULL, sock_known, NULL, NULL, NULL, napi_default, NULL},
    {"unknown", NULL, sock_unknown, NULL, NULL, NULL, napi_default, NULL},
    {"repeat", NULL, sock_repeat, NULL, NULL, NULL, napi_default, NULL},
    {"repeated", NULL, sock_repeated, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
