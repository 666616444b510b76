// SPDX-License-Identifier: GPL-2.0
/* The output rule's test topology: see outq.h. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outq.h"
#include "test_util.h"

int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	printf("# + %s\n", cmd);
	fflush(stdout);
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

const char *net_missing(void)
{
	if (system("modprobe -q tun; modprobe -q bridge; modprobe -q veth; true"))
		return "cannot run modprobe";
	if (access("/dev/net/tun", R_OK | W_OK))
		return "no /dev/net/tun (tun)";
	if (system("command -v ip >/dev/null"))
		return "no ip (iproute2)";
	return NULL;
}

int tap_open(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/net/tun: %m");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	TEST_ASSERT(!ioctl(fd, TUNSETIFF, &ifr), "TUNSETIFF %s: %m", name);
	return fd;
}

/* An AF_PACKET socket on @ifname inside namespace @ns. */
int capture_open(const char *ns, const char *ifname)
{
	struct sockaddr_ll sll = { 0 };
	char path[64];
	int self, other, fd, big = 16 << 20;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	other = open(path, O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(self >= 0 && other >= 0, "netns fds: %m");
	TEST_ASSERT(!setns(other, CLONE_NEWNET), "setns %s: %m", ns);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(OQ_ETHERTYPE));
	TEST_ASSERT(fd >= 0, "AF_PACKET socket: %m");
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(OQ_ETHERTYPE);
	sll.sll_ifindex = if_nametoindex(ifname);
	TEST_ASSERT(sll.sll_ifindex, "%s in %s: %m", ifname, ns);
	TEST_ASSERT(!bind(fd, (struct sockaddr *)&sll, sizeof(sll)),
		    "bind: %m");
	/* Room for bursts: a full socket would drop the sentinels. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	TEST_ASSERT(!setns(self, CLONE_NEWNET), "setns back: %m");
	close(self);
	close(other);
	return fd;
}

void topo_down(struct topo *t)
{
	if (t->tap_fd >= 0)
		close(t->tap_fd);
	if (t->other_fd >= 0)
		close(t->other_fd);
	if (t->cap_fd >= 0)
		close(t->cap_fd);
	t->tap_fd = t->other_fd = t->cap_fd = -1;
	sh("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; ip netns del %s 2>/dev/null; true",
	   t->br, t->veth, t->ns);
}

void frame_send_len(struct topo *t, int stream, uint32_t num, size_t len)
{
	static struct oq_frame f;
	int fd = stream == STREAM_VM ? t->tap_fd : t->other_fd;

	memset(f.dst, 0xff, sizeof(f.dst));
	f.src[0] = 0x02;
	f.src[5] = stream == STREAM_VM ? 1 : 2;
	f.type = htons(OQ_ETHERTYPE);
	f.magic = OQ_MAGIC;
	f.run = t->run;
	f.stream = stream;
	f.num = num;
	TEST_ASSERT(write(fd, &f, len) == (ssize_t)len, "write tap: %m");
}

void frame_send(struct topo *t, int stream, uint32_t num)
{
	frame_send_len(t, stream, num, OQ_FRAME_MIN);
}

bool frame_recv(struct topo *t, int ms, uint32_t *stream,
		       uint32_t *num)
{
	struct pollfd p = { .fd = t->cap_fd, .events = POLLIN };
	struct oq_frame f;
	ssize_t n;

	for (;;) {
		if (poll(&p, 1, ms) <= 0)
			return false;
		n = recv(t->cap_fd, &f, sizeof(f), 0);
		if (n >= (ssize_t)offsetof(struct oq_frame, pad) &&
		    f.magic == OQ_MAGIC && f.run == t->run) {
			*stream = f.stream;
			*num = f.num;
			return true;
		}
	}
}

int collect(struct topo *t, uint32_t *got, int max)
{
	uint32_t stream, num, want = ++t->sentinel;
	int n = 0;

	frame_send(t, STREAM_OTHER, want);
	for (;;) {
		TEST_ASSERT(frame_recv(t, OQ_WAIT_S * 1000, &stream, &num),
			    "sentinel %u never reached the far side", want);
		if (stream == STREAM_OTHER && num == want)
			return n;
		if (stream == STREAM_VM) {
			TEST_ASSERT(n < max, "too many packets");
			got[n++] = num;
		}
	}
}

void topo_up(struct topo *t)
{
	int pid = getpid(), n;
	uint32_t got[4];

	memset(t, 0, sizeof(*t));
	t->tap_fd = t->other_fd = t->cap_fd = -1;
	snprintf(t->tap, sizeof(t->tap), "oqt%d", pid);
	snprintf(t->other, sizeof(t->other), "oqs%d", pid);
	snprintf(t->br, sizeof(t->br), "oqb%d", pid);
	snprintf(t->veth, sizeof(t->veth), "oqv%d", pid);
	snprintf(t->peer, sizeof(t->peer), "oqw%d", pid);
	snprintf(t->ns, sizeof(t->ns), "oqf%d", pid);
	t->run = (uint32_t)time(NULL) ^ (uint32_t)pid << 16;
	t->tap_fd = tap_open(t->tap);
	t->other_fd = tap_open(t->other);
	t->tap_ifindex = if_nametoindex(t->tap);
	TEST_ASSERT(!sh("ip netns add %s && ip link add %s type bridge stp_state 0 forward_delay 0 && "
			"ip link add %s type veth peer name %s netns %s && "
			"ip link set %s master %s && ip link set %s master %s && ip link set %s master %s && "
			"ip link set %s up && ip link set %s up && ip link set %s up && ip link set %s up && "
			"ip -n %s link set %s up",
			t->ns, t->br, t->veth, t->peer, t->ns,
			t->tap, t->br, t->other, t->br, t->veth, t->br,
			t->br, t->tap, t->other, t->veth, t->ns, t->peer),
		    "topology setup failed");
	t->cap_fd = capture_open(t->ns, t->peer);
	/* The bridge forwards once its ports are up: a sentinel says so. */
	n = collect(t, got, ARRAY_SIZE(got));
	TEST_ASSERT(n == 0, "stray packets");
}

