/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The output rule's tests and benchmark (outq_test.c, outq_bench.c): a
 * VM's tap and another port on a bridge, a veth pair to a network
 * namespace, and a capture there.
 *
 *   write ─> oqt<pid>  (the VM's tap) ──┐
 *                                        oqb<pid> ── oqv<pid> ═══ oqw<pid>: capture
 *   write ─> oqs<pid>  (another port) ──┘   bridge     veth pair   (netns oqf<pid>)
 *
 * Frames are numbered, of one ethertype, tagged with a run id; "sentinels"
 * go through the other port and are never held.
 */
#ifndef KVMFT_OUTQ_H
#define KVMFT_OUTQ_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#define OQ_ETHERTYPE	0x88b5		/* IEEE local experimental */
#define OQ_MAGIC	0x4b564f51	/* "KVOQ" */
#define OQ_WAIT_S	60		/* for a packet expected at the far side */

enum { STREAM_VM, STREAM_OTHER };

struct oq_frame {
	uint8_t dst[6], src[6];
	uint16_t type;
	uint32_t magic, run, stream, num;
	uint8_t pad[1500 - 30];	/* up to a full frame */
} __attribute__((packed));

struct topo {
	char tap[IFNAMSIZ], other[IFNAMSIZ], br[IFNAMSIZ], veth[IFNAMSIZ];
	char peer[IFNAMSIZ], ns[32];
	int tap_fd, other_fd, cap_fd;
	uint32_t tap_ifindex;
	uint32_t run;
	uint32_t sentinel;		/* last sentinel number sent */
};

/* The size of a frame with no padding beyond the minimum. */
#define OQ_FRAME_MIN	60

/* Run a shell command, echoed as a TAP comment; its exit status. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What the topology needs that is missing (tun, bridge, veth, ip), or NULL. */
const char *net_missing(void);
void topo_up(struct topo *t);
void topo_down(struct topo *t);
/* Write frame @num of @stream, @len bytes (OQ_FRAME_MIN .. 1514). */
void frame_send_len(struct topo *t, int stream, uint32_t num, size_t len);
void frame_send(struct topo *t, int stream, uint32_t num);
/* The next frame of this run at the far side within @ms; false if none. */
bool frame_recv(struct topo *t, int ms, uint32_t *stream, uint32_t *num);
/*
 * Send a sentinel through the other port and collect, until it arrives,
 * the numbers of the VM's frames seen at the far side, in order.
 */
int collect(struct topo *t, uint32_t *got, int max);

#endif /* KVMFT_OUTQ_H */
