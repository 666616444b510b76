// SPDX-License-Identifier: GPL-2.0
/*
 * ftd: the kvmft daemon. For now it only listens: it joins the events
 * group, dumps the attached VMs and logs every event until SIGTERM. It is
 * the seed of the pairing daemon (logging channel, heartbeats,
 * arbitration, promotion), none of which exists yet.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "events.h"
#include "json.h"
#include "util.h"

static struct {
	bool json;
	bool use_syslog;	/* in the background: no stderr to write to */
	bool journal;		/* stderr is the journal: prefix <priority> */
} cfg;

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--foreground] [--json]\n\n"
		"Listens to the kvmft module and logs every VM event.\n"
		"Pairing is not yet implemented: no log shipping, heartbeats,\n"
		"arbitration or promotion.\n\n"
		"  --foreground  stay in the foreground, log to stderr (systemd runs it so)\n"
		"  --json        log JSON objects, one per line\n"
		"  --help        show this message\n", ft_prog);
}

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it gave us. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(STDERR_FILENO, &st) && st.st_dev == dev &&
	       st.st_ino == ino;
}

static void timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(buf + n, len - n, ".%03ld", (long)tv.tv_usec / 1000);
	strftime(buf + n, len - n, "%z", &tm);
}

/* Writes one finished line (no newline) where logs go. */
static void emit(int prio, const char *line)
{
	if (cfg.use_syslog)
		syslog(prio, "%s", line);
	else if (cfg.journal)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else
		fprintf(stderr, "%s\n", line);
}

static void logf_(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(int prio, const char *fmt, ...)
{
	char ts[48], msg[512], *line = NULL;
	size_t len = 0;
	struct json j;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	timestamp(ts, sizeof(ts));
	f = open_memstream(&line, &len);
	if (!f)
		return;
	if (cfg.json) {
		json_init(&j, f);
		json_obj_begin(&j, NULL);
		json_str(&j, "time", ts);
		json_str(&j, "level", prio <= LOG_ERR ? "error" :
			 prio == LOG_WARNING ? "warning" : "info");
		json_str(&j, "msg", msg);
		json_obj_end(&j);
	} else {
		fprintf(f, "%s %s\n", ts, msg);
	}
	fclose(f);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	emit(prio, line);
	free(line);
}

static int log_event(const struct ftvm *vm, void *arg)
{
	char ts[48], *line = NULL;
	size_t len = 0;
	struct json j;
	FILE *f;

	(void)arg;
	timestamp(ts, sizeof(ts));
	f = open_memstream(&line, &len);
	if (!f)
		return 0;
	if (cfg.json) {
		/* The VM object, with the time in front. */
		json_init(&j, f);
		json_obj_begin(&j, NULL);
		json_str(&j, "time", ts);
		ftvm_json(&j, "vm", vm, true);
		json_obj_end(&j);
	} else {
		fprintf(f, "%s ", ts);
		ftvm_line(f, vm, false);
	}
	fclose(f);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	emit(vm->event == KVMFT_EVENT_EXISTS ? LOG_INFO : LOG_NOTICE, line);
	free(line);
	return 0;
}

static void lost(void *arg)
{
	(void)arg;
	logf_(LOG_WARNING, "events lost (receive buffer overran); dumping the state again");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static const struct ftev_ops ops = { .event = log_event, .lost = lost };
	bool foreground = false;
	struct ftnl nl;
	int c, ret, signo;

	ft_prog = "ftd";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'j':
			cfg.json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option(NULL, c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ft_msg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return FT_EXIT_USAGE;
	}

	/* Before daemonizing, so that "module not loaded" reaches the caller. */
	ret = ft_nl_connect(&nl, true);
	if (ret)
		return ret;
	cfg.journal = foreground && stderr_is_journal();
	if (!foreground) {
		if (daemon(0, 0)) {
			ft_err("daemon", errno, NULL);
			return FT_EXIT_ENV;
		}
		openlog("ftd", LOG_PID, LOG_DAEMON);
		cfg.use_syslog = true;
	}
	signal(SIGPIPE, SIG_IGN);
	logf_(LOG_INFO, "ftd started (pid %d); logging kvmft events; pairing not yet implemented",
	      (int)getpid());

	ret = ftev_run(&nl, &ops, NULL, -1, &signo);
	ftnl_close(&nl);
	switch (ret) {
	case FTEV_SIGNAL:
		logf_(LOG_INFO, "SIG%s received; exiting", sigabbrev_np(signo));
		return FT_EXIT_OK;
	case FTEV_GONE:
		logf_(LOG_ERR, "the kvmft module was unloaded; exiting");
		return FT_EXIT_ENV;
	}
	logf_(LOG_ERR, "events: %s (%s)",
	      nl.ext_msg[0] ? nl.ext_msg : strerror(-ret),
	      ft_errno_name(-ret));
	return FT_EXIT_KERNEL;
}
