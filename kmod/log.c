// SPDX-License-Identifier: GPL-2.0
/*
 * The per-VM record log: a byte FIFO of whole records.
 *
 * Primary: the vCPU thread appends (from a hook, atomic), the log reader
 * fd drains. Backup: the log writer fd appends checked records, the vCPU
 * thread takes them. A full or empty log never blocks a hook: the hook
 * tells the vCPU to wait, and it waits in process context (hooks.c).
 */
#include <linux/crc32.h>
#include <linux/vmalloc.h>
#include "kvmft.h"

int kvmft_log_init(struct kvmft_log *log)
{
	/* A power of two in range: kvmft_log_kb_set() let nothing else in. */
	size_t bytes = (size_t)READ_ONCE(kvmft_log_kb) * SZ_1K;

	spin_lock_init(&log->lock);
	init_waitqueue_head(&log->wq);
	mutex_init(&log->rd_mutex);
	log->buf = vmalloc(bytes);
	if (!log->buf)
		return -ENOMEM;
	if (kfifo_init(&log->fifo, log->buf, bytes)) {
		vfree(log->buf);
		return -EINVAL;
	}
	log->next_seq = 1;
	return 0;
}

void kvmft_log_free(struct kvmft_log *log)
{
	vfree(log->buf);
}

/*
 * The CRC starts with the session id: a record of another session (an
 * earlier recording of the same VM, another VM) fails it.
 */
static u32 kvmft_rec_crc(u64 session, const struct kvmft_rec *rec,
			 const void *p1, u16 len1, const void *p2, u16 len2)
{
	struct kvmft_rec h = *rec;
	__le64 sid = cpu_to_le64(session);
	u32 crc;

	h.crc = 0;
	crc = crc32_le(~0, (const u8 *)&sid, sizeof(sid));
	crc = crc32_le(crc, (const u8 *)&h, sizeof(h));
	if (len1)
		crc = crc32_le(crc, p1, len1);
	if (len2)
		crc = crc32_le(crc, p2, len2);
	return crc ^ ~0U;
}

/* Checks a record from userspace; @avail bytes are at @rec. */
int kvmft_rec_check(const struct kvmft_rec *rec, size_t avail, u64 seq,
		    u64 session)
{
	const struct kvmft_rec_pio *pio = (const void *)(rec + 1);
	size_t total;

	if (avail < sizeof(*rec))
		return -EMSGSIZE;
	total = sizeof(*rec) + rec->len;
	if (total > KVMFT_REC_MAX_LEN)
		return -EBADMSG;
	if (avail < total)
		return -EMSGSIZE;
	if (rec->reserved || rec->seq != seq)
		return -EBADMSG;
	switch (rec->type) {
	case KVMFT_REC_RDTSC:
	case KVMFT_REC_RDTSCP:
		if (rec->len != sizeof(struct kvmft_rec_tsc) ||
		    (rec->type == KVMFT_REC_RDTSC &&
		     ((const struct kvmft_rec_tsc *)(rec + 1))->aux))
			return -EBADMSG;
		break;
	case KVMFT_REC_STATE:
		if (rec->len != sizeof(struct kvmft_rec_state))
			return -EBADMSG;
		break;
	case KVMFT_REC_EVENT: {
		const struct kvmft_rec_event *ev = (const void *)(rec + 1);
		size_t extra = ev->kind == KVMFT_ASYNC_MSI ?
			       sizeof(struct kvmft_ev_msi) : 0;

		if (rec->len < sizeof(*ev) || rec->len != sizeof(*ev) + extra ||
		    ev->reserved || !ev->kind || ev->kind >= __KVMFT_ASYNC_LAST ||
		    ev->landmark >= __KVMFT_LANDMARK_LAST ||
		    (ev->landmark == KVMFT_LANDMARK_EXIT && ev->hash))
			return -EBADMSG;
		break;
	}
	case KVMFT_REC_RDMSR: {
		const struct kvmft_rec_msr *m = (const void *)(rec + 1);

		if (rec->len != sizeof(*m) || (m->flags & ~__KVMFT_MSR_F_ALL) ||
		    ((m->flags & KVMFT_MSR_F_GP) && m->value))
			return -EBADMSG;
		break;
	}
	case KVMFT_REC_MMIO_IN: {
		const struct kvmft_rec_mmio *m = (const void *)(rec + 1);

		if (rec->len != sizeof(*m) || !m->len || m->len > sizeof(m->data) ||
		    m->reserved || memchr_inv(m->data + m->len, 0,
					      sizeof(m->data) - m->len))
			return -EBADMSG;
		break;
	}
	case KVMFT_REC_PIO_IN:
		if (rec->len < sizeof(*pio) || pio->reserved || !pio->count ||
		    (pio->size != 1 && pio->size != 2 && pio->size != 4) ||
		    rec->len != sizeof(*pio) + (u64)pio->size * pio->count)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	if (kvmft_rec_crc(session, rec, rec + 1, rec->len, NULL, 0) != rec->crc)
		return -EBADMSG;
	return 0;
}

/* Under log->lock: one whole record. */
static void kvmft_log_put(struct kvmft_log *log, struct kvmft_rec *h,
			  const void *payload, u16 len, const void *data,
			  u16 data_len)
{
	h->seq = log->next_seq++;
	h->crc = kvmft_rec_crc(log->session, h, payload, len, data, data_len);
	kfifo_in(&log->fifo, (u8 *)h, sizeof(*h));
	kfifo_in(&log->fifo, (const u8 *)payload, len);
	if (data_len)
		kfifo_in(&log->fifo, (const u8 *)data, data_len);
}

/*
 * Primary, atomic context. -ENOSPC: the vCPU must wait for the reader.
 * Every state_every records a state record goes in front, with the vCPU
 * state @st (taken by the caller before the record took effect) or, if
 * @st is NULL, as it is now.
 */
int kvmft_log_append(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u16 type,
		     const void *payload, u16 len, const void *data,
		     u16 data_len, const struct kvmft_rec_state *st)
{
	struct kvmft_log *log = &vm->log;
	struct kvmft_rec h = {
		.type = type,
		.len = len + data_len,
		.vcpu = vcpu->vcpu_idx,
	};
	struct kvmft_rec sh = {
		.type = KVMFT_REC_STATE,
		.len = sizeof(struct kvmft_rec_state),
		.vcpu = vcpu->vcpu_idx,
	};
	struct kvmft_rec_state now;
	bool state;

	spin_lock(&log->lock);
	if (!kvmft_log_recording(log)) {
		spin_unlock(&log->lock);
		return -ENODEV;
	}
	state = log->state_every && !(log->next_seq % log->state_every);
	if (kfifo_avail(&log->fifo) < sizeof(h) + h.len +
				       (state ? KVMFT_REC_STATE_LEN : 0)) {
		spin_unlock(&log->lock);
		return -ENOSPC;
	}
	if (state) {
		if (!st) {
			kvmft_vendor_state(vm, vcpu, &now);
			st = &now;
		}
		kvmft_log_put(log, &sh, st, sizeof(*st), NULL, 0);
		kvmft_stat_inc(vm, KVMFT_STAT_STATES);
	}
	kvmft_log_put(log, &h, payload, len, data, data_len);
	spin_unlock(&log->lock);
	kvmft_stat_inc(vm, KVMFT_STAT_RECORDED);
	wake_up_interruptible(&log->wq);
	return 0;
}

/*
 * Under log->lock, with a state record at the head of the log: is the
 * record after it there too, and does the vCPU's state match? Takes the
 * state record if both hold. -EAGAIN: the next record is not there yet.
 * -EBADE: the states differ (*@seq: the state record's).
 */
static int kvmft_log_take_state(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
				u64 *seq)
{
	struct kvmft_log *log = &vm->log;
	u8 buf[KVMFT_REC_STATE_LEN + sizeof(struct kvmft_rec)] __aligned(8);
	struct kvmft_rec *h = (struct kvmft_rec *)buf;
	struct kvmft_rec_state want, now;

	if (kfifo_out_peek(&log->fifo, buf, sizeof(buf)) != sizeof(buf) ||
	    kfifo_len(&log->fifo) < KVMFT_REC_STATE_LEN + sizeof(*h) +
				    ((struct kvmft_rec *)(buf + KVMFT_REC_STATE_LEN))->len)
		return log->promoted ? -ENODATA : -EAGAIN;
	memcpy(&want, h + 1, sizeof(want));
	kvmft_vendor_state(vm, vcpu, &now);
	if (now.hash != want.hash) {
		*seq = h->seq;
		return -EBADE;
	}
	if (kfifo_out(&log->fifo, buf, KVMFT_REC_STATE_LEN) !=
	    KVMFT_REC_STATE_LEN)
		return -EILSEQ;	/* cannot happen: peeked under the lock */
	log->replayed = h->seq;
	kvmft_stat_inc(vm, KVMFT_STAT_STATES);
	return 0;
}

/*
 * Backup, atomic context: take the next record, which must be of @type
 * with a payload of @fixed_len + @data_len bytes. With @match the fixed
 * part must equal @fixed, else it is copied there; the data goes to @data.
 * A state record in front of it is checked against @vcpu first.
 * -EAGAIN: none yet, wait. -ENODATA: none, and none will come (promoted).
 * -EILSEQ: the record is not what this exit needs; -EBADE: the vCPU's
 * state is not the recorded one (divergences); the record is left in place
 * and its seq is in *@seq.
 */
int kvmft_log_take(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u16 type,
		   void *fixed, u16 fixed_len, bool match, void *data,
		   u16 data_len, u64 *seq)
{
	struct kvmft_log *log = &vm->log;
	u8 head[sizeof(struct kvmft_rec) + 32] __aligned(8);
	struct kvmft_rec *h = (struct kvmft_rec *)head;
	int err = 0;

	if (WARN_ON_ONCE(fixed_len > sizeof(head) - sizeof(*h)))
		return -EINVAL;
	spin_lock(&log->lock);
	if (kfifo_len(&log->fifo) < sizeof(*h)) {
		err = log->promoted ? -ENODATA : -EAGAIN;
		goto out;
	}
	if (kfifo_out_peek(&log->fifo, head, sizeof(*h)) == sizeof(*h) &&
	    h->type == KVMFT_REC_STATE) {
		err = kvmft_log_take_state(vm, vcpu, seq);
		if (err)
			goto out;
	}
	if (kfifo_out_peek(&log->fifo, head, sizeof(*h) + fixed_len) !=
	    sizeof(*h) + fixed_len || h->type != type || h->len != fixed_len + data_len ||
	    (match && memcmp(h + 1, fixed, fixed_len))) {
		*seq = h->seq;
		err = -EILSEQ;
		goto out;
	}
	/* Whole records go in under the lock: the rest is there. */
	if (kfifo_out(&log->fifo, head, sizeof(*h) + fixed_len) +
	    (data_len ? kfifo_out(&log->fifo, (u8 *)data, data_len) : 0) !=
	    sizeof(*h) + fixed_len + data_len) {
		err = -EILSEQ;
		goto out;
	}
	if (!match)
		memcpy(fixed, h + 1, fixed_len);
	log->replayed = h->seq;
out:
	spin_unlock(&log->lock);
	if (!err) {
		kvmft_stat_inc(vm, KVMFT_STAT_REPLAYED);
		wake_up_interruptible(&log->wq);
	}
	return err;
}

/*
 * Backup: the event record next in the log (past a state record in front
 * of it), left in place, and its seq (@seq may be NULL). -ENOENT: the
 * next record is not an event, or there is none.
 */
int kvmft_log_peek_event(struct kvmft_vm *vm, struct kvmft_rec_event *ev,
			 u64 *seq)
{
	struct kvmft_log *log = &vm->log;
	u8 buf[KVMFT_REC_STATE_LEN + sizeof(struct kvmft_rec) +
	       sizeof(*ev)] __aligned(8);
	struct kvmft_rec *h = (struct kvmft_rec *)buf;
	unsigned int n;
	int err = -ENOENT;

	spin_lock(&log->lock);
	n = kfifo_out_peek(&log->fifo, buf, sizeof(buf));
	if (n >= sizeof(*h) && h->type == KVMFT_REC_STATE) {
		h = (struct kvmft_rec *)(buf + KVMFT_REC_STATE_LEN);
		n = n >= KVMFT_REC_STATE_LEN ? n - KVMFT_REC_STATE_LEN : 0;
	}
	if (n >= sizeof(*h) + sizeof(*ev) && h->type == KVMFT_REC_EVENT &&
	    h->len >= sizeof(*ev)) {
		memcpy(ev, h + 1, sizeof(*ev));
		if (seq)
			*seq = h->seq;
		err = 0;
	}
	spin_unlock(&log->lock);
	return err;
}

/*
 * Backup: the record a divergence at an event names: the next event's,
 * else the record after the last one taken.
 */
u64 kvmft_log_next_event_seq(struct kvmft_vm *vm)
{
	struct kvmft_rec_event ev;
	u64 seq;

	if (kvmft_log_peek_event(vm, &ev, &seq))
		seq = READ_ONCE(vm->log.replayed) + 1;
	return seq;
}

/* Backup: nothing to take now (a state record alone counts as nothing). */
bool kvmft_log_empty(struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	struct kvmft_rec h;
	bool empty;

	spin_lock(&log->lock);
	empty = kfifo_out_peek(&log->fifo, (u8 *)&h, sizeof(h)) != sizeof(h) ||
		(h.type == KVMFT_REC_STATE &&
		 kfifo_len(&log->fifo) < KVMFT_REC_STATE_LEN + sizeof(h));
	spin_unlock(&log->lock);
	return empty;
}

/* Primary: is there room for a record of @bytes of payload? */
bool kvmft_log_has_room(struct kvmft_vm *vm, size_t bytes)
{
	struct kvmft_log *log = &vm->log;
	bool room;

	spin_lock(&log->lock);
	room = kfifo_avail(&log->fifo) >= sizeof(struct kvmft_rec) + bytes +
					  KVMFT_REC_STATE_LEN;
	spin_unlock(&log->lock);
	return room;
}

/* Backup: promoted, and every record it held has been taken. */
bool kvmft_log_promote_done(struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	bool done;

	spin_lock(&log->lock);
	done = log->promoted && kfifo_is_empty(&log->fifo);
	spin_unlock(&log->lock);
	return done;
}

/* May a waiting vCPU go on? True once waiting would be pointless. */
bool kvmft_log_ready(struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	bool ready;

	if (READ_ONCE(vm->detached))
		return true;
	spin_lock(&log->lock);
	switch (READ_ONCE(vm->role)) {
	case KVMFT_ROLE_PRIMARY:
		ready = !kvmft_log_recording(log) ||
			(kfifo_avail(&log->fifo) >= KVMFT_REC_MAX_LEN +
						    KVMFT_REC_STATE_LEN &&
			 !kvmft_outq_full(vm));
		break;
	case KVMFT_ROLE_BACKUP:
		/*
		 * A backup never goes live on its own: at the end of its log,
		 * or after a divergence, its vCPU waits for promotion or
		 * detach (which it sees as ready: detached above).
		 */
		ready = !log->diverged &&
			(log->promoted || !kfifo_is_empty(&log->fifo));
		break;
	default:
		ready = true;
	}
	spin_unlock(&log->lock);
	return ready;
}

/*
 * Primary: copy @len bytes at kfifo index @idx (between `out` and `in`,
 * where neither the vCPU nor anyone but the rd_mutex holder writes).
 */
void kvmft_log_peek_at(struct kvmft_log *log, unsigned int idx, void *buf,
		       unsigned int len)
{
	unsigned int size = log->fifo.kfifo.mask + 1;
	unsigned int off = idx & log->fifo.kfifo.mask;
	unsigned int l = min(len, size - off);
	u8 *data = log->fifo.kfifo.data;

	memcpy(buf, data + off, l);
	memcpy((u8 *)buf + l, data, len - l);
}

/*
 * The backup holds every record up to @pos. A KEEP session's log lets
 * them go: the vCPU may have room again, and a reader behind skips them.
 * Then the output queue releases the packets they cover. Errors as
 * kvmft_outq_ack()'s.
 */
int kvmft_log_ack(struct kvmft_vm *vm, u64 pos)
{
	struct kvmft_log *log = &vm->log;
	unsigned int idx, in;
	struct kvmft_rec h;
	bool walk;
	u64 seq;
	int err = 0;

	mutex_lock(&log->rd_mutex);
	spin_lock(&log->lock);
	if (READ_ONCE(vm->role) != KVMFT_ROLE_PRIMARY || READ_ONCE(vm->detached))
		err = -EINVAL;
	else if (pos > log->next_seq - 1)
		err = -ERANGE;
	walk = !err && log->keep && pos > log->acked;
	in = log->fifo.kfifo.in;
	idx = log->fifo.kfifo.out;
	seq = log->acked;
	spin_unlock(&log->lock);
	if (walk) {
		/* Whole records below `in`; only an ack (we) frees them. */
		while (seq < pos && in - idx >= sizeof(h)) {
			kvmft_log_peek_at(log, idx, &h, sizeof(h));
			idx += sizeof(h) + h.len;
			seq = h.seq;
		}
		spin_lock(&log->lock);
		if (seq == pos && idx - log->fifo.kfifo.out <= in - log->fifo.kfifo.out) {
			log->fifo.kfifo.out = idx;
			log->acked = pos;
			if ((int)(idx - log->rd) > 0) {
				log->rd = idx;
				log->shipped = pos;
			}
		} else {
			err = -EILSEQ;
		}
		spin_unlock(&log->lock);
		WARN_ONCE(err, "kvmft: VM %u: record %llu not found in its log (at %llu)\n",
			  vm->id, pos, seq);
		wake_up_interruptible(&log->wq);
	}
	mutex_unlock(&log->rd_mutex);
	return err ?: kvmft_outq_ack(vm, pos);
}

/*
 * A KEEP session ends as one without KEEP: the records read go now, and
 * closing the reader ends recording. -EINVAL if it is no KEEP session.
 */
int kvmft_log_end_keep(struct kvmft_vm *vm)
{
	struct kvmft_log *log = &vm->log;
	int err = 0;

	mutex_lock(&log->rd_mutex);
	spin_lock(&log->lock);
	if (log->keep) {
		log->keep = false;
		log->fifo.kfifo.out = log->rd;
	} else {
		err = -EINVAL;
	}
	spin_unlock(&log->lock);
	mutex_unlock(&log->rd_mutex);
	wake_up_interruptible(&log->wq);
	return err;
}

/* Role changes, detach, divergence: whoever waits on the VM's log. */
void kvmft_log_wake(struct kvmft_vm *vm)
{
	wake_up_interruptible_all(&vm->log.wq);
	wake_up_all(&vm->verify.wq);
}
