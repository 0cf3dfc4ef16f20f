/*
 * The IPv4 address changes of this network namespace, for the fence, from an rtnetlink
 * socket of its own (what `ip -o monitor address` printed, without a process to wake).
 *
 * The fence renews its VIPs' lifetimes at every heartbeat, and the kernel announces each
 * renewal like an addition. Those repeats never reach JavaScript: an address announced
 * again while present (same interface, address and prefix) is dropped here. And the fence
 * drains the socket right after a renewal (drain()): rtnetlink queues the announcement
 * within the renewal's own send, so the event loop never wakes up for it.
 *
 *   open(callback) -> handle    callback(error: string | null, changes: Change[] | null, ended: boolean)
 *                               (ended: the socket failed and is closed; open another)
 *   drain(handle) -> [error: string | null, Change[]]   what is queued now, at once (not given to the callback)
 *   close(handle)
 *   Change = [added: boolean, ifname, address, prefix, at (unix ms, when read)]
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include "napi_errno.h"
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Addresses remembered as present (to drop their repeats); beyond this, repeats are delivered. */
#define MAX_PRESENT 1024
/* At most this many changes per call (a flood is still read in bounded steps). */
#define MAX_CHANGES 512
#define LOST "address announcements were lost (the socket's buffer overflowed)"

typedef struct {
  int ifindex;
  uint32_t address; /* network order */
  uint8_t prefix;
} present_t;

typedef struct {
  int added;
  int ifindex;
  uint32_t address;
  uint8_t prefix;
  char label[IFNAMSIZ];
  double at;
} change_t;

typedef struct {
  int fd;
  uv_poll_t poll;
  int polling;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  present_t present[MAX_PRESENT];
  size_t npresent;
  int overflowed; /* ENOBUFS seen since the last delivery */
} monitor_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static ssize_t find_present(monitor_t *m, const change_t *c) {
  for (size_t i = 0; i < m->npresent; i++) {
    const present_t *p = &m->present[i];
    if (p->ifindex == c->ifindex && p->address == c->address && p->prefix == c->prefix) return (ssize_t)i;
  }
  return -1;
}

/* Whether the change is news (not a repeat of a present address); updates what is present. */
static int news(monitor_t *m, const change_t *c) {
  ssize_t i = find_present(m, c);
  if (c->added) {
    if (i >= 0) return 0;
    if (m->npresent < MAX_PRESENT) m->present[m->npresent++] = (present_t){c->ifindex, c->address, c->prefix};
    return 1;
  }
  if (i >= 0) m->present[i] = m->present[--m->npresent];
  return 1;
}

/* One RTM_NEWADDR / RTM_DELADDR of an IPv4 address into c; 0 if it is not one. */
static int parse(const struct nlmsghdr *h, double at, change_t *c) {
  if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg))) return 0;
  const struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET) return 0;
  memset(c, 0, sizeof *c);
  c->added = h->nlmsg_type == RTM_NEWADDR;
  c->ifindex = (int)ifa->ifa_index;
  c->prefix = ifa->ifa_prefixlen;
  c->at = at;
  int have = 0, have_local = 0;
  int len = (int)IFA_PAYLOAD(h);
  for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    /* IFA_LOCAL is the address itself (IFA_ADDRESS the peer's on a point-to-point link) */
    if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == 4) {
      memcpy(&c->address, RTA_DATA(a), 4);
      have = have_local = 1;
    } else if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) == 4 && !have_local) {
      memcpy(&c->address, RTA_DATA(a), 4);
      have = 1;
    } else if (a->rta_type == IFA_LABEL && RTA_PAYLOAD(a) > 0) {
      size_t n = RTA_PAYLOAD(a) < IFNAMSIZ ? RTA_PAYLOAD(a) : IFNAMSIZ;
      memcpy(c->label, RTA_DATA(a), n);
      c->label[IFNAMSIZ - 1] = 0;
    }
  }
  return have;
}

/* Reads what is queued (up to max changes that are news) into out; the count. */
static size_t read_changes(monitor_t *m, change_t *out, size_t max) {
  static char buf[65536];
  size_t n = 0;
  while (n < max) {
    ssize_t len = recv(m->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        /* the kernel dropped announcements: what is present is no longer known */
        m->overflowed = 1;
        m->npresent = 0;
        continue;
      }
      break; /* EAGAIN: drained */
    }
    double at = now_ms();
    /* an int: NLMSG_NEXT can take it below 0 past an unpadded last message, which NLMSG_OK then refuses */
    int rest = (int)len;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rest) && n < max; h = NLMSG_NEXT(h, rest)) {
      if (parse(h, at, &out[n]) && news(m, &out[n])) n++;
    }
  }
  return n;
}

static napi_value changes_array(napi_env env, const change_t *c, size_t n) {
  napi_value list;
  napi_create_array_with_length(env, n, &list);
  for (size_t i = 0; i < n; i++) {
    napi_value item, v;
    napi_create_array_with_length(env, 5, &item);
    napi_get_boolean(env, c[i].added, &v);
    napi_set_element(env, item, 0, v);
    char ifname[IF_NAMESIZE] = {0};
    if (!if_indextoname((unsigned)c[i].ifindex, ifname)) {
      /* gone with its interface: the label, up to a ':' (an alias), names it */
      memcpy(ifname, c[i].label, sizeof ifname);
      ifname[IF_NAMESIZE - 1] = 0;
      char *colon = strchr(ifname, ':');
      if (colon) *colon = 0;
    }
    napi_create_string_utf8(env, ifname, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, item, 1, v);
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &c[i].address, text, sizeof text);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, item, 2, v);
    napi_create_uint32(env, c[i].prefix, &v);
    napi_set_element(env, item, 3, v);
    napi_create_double(env, c[i].at, &v);
    napi_set_element(env, item, 4, v);
    napi_set_element(env, list, (uint32_t)i, item);
  }
  return list;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  monitor_t *m = handle->data;
  if (m->fd < 0) return;
  int ended = 0;
  if (status < 0) {
    /* libuv reports an error condition of the socket as EBADF and stops polling it; a
       netlink socket's is an overflow (ENOBUFS), read (and cleared) here: polled again */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && (err == ENOBUFS || err == 0)) {
      if (err == ENOBUFS) {
        m->overflowed = 1;
        m->npresent = 0;
      }
      uv_poll_start(&m->poll, UV_READABLE, on_readable);
    } else {
      ended = 1;
    }
  }
  static change_t changes[MAX_CHANGES];
  size_t n = ended ? 0 : read_changes(m, changes, MAX_CHANGES);
  const char *error = ended ? uv_strerror(status) : m->overflowed ? LOST : NULL;
  m->overflowed = 0;
  if (n == 0 && !error) return;
  napi_env env = m->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, args[3];
  napi_get_reference_value(env, m->callback, &cb);
  napi_get_global(env, &recv);
  if (error) napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &args[0]);
  else napi_get_null(env, &args[0]);
  if (n > 0) args[1] = changes_array(env, changes, n);
  else napi_get_null(env, &args[1]);
  napi_get_boolean(env, ended, &args[2]);
  napi_async_context context = m->context;
  if (ended) {
    /* the socket failed: closed, polled no more (the callback opens another) */
    uv_poll_stop(&m->poll);
    close(m->fd);
    m->fd = -1;
  }
  /* make_callback, not call_function: promise reactions the callback starts run after it */
  napi_make_callback(env, context, recv, cb, 3, args, NULL);
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *h) {
  free(h->data);
}

static void stop(napi_env env, monitor_t *m) {
  if (m->fd >= 0) close(m->fd);
  m->fd = -1;
  if (m->callback) {
    napi_delete_reference(env, m->callback);
    m->callback = NULL;
  }
  if (m->context) {
    napi_async_destroy(env, m->context);
    m->context = NULL;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  monitor_t *m = data;
  stop(env, m);
  if (m->polling) uv_close((uv_handle_t *)&m->poll, on_closed);
  else free(m);
}

static monitor_t *unwrap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  monitor_t *m = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], (void **)&m) != napi_ok || !m) {
    napi_throw_type_error(env, NULL, "expected an address monitor");
    return NULL;
  }
  return m;
}

static napi_value monitor_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(callback): callback must be a function");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK, NETLINK_ROUTE)");
  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR};
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort: the default holds ~100 */
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "bind(RTMGRP_IPV4_IFADDR)");
  }
  monitor_t *m = calloc(1, sizeof *m);
  m->fd = fd;
  m->env = env;
  m->poll.data = m;
  napi_value name;
  CHECK(napi_create_reference(env, argv[0], 1, &m->callback));
  CHECK(napi_create_string_utf8(env, "vigil.addressMonitor", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &m->context));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init_socket(loop, &m->poll, fd) != 0) {
    stop(env, m);
    free(m);
    napi_throw_error(env, NULL, "uv_poll_init_socket failed");
    return NULL;
  }
  m->polling = 1;
  uv_poll_start(&m->poll, UV_READABLE, on_readable);
  napi_value handle;
  CHECK(napi_create_external(env, m, finalize, NULL, &handle));
  return handle;
}

static napi_value monitor_drain(napi_env env, napi_callback_info info) {
  monitor_t *m = unwrap(env, info);
  if (!m) return NULL;
  static change_t changes[MAX_CHANGES];
  size_t n = m->fd < 0 ? 0 : read_changes(m, changes, MAX_CHANGES);
  napi_value out, v;
  napi_create_array_with_length(env, 2, &out);
  if (m->overflowed) napi_create_string_utf8(env, LOST, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  m->overflowed = 0;
  napi_set_element(env, out, 0, v);
  napi_set_element(env, out, 1, changes_array(env, changes, n));
  return out;
}

static napi_value monitor_close(napi_env env, napi_callback_info info) {
  monitor_t *m = unwrap(env, info);
  if (!m) return NULL;
  if (m->polling) uv_poll_stop(&m->poll);
  stop(env, m);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, monitor_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "drain", NAPI_AUTO_LENGTH, monitor_drain, NULL, &fn);
  napi_set_named_property(env, exports, "drain", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, monitor_close, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
