// SPDX-License-Identifier: GPL-2.0
/*
 * The log over the channel. The primary reads its VM's log in batches
 * straight into a buffer that keeps every record until the backup acks
 * it (a dropped connection resends from the backup's position), and
 * frames whole records from there: one copy per batch into the channel,
 * none per record. The backup writes them to its VM's log and acks the
 * highest record the module has taken. In flight (sent - acked) above
 * lag_slow, the primary reads one batch per tick; above lag_stall it
 * stops reading, so its VM waits on a full log: slowed, then stalled,
 * never a record lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftdlog.h"
#include "logrec.h"
#include "pair.h"
#include "util.h"

#define BATCH		(64 * 1024)
#define KEEP_MAX	(64u * 1024 * 1024)
#define PEND_MAX	(4u * 1024 * 1024)
#define CHAN_HIGH	(1024 * 1024)	/* queued on the channel: wait */
#define TICK_MS		10

static uint16_t rec_len(const unsigned char *p)
{
	struct kvmft_rec h;

	memcpy(&h, p, sizeof(h));
	return sizeof(h) + h.len;
}

static bool grow(unsigned char **buf, size_t *cap, size_t need, size_t max)
{
	size_t c = *cap ? *cap : BATCH * 2;
	unsigned char *nb;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	if (c > max)
		return false;
	nb = realloc(*buf, c);
	if (!nb)
		return false;
	*buf = nb;
	*cap = c;
	return true;
}

uint64_t ship_lag(const struct pair *p)
{
	return p->primary ? p->sent - p->acked : p->held - p->replayed;
}

static void pump(struct pair *p);

static void on_pump_timer(void *arg)
{
	pump(arg);
}

static void on_log(void *arg, int fd, short revents);

/* --- Primary. --- */

/* Queues frames for kept records not yet on this connection. */
static void ship_kept(struct pair *p)
{
	size_t off = p->nship, end, n;
	unsigned char *out;

	while (p->ch && p->ch->state == CH_UP && !p->resuming && off < p->nkeep) {
		uint64_t first = p->sent + 1;

		for (end = off; end < p->nkeep && end - off + rec_len(p->keep + end) <=
		     FTP_MAX_PAYLOAD - 8; end += rec_len(p->keep + end))
			p->sent++;
		n = end - off;
		out = chan_reserve(p->ch, n + 8);
		if (!out) {
			p->sent = first - 1;
			break;
		}
		put64(out, first);
		memcpy(out + 8, p->keep + off, n);
		chan_commit(p->ch, FTP_LOG, n + 8);
		off = end;
	}
	p->nship = off;
}

/* Moves whole records of buf[0..n) to keep; the tail waits in part. */
static int take_read(struct pair *p, unsigned char *buf, size_t n)
{
	struct ftlog_err e;
	size_t off = 0, len;
	uint64_t next = p->sent + 1;	/* the sequence the next must have */

	for (size_t o = p->nship; o < p->nkeep; o += rec_len(p->keep + o))
		next++;
	while (off < n) {
		len = ftlog_check(buf + off, n - off, p->session, next, &e);
		if (!len && (e.problem == FTLOG_TRUNC_HDR || e.problem == FTLOG_TRUNC_PAYLOAD))
			break;
		if (!len) {
			fevent(p->vm->id, "log-error", "record %llu from the VM's log is bad: %s",
			       (unsigned long long)next, e.msg);
			return -1;
		}
		off += len;
		next++;
	}
	p->nkeep += off;
	p->npart = n - off;
	memcpy(p->part, buf + off, p->npart);
	return 0;
}

/* One batch from the log into keep: its length, 0 at the end, or -1. */
static ssize_t read_batch(struct pair *p)
{
	unsigned char *dst;
	ssize_t n;

	if (!grow(&p->keep, &p->capkeep, p->nkeep + BATCH + KVMFT_REC_MAX_LEN, KEEP_MAX)) {
		p->stalled = true;
		errno = EAGAIN;
		return -1;
	}
	dst = p->keep + p->nkeep;
	memcpy(dst, p->part, p->npart);
	n = read(p->vm->log_fd, dst + p->npart, BATCH);
	if (n > 0 && take_read(p, dst, p->npart + n)) {
		errno = EBADMSG;
		return -1;
	}
	return n;
}

/*
 * The primary's VM has gone: the module lets its reader drain the log,
 * and every record the VM made goes to the backup before the channel
 * closes (without UNPAIR: the backup replays them, then takes over or
 * ends with its VM).
 */
void ship_flush_close(struct pair *p, const char *why)
{
	ssize_t n = 1;

	while (p->primary && p->vm->log_fd >= 0 && n > 0) {
		n = read_batch(p);
		ship_kept(p);
	}
	if (!p->ch)
		return;
	ship_kept(p);
	p->ch->owner = NULL;
	if (p->ch->state == CH_UP && chan_queued(p->ch))
		chan_close_soon(p->ch);
	else
		chan_close(p->ch, why);
	p->ch = NULL;
}

static void read_log(struct pair *p)
{
	ssize_t n = read_batch(p);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 && errno == EBADMSG) {
		ship_stop(p);
		return;
	}
	if (n <= 0) {
		const char *why = n ? strerror(errno) : "end of file";

		hb_stop(p);
		ship_flush_close(p, "the VM has gone");
		ship_stop(p);
		pair_set_state(p, PS_HALTED, "the VM's log ended (%s): the VM has gone; the backup will take over",
			       why);
	}
}

/* Reads and ships what the lag bound allows; waits otherwise. */
static void pump(struct pair *p)
{
	uint64_t lag = p->sent - p->acked;
	bool was_stalled = p->stalled;

	if (p->state != PS_PRIMARY || p->vm->log_fd < 0)
		return;
	p->stalled = lag >= conf.lag_stall;
	p->slowed = !p->stalled && lag >= conf.lag_slow;
	if (p->stalled && !was_stalled) {
		p->stalls++;
		fevent(p->vm->id, "stalled", "the backup lags %llu records (lag_stall %u): the VM waits",
		       (unsigned long long)lag, conf.lag_stall);
	}
	ship_kept(p);
	/* A new connection carries nothing until PAIR_OK says from where. */
	if (p->stalled || !p->ch || p->ch->state != CH_UP || p->resuming ||
	    chan_queued(p->ch) > CHAN_HIGH || p->nship < p->nkeep) {
		loop_set_events(p->vm->log_fd, 0);
		timer_arm_in(&p->pump_timer, TICK_MS);
		return;
	}
	loop_set_events(p->vm->log_fd, p->slowed ? 0 : POLLIN);
	if (p->slowed) {
		read_log(p);
		ship_kept(p);
		timer_arm_in(&p->pump_timer, TICK_MS);
	}
}

static void on_log(void *arg, int fd, short revents)
{
	struct pair *p = arg;

	(void)fd;
	if (p->primary) {
		if (revents & (POLLIN | POLLHUP | POLLERR))
			read_log(p);
		pump(p);
	} else {
		ship_on_log(p, NULL);
	}
}

/* Drops kept records up to seq (the backup has them). */
static void drop_kept(struct pair *p, uint64_t seq)
{
	size_t off = 0;

	while (p->keep_first <= seq && off < p->nkeep) {
		off += rec_len(p->keep + off);
		p->keep_first++;
	}
	if (off)	/* keep is NULL until the first read, after a restart */
		memmove(p->keep, p->keep + off, p->nkeep - off);
	p->nkeep -= off;
	p->nship = p->nship > off ? p->nship - off : 0;
}

void ship_on_ack(struct pair *p, const struct ftp_frame *f)
{
	struct ftp_ack a;

	if (ftp_ack_decode(f, &a) || a.held > p->sent || a.held < p->acked) {
		stats_chan.malformed++;
		chan_close(p->ch, "an ACK outside what was sent");
		return;
	}
	p->acked = a.held;
	p->replayed = a.replayed;
	/* The backup has them: the VM's packets up to there may leave. */
	if (p->primary && p->vm && p->vm->ops && p->vm->ops->ack)
		p->vm->ops->ack(p->vm, a.held);
	drop_kept(p, a.held);
	pump(p);
}

/*
 * A restarted primary has read nothing yet: the module holds every
 * record after p->acked. Of those the backup may have some already (its
 * ftd acked them to the old one, or they were in flight): acked to the
 * module now, which lets their outputs go and skips them, so shipping
 * starts at next. 0, or -1 with why.
 */
static int resume_restarted(struct pair *p, uint64_t next, char *why, size_t len)
{
	uint64_t recorded;
	int ret;

	if (next == p->acked + 1)
		return 0;
	p->vm->ops->refresh(p->vm);
	recorded = p->vm->log_seq;
	if (next < p->acked + 1 || next > recorded + 1 || p->nkeep || p->npart)
		return ft_fmt(why, len, "the backup asks for record %llu, outside what the module keeps (%llu to %llu)",
			      (unsigned long long)next, (unsigned long long)p->acked + 1,
			      (unsigned long long)recorded + 1), -1;
	ret = p->vm->ops->ack ? p->vm->ops->ack(p->vm, next - 1) : -EOPNOTSUPP;
	if (ret)
		return ft_fmt(why, len, "acking record %llu to the module: %s",
			      (unsigned long long)next - 1, strerror(-ret)), -1;
	p->sent = p->acked = next - 1;
	p->keep_first = next;
	return 0;
}

void ship_resume(struct pair *p, uint64_t next)
{
	uint64_t acked = p->acked;
	char why[300];

	if (p->restarted) {
		p->restarted = false;
		if (resume_restarted(p, next, why, sizeof(why))) {
			failover_arbitrate(p, why);
			return;
		}
		pair_set_state(p, PS_PRIMARY, "ftd restarted: primary again from record %llu (the module had acks to %llu)",
			       (unsigned long long)next, (unsigned long long)acked);
	}
	if (next < p->keep_first || next > p->sent + 1) {
		chan_close(p->ch, "the backup asks for records this host no longer has");
		return;
	}
	drop_kept(p, next - 1);
	p->acked = next - 1;
	p->sent = next - 1;
	p->nship = 0;
	pump(p);
}

/* --- Backup. --- */

static void send_ack(struct pair *p)
{
	unsigned char b[FTP_ACK_LEN];
	struct ftp_ack a = { .held = p->held };
	static uint64_t last;

	/* The replayed count is for status: fresh to 20 ms is enough. */
	if (ft_now_ms() - last >= 20) {
		p->vm->ops->refresh(p->vm);
		last = ft_now_ms();
	}
	/* The module's last record taken; the count where it has none. */
	p->replayed = a.replayed = p->vm->log_replayed ? p->vm->log_replayed :
				   p->vm->stats[KVMFT_STAT_REPLAYED];
	if (p->ch && p->ch->state == CH_UP)
		chan_send(p->ch, FTP_ACK, b, ftp_ack_encode(&a, b));
}

/*
 * Writes pending records to the module and acks those it took. pend
 * holds whole records; its first wdone bytes are written already (the
 * module takes whole records, a simulated VM's stream may take part of
 * one).
 */
static void flush_pend(struct pair *p)
{
	uint64_t before = p->held;
	size_t off = 0;
	ssize_t n = 0;

	while (p->wdone < p->npend) {
		n = write(p->vm->log_fd, p->pend + p->wdone, p->npend - p->wdone);
		if (n <= 0)
			break;
		p->wdone += n;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		fevent(p->vm->id, "log-error", "writing to the VM's log: %s", strerror(errno));
		ship_stop(p);
		return;
	}
	while (off < p->npend && off + rec_len(p->pend + off) <= p->wdone) {
		off += rec_len(p->pend + off);
		p->held++;
	}
	memmove(p->pend, p->pend + off, p->npend - off);
	p->npend -= off;
	p->wdone -= off;
	loop_set_events(p->vm->log_fd, p->npend ? POLLOUT : 0);
	if (p->ch)
		chan_hold_rx(p->ch, p->npend > PEND_MAX);
	if (p->held != before)
		send_ack(p);
}

/* The record the backup asks for next: after those held and pending. */
uint64_t ship_next_rec(const struct pair *p)
{
	uint64_t next = p->held + 1;

	for (size_t o = 0; o < p->npend; o += rec_len(p->pend + o))
		next++;
	return next;
}

/*
 * Every record as the module will check it (session, sequence, CRC),
 * before any is kept: a bad one closes the channel, naming it.
 */
static int check_records(struct pair *p, const unsigned char *recs, size_t len,
			 uint64_t seq)
{
	struct ftlog_err e;
	size_t off = 0, n;
	char why[300];

	while (off < len) {
		n = ftlog_check(recs + off, len - off, p->session, seq, &e);
		if (!n) {
			ft_fmt(why, sizeof(why), "record %llu from the primary is bad: %s",
			       (unsigned long long)seq, e.msg);
			chan_close(p->ch, why);
			return -1;
		}
		off += n;
		seq++;
	}
	return 0;
}

void ship_on_log(struct pair *p, const struct ftp_frame *f)
{
	const unsigned char *recs;
	uint64_t first;
	size_t len;

	if (!f) {		/* the module's log has room again */
		flush_pend(p);
		return;
	}
	/* A backup asking the disk by hand takes records until it is decided. */
	if ((p->state != PS_BACKUP && !(p->state == PS_ARBITRATING && p->promote_asked)) ||
	    ftp_log_decode(f, &first, &recs, &len) ||
	    first != ship_next_rec(p)) {
		stats_chan.malformed++;
		chan_close(p->ch, "LOG frame out of sequence");
		return;
	}
	if (check_records(p, recs, len, first)) {
		stats_chan.malformed++;
		return;
	}
	if (!grow(&p->pend, &p->cappend, p->npend + len, PEND_MAX + FTP_MAX_PAYLOAD)) {
		chan_close(p->ch, "out of memory for received records");
		return;
	}
	memcpy(p->pend + p->npend, recs, len);
	p->npend += len;
	flush_pend(p);
}

void ship_reset_backup(struct pair *p)
{
	/* The module may hold part of the first record: keep that one. */
	p->npend = p->wdone && p->npend ? rec_len(p->pend) : 0;
}

void ship_init(struct pair *p)
{
	timer_init(&p->pump_timer, on_pump_timer, p);
}

void ship_start(struct pair *p)
{
	int fd = p->vm->log_fd;

	p->keep_first = p->acked + 1;	/* 1, but for a restarted primary */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	loop_add(fd, p->primary ? POLLIN : 0, on_log, p);
	if (p->primary)
		pump(p);
}

void ship_stop(struct pair *p)
{
	timer_cancel(&p->pump_timer);
	if (p->vm->log_fd >= 0)
		loop_del(p->vm->log_fd);
}
