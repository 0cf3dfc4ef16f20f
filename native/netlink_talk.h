/*
 * One netlink request or batch to the kernel and its answers, for the fence's addons
 * (rtnetlink in address_lifetime.c, nfnetlink in nft_fence.c). The kernel handles a
 * request within the send, so every answer is queued when sendto returns: what is not
 * there then never comes (nothing blocks).
 */
#ifndef VIGIL_NETLINK_TALK_H
#define VIGIL_NETLINK_TALK_H
#include <errno.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Sends len bytes on *fd (opened for protocol at first use) and reads the kernel's answers
 * to messages first_seq..ack_seq, the last of which asked for an acknowledgement: 0, or
 * the first error (an errno value).
 */
static inline int netlink_talk(int *fd, int protocol, const void *buf, size_t len, uint32_t first_seq, uint32_t ack_seq) {
  if (*fd < 0) {
    *fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (*fd < 0) return errno;
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(*fd, (struct sockaddr *)&local, sizeof local) < 0) {
      int e = errno;
      close(*fd);
      *fd = -1;
      return e;
    }
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(*fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return errno;
  static char answers[65536];
  int result = 0;
  for (;;) {
    ssize_t n = recv(*fd, answers, sizeof answers, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return result ? result : EPROTO; /* no acknowledgement */
      return errno;
    }
    /* an int: NLMSG_NEXT can take it below 0 past an unpadded last message, which NLMSG_OK then refuses */
    int rest = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)answers; NLMSG_OK(h, rest); h = NLMSG_NEXT(h, rest)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first_seq || h->nlmsg_seq > ack_seq) continue; /* not this request's */
      struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error != 0 && result == 0) result = -e->error;
      if (h->nlmsg_seq == ack_seq) return result;
    }
  }
}
#endif
