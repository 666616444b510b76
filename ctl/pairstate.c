// SPDX-License-Identifier: GPL-2.0
/*
 * A pair outlives its ftd: each side keeps it in state_dir
 * (pair-<id>.state, mode 0600) while it is paired. A restarted ftd reads
 * them, and when the module shows the same VM (id and VMM pid) again:
 *  - a backup that still replays the pair's session takes its log again
 *    (the module allows a writer of the same session) and waits for the
 *    primary, which reconnects and resends from the record it asks for;
 *  - a primary whose recording the module kept (KVMFT_LOG_KEEP) takes it
 *    up again (KVMFT_LOG_RESUME) at the last record acked, heartbeats at
 *    once, asks the disk whether it still owns its generation, and
 *    reconnects: the backup says which record it wants next
 *    (docs/ftd-restart.md, section 5);
 *  - a primary whose recording ended (an old module ends it when the
 *    reader closes) cannot go on: its VM may run on only if this host
 *    wins the next generation, so it asks the disk.
 * A state whose VM does not come back within STALE_MS is forgotten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ftdlog.h"
#include "pair.h"
#include "util.h"

#define STALE_MS	10000
#define RESUME_RETRY_MS	200
/* A reader still open this long (the old ftd's, held elsewhere): give up. */
#define RESUME_MS	3000

struct saved {
	bool primary;
	uint32_t vm_id, vm_pid, port, peer_host_id;
	uint64_t pair_id, session, gen, area;
	char ident[FTP_NAME_LEN], disk[256], peer[128], peer_name[64];
	struct saved *next;
};

static struct saved *saved;
static struct timer stale;

static void path_of(uint64_t pair_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/pair-%016" PRIx64 ".state", conf.state_dir, pair_id);
}

void pair_save(const struct pair *p)
{
	char path[400], tmp[410];
	FILE *f;
	int fd;

	path_of(p->pair_id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	mkdir(conf.state_dir, 0700);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		flog(LOG_WARNING, "cannot keep the pair in %s: %s (an ftd restart will end it)",
		     tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "side=%s\nvm_id=%u\nvm_pid=%u\nident=%s\npair_id=%" PRIu64
		"\nsession=%" PRIu64 "\ngen=%" PRIu64 "\narea=%" PRIu64 "\ndisk=%s\n"
		"peer=%s\nport=%u\npeer_name=%s\npeer_host_id=%u\n",
		p->primary ? "primary" : "backup", p->vm->id, p->vm->pid, p->vm->ident,
		p->pair_id, p->session, p->gen, p->area, p->disk, p->peer, p->port,
		p->peer_name, p->peer_host_id);
	if (fclose(f) || rename(tmp, path))
		flog(LOG_WARNING, "cannot keep the pair in %s: %s", path, strerror(errno));
}

void pair_unsave(const struct pair *p)
{
	char path[400];

	path_of(p->pair_id, path, sizeof(path));
	unlink(path);
}

static void set(struct saved *s, const char *k, const char *v)
{
	if (!strcmp(k, "side"))
		s->primary = !strcmp(v, "primary");
	else if (!strcmp(k, "vm_id"))
		s->vm_id = strtoul(v, NULL, 10);
	else if (!strcmp(k, "vm_pid"))
		s->vm_pid = strtoul(v, NULL, 10);
	else if (!strcmp(k, "port"))
		s->port = strtoul(v, NULL, 10);
	else if (!strcmp(k, "peer_host_id"))
		s->peer_host_id = strtoul(v, NULL, 10);
	else if (!strcmp(k, "pair_id"))
		s->pair_id = strtoull(v, NULL, 10);
	else if (!strcmp(k, "session"))
		s->session = strtoull(v, NULL, 10);
	else if (!strcmp(k, "gen"))
		s->gen = strtoull(v, NULL, 10);
	else if (!strcmp(k, "area"))
		s->area = strtoull(v, NULL, 10);
	else if (!strcmp(k, "ident"))
		snprintf(s->ident, sizeof(s->ident), "%s", v);
	else if (!strcmp(k, "disk"))
		snprintf(s->disk, sizeof(s->disk), "%s", v);
	else if (!strcmp(k, "peer"))
		snprintf(s->peer, sizeof(s->peer), "%s", v);
	else if (!strcmp(k, "peer_name"))
		snprintf(s->peer_name, sizeof(s->peer_name), "%s", v);
}

static void load(const char *path)
{
	struct saved *s = calloc(1, sizeof(*s));
	char line[400], *eq;
	FILE *f = fopen(path, "re");

	if (!s || !f) {
		free(s);
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			set(s, line, eq + 1);
		}
	}
	fclose(f);
	if (!s->pair_id || !s->session || !s->vm_pid || !s->disk[0]) {
		free(s);
		return;
	}
	s->next = saved;
	saved = s;
}

static void forget_all(void *arg)
{
	struct saved *s;

	(void)arg;
	while ((s = saved)) {
		char path[400];

		saved = s->next;
		path_of(s->pair_id, path, sizeof(path));
		flog(LOG_INFO, "pair %016" PRIx64 " of VM '%s' did not come back; forgotten",
		     s->pair_id, s->ident);
		unlink(path);
		free(s);
	}
}

void pair_state_load(void)
{
	struct dirent *d;
	char path[600];
	DIR *dir = opendir(conf.state_dir);

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "pair-", 5) && strstr(d->d_name, ".state")) {
			snprintf(path, sizeof(path), "%s/%s", conf.state_dir, d->d_name);
			load(path);
		}
	closedir(dir);
	timer_init(&stale, forget_all, NULL);
	if (saved)
		timer_arm_in(&stale, STALE_MS);
}

static void fill(struct pair *p, const struct saved *s)
{
	p->session = s->session;
	p->gen = s->gen;
	p->area = s->area;
	p->port = s->port;
	p->peer_host_id = s->peer_host_id;
	snprintf(p->disk, sizeof(p->disk), "%s", s->disk);
	snprintf(p->peer, sizeof(p->peer), "%s", s->peer);
	snprintf(p->peer_name, sizeof(p->peer_name), "%s", s->peer_name);
}

/* Our recording ended with the old ftd: only the disk may say go on. */
static void cannot_go_on(struct pair *p, const char *why)
{
	pair_set_state(p, PS_PRIMARY, "ftd restarted: pair %016" PRIx64 " cannot go on: %s",
		       p->pair_id, why);
	failover_arbitrate(p, "ftd restarted and the VM's recording ended");
}

/* The disk's answer to a restarted primary. */
static void disk_said(void *arg, const struct arbiter_ans *a)
{
	struct pair *p = arg;
	char why[300];

	if (p->state != PS_PRIMARY)
		return;
	if (!a->ret && a->view.gen > p->gen && a->view.owner != conf.host_id) {
		failover_overtaken(p, &a->view);
		return;
	}
	if (!a->ret && (a->view.gen != p->gen || a->view.owner != conf.host_id)) {
		ft_fmt(why, sizeof(why), "the disk says generation %" PRIu64 " belongs to host %u, not generation %" PRIu64 " to this one",
		       a->view.gen, a->view.owner, p->gen);
		failover_arbitrate(p, why);
		return;
	}
	/* A backup that took over would refuse the reconnect: it decides. */
	if (a->ret)
		fevent(p->vm->id, "arbitration-failed", "reading %s: %s; reconnecting all the same",
		       p->disk, a->err);
	pair_reconnect(p);
}

static void check_disk(struct pair *p)
{
	struct arbiter_req r = { .ndisks = 1 };
	struct arbiter_ans e;

	snprintf(r.disks[0], sizeof(r.disks[0]), "%s", p->disk);
	r.host_id = conf.host_id;
	snprintf(r.host, sizeof(r.host), "%s", conf.host_name);
	snprintf(r.vm, sizeof(r.vm), "%s", p->vm->ident);
	r.timeout_ms = conf.arb_timeout_ms;
	if (arbiter_start(&p->arb, &r, disk_said, p, &e))
		disk_said(p, &e);
}

/*
 * LOG_OPEN(RESUME): the first record read is acked + 1. The old reader
 * may still be open for a moment (a process that inherited it): retry.
 */
static void resume_primary(void *arg)
{
	struct vm_log lo = {
		.flags = KVMFT_LOG_READ | KVMFT_LOG_KEEP | KVMFT_LOG_RESUME,
	};
	struct pair *p = arg;
	char err[300];

	if (p->state != PS_PRIMARY || p->restarted)
		return;
	lo.session = p->session;
	if (p->vm->ops->log_open(p->vm, &lo, err, sizeof(err)) < 0) {
		if (lo.err == EBUSY && strstr(lo.reason, "has a reader") &&
		    ft_now_ms() - p->resume_start_ms < RESUME_MS) {
			timer_arm_in(&p->resume_timer, RESUME_RETRY_MS);
			return;
		}
		cannot_go_on(p, err);
		return;
	}
	p->restarted = true;
	p->resuming = true;
	p->sent = p->acked = lo.acked;
	p->hb_rx_ms = ft_now_ms();
	ship_start(p);
	hb_start(p);
	pair_save(p);
	pair_set_state(p, PS_PRIMARY, "ftd restarted: took up session %016" PRIx64 " again (acked %" PRIu64 ", recorded %" PRIu64 "); asking %s for generation %" PRIu64 ", then %s",
		       p->session, lo.acked, lo.recorded, p->disk, p->gen, p->peer_name);
	check_disk(p);
}

static void restore(struct ftd_vm *vm, const struct saved *s)
{
	struct vm_log lo = { .flags = KVMFT_LOG_WRITE, .session = s->session };
	char err[300];
	struct pair *p = pair_restored(vm, s->primary, s->pair_id);

	if (!p)
		return;
	fill(p, s);
	pair_set_hb(p, s->peer, s->port);
	timer_init(&p->resume_timer, resume_primary, p);
	if (s->primary && vm->role == KVMFT_ROLE_PRIMARY && vm->session == s->session) {
		pair_set_state(p, PS_PRIMARY, "ftd restarted: taking up session %016" PRIx64 " again",
			       p->session);
		p->resume_start_ms = ft_now_ms();
		resume_primary(p);
		return;
	}
	if (s->primary || vm->role != KVMFT_ROLE_BACKUP || vm->session != s->session) {
		cannot_go_on(p, "the VM's recording ended");
		return;
	}
	if (vm->ops->log_open(vm, &lo, err, sizeof(err)) < 0) {
		pair_set_state(p, PS_BACKUP, "ftd restarted, but the log cannot be taken again: %s", err);
		failover_arbitrate(p, "the backup's log cannot be taken again");
		return;
	}
	/* The module's count of records received, where it says it. */
	p->held = lo.recorded ? lo.recorded : vm->log_seq;
	pair_resume_backup(p);
	pair_set_state(p, PS_BACKUP, "ftd restarted: backup of %s again from record %" PRIu64
		       ", waiting for the primary to reconnect", p->peer_name, p->held + 1);
}

void pair_state_vm(struct ftd_vm *vm)
{
	for (struct saved **pp = &saved; *pp; pp = &(*pp)->next) {
		struct saved *s = *pp;

		if (vm->pair || vm->gone || s->vm_id != vm->id || s->vm_pid != vm->pid ||
		    strcmp(s->ident, vm->ident))
			continue;
		*pp = s->next;
		restore(vm, s);
		free(s);
		return;
	}
}
