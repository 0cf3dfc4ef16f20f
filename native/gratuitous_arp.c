/*
 * Gratuitous ARP for Node, through Node-API: one job, announce that an IPv4 address now
 * lives behind an interface's MAC address (an ARP request whose sender and target are
 * the address, broadcast), as keepalived does when a VIP moves. One packet socket per
 * process, opened at the first call and kept: closing a packet socket waits for an RCU
 * grace period (synchronize_net), 5-20 ms, which a failover cannot afford per frame.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include "napi_errno.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int packet_fd = -1;

/* send(ifname: string, address: string) */
static napi_value garp_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char ifname[IF_NAMESIZE], address[INET_ADDRSTRLEN];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(ifname, address): expected two strings");
    return NULL;
  }
  struct in_addr ip;
  if (inet_pton(AF_INET, address, &ip) != 1) {
    napi_throw_type_error(env, NULL, "send: expected an IPv4 address");
    return NULL;
  }
  if (packet_fd < 0) {
    /* protocol 0: send only, so the kernel never queues received frames on it */
    packet_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (packet_fd < 0) return throw_errno(env, "socket(AF_PACKET)");
  }
  int fd = packet_fd;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, strnlen(ifname, IF_NAMESIZE - 1));
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return throw_errno(env, "SIOCGIFHWADDR");
  int ifindex = (int)if_nametoindex(ifname);
  if (ifindex == 0) return throw_errno(env, "if_nametoindex");

  unsigned char frame[28];
  struct arphdr *h = (struct arphdr *)frame;
  h->ar_hrd = htons(ARPHRD_ETHER);
  h->ar_pro = htons(ETH_P_IP);
  h->ar_hln = 6;
  h->ar_pln = 4;
  h->ar_op = htons(ARPOP_REQUEST);
  memcpy(frame + 8, ifr.ifr_hwaddr.sa_data, 6); /* sender MAC */
  memcpy(frame + 14, &ip, 4);                   /* sender IP = the address */
  memset(frame + 18, 0xff, 6);                  /* target MAC: broadcast, as keepalived */
  memcpy(frame + 24, &ip, 4);                   /* target IP = the address */

  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);
  if (sendto(fd, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) < 0) return throw_errno(env, "sendto");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"send", NULL, garp_send, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 1, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
