// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated VMs (vmif.h): a primary "runs" at a set rate of RDTSC and PIO
 * records, handed to ftd through a socketpair as the module's log would
 * be read; when ftd stops reading, the log fills and the simulated vCPU
 * waits (LOG_WAITS), losing nothing. A backup checks every record it is
 * given (session CRC, sequence) and replays at a set rate, so a slow
 * backup can be simulated. Timing and state are ftd's own: a sim VM dies
 * with its ftd, as a VM dies with its host.
 *
 * As the module does, a primary opened with KVMFT_LOG_KEEP keeps each
 * record until it is acked, and KVMFT_LOG_RESUME hands a new reader the
 * records after the last ack (docs/ftd-restart.md). A record is a
 * function of its sequence number and the session, so only positions
 * are kept: with state=FILE they live in FILE, mapped shared, and a
 * KEEP primary outlives a killed ftd there, recording on once the next
 * ftd starts. keep=0 simulates a module without KEEP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "logrec.h"
#include "loop.h"
#include "util.h"
#include "vmif.h"

#define SIM_TICK_MS	10
#define SIM_LOG_BYTES	(1024 * 1024)	/* as the module's default log_kb */
#define SIM_BATCH	(64 * 1024)
#define SIM_MAGIC	0x6b766d6674736d31ull	/* "kvmftsm1" */

/* What a KEEP primary needs to come back: in state=FILE, mapped shared. */
struct sim_saved {
	uint64_t magic;
	uint32_t pid;		/* the "VMM": the ftd that started the VM; 0: gone */
	uint32_t keep;		/* a KEEP primary, whose session goes on */
	uint64_t session;
	uint64_t seq;		/* the next record to make */
	uint64_t acked;
};

struct sim {
	uint32_t rate;		/* records per second while primary */
	uint32_t replay;	/* records per second while backup, 0: no limit */
	bool no_keep;		/* keep=0: refuse KVMFT_LOG_KEEP, as an old module */
	bool keep;		/* this session keeps records until acked */
	int end;		/* our end of the log socketpair, -1: no reader */
	struct timer tick;
	uint64_t seq;		/* next to make (primary) or to take (backup) */
	uint64_t rd;		/* primary: the next to hand the reader */
	uint64_t acked;		/* KEEP primary: the last acked */
	uint64_t bseq;		/* KEEP primary: the first of the batch handed out */
	size_t blen;		/* ... and its length */
	uint64_t last_ms;
	uint64_t credit;	/* records owed, in thousandths */
	unsigned char buf[SIM_BATCH + KVMFT_REC_MAX_LEN] __attribute__((aligned(8)));
	size_t nbuf;		/* primary: handed out, not written; backup: read, not taken */
	struct sim_saved *saved;	/* state=FILE, NULL without */
};

static uint32_t next_id = 1;
static size_t len_tsc, len_pio;		/* records' lengths: odd seq, even seq */

static uint64_t owed(struct sim *s, uint32_t rate)
{
	uint64_t now = ft_now_ms(), n;

	s->credit += (now - s->last_ms) * rate;
	s->last_ms = now;
	n = s->credit / 1000;
	s->credit %= 1000;
	return n;
}

/* Records are packed, so unaligned: each is made aligned, then copied. */
static size_t build(const struct ftd_vm *vm, uint64_t seq, void *out)
{
	static const uint8_t pio_data[4] = { 0x5a, 0, 0, 0 };
	static union {
		struct kvmft_rec h;
		unsigned char b[KVMFT_REC_MAX_LEN];
	} r;
	size_t len = seq % 2 ?
		ftlog_build_tsc(r.b, vm->session, KVMFT_REC_RDTSC, seq, 0, seq * 1000, 0) :
		ftlog_build_pio(r.b, vm->session, seq, 0, 0x3f8, 1, 1, pio_data);

	memcpy(out, r.b, len);
	return len;
}

/* Where record seq starts in the session's stream of records. */
static uint64_t offset_of(uint64_t seq)
{
	return seq / 2 * len_tsc + (seq - 1) / 2 * len_pio;
}

static void save(struct sim *s)
{
	if (!s->saved)
		return;
	s->saved->keep = s->keep;
	s->saved->seq = s->seq;
	s->saved->acked = s->acked;
}

/* Room for one more record: KEEP bounds the unacked, else the unhanded. */
static bool room(const struct sim *s)
{
	uint64_t from = s->keep ? s->acked + 1 : s->rd;

	return offset_of(s->seq + 1) - offset_of(from) <=
	       (s->keep ? SIM_LOG_BYTES : SIM_BATCH);
}

/* Writes what was handed out; false if the socket is full. */
static bool flush(struct sim *s)
{
	ssize_t w = s->nbuf ? write(s->end, s->buf, s->nbuf) : 0;

	if (w > 0) {
		memmove(s->buf, s->buf + w, s->nbuf - w);
		s->nbuf -= w;
	}
	return !s->nbuf;
}

static size_t unread(const struct ftd_vm *vm)
{
	int n = 0;

	return vm->log_fd >= 0 && !ioctl(vm->log_fd, FIONREAD, &n) && n > 0 ? n : 0;
}

/*
 * Hands records to the reader. With KEEP, a batch at a time, once the
 * last is read: then the reader's position is known (what an ack past
 * it must skip, as the module's read point).
 */
static void hand_out(struct ftd_vm *vm, struct sim *s)
{
	if (s->end < 0 || !flush(s) || (s->keep && unread(vm)))
		return;
	s->bseq = s->rd;
	while (s->rd < s->seq && s->nbuf + KVMFT_REC_MAX_LEN <= SIM_BATCH)
		s->nbuf += build(vm, s->rd++, s->buf + s->nbuf);
	s->blen = s->nbuf;
	flush(s);
}

static void primary_tick(struct ftd_vm *vm, struct sim *s)
{
	uint64_t n = owed(s, s->rate);

	hand_out(vm, s);
	while (n--) {
		/* A vCPU whose log is full does not run: it makes nothing more. */
		if (!room(s)) {
			vm->stats[KVMFT_STAT_LOG_WAITS]++;
			break;
		}
		s->seq++;
		vm->stats[KVMFT_STAT_RECORDED]++;
	}
	vm->log_seq = s->seq - 1;
	save(s);
	hand_out(vm, s);
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
	/* A KEEP primary records on without a reader, until its log is full. */
	if (!vm->gone && (s->end >= 0 || vm->role == KVMFT_ROLE_PRIMARY))
		timer_arm_in(&s->tick, SIM_TICK_MS);
}

static int refuse(struct vm_log *lo, int err, char *buf, size_t len,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* As the module refuses: an errno and its reason. */
static int refuse(struct vm_log *lo, int err, char *buf, size_t len,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lo->reason, sizeof(lo->reason), fmt, ap);
	va_end(ap);
	lo->err = err;
	snprintf(buf, len, "%s (%s)", lo->reason, ft_errno_name(err));
	return -1;
}

static int new_reader(struct ftd_vm *vm, struct sim *s, char *err, size_t len)
{
	int sv[2], sz = SIM_LOG_BYTES / 2;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return snprintf(err, len, "socketpair: %s", strerror(errno)), -1;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	s->end = sv[1];
	s->nbuf = s->blen = 0;
	vm->log_fd = sv[0];
	vm->flags &= ~KVMFT_VM_F_NO_READER;
	return sv[0];
}

/* KVMFT_LOG_RESUME: a reader again, from the record after the last ack. */
static int resume(struct ftd_vm *vm, struct sim *s, struct vm_log *lo,
		  char *err, size_t len)
{
	if (vm->role != KVMFT_ROLE_PRIMARY || !s->keep)
		return refuse(lo, EINVAL, err, len, "VM %u keeps no recording to resume", vm->id);
	if (lo->session != vm->session)
		return refuse(lo, EBUSY, err, len, "VM %u records session %llx, not %llx", vm->id,
			      (unsigned long long)vm->session, (unsigned long long)lo->session);
	if (s->end >= 0)
		return refuse(lo, EBUSY, err, len, "session %llx has a reader",
			      (unsigned long long)vm->session);
	if (new_reader(vm, s, err, len) < 0)
		return -1;
	s->rd = s->bseq = s->acked + 1;
	lo->acked = s->acked;
	lo->recorded = s->seq - 1;
	vm->log_keep = true;
	vm_changed(vm, "log resumed");
	return vm->log_fd;
}

static int sim_log_open(struct ftd_vm *vm, struct vm_log *lo, char *err, size_t len)
{
	const uint32_t keep = KVMFT_LOG_READ | KVMFT_LOG_KEEP;
	struct sim *s = vm->priv;
	bool reader = lo->flags & KVMFT_LOG_READ;

	lo->acked = lo->recorded = 0;
	if (lo->flags != KVMFT_LOG_READ && lo->flags != KVMFT_LOG_WRITE &&
	    ((lo->flags != keep && lo->flags != (keep | KVMFT_LOG_RESUME)) || s->no_keep))
		return refuse(lo, EINVAL, err, len, "bad flags 0x%x or reserved field not zero",
			      lo->flags);
	if (vm->gone)
		return refuse(lo, ENOENT, err, len, "VM %u is stopped", vm->id);
	if (lo->flags & KVMFT_LOG_RESUME)
		return resume(vm, s, lo, err, len);
	if (vm->role == KVMFT_ROLE_PRIMARY && s->keep && s->end < 0)
		return refuse(lo, EBUSY, err, len, "VM %u keeps session %llx for its reader: KVMFT_LOG_RESUME takes it",
			      vm->id, (unsigned long long)vm->session);
	if (s->end >= 0 || vm->role != KVMFT_ROLE_NONE)
		return refuse(lo, EBUSY, err, len, "the VM already has a log open (role %s)",
			      vm->role == KVMFT_ROLE_PRIMARY ? "primary" : "backup");
	if (reader && getrandom(&lo->session, sizeof(lo->session), 0) != sizeof(lo->session))
		return snprintf(err, len, "getrandom: %s", strerror(errno)), -1;
	if (new_reader(vm, s, err, len) < 0)
		return -1;
	s->seq = s->rd = s->bseq = 1;
	s->acked = 0;
	s->keep = lo->flags & KVMFT_LOG_KEEP;
	s->credit = 0;
	s->last_ms = ft_now_ms();
	vm->session = lo->session | (reader ? 1 : 0);
	lo->session = vm->session;
	vm->role = reader ? KVMFT_ROLE_PRIMARY : KVMFT_ROLE_BACKUP;
	vm->log_keep = s->keep;
	vm->flags = s->keep ? KVMFT_VM_F_KEEP : 0;
	vm->log_seq = vm->log_acked = 0;
	if (s->saved)
		s->saved->session = vm->session;
	save(s);
	timer_arm_in(&s->tick, SIM_TICK_MS);
	vm_changed(vm, "log opened");
	return vm->log_fd;
}

/*
 * The backup holds up to seq. With KEEP those records go; an ack past
 * what the reader has read skips them, as the module's read point does:
 * the records handed out but unread are taken back.
 */
static int sim_ack(struct ftd_vm *vm, uint64_t seq)
{
	struct sim *s = vm->priv;
	uint64_t was_read;
	char drop[4096];

	if (vm->role != KVMFT_ROLE_PRIMARY)
		return -EINVAL;
	if (seq > s->seq - 1)
		return -ERANGE;
	if (!s->keep || seq <= s->acked)
		return 0;
	s->acked = seq;
	vm->log_acked = seq;
	save(s);
	was_read = offset_of(s->bseq) + s->blen - s->nbuf - unread(vm);
	if (s->end < 0 || offset_of(seq + 1) <= was_read)
		return 0;
	while (read(vm->log_fd, drop, sizeof(drop)) > 0)
		;
	s->nbuf = s->blen = 0;
	s->rd = seq + 1;
	return 0;
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
	s->keep = vm->log_keep = false;
	vm->flags = 0;
	vm->role = KVMFT_ROLE_NONE;
	save(s);
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
	struct sim *s = vm->priv;

	end_log(vm);
	if (s->saved)
		s->saved->pid = 0;	/* a stopped VM never comes back */
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
	.ack = sim_ack,
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

#define FT_SIM_PATH	256

static int sim_option(struct ftd_vm *vm, struct sim *s, char *opt, char *path)
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
	if (!strcmp(opt, "keep") && (!strcmp(v, "0") || !strcmp(v, "1")))
		return s->no_keep = *v == '0', 0;
	if (!strcmp(opt, "state") && *v) {
		snprintf(path, FT_SIM_PATH, "%s", v);
		return 0;
	}
	return -1;
}

/*
 * state=FILE: the VM's positions, mapped shared so that they survive a
 * kill of ftd. A KEEP primary found there comes back as the module
 * would show it: the same VMM pid, PRIMARY, its session, no reader.
 */
static int attach_state(struct ftd_vm *vm, struct sim *s, const char *path)
{
	struct sim_saved *m;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, sizeof(*m))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	s->saved = m;
	if (m->magic != SIM_MAGIC || !m->pid || !m->keep || !m->session) {
		memset(m, 0, sizeof(*m));
		m->magic = SIM_MAGIC;
		m->pid = vm->pid;
		return 0;
	}
	vm->pid = m->pid;
	vm->role = KVMFT_ROLE_PRIMARY;
	vm->session = m->session;
	vm->flags = KVMFT_VM_F_KEEP | KVMFT_VM_F_NO_READER;
	s->keep = true;
	s->seq = m->seq;
	s->acked = m->acked;
	s->rd = s->bseq = s->acked + 1;
	vm->log_seq = s->seq - 1;
	vm->log_acked = s->acked;
	s->last_ms = ft_now_ms();
	return 1;
}

int vm_sim_add(const char *spec, char *err, size_t len)
{
	struct ftd_vm *vm = calloc(1, sizeof(*vm));
	struct sim *s = calloc(1, sizeof(*s));
	char buf[256], *opt, *save = NULL, path[FT_SIM_PATH] = "";
	int kept = 0;

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
		if (sim_option(vm, s, opt, path)) {
			free(vm), free(s);
			return snprintf(err, len, "sim VM '%s': bad option", spec), -1;
		}
	if (!len_tsc) {
		len_tsc = build(vm, 1, s->buf);
		len_pio = build(vm, 2, s->buf);
	}
	vm->id = next_id++;
	vm->pid = getpid();
	vm->log_fd = -1;
	vm->ops = &sim_ops;
	vm->priv = s;
	timer_init(&s->tick, tick, vm);
	if (path[0] && (kept = attach_state(vm, s, path)) < 0) {
		snprintf(err, len, "sim VM '%s': state file %s: %s", spec, path, strerror(errno));
		free(vm), free(s);
		return -1;
	}
	vm->next = ftd_vms;
	ftd_vms = vm;
	if (kept) {
		timer_arm_in(&s->tick, SIM_TICK_MS);
		vm_changed(vm, "kept, without a reader");
	}
	return 0;
}
