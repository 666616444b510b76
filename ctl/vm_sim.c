// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated VMs (vmif.h): a primary "runs" at a set rate of RDTSC and PIO
 * records, written through a socketpair as the module's log would be
 * read; when ftd stops reading, the socket fills and the simulated vCPU
 * waits (LOG_WAITS), losing nothing. A backup checks every record it is
 * given (session CRC, sequence) and replays at a set rate, so a slow
 * backup can be simulated. Timing and state are ftd's own: a sim VM dies
 * with its ftd, as a VM dies with its host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "logrec.h"
#include "loop.h"
#include "util.h"
#include "vmif.h"

#define SIM_TICK_MS	10
#define SIM_LOG_BYTES	(1024 * 1024)	/* as the module's default log_kb */
#define SIM_BATCH	(64 * 1024)

struct sim {
	uint32_t rate;		/* records per second while primary */
	uint32_t replay;	/* records per second while backup, 0: no limit */
	int end;		/* our end of the log socketpair, -1 */
	struct timer tick;
	uint64_t seq;		/* next to make (primary) or to take (backup) */
	uint64_t last_ms;
	uint64_t credit;	/* records owed, in thousandths */
	unsigned char buf[SIM_BATCH + KVMFT_REC_MAX_LEN] __attribute__((aligned(8)));
	size_t nbuf;		/* primary: made, not written; backup: read, not taken */
};

static uint32_t next_id = 1;

static uint64_t owed(struct sim *s, uint32_t rate)
{
	uint64_t now = ft_now_ms(), n;

	s->credit += (now - s->last_ms) * rate;
	s->last_ms = now;
	n = s->credit / 1000;
	s->credit %= 1000;
	return n;
}

static void make_records(struct ftd_vm *vm, struct sim *s, uint64_t n)
{
	static const uint8_t pio_data[4] = { 0x5a, 0, 0, 0 };

	/* Records are packed, so unaligned: each is made aligned, then copied. */
	static union {
		struct kvmft_rec h;
		unsigned char b[KVMFT_REC_MAX_LEN];
	} r;
	size_t len;

	while (n-- && s->nbuf + KVMFT_REC_MAX_LEN <= SIM_BATCH) {
		len = s->seq % 2 ?
			ftlog_build_tsc(r.b, vm->session, KVMFT_REC_RDTSC, s->seq, 0,
					s->seq * 1000, 0) :
			ftlog_build_pio(r.b, vm->session, s->seq, 0, 0x3f8, 1, 1, pio_data);
		memcpy(s->buf + s->nbuf, r.b, len);
		s->nbuf += len;
		s->seq++;
		vm->stats[KVMFT_STAT_RECORDED]++;
	}
}

/* Writes what was made; false if the log is full. */
static bool flush(struct sim *s)
{
	ssize_t w = s->nbuf ? write(s->end, s->buf, s->nbuf) : 0;

	if (w > 0) {
		memmove(s->buf, s->buf + w, s->nbuf - w);
		s->nbuf -= w;
	}
	return !s->nbuf;
}

static void primary_tick(struct ftd_vm *vm, struct sim *s)
{
	uint64_t n = owed(s, s->rate), batch;

	/* A vCPU whose log is full does not run: it makes nothing more. */
	if (!flush(s)) {
		vm->stats[KVMFT_STAT_LOG_WAITS]++;
		return;
	}
	while (n) {
		batch = n < SIM_BATCH / 64 ? n : SIM_BATCH / 64;
		make_records(vm, s, batch);
		n -= batch;
		if (!flush(s)) {
			vm->stats[KVMFT_STAT_LOG_WAITS]++;
			return;
		}
	}
}

/* Takes up to max whole records from buf; false on a bad record. */
static bool take(struct ftd_vm *vm, struct sim *s, uint64_t max)
{
	struct ftlog_err e;
	size_t off = 0, len;

	while (max-- && off < s->nbuf) {
		len = ftlog_check(s->buf + off, s->nbuf - off, vm->session, s->seq, &e);
		if (!len && (e.problem == FTLOG_TRUNC_HDR || e.problem == FTLOG_TRUNC_PAYLOAD))
			break;
		if (!len) {
			fprintf(stderr, "ftd: sim VM %u: record %llu: %s\n", vm->id,
				(unsigned long long)s->seq, e.msg);
			vm->stats[KVMFT_STAT_DIVERGENCES]++;
			return false;
		}
		off += len;
		s->seq++;
		vm->stats[KVMFT_STAT_REPLAYED]++;
	}
	memmove(s->buf, s->buf + off, s->nbuf - off);
	s->nbuf -= off;
	return true;
}

static void backup_tick(struct ftd_vm *vm, struct sim *s, bool all)
{
	uint64_t budget = s->replay && !all ? owed(s, s->replay) : UINT64_MAX;
	ssize_t r;

	do {
		r = read(s->end, s->buf + s->nbuf, SIM_BATCH - s->nbuf);
		if (r > 0)
			s->nbuf += r;
		if (!take(vm, s, budget)) {
			vm->ops->halt(vm);
			return;
		}
	} while (r > 0 && (all || !s->replay));
	if (!s->nbuf && r < 0 && errno == EAGAIN)
		vm->stats[KVMFT_STAT_LOG_WAITS]++;
}

static void tick(void *arg)
{
	struct ftd_vm *vm = arg;
	struct sim *s = vm->priv;

	vm->stats[KVMFT_STAT_RUNS]++;
	if (vm->role == KVMFT_ROLE_PRIMARY)
		primary_tick(vm, s);
	else if (vm->role == KVMFT_ROLE_BACKUP)
		backup_tick(vm, s, false);
	if (!vm->gone && s->end >= 0)
		timer_arm_in(&s->tick, SIM_TICK_MS);
}

static int sim_log_open(struct ftd_vm *vm, uint32_t flags, uint64_t *session,
			char *err, size_t len)
{
	struct sim *s = vm->priv;
	int sv[2], sz = SIM_LOG_BYTES / 2;

	if (vm->gone || s->end >= 0 || vm->role != KVMFT_ROLE_NONE)
		return snprintf(err, len, "VM %u already has a log open or is stopped", vm->id), -1;
	if (flags == KVMFT_LOG_READ &&
	    getrandom(session, sizeof(*session), 0) != sizeof(*session))
		return snprintf(err, len, "getrandom: %s", strerror(errno)), -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return snprintf(err, len, "socketpair: %s", strerror(errno)), -1;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	s->end = sv[1];
	s->seq = 1;
	s->nbuf = 0;
	s->credit = 0;
	s->last_ms = ft_now_ms();
	vm->session = *session | (flags == KVMFT_LOG_READ ? 1 : 0);
	*session = vm->session;
	vm->role = flags == KVMFT_LOG_READ ? KVMFT_ROLE_PRIMARY : KVMFT_ROLE_BACKUP;
	vm->log_fd = sv[0];
	timer_arm_in(&s->tick, SIM_TICK_MS);
	vm_changed(vm, "log opened");
	return sv[0];
}

static void end_log(struct ftd_vm *vm)
{
	struct sim *s = vm->priv;

	timer_cancel(&s->tick);
	if (s->end >= 0)
		close(s->end);
	if (vm->log_fd >= 0)
		close(vm->log_fd);
	s->end = vm->log_fd = -1;
	vm->role = KVMFT_ROLE_NONE;
}

static void sim_log_close(struct ftd_vm *vm)
{
	end_log(vm);
	vm_changed(vm, "recording ended");
}

static int sim_promote(struct ftd_vm *vm, char *err, size_t len)
{
	struct sim *s = vm->priv;

	if (vm->role != KVMFT_ROLE_BACKUP)
		return snprintf(err, len, "VM %u is not a backup", vm->id), -1;
	/* Like the module: every record it holds, then live. */
	close(vm->log_fd);
	vm->log_fd = -1;
	backup_tick(vm, s, true);
	if (vm->gone)
		return snprintf(err, len, "VM %u diverged while taking its last records", vm->id), -1;
	end_log(vm);
	vm_changed(vm, "went live");
	return 0;
}

static void sim_halt(struct ftd_vm *vm)
{
	end_log(vm);
	vm->gone = true;
	vm_changed(vm, "stopped");
}

static void sim_refresh(struct ftd_vm *vm)
{
	(void)vm;
}

static const struct vm_ops sim_ops = {
	.name = "sim",
	.log_open = sim_log_open,
	.log_close = sim_log_close,
	.promote = sim_promote,
	.halt = sim_halt,
	.refresh = sim_refresh,
};

static bool parse_mac(const char *s, unsigned char mac[6])
{
	unsigned int b[6];
	char c;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &c) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return false;
		mac[i] = b[i];
	}
	return true;
}

static int sim_option(struct ftd_vm *vm, struct sim *s, char *opt)
{
	char *v = strchr(opt, '=');

	if (!v)
		return -1;
	*v++ = '\0';
	if (!strcmp(opt, "rate"))
		return ft_parse_u32(v, &s->rate) ? 0 : -1;
	if (!strcmp(opt, "replay"))
		return ft_parse_u32(v, &s->replay) ? 0 : -1;
	if (!strcmp(opt, "mac"))
		return (vm->has_mac = parse_mac(v, vm->mac)) ? 0 : -1;
	return -1;
}

int vm_sim_add(const char *spec, char *err, size_t len)
{
	struct ftd_vm *vm = calloc(1, sizeof(*vm));
	struct sim *s = calloc(1, sizeof(*s));
	char buf[256], *opt, *save = NULL;

	if (!vm || !s || strlen(spec) >= sizeof(buf)) {
		free(vm), free(s);
		return snprintf(err, len, "sim VM '%s': too long", spec), -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	opt = strtok_r(buf, ",", &save);
	if (!opt || strlen(opt) >= FTP_NAME_LEN) {
		free(vm), free(s);
		return snprintf(err, len, "sim VM '%s': bad identity", spec), -1;
	}
	snprintf(vm->ident, sizeof(vm->ident), "%s", opt);
	s->rate = 1000;
	s->end = -1;
	while ((opt = strtok_r(NULL, ",", &save)))
		if (sim_option(vm, s, opt)) {
			free(vm), free(s);
			return snprintf(err, len, "sim VM '%s': bad option", spec), -1;
		}
	vm->id = next_id++;
	vm->pid = getpid();
	vm->log_fd = -1;
	vm->ops = &sim_ops;
	vm->priv = s;
	timer_init(&s->tick, tick, vm);
	vm->next = ftd_vms;
	ftd_vms = vm;
	return 0;
}
