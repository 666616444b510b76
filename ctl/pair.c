// SPDX-License-Identifier: GPL-2.0
/*
 * Pairs: `ftctl pair` on the primary's host (find the VM's arbitration
 * area, hold its newest generation, start recording, connect, PAIR), the
 * backup's answer to PAIR (is the VM here, free, on the same disk at the
 * same generation), unpair, and what status shows. docs/channel.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>

#include "ctlsock.h"
#include "ftdlog.h"
#include "pair.h"
#include "util.h"

#define PAIR_DEADLINE_MS	20000

struct pair *pairs;

static const char *const state_names[] = {
	[PS_PAIRING] = "pairing", [PS_PRIMARY] = "primary",
	[PS_BACKUP] = "backup", [PS_ARBITRATING] = "arbitrating",
	[PS_LIVE] = "live", [PS_HALTED] = "halted",
	[PS_UNPAIRING] = "unpairing",
};

const char *pair_state_name(enum pair_state s)
{
	return s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

struct pair *pair_find_id(uint64_t pair_id)
{
	for (struct pair *p = pairs; p; p = p->next)
		if (p->pair_id == pair_id)
			return p;
	return NULL;
}

void pair_set_state(struct pair *p, enum pair_state s, const char *fmt, ...)
{
	va_list ap;

	p->state = s;
	if (s == PS_LIVE || s == PS_HALTED)
		pair_unsave(p);	/* the pair is over */
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	fevent(p->vm->id, pair_state_name(s), "%s", p->why);
}

void pair_answer(struct pair *p, int code, const char *fmt, ...)
{
	struct ctl_client *c = p->waiter;
	char msg[600];
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->waiter = NULL;
	c->pair = NULL;
	ctl_reply(c, code, "%s", msg);
}

static void on_deadline(void *arg);
static void reconnect(void *arg);

static struct pair *pair_new(struct ftd_vm *vm, bool primary)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vm = vm;
	p->primary = primary;
	arbiter_init(&p->arb);
	timer_init(&p->deadline, on_deadline, p);
	timer_init(&p->retry_timer, reconnect, p);
	ship_init(p);
	failover_init(p);
	vm->pair = p;
	p->next = pairs;
	pairs = p;
	return p;
}

/* Heartbeats can arrive as soon as the pair has its id. */
static void set_pair_id(struct pair *p, uint64_t id)
{
	p->pair_id = id;
	p->hbrx.pair_id = id;
	ftp_key_hb(conf.psk, id, p->hbrx.key);
}

void pair_free(struct pair *p)
{
	for (struct pair **pp = &pairs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pair_answer(p, FT_EXIT_REFUSED, "the pair was taken down: %s", p->why);
	/* ftd exiting keeps its pairs for the next one; ending one does not. */
	if (!ftd_exiting && (p->state == PS_PRIMARY || p->state == PS_BACKUP ||
			     p->state == PS_UNPAIRING))
		pair_unsave(p);
	/* Not saved yet: a KEEP session no ftd would take up again ends here. */
	if (ftd_exiting && p->state == PS_PAIRING && p->primary &&
	    p->vm->log_fd >= 0 && !p->vm->gone)
		p->vm->ops->log_close(p->vm);
	hb_stop(p);
	ship_stop(p);
	timer_cancel(&p->retry_timer);
	timer_cancel(&p->deadline);
	timer_cancel(&p->arb_retry);
	timer_cancel(&p->resume_timer);
	arbiter_detach(&p->arb);
	if (p->ch) {
		p->ch->owner = NULL;
		chan_close(p->ch, "the pair ended");
	}
	if (p->vm->pair == p)
		p->vm->pair = NULL;
	free(p->keep);
	free(p->pend);
	free(p);
}

/* The pair could not be made: say why, undo, forget it. */
static void pair_failed(struct pair *p, int code, const char *why)
{
	snprintf(p->why, sizeof(p->why), "%s", why);
	fevent(p->vm->id, "pair-failed", "%s", why);
	pair_answer(p, code, "pair: %s", why);
	if (p->vm->log_fd >= 0 && !p->vm->gone)
		p->vm->ops->log_close(p->vm);
	pair_free(p);
}

static void on_deadline(void *arg)
{
	struct pair *p = arg;

	if (p->state == PS_PAIRING)
		pair_failed(p, FT_EXIT_REFUSED, "the peer did not complete the pairing in time");
}

static void fill_pair(const struct pair *p, struct ftp_pair *pr, uint32_t flags)
{
	memset(pr, 0, sizeof(*pr));
	pr->flags = flags;
	pr->host_id = conf.host_id;
	pr->pair_id = p->pair_id;
	pr->session = p->session;
	pr->gen = p->gen;
	pr->area = p->area;
	pr->next_rec = p->primary ? 0 : ship_next_rec(p);
	pr->hb_interval_ms = conf.hb_interval_ms;
	pr->hb_timeout_ms = conf.hb_timeout_ms;
	pr->port = conf.port;
	snprintf(pr->vm, sizeof(pr->vm), "%s", p->vm->ident);
}

static void send_pair(struct pair *p, uint8_t type, uint32_t flags)
{
	unsigned char b[FTP_PAIR_LEN];
	struct ftp_pair pr;

	fill_pair(p, &pr, flags);
	chan_send(p->ch, type, b, ftp_pair_encode(&pr, b));
}

/* Heartbeats go to the peer's address at the port it told us. */
void pair_set_hb(struct pair *p, const char *addr, uint32_t port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&p->hb_addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->hb_addr;
	char host[INET6_ADDRSTRLEN];
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);

	snprintf(host, sizeof(host), "%.*s", (int)n, addr);
	memset(&p->hb_addr, 0, sizeof(p->hb_addr));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		p->hb_len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		p->hb_len = sizeof(*in6);
	}
}

void pair_resume_backup(struct pair *p)
{
	p->hb_rx_ms = ft_now_ms();
	timer_cancel(&p->deadline);
	ship_start(p);
	hb_start(p);
	pair_save(p);
}

static void paired(struct pair *p)
{
	snprintf(p->peer_name, sizeof(p->peer_name), "%s", p->ch->peer.host);
	p->peer_host_id = p->ch->peer.host_id;
	pair_resume_backup(p);
}

struct pair *pair_restored(struct ftd_vm *vm, bool primary, uint64_t pair_id)
{
	struct pair *p = pair_new(vm, primary);

	if (p)
		set_pair_id(p, pair_id);
	return p;
}

/* --- The primary's side. --- */

static void primary_up(struct chan *ch)
{
	struct pair *p = ch->owner;

	if (!p)
		return;
	pair_set_hb(p, ch->name, p->port);
	send_pair(p, FTP_PAIR, p->resuming ? FTP_PAIR_F_RESUME : 0);
}

static void on_pair_ok(struct pair *p, const struct ftp_frame *f)
{
	struct ftp_pair pr;

	if (ftp_pair_decode(f, &pr) || pr.pair_id != p->pair_id) {
		stats_chan.malformed++;
		chan_close(p->ch, "a bad PAIR_OK");
		return;
	}
	if (p->resuming) {
		p->resuming = false;
		fevent(p->vm->id, "channel-up", "reconnected to %s; resending from record %llu",
		       p->peer_name, (unsigned long long)pr.next_rec);
		ship_resume(p, pr.next_rec);
		return;
	}
	paired(p);
	pair_set_state(p, PS_PRIMARY, "paired with %s (%s), generation %llu, VM '%s'",
		       p->peer_name, p->ch->name, (unsigned long long)p->gen, p->vm->ident);
	pair_answer(p, FT_EXIT_OK, "VM %u is primary, paired with %s at generation %llu",
	       p->vm->id, p->peer_name, (unsigned long long)p->gen);
}

static void connect_peer(struct pair *p)
{
	char err[300];

	p->ch = chan_connect(p->peer, p->port, &pair_chan_ops, p, err, sizeof(err));
	if (!p->ch && p->state == PS_PAIRING)
		pair_failed(p, FT_EXIT_ENV, err);
}

/*
 * A KEEP session outlives this ftd (docs/ftd-restart.md). A module
 * without KEEP refuses the flag: record as before, and say what is lost.
 */
static void start_recording(struct pair *p)
{
	struct vm_log lo = { .flags = KVMFT_LOG_READ | KVMFT_LOG_KEEP };
	char err[300];
	int fd;

	fd = p->vm->ops->log_open(p->vm, &lo, err, sizeof(err));
	if (fd < 0 && lo.err == EINVAL && strstr(lo.reason, "bad flags")) {
		fevent(p->vm->id, "no-keep", "the module cannot keep a recording for the next reader (%s): this primary's pair will not survive a restart of its ftd",
		       lo.reason);
		lo = (struct vm_log){ .flags = KVMFT_LOG_READ };
		fd = p->vm->ops->log_open(p->vm, &lo, err, sizeof(err));
	}
	if (fd < 0) {
		pair_failed(p, FT_EXIT_KERNEL, err);
		return;
	}
	p->session = lo.session;
	connect_peer(p);
}

static void copy_disks(struct arbiter_req *r)
{
	r->ndisks = conf.n_arb;
	for (int i = 0; i < conf.n_arb; i++)
		snprintf(r->disks[i], sizeof(r->disks[i]), "%s", conf.arb_disk[i]);
	r->host_id = conf.host_id;
	snprintf(r->host, sizeof(r->host), "%s", conf.host_name);
	r->timeout_ms = conf.arb_timeout_ms;
}

static void primary_disk(void *arg, const struct arbiter_ans *a);

/* The disk's answer: hold the newest generation, or take the first. */
static void primary_disk(void *arg, const struct arbiter_ans *a)
{
	struct pair *p = arg;
	struct arbiter_req r = { .acquire = true };
	struct arbiter_ans e;
	char why[700];

	if (a->ret) {
		pair_failed(p, FT_EXIT_ENV, a->err);
		return;
	}
	snprintf(p->disk, sizeof(p->disk), "%s", a->path);
	p->area = a->area;
	if (a->res.outcome == ARB_WON || (a->view.gen && a->view.owner == conf.host_id)) {
		p->gen = a->res.outcome == ARB_WON ? a->res.gen : a->view.gen;
		start_recording(p);
		return;
	}
	if (a->res.outcome == ARB_LOST || a->view.gen) {
		ft_fmt(why, sizeof(why), "host %s (id %u) owns generation %llu of VM '%s' on %s: this host lost it and must not run the VM as a primary",
			 a->res.outcome ? a->res.owner_name : a->view.owner_name,
			 a->res.outcome ? a->res.owner : a->view.owner,
			 (unsigned long long)(a->res.outcome ? a->res.gen : a->view.gen),
			 p->vm->ident, a->path);
		pair_failed(p, FT_EXIT_LOST, why);
		return;
	}
	/* A new area: win generation 1 before anything is recorded. */
	copy_disks(&r);
	snprintf(r.vm, sizeof(r.vm), "%s", p->vm->ident);
	if (arbiter_start(&p->arb, &r, primary_disk, p, &e))
		pair_failed(p, FT_EXIT_ENV, e.err);
}

static const char *pair_refusal(const struct ftd_vm *vm)
{
	if (!conf.have_key)
		return "pairing is off: no key_file in the configuration (the secure default)";
	if (!conf.host_id)
		return "host_id is not set in the configuration";
	if (!conf.n_arb)
		return "no arb_disk in the configuration: a pair needs a shared disk to arbitrate on";
	if (vm->gone)
		return "the VM has stopped";
	if (!vm->ident[0])
		return "the VM has no identity: start its QEMU with -uuid";
	if (vm->role != KVMFT_ROLE_NONE)
		return "the VM is already recording or replaying";
	return NULL;
}

/* HOST, HOST:PORT, [V6ADDR] or [V6ADDR]:PORT; false if malformed. */
static bool split_peer(const char *peer, char *host, size_t len, uint32_t *port)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : NULL;
	const char *colon = end ? (end[1] == ':' ? end + 1 : NULL) : strrchr(peer, ':');

	if (peer[0] == '[' && (!end || (end[1] && end[1] != ':')))
		return false;
	if (!end && colon && strchr(peer, ':') != colon)
		return false;	/* a bare IPv6 address: needs brackets */
	if (colon && (!ft_parse_u32(colon + 1, port) || !*port || *port > 65535))
		return false;
	if (end)
		snprintf(host, len, "%.*s", (int)(end - peer - 1), peer + 1);
	else
		snprintf(host, len, "%.*s", colon ? (int)(colon - peer) : (int)strlen(peer), peer);
	return *host != '\0';
}

void pair_cmd_pair(struct ctl_client *c, struct ftd_vm *vm, const char *peer)
{
	const char *why = pair_refusal(vm);
	char host[sizeof(((struct pair *)0)->peer)];
	struct arbiter_req r = { 0 };
	struct arbiter_ans e;
	uint32_t port = conf.port;
	struct pair *p;
	uint64_t id;

	if (!split_peer(peer, host, sizeof(host), &port)) {
		ctl_reply(c, FT_EXIT_USAGE, "pair: bad peer '%s' (HOST, HOST:PORT or [IPv6]:PORT)", peer);
		return;
	}
	/* A pair that ended in this VM's favour leaves only its record. */
	if (vm->pair && vm->pair->state == PS_LIVE && !vm->pair->waiter)
		pair_free(vm->pair);
	if (vm->pair) {
		ctl_reply(c, FT_EXIT_REFUSED, "pair: VM %u is already in a pair (%s, peer %s)",
			  vm->id, pair_state_name(vm->pair->state), vm->pair->peer);
		return;
	}
	if (why) {
		ctl_reply(c, FT_EXIT_ENV, "pair: %s", why);
		return;
	}
	p = pair_new(vm, true);
	if (!p || getrandom(&id, sizeof(id), 0) != sizeof(id)) {
		ctl_reply(c, FT_EXIT_ENV, "pair: out of memory or randomness");
		if (p)
			pair_free(p);
		return;
	}
	set_pair_id(p, id);
	snprintf(p->peer, sizeof(p->peer), "%s", host);
	p->port = port;
	p->waiter = c;
	c->pair = p;
	pair_set_state(p, PS_PAIRING, "pairing with %s: reading the arbitration disk", peer);
	timer_arm_in(&p->deadline, PAIR_DEADLINE_MS);
	copy_disks(&r);
	snprintf(r.vm, sizeof(r.vm), "%s", vm->ident);
	if (arbiter_start(&p->arb, &r, primary_disk, p, &e))
		pair_failed(p, FT_EXIT_ENV, e.err);
}

/* --- The backup's side: a connection that has not said PAIR yet. --- */

static void backup_disk(void *arg, const struct arbiter_ans *a);

static void refuse(struct chan *ch, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct chan *ch, uint32_t code, const char *fmt, ...)
{
	char text[FTP_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	chan_refuse(ch, code, text);
}

static void list_idents(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (struct ftd_vm *v = ftd_vms; v && n < len; v = v->next)
		if (!v->gone)
			n += snprintf(buf + n, len - n, "%s'%s'", n ? ", " : "", v->ident);
}

static void resume(struct chan *ch, const struct ftp_pair *pr)
{
	struct pair *p = pair_find_id(pr->pair_id);

	if (!p || p->primary || p->session != pr->session || p->state != PS_BACKUP) {
		refuse(ch, FTP_E_STATE, "host %s has no backup for pair %016llx to resume",
		       conf.host_name, (unsigned long long)pr->pair_id);
		return;
	}
	if (p->ch) {
		p->ch->owner = NULL;
		chan_close(p->ch, "replaced by a new connection");
	}
	p->ch = ch;
	ch->ops = &pair_chan_ops;
	ch->owner = p;
	chan_adopted(ch);
	ship_reset_backup(p);
	send_pair(p, FTP_PAIR_OK, FTP_PAIR_F_RESUME);
	fevent(p->vm->id, "channel-up", "%s reconnected; asking from record %llu",
	       p->peer_name, (unsigned long long)ship_next_rec(p));
}

static const char *backup_refusal(const struct ftp_pair *pr, struct ftd_vm *vm,
				  uint32_t *code, char *buf, size_t len)
{
	char list[200];

	*code = FTP_E_IDENTITY;
	if (!vm) {
		list_idents(list, sizeof(list));
		return ft_fmt(buf, len, "no VM on host %s was started with identity '%s' (VMs here: %s)",
				conf.host_name, pr->vm, *list ? list : "none");
	}
	*code = FTP_E_BUSY;
	if (vm->pair)
		return ft_fmt(buf, len, "VM '%s' on host %s is already paired (%s, with %s): a second primary is refused",
				pr->vm, conf.host_name, pair_state_name(vm->pair->state),
				vm->pair->peer_name[0] ? vm->pair->peer_name : vm->pair->peer);
	*code = FTP_E_STATE;
	if (!conf.host_id || !conf.n_arb)
		return ft_fmt(buf, len, "host %s has no host_id or arb_disk configured", conf.host_name);
	if (pr->host_id == conf.host_id)
		return ft_fmt(buf, len, "both hosts have host_id %u; each needs its own", conf.host_id);
	if (vm->role != KVMFT_ROLE_NONE)
		return ft_fmt(buf, len, "VM '%s' on host %s is already recording or replaying", pr->vm, conf.host_name);
	return NULL;
}

static void on_pair(struct chan *ch, const struct ftp_frame *f)
{
	struct arbiter_req r = { 0 };
	struct ftp_pair pr;
	struct arbiter_ans e;
	struct ftd_vm *vm;
	struct pair *p;
	char why[FTP_TEXT_MAX];
	uint32_t code;

	if (ftp_pair_decode(f, &pr)) {
		stats_chan.malformed++;
		chan_close(ch, "a bad PAIR");
		return;
	}
	if (pr.flags & FTP_PAIR_F_RESUME) {
		resume(ch, &pr);
		return;
	}
	vm = vm_find_ident(pr.vm);
	if (backup_refusal(&pr, vm, &code, why, sizeof(why))) {
		chan_refuse(ch, code, why);
		return;
	}
	p = pair_new(vm, false);
	if (!p) {
		chan_refuse(ch, FTP_E_INTERNAL, "out of memory");
		return;
	}
	p->ch = ch;
	ch->owner = p;
	ch->ops = &pair_chan_ops;
	chan_adopted(ch);
	set_pair_id(p, pr.pair_id);
	p->session = pr.session;
	p->gen = pr.gen;
	p->area = pr.area;
	p->port = pr.port;
	p->peer_host_id = pr.host_id;
	snprintf(p->peer, sizeof(p->peer), "%s", ch->name);
	pair_set_hb(p, ch->name, pr.port);
	pair_set_state(p, PS_PAIRING, "%s asks this host to be the backup of VM '%s': reading the arbitration disk",
		       ch->peer.host, vm->ident);
	copy_disks(&r);
	snprintf(r.vm, sizeof(r.vm), "%s", vm->ident);
	if (arbiter_start(&p->arb, &r, backup_disk, p, &e)) {
		chan_refuse(ch, FTP_E_ARB, e.err);
		pair_free(p);
	}
}

/* Both hosts must see one area, where the primary holds the newest gen. */
static void backup_disk(void *arg, const struct arbiter_ans *a)
{
	struct pair *p = arg;
	struct vm_log lo = { .flags = KVMFT_LOG_WRITE, .session = p->session };
	char why[FTP_TEXT_MAX], err[300];
	uint32_t code = FTP_E_ARB;

	if (!p->ch) {
		pair_free(p);
		return;
	}
	if (a->ret)
		ft_fmt(why, sizeof(why), "host %s: %s", conf.host_name, a->err);
	else if (a->area != p->area)
		ft_fmt(why, sizeof(why), "host %s finds another arbitration area for VM '%s' (%s): the hosts must share one disk",
			 conf.host_name, p->vm->ident, a->path);
	else if (a->view.gen != p->gen || a->view.owner != p->peer_host_id)
		ft_fmt(why, sizeof(why), "the disk says generation %llu belongs to host %u, not generation %llu to host %u",
			 (unsigned long long)a->view.gen, a->view.owner,
			 (unsigned long long)p->gen, p->peer_host_id);
	else if (p->vm->ops->log_open(p->vm, &lo, err, sizeof(err)) < 0)
		code = FTP_E_STATE, ft_fmt(why, sizeof(why), "host %s: %s", conf.host_name, err);
	else
		code = 0;
	if (code) {
		chan_refuse(p->ch, code, why);
		p->ch->owner = NULL;
		p->ch = NULL;
		pair_failed(p, FT_EXIT_REFUSED, why);
		return;
	}
	snprintf(p->disk, sizeof(p->disk), "%s", a->path);
	send_pair(p, FTP_PAIR_OK, 0);
	paired(p);
	pair_set_state(p, PS_BACKUP, "backup of %s (%s), generation %llu, VM '%s'",
		       p->peer_name, p->ch->name, (unsigned long long)p->gen, p->vm->ident);
}

static void server_frame(struct chan *ch, const struct ftp_frame *f)
{
	if (f->type == FTP_PAIR) {
		on_pair(ch, f);
		return;
	}
	if (f->type == FTP_PING)
		return;
	stats_chan.malformed++;
	chan_close(ch, "expected PAIR");
}

const struct chan_ops server_chan_ops = {
	.frame = server_frame,
};

/* --- A paired channel. --- */

static void paired_frame(struct chan *ch, const struct ftp_frame *f)
{
	struct pair *p = ch->owner;
	struct ftp_error e;

	if (!p)
		return;
	switch (f->type) {
	case FTP_LOG:
		ship_on_log(p, f);
		return;
	case FTP_ACK:
		ship_on_ack(p, f);
		return;
	case FTP_PAIR_OK:
		on_pair_ok(p, f);
		return;
	case FTP_UNPAIR:
		failover_peer_unpaired(p);
		return;
	case FTP_PING:
		return;
	case FTP_ERROR:
		if (!ftp_error_decode(f, &e)) {
			char why[400];

			ft_fmt(why, sizeof(why), "refused by the peer (%s): %s",
				 ftp_err_name(e.code), e.text);
			chan_close(ch, why);
			return;
		}
	}
	stats_chan.malformed++;
	chan_close(ch, "an unexpected frame");
}

void pair_reconnect(struct pair *p)
{
	if (p->state != PS_PRIMARY || p->ch)
		return;
	p->resuming = true;
	connect_peer(p);
	if (!p->ch)
		timer_arm_in(&p->retry_timer, 200);
}

static void reconnect(void *arg)
{
	pair_reconnect(arg);
}

static void paired_closed(struct chan *ch, const char *why)
{
	struct pair *p = ch->owner;

	if (!p)
		return;
	p->ch = NULL;
	if (p->state == PS_PAIRING && p->primary) {
		pair_failed(p, strstr(why, "refused") || strstr(why, "keys") ?
			    FT_EXIT_REFUSED : FT_EXIT_ENV, why);
		return;
	}
	if (p->state == PS_PAIRING) {
		pair_failed(p, FT_EXIT_REFUSED, why);
		return;
	}
	if (p->state != PS_PRIMARY && p->state != PS_BACKUP)
		return;
	fevent(p->vm->id, "channel-down", "channel to %s: %s", p->peer_name, why);
	if (p->primary)
		timer_arm_in(&p->retry_timer, 200);
}

const struct chan_ops pair_chan_ops = {
	.up = primary_up,
	.frame = paired_frame,
	.closed = paired_closed,
};

void pair_cmd_reconnect(struct ctl_client *c, struct ftd_vm *vm)
{
	struct pair *p = vm->pair;

	if (!p || (p->state != PS_PRIMARY && p->state != PS_BACKUP)) {
		ctl_reply(c, FT_EXIT_REFUSED, "reconnect: VM %u is not in a running pair", vm->id);
		return;
	}
	if (p->ch)
		chan_close(p->ch, "ftctl reconnect");
	ctl_reply(c, FT_EXIT_OK, "VM %u: channel dropped; the primary reconnects and resends what the backup lacks",
		  vm->id);
}
