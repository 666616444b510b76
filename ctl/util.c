// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvmft.h>

#include "nl.h"
#include "util.h"

const char *ft_prog = "ftctl";

const char *ft_errno_name(int err)
{
	static char buf[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

void ft_err(const char *op, int err, const char *msg)
{
	fprintf(stderr, "%s: %s: %s (%s)\n", ft_prog, op,
		msg && *msg ? msg : strerror(err), ft_errno_name(err));
}

void ft_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ft_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ft_module_missing(void)
{
	ft_msg("kvmft module not loaded (genl family '%s' not found); run 'modprobe kvmft'",
	       KVMFT_GENL_NAME);
}

int ft_nl_connect(struct ftnl *nl, bool events)
{
	int ret = ftnl_open(nl);

	if (ret == -ENOENT && !access("/sys/module/kvmft", F_OK)) {
		/* The family lives in the initial network namespace only. */
		ft_msg("kvmft module is loaded but genl family '%s' is not visible here; run ftctl in the host's network namespace",
		       KVMFT_GENL_NAME);
		return FT_EXIT_ENV;
	}
	if (ret == -ENOENT) {
		ft_module_missing();
		return FT_EXIT_ENV;
	}
	if (ret < 0) {
		ft_err("netlink", -ret, nl->ext_msg);
		return FT_EXIT_ENV;
	}
	if (events) {
		ret = ftnl_join_events(nl);
		if (ret < 0) {
			ft_err("netlink", -ret, nl->ext_msg);
			ftnl_close(nl);
			return FT_EXIT_ENV;
		}
	}
	return 0;
}

int ft_log_open_failed(const char *op, const struct ft_log_err *e)
{
	const char *why = e->reason;
	char buf[200];

	if (e->exit == FT_EXIT_ENV && e->err == ENOENT) {
		ft_msg("%s: /dev/%s not found: kvmft module not loaded; run 'modprobe kvmft'",
		       op, KVMFT_DEVICE_NAME);
		return e->exit;
	}
	if (e->exit == FT_EXIT_ENV) {
		ft_err(op, e->err, NULL);
		return e->exit;
	}
	/* The module gives a reason for all but these; else the contract's. */
	if (!*why) {
		why = buf;
		if (e->err == EPERM)
			snprintf(buf, sizeof(buf), "opening a log needs CAP_SYS_ADMIN");
		else if (e->err == ENOTTY)
			snprintf(buf, sizeof(buf),
				 "the loaded kvmft module does not know LOG_OPEN with sessions; load the module that matches this ftctl");
		else if (e->err == ENOENT)
			snprintf(buf, sizeof(buf), "no attached VM with id %u", e->vm);
		else if (e->err == EBUSY)
			snprintf(buf, sizeof(buf), "VM %u already has a log open", e->vm);
		else if (e->err == EOPNOTSUPP)
			snprintf(buf, sizeof(buf),
				 "VM %u is outside the determinism contract (one vCPU, no in-kernel irqchip or PIT, no SVM in its CPUID, no SEV-ES, kvm_amd as the module was built for)",
				 e->vm);
		else
			why = NULL;
	}
	if (why)
		ft_msg("%s: %s: %s (%s)", op, why, strerror(e->err),
		       ft_errno_name(e->err));
	else
		ft_err(op, e->err, NULL);
	return e->exit;
}

char *ft_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

bool ft_parse_u32(const char *s, uint32_t *v)
{
	unsigned long long n;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n > UINT32_MAX)
		return false;
	*v = n;
	return true;
}

bool ft_parse_vm_id(const char *cmd, const char *s, uint32_t *id)
{
	if (ft_parse_u32(s, id))
		return true;
	ft_msg("%s: bad VM id '%s'", cmd, s);
	return false;
}

bool ft_color(FILE *f)
{
	const char *term = getenv("TERM");
	const char *no = getenv("NO_COLOR");

	if (no && *no)
		return false;
	return isatty(fileno(f)) && term && strcmp(term, "dumb");
}

uint64_t ft_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ft_bad_option(const char *cmd, int opt, char **argv)
{
	const char *arg = argv[optind - 1];
	const char *sep = cmd ? ": " : "";

	if (!cmd)
		cmd = "";
	if (opt == ':')
		ft_msg("%s%soption '%s' needs an argument", cmd, sep, arg);
	else if (optopt && !strncmp(arg, "--", 2))
		ft_msg("%s%soption '%s' takes no argument", cmd, sep, arg);
	else if (optopt)
		ft_msg("%s%sunknown option '-%c'", cmd, sep, optopt);
	else
		ft_msg("%s%sunknown option '%s'", cmd, sep, arg);
}
