// SPDX-License-Identifier: GPL-2.0
/* ftctl's side of ftd's control socket (ctlsock.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config.h"
#include "ctlsock.h"
#include "util.h"

const char *ctl_socket_path(void)
{
	const char *p = getenv("FTD_SOCKET");

	return p && *p ? p : FTD_SOCK_PATH;
}

static int connect_ftd(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_socket_path());
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

bool ctl_ftd_running(void)
{
	int fd = connect_ftd();

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int ctl_open(const char *req, int *exit)
{
	const char *path = ctl_socket_path();
	int fd = connect_ftd();

	if (fd < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			ft_msg("ftd is not running (nothing answers on %s); start it (systemctl start ftd)", path);
		else
			ft_err("connect to ftd", errno, NULL);
		*exit = FT_EXIT_ENV;
		return -1;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		ft_err("send to ftd", errno, NULL);
		close(fd);
		*exit = FT_EXIT_ENV;
		return -1;
	}
	return fd;
}

static int parse_answer(char *buf, struct ctl_answer *a)
{
	char *nl = strchr(buf, '\n'), *sp;

	a->buf = buf;
	if (!nl)
		return -1;
	*nl = '\0';
	a->code = strtol(buf, &sp, 10);
	if (sp == buf || (*sp && *sp != ' '))
		return -1;
	a->msg = *sp ? sp + 1 : sp;
	a->body = nl + 1;
	return 0;
}

int ctl_call(const char *req, int timeout_ms, struct ctl_answer *a, int *exit)
{
	int fd = ctl_open(req, exit);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char *buf;
	ssize_t n;

	memset(a, 0, sizeof(*a));
	if (fd < 0)
		return -1;
	buf = malloc(CTL_MSG_MAX + 1);
	if (!buf || poll(&p, 1, timeout_ms) <= 0 ||
	    (n = recv(fd, buf, CTL_MSG_MAX, 0)) <= 0) {
		ft_msg("ftd did not answer%s", buf ? " in time" : "");
		free(buf);
		close(fd);
		*exit = FT_EXIT_ENV;
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	if (parse_answer(buf, a)) {
		ft_msg("ftd's answer is malformed");
		free(buf);
		*exit = FT_EXIT_ENV;
		return -1;
	}
	*exit = a->code;
	return 0;
}

void ctl_answer_free(struct ctl_answer *a)
{
	free(a->buf);
	a->buf = NULL;
}
