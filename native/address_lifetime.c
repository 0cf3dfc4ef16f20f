/*
 * IPv4 addresses renewed in-process over rtnetlink, for Node through Node-API:
 * replace(ifname, address, prefix, label, lifetimeS) sends what `ip address replace
 * ADDRESS/PREFIX dev IFNAME [label LABEL] valid_lft S preferred_lft S` sends (RTM_NEWADDR,
 * create or replace) and waits for the kernel's answer; it returns "" when applied, else
 * the error. The fence renews its VIPs' lifetimes at every ZooKeeper heartbeat: a
 * long-running `ip -batch` woke once per renewal and grew ~4 KiB per line it read.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "netlink_talk.h"

static int sock = -1;
static unsigned int seq;

struct request {
  struct nlmsghdr nh;
  struct ifaddrmsg ifa;
  char attrs[256];
};

static void put_attr(struct request *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *rta = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static napi_value replace(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  char ifname[IF_NAMESIZE + 1] = "", address[64] = "", label[IF_NAMESIZE + 1] = "", err[256] = "";
  uint32_t prefix = 0, lifetime = 0;
  size_t len;
  napi_valuetype label_type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &prefix) != napi_ok || prefix > 32 ||
      napi_typeof(env, argv[3], &label_type) != napi_ok ||
      (label_type == napi_string && napi_get_value_string_utf8(env, argv[3], label, sizeof label, &len) != napi_ok) ||
      napi_get_value_uint32(env, argv[4], &lifetime) != napi_ok) {
    napi_throw_type_error(env, NULL, "replace(ifname, address, prefix, label | null, lifetimeS): bad arguments");
    return NULL;
  }
  struct in_addr in;
  unsigned int index = if_nametoindex(ifname);
  if (inet_pton(AF_INET, address, &in) != 1) {
    snprintf(err, sizeof err, "not an IPv4 address: %s", address);
  } else if (index == 0) {
    snprintf(err, sizeof err, "no interface %s: %s", ifname, strerror(errno));
  } else {
    struct request r;
    memset(&r, 0, sizeof r);
    r.nh.nlmsg_len = NLMSG_LENGTH(sizeof r.ifa);
    r.nh.nlmsg_type = RTM_NEWADDR;
    r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    r.nh.nlmsg_seq = ++seq;
    r.ifa.ifa_family = AF_INET;
    r.ifa.ifa_prefixlen = prefix;
    r.ifa.ifa_scope = (ntohl(in.s_addr) >> 24) == 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE; /* as ip chooses */
    r.ifa.ifa_index = index;
    put_attr(&r, IFA_LOCAL, &in, sizeof in);
    put_attr(&r, IFA_ADDRESS, &in, sizeof in);
    if (label[0]) put_attr(&r, IFA_LABEL, label, strlen(label) + 1);
    struct ifa_cacheinfo ci = {.ifa_prefered = lifetime, .ifa_valid = lifetime};
    put_attr(&r, IFA_CACHEINFO, &ci, sizeof ci);
    int e = netlink_talk(&sock, NETLINK_ROUTE, &r, r.nh.nlmsg_len, r.nh.nlmsg_seq, r.nh.nlmsg_seq);
    if (e) snprintf(err, sizeof err, "%s", strerror(e));
  }
  napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "replace", NAPI_AUTO_LENGTH, replace, NULL, &fn);
  napi_set_named_property(env, exports, "replace", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
