// SPDX-License-Identifier: GPL-2.0
/* ftd's side of the control socket (ctlsock.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctlsock.h"
#include "ftdlog.h"
#include "pair.h"
#include "util.h"
#include "vm.h"

static int lfd = -1;
static char sock_path[108];
static struct ctl_client *clients;

void pstatus_render(FILE *f, const struct ftd_vm *only, bool json);

static void client_free(struct ctl_client *c)
{
	for (struct ctl_client **pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->pair && c->pair->waiter == c)
		c->pair->waiter = NULL;
	loop_del(c->fd);
	close(c->fd);
	free(c);
}

void ctl_reply_body(struct ctl_client *c, int code, const char *msg,
		    const char *body)
{
	size_t mlen = strlen(msg), blen = body ? strlen(body) : 0;
	char *buf = malloc(mlen + blen + 16);

	if (buf) {
		int n = sprintf(buf, "%d %s\n", code, msg);

		memcpy(buf + n, body ? body : "", blen);
		send(c->fd, buf, n + blen > CTL_MSG_MAX ? CTL_MSG_MAX : n + blen,
		     MSG_DONTWAIT | MSG_NOSIGNAL);
		free(buf);
	}
	if (!c->events)
		client_free(c);
}

void ctl_reply(struct ctl_client *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_reply_body(c, code, msg, NULL);
}

static void send_event(struct ctl_client *c, const char *line)
{
	if (send(c->fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    errno != EAGAIN)
		client_free(c);
}

static void broadcast(const char *json, const char *text)
{
	struct ctl_client *c, *next;

	for (c = clients; c; c = next) {
		next = c->next;
		if (c->events)
			send_event(c, c->json ? json : text);
	}
}

/* A new listener first gets every VM as it is now. */
static void subscribe(struct ctl_client *c, bool json)
{
	char msg[600], *line;

	c->events = true;
	c->json = json;
	ctl_reply(c, FT_EXIT_OK, "subscribed");
	for (struct ftd_vm *v = ftd_vms; v; v = v->next) {
		const struct pair *p = v->pair;

		ft_fmt(msg, sizeof(msg), "'%s' (%s), role %s%s%s%s%s", v->ident, v->ops->name,
		       ftvm_role_name(v->role), v->gone ? ", stopped" : "",
		       p ? ", pair " : "", p ? pair_state_name(p->state) : "",
		       p ? (p->primary ? " (primary side)" : " (backup side)") : "");
		line = fevent_line(v->id, "exists", msg, json);
		if (line)
			send_event(c, line);
		free(line);
	}
}

/* "key=value" among the words; NULL if absent. */
static const char *arg(char **w, int n, const char *key)
{
	size_t k = strlen(key);

	for (int i = 1; i < n; i++)
		if (!strncmp(w[i], key, k) && w[i][k] == '=')
			return w[i] + k + 1;
	return NULL;
}

static void status(struct ctl_client *c, const struct ftd_vm *vm, bool json)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);

	if (!f) {
		ctl_reply(c, FT_EXIT_ENV, "out of memory");
		return;
	}
	pstatus_render(f, vm, json);
	fclose(f);
	ctl_reply_body(c, FT_EXIT_OK, "ok", body);
	free(body);
}

static bool privileged(int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) && cr.uid == 0;
}

static void request(struct ctl_client *c, char **w, int n)
{
	const char *vmarg = arg(w, n, "vm");
	struct ftd_vm *vm = NULL;
	uint32_t id;

	if (vmarg && (!ft_parse_u32(vmarg, &id) || !(vm = vm_find(id)))) {
		ctl_reply(c, FT_EXIT_REFUSED, "no VM with id %s on this host", vmarg);
		return;
	}
	if (!strcmp(w[0], "ping")) {
		ctl_reply(c, FT_EXIT_OK, "ftd %d", (int)getpid());
	} else if (!strcmp(w[0], "status")) {
		status(c, vm, arg(w, n, "json") != NULL);
	} else if (!strcmp(w[0], "events")) {
		subscribe(c, arg(w, n, "json") != NULL);
	} else if (strcmp(w[0], "pair") && strcmp(w[0], "unpair") && strcmp(w[0], "promote") &&
		   strcmp(w[0], "reconnect")) {
		ctl_reply(c, FT_EXIT_USAGE, "unknown request '%s'", w[0]);
	} else if (!privileged(c->fd)) {
		ctl_reply(c, FT_EXIT_ENV, "%s needs root", w[0]);
	} else if (!vm) {
		ctl_reply(c, FT_EXIT_USAGE, "%s needs vm=ID", w[0]);
	} else if (!strcmp(w[0], "pair")) {
		if (arg(w, n, "peer"))
			pair_cmd_pair(c, vm, arg(w, n, "peer"));
		else
			ctl_reply(c, FT_EXIT_USAGE, "pair needs peer=HOST[:PORT]");
	} else if (!strcmp(w[0], "unpair")) {
		pair_cmd_unpair(c, vm);
	} else if (!strcmp(w[0], "reconnect")) {
		pair_cmd_reconnect(c, vm);
	} else {
		pair_cmd_promote(c, vm);
	}
}

static void on_client(void *arg, int fd, short revents)
{
	struct ctl_client *c = arg;
	char buf[1024], *w[16], *save = NULL;
	ssize_t len;
	int n = 0;

	(void)revents;
	len = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (len < 0 && errno == EAGAIN)
		return;
	if (len <= 0 || c->events) {	/* gone; subscribers say nothing more */
		client_free(c);
		return;
	}
	buf[len] = '\0';
	for (char *t = strtok_r(buf, " \n", &save); t && n < 16; t = strtok_r(NULL, " \n", &save))
		w[n++] = t;
	if (!n)
		ctl_reply(c, FT_EXIT_USAGE, "empty request");
	else
		request(c, w, n);
}

static void on_accept(void *arg, int fd, short revents)
{
	struct ctl_client *c;
	int cfd;

	(void)arg, (void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c || loop_add(cfd, POLLIN, on_client, c)) {
		free(c);
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->next = clients;
	clients = c;
}

/* A socket file left by an ftd that died is removed; a live one is not. */
static int take_path(const struct sockaddr_un *sa, char *err, size_t len)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));

	close(fd);
	if (!ret)
		return snprintf(err, len, "another ftd is running (it answers on %s)", sa->sun_path), -1;
	if (errno == ECONNREFUSED)
		unlink(sa->sun_path);
	return 0;
}

int ctl_start(const char *path, char *err, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[108], *slash;

	if (strlen(path) >= sizeof(sa.sun_path))
		return snprintf(err, len, "control_socket path too long"), -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	if (take_path(&sa, err, len))
		return -1;
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(lfd, 16)) {
		snprintf(err, len, "control socket %s: %s", path, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s", path);
	fevent_sink = broadcast;
	return loop_add(lfd, POLLIN, on_accept, NULL);
}

void ctl_stop(void)
{
	while (clients)
		client_free(clients);
	if (lfd >= 0) {
		close(lfd);
		unlink(sock_path);
	}
	fevent_sink = NULL;
}
