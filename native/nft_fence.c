/*
 * nftables for Node, through Node-API and libnftables, in-process: run(text) applies one
 * nft script as one transaction and returns nft's complaints ("" when it applied). The
 * fence computes a set element's timeout and hands it to the kernel in the same
 * synchronous call, so no process wake-up (an `nft` child) can fall between the two and
 * stretch the kernel-enforced lease.
 *
 * The renewal at every heartbeat, live(), goes straight to nfnetlink instead: one batch of
 * set-element messages, the same transaction kernel-rules.ts's liveScript describes, with
 * no script to parse and no cache to fetch (libnftables spent ~0.8 ms of CPU a renewal).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <nftables/libnftables.h>
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "netlink_talk.h"

static struct nft_ctx *ctx;

/* run(script: string): string (empty when applied, else nft's error output) */
static napi_value nft_run(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value argv[1], out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "run(script): expected a string");
    return NULL;
  }
  char *script = malloc(len + 1);
  if (!script) {
    napi_throw_error(env, NULL, "run: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], script, len + 1, &len);
  if (!ctx) {
    ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
      free(script);
      napi_throw_error(env, NULL, "nft_ctx_new failed");
      return NULL;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
  }
  int rc = nft_run_cmd_from_buffer(ctx, script);
  free(script);
  const char *err = nft_ctx_get_error_buffer(ctx);
  if (rc == 0) err = "";
  else if (!err || !*err) err = "nft failed without a message";
  napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* ---- live(): set elements over raw nfnetlink ---------------------------------------- */

#define TABLE "vigil_fence"
#define SET "live"
#define MAX_ADDRESSES 256
#define BUF_SIZE 65536

static int nl = -1;
static uint32_t seq;

typedef struct {
  char *buf;
  size_t len;
} batch_t;

static struct nlmsghdr *put_msg(batch_t *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id) {
  struct nlmsghdr *h = (struct nlmsghdr *)(b->buf + b->len);
  memset(h, 0, NLMSG_LENGTH(sizeof(struct nfgenmsg)));
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = ++seq;
  struct nfgenmsg *g = NLMSG_DATA(h);
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(res_id);
  return h;
}

static struct nlattr *put_attr(batch_t *b, struct nlmsghdr *h, uint16_t type, const void *data, size_t len) {
  struct nlattr *a = (struct nlattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->nla_type = type;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  if (len) memcpy((char *)a + NLA_HDRLEN, data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
  (void)b;
  return a;
}

static struct nlattr *nest_start(batch_t *b, struct nlmsghdr *h, uint16_t type) {
  return put_attr(b, h, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct nlmsghdr *h, struct nlattr *a) {
  a->nla_len = (uint16_t)((char *)h + h->nlmsg_len - (char *)a);
}

static void end_msg(batch_t *b, struct nlmsghdr *h) {
  b->len += NLMSG_ALIGN(h->nlmsg_len);
}

/* One message adding (timeout_ms > 0) or deleting (0) the addresses in family's set live. */
static void put_elements(batch_t *b, uint8_t family, int add, const uint32_t *addrs, size_t n, uint64_t timeout_ms, int ack) {
  struct nlmsghdr *h = put_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
                               (add ? NLM_F_CREATE : 0) | (ack ? NLM_F_ACK : 0), family, 0);
  put_attr(b, h, NFTA_SET_ELEM_LIST_TABLE, TABLE, sizeof TABLE);
  put_attr(b, h, NFTA_SET_ELEM_LIST_SET, SET, sizeof SET);
  struct nlattr *list = nest_start(b, h, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (size_t i = 0; i < n; i++) {
    struct nlattr *elem = nest_start(b, h, NFTA_LIST_ELEM);
    struct nlattr *key = nest_start(b, h, NFTA_SET_ELEM_KEY);
    put_attr(b, h, NFTA_DATA_VALUE, &addrs[i], 4);
    nest_end(h, key);
    if (add) {
      uint64_t be = htobe64(timeout_ms);
      put_attr(b, h, NFTA_SET_ELEM_TIMEOUT, &be, sizeof be);
    }
    nest_end(h, elem);
  }
  nest_end(h, list);
  end_msg(b, h);
}

/* live(addresses: string[], timeoutMs: number): "" when applied, else the error (timeoutMs 0 withdraws). */
static napi_value nft_live(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  uint32_t n = 0;
  double timeout = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_array(env, argv[0], &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > MAX_ADDRESSES ||
      napi_get_value_double(env, argv[1], &timeout) != napi_ok || !(timeout >= 0)) {
    napi_throw_type_error(env, NULL, "live(addresses, timeoutMs): 1 to 256 addresses and a timeout of 0 ms or more");
    return NULL;
  }
  uint32_t addrs[MAX_ADDRESSES];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    char text[INET_ADDRSTRLEN];
    size_t len;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok ||
        inet_pton(AF_INET, text, &addrs[i]) != 1) {
      napi_throw_type_error(env, NULL, "live: not an IPv4 address");
      return NULL;
    }
  }
  static char buf[BUF_SIZE];
  batch_t b = {buf, 0};
  uint64_t ms = timeout < 1 ? 0 : (uint64_t)timeout;
  end_msg(&b, put_msg(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  uint32_t first_seq = seq;
  const uint8_t families[] = {NFPROTO_INET, NFPROTO_ARP};
  for (int f = 0; f < 2; f++) {
    int last = f == 1;
    /* added (so that the delete is valid), deleted, added again with the new timeout: a
       plain add of an element that exists keeps its old timeout on kernels before 6.10 */
    put_elements(&b, families[f], 1, addrs, n, 1, 0);
    put_elements(&b, families[f], 0, addrs, n, 0, last && ms == 0);
    if (ms > 0) put_elements(&b, families[f], 1, addrs, n, ms, last);
  }
  uint32_t ack_seq = seq;
  end_msg(&b, put_msg(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  int err = netlink_talk(&nl, NETLINK_NETFILTER, b.buf, b.len, first_seq, ack_seq);
  napi_create_string_utf8(env, err ? strerror(err) : "", NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, nft_run, NULL, &fn);
  napi_set_named_property(env, exports, "run", fn);
  napi_create_function(env, "live", NAPI_AUTO_LENGTH, nft_live, NULL, &fn);
  napi_set_named_property(env, exports, "live", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
