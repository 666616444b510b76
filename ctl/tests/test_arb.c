// SPDX-License-Identifier: GPL-2.0
/*
 * Arbitration (arb.c, arb_disk.c) on a file opened O_DIRECT: the area's
 * checks, the test-and-set alone, hosts racing in separate processes
 * (exactly one winner every round, everyone agreeing who), hosts that
 * crash at every step of a ballot, torn and corrupt slots, and a disk
 * that fails: nobody wins then.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "arb.h"
#include "tap.h"

#define VM "3f1c2a9e-0000-4000-8000-000000000001"
#define HOSTS 8

static char disk[] = "/var/tmp/ftarb-XXXXXX";

struct outcome {
	int ret;
	enum arb_outcome outcome;
	uint64_t gen;
	uint32_t owner;
	int err;
	unsigned int ballots;
};

static bool open_host(struct arb *a, uint32_t id)
{
	struct arb_err e;
	char name[32];

	snprintf(name, sizeof(name), "host%u", id);
	if (arb_open(a, disk, 0, id, name, VM, &e)) {
		tap_diag("open host %u: %s", id, e.msg);
		return false;
	}
	return true;
}

/* One host's acquire of base + 1 in this process. */
static struct outcome acquire(uint32_t id, uint64_t base, arb_hook hook,
			      void *arg)
{
	struct outcome o = { .ret = -1, .outcome = ARB_FAILED };
	struct arb_result r;
	struct arb_err e;
	struct arb a;

	if (!open_host(&a, id))
		return o;
	a.hook = hook;
	a.hook_arg = arg;
	o.ret = arb_acquire(&a, base, 10000, &r, &e);
	o.outcome = r.outcome;
	o.gen = r.gen;
	o.owner = r.owner;
	o.ballots = r.ballots;
	o.err = o.ret ? e.err : 0;
	if (o.ret)
		tap_diag("host %u acquire: %s", id, e.msg);
	arb_close(&a);
	return o;
}

static void format(uint32_t hosts)
{
	struct arb_err e;

	if (arb_format(disk, 0, VM, hosts, ARB_FORMAT_FORCE, &e))
		tap_diag("format: %s", e.msg);
}

static void checks_of_the_area(void)
{
	struct arb_err e;
	struct arb a;

	ok(arb_format(disk, 100, VM, 2, 0, &e) && e.err == EINVAL,
	   "format refuses an unaligned offset: %s", e.msg);
	ok(arb_format(disk, 0, VM, 1, 0, &e) && e.err == EINVAL,
	   "format refuses one host: %s", e.msg);
	ok(arb_format(disk, 0, "", 2, 0, &e) && e.err == EINVAL,
	   "format refuses an empty VM identity: %s", e.msg);
	ok(arb_open(&a, disk, 0, 1, "h", VM, &e) && e.err == EINVAL &&
	   strstr(e.msg, "arb init"), "open of an unformatted file says to init: %s", e.msg);
	ok(!arb_format(disk, 0, VM, HOSTS, 0, &e), "format an area of %d hosts", HOSTS);
	ok(arb_format(disk, 0, VM, HOSTS, 0, &e) && e.err == EEXIST,
	   "format refuses to overwrite an area without force: %s", e.msg);
	ok(arb_open(&a, disk, 0, 1, "h", "another-vm", &e) && e.err == EINVAL &&
	   strstr(e.msg, "another-vm"), "open for another VM refused: %s", e.msg);
	ok(arb_open(&a, disk, 0, HOSTS + 1, "h", VM, &e) && e.err == ERANGE,
	   "open with host_id past the slots refused: %s", e.msg);
	ok(arb_open(&a, "/nonexistent/disk", 0, 1, "h", VM, &e) && e.err == ENOENT,
	   "open of a missing disk refused: %s", e.msg);
	ok(arb_format(disk, 0, VM, HOSTS, ARB_FORMAT_FORCE | ARB_FORMAT_CAW, &e) &&
	   e.err == EOPNOTSUPP && !arb_open(&a, disk, 0, 1, "h", VM, &e),
	   "a COMPARE AND WRITE area on a file refused, the area left as it was: %s", e.msg);
	arb_close(&a);
}

static void alone(void)
{
	struct outcome o;
	struct arb_view v;
	struct arb_err e;
	struct arb a;

	format(HOSTS);
	o = acquire(1, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_WON && o.gen == 1 && o.owner == 1,
	   "host 1 alone wins generation 1");
	o = acquire(1, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_WON && o.gen == 1,
	   "asking again for generation 1: still won, nothing changes");
	o = acquire(2, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_LOST && o.gen == 1 && o.owner == 1,
	   "host 2 asking for generation 1 learns host 1 has it");
	o = acquire(2, 1, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_WON && o.gen == 2 && o.owner == 2,
	   "host 2 wins generation 2");
	o = acquire(1, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_LOST && o.gen == 2 && o.owner == 2,
	   "host 1 coming back with generation 0 finds it lost to host 2 at 2");
	o = acquire(1, 5, NULL, NULL);
	ok(o.ret && o.outcome == ARB_FAILED && o.err == ESTALE,
	   "a host that knows a newer generation than the disk fails (wrong disk)");
	if (open_host(&a, 3)) {
		ok(!arb_read(&a, &v, &e) && v.gen == 2 && v.owner == 2 &&
		   !strcmp(v.owner_name, "host2"), "arb_read: generation 2, owner host2");
		arb_close(&a);
	} else {
		ok(0, "arb_read: generation 2, owner host2");
	}
	ok(arb_open(&a, disk, 0, 2, "impostor", VM, &e) && e.err == EADDRINUSE &&
	   strstr(e.msg, "host2"), "a second host with host 2's id is refused: %s", e.msg);
}

struct msg {
	uint32_t host;		/* index: host - 1 */
	struct outcome o;
};

/*
 * Runs hosts 1..n at once, each asking for base + 1 after hook setup;
 * out[i] is host i+1's outcome. Each host is a process.
 */
static void race(uint32_t n, uint64_t base, struct outcome *out,
		 arb_hook hook, uint32_t hook_host, void *arg)
{
	int go[2], res[2];
	pid_t pid[HOSTS];
	char c;

	if (pipe(go) || pipe(res))
		return;
	for (uint32_t i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			struct msg m = { .host = i };

			m.o = acquire(i + 1, base, i + 1 == hook_host ? hook : NULL, arg);
			/* One write, under PIPE_BUF: never interleaved. */
			_exit(write(res[1], &m, sizeof(m)) != sizeof(m));
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);	/* every child's read returns: go */
	for (uint32_t i = 0; i < n; i++)
		out[i] = (struct outcome){ .ret = -2 };
	for (struct msg m; read(res[0], &m, sizeof(m)) == sizeof(m);)
		if (m.host < n)
			out[m.host] = m.o;
	close(res[0]);
	for (uint32_t i = 0; i < n; i++)
		waitpid(pid[i], NULL, 0);
}

/* Of the hosts that finished, exactly one won gen and all agree. */
static bool one_winner(const struct outcome *o, uint32_t n, uint64_t gen,
		       uint32_t *owner)
{
	uint32_t won = 0, done = 0;

	*owner = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (o[i].ret == -2)	/* crashed on purpose */
			continue;
		done++;
		if (o[i].ret || o[i].gen != gen)
			return false;
		if (*owner && o[i].owner != *owner)
			return false;
		*owner = o[i].owner;
		won += o[i].outcome == ARB_WON;
	}
	return done && *owner && won == (o[*owner - 1].ret == -2 ? 0 : 1);
}

static void races(uint32_t n, int rounds)
{
	struct outcome o[HOSTS];
	uint32_t owner, wins[HOSTS + 1] = { 0 };
	int good = 0, duels = 0;

	format(HOSTS);
	for (int g = 1; g <= rounds; g++) {
		race(n, g - 1, o, NULL, 0, NULL);
		for (uint32_t i = 0; i < n; i++)
			if (o[i].ballots > 1) {
				duels++;
				break;
			}
		if (one_winner(o, n, g, &owner)) {
			good++;
			wins[owner]++;
		} else {
			tap_diag("round %d: no single agreed winner", g);
			for (uint32_t i = 0; i < n; i++)
				tap_diag("  host %u: ret %d outcome %d gen %" PRIu64 " owner %u",
					 i + 1, o[i].ret, o[i].outcome, o[i].gen, o[i].owner);
		}
	}
	ok(good == rounds && rounds > 0, "%u hosts race %d times: exactly one winner each time, all agree (%d good)",
	   n, rounds, good);
	for (uint32_t i = 1; i <= n; i++)
		tap_diag("host %u won %u times", i, wins[i]);
	tap_diag("%d rounds had a host outbid (more than one ballot)", duels);
}

struct crash_at {
	unsigned int io;	/* crash before this I/O */
	int err;		/* or fail every I/O from it with this */
};

static int crash_hook(void *arg, unsigned int n, enum arb_step step)
{
	const struct crash_at *c = arg;

	(void)step;
	if (n < c->io)
		return 0;
	if (c->err)
		return c->err;
	_exit(0);	/* dies without reporting: ret stays -2 */
}

/*
 * Host 1 crashes before its k-th I/O, alone; then host 2 asks alone, then
 * hosts 1..3 race. Host 1 accepted itself once its phase 2 write is done
 * (k > 3), and then host 2 must find and keep that value; before, host 2
 * wins. Everyone must agree afterwards.
 */
static void crashes_alone(void)
{
	struct outcome o[3], two;
	uint32_t owner, want;
	int good = 0, steps = 6;

	for (int k = 0; k <= steps; k++) {
		struct crash_at c = { .io = k };

		format(HOSTS);
		race(1, 0, o, crash_hook, 1, &c);
		two = acquire(2, 0, NULL, NULL);
		race(3, 0, o, NULL, 0, NULL);
		want = k > 3 ? 1 : 2;
		if (!two.ret && two.owner == want && one_winner(o, 3, 1, &owner) &&
		    owner == want)
			good++;
		else
			tap_diag("crash before I/O %d: host 2 alone sees %u, then all see %u; want %u",
				 k, two.owner, owner, want);
	}
	ok(good == steps + 1, "host 1 crashes before each of its I/Os (0..%d), then host 2 asks, then 1..3 race: host 2 keeps a value host 1 accepted, all agree",
	   steps);
}

/* Host 1 crashes at a random step while racing hosts 2 and 3. */
static void crashes_racing(int rounds)
{
	struct outcome o[3];
	struct arb_view v;
	struct arb_err e;
	struct arb a;
	uint32_t owner;
	int good = 0;

	format(HOSTS);
	srand(getpid());
	for (int g = 1; g <= rounds; g++) {
		struct crash_at c = { .io = rand() % 8 };
		struct outcome back;

		race(3, g - 1, o, crash_hook, 1, &c);
		back = acquire(1, g - 1, NULL, NULL);
		if (o[0].ret == -2)
			o[0] = back;
		if (one_winner(o, 3, g, &owner) && back.owner == owner)
			good++;
		else
			tap_diag("round %d: crash before I/O %u: no agreement", g, c.io);
	}
	ok(good == rounds, "%d rounds of 3 racing hosts, host 1 crashing at a random step: one agreed winner each time",
	   rounds);
	ok(open_host(&a, 4) && !arb_read(&a, &v, &e) && v.gen == (uint64_t)rounds,
	   "the disk ends at generation %d", rounds);
	arb_close(&a);
}

/* Overwrites sector `which` copy of host h's slot with garbage. */
static void scribble(uint32_t h, int copy)
{
	char junk[4096];
	int fd = open(disk, O_WRONLY);

	memset(junk, 0xa5, sizeof(junk));
	if (fd < 0 || pwrite(fd, junk, sizeof(junk),
			     (off_t)4096 * (1 + 2 * (h - 1) + copy)) != sizeof(junk))
		tap_diag("scribble: %s", strerror(errno));
	close(fd);
}

static void torn(void)
{
	struct outcome o;

	format(HOSTS);
	o = acquire(2, 0, NULL, NULL);	/* slot 2: seq 1..3, newest in copy 1 */
	scribble(2, 1);			/* its newest copy tears */
	o = acquire(3, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_LOST && o.owner == 2,
	   "a torn newest copy: the older copy still tells host 2 accepted; host 3 loses to it");
	o = acquire(2, 1, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_WON && o.gen == 2,
	   "host 2 writes past its torn copy and wins generation 2");
	scribble(4, 0);
	scribble(4, 1);
	o = acquire(3, 2, NULL, NULL);
	ok(o.ret && o.outcome == ARB_FAILED && o.err == EBADMSG,
	   "both copies of a slot corrupt: nobody wins, the slot is named");
	format(HOSTS);
	scribble(5, 0);			/* one copy torn, the other never written */
	o = acquire(3, 0, NULL, NULL);
	ok(!o.ret && o.outcome == ARB_WON,
	   "a first write that tore (other copy empty) counts as never written");
}

static void unreachable(void)
{
	struct crash_at c = { .io = 0, .err = EIO };
	struct outcome o;

	format(HOSTS);
	o = acquire(1, 0, crash_hook, &c);
	ok(o.ret && o.outcome == ARB_FAILED && o.err == EIO,
	   "every I/O fails (EIO): no win, the error says why");
	c.io = 4;	/* read, phase 1, read, phase 2: then it fails */
	o = acquire(2, 0, crash_hook, &c);
	ok(o.ret && o.outcome == ARB_FAILED && o.err == EIO,
	   "the disk fails in the middle of a ballot: no win");
	o = acquire(3, 0, NULL, NULL);
	ok(!o.ret && o.gen == 1 && o.owner == 2,
	   "once it is back, the ballot host 2 left half done decides (host 2)");
}

int main(void)
{
	const char *env = getenv("ARB_ROUNDS");	/* longer runs by hand */
	int fd, rounds = env ? atoi(env) : 100;

	tap_plan(30);
	fd = mkstemp(disk);
	if (fd < 0) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	checks_of_the_area();
	alone();
	races(2, rounds);
	races(HOSTS, rounds / 5);
	crashes_alone();
	crashes_racing(30);
	torn();
	unreachable();
	unlink(disk);
	return tap_done();
}
