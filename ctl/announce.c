// SPDX-License-Identifier: GPL-2.0
/*
 * After a backup goes live, its VM's MAC must be learnt on its new port:
 * a RARP request (what QEMU's announce-self sends) and a gratuitous ARP,
 * both from the VM's MAC, broadcast on the device the VM's tap is bridged
 * to (announce_dev), three times each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "pair.h"

#define ETH_P_RARP_	0x8035

/* An Ethernet frame with an ARP-format body of operation op. */
static size_t build(unsigned char *f, const unsigned char mac[6], uint16_t proto,
		    uint16_t op)
{
	unsigned char *a = f + 14;

	memset(f, 0, 60);
	memset(f, 0xff, 6);			/* broadcast */
	memcpy(f + 6, mac, 6);
	f[12] = proto >> 8, f[13] = proto;
	a[0] = 0, a[1] = 1;			/* Ethernet */
	a[2] = 0x08, a[3] = 0x00;		/* IPv4 */
	a[4] = 6, a[5] = 4;
	a[6] = op >> 8, a[7] = op;
	memcpy(a + 8, mac, 6);			/* sender MAC, IP 0 */
	memcpy(a + 18, mac, 6);			/* target MAC, IP 0 */
	return 60;				/* the minimum frame */
}

int announce_mac(const unsigned char mac[6], const char *dev, char *err,
		 size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	unsigned char rarp[60], arp[60];
	int fd, ok = 0;

	sll.sll_ifindex = if_nametoindex(dev);
	if (!sll.sll_ifindex)
		return snprintf(err, len, "announce_dev %s: %s", dev, strerror(errno)), -1;
	memset(sll.sll_addr, 0xff, 6);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return snprintf(err, len, "packet socket: %s", strerror(errno)), -1;
	build(rarp, mac, ETH_P_RARP_, 3);	/* reverse request */
	build(arp, mac, ETH_P_ARP, 1);		/* gratuitous request */
	for (int i = 0; i < 3; i++) {
		ok += sendto(fd, rarp, sizeof(rarp), 0, (struct sockaddr *)&sll, sizeof(sll)) == sizeof(rarp);
		ok += sendto(fd, arp, sizeof(arp), 0, (struct sockaddr *)&sll, sizeof(sll)) == sizeof(arp);
	}
	close(fd);
	if (!ok)
		return snprintf(err, len, "sending on %s: %s", dev, strerror(errno)), -1;
	return 0;
}
