// SPDX-License-Identifier: GPL-2.0
/*
 * ftd: the kvmft daemon, one per host. It follows the module's VMs (or
 * simulated ones), pairs a primary with a backup on another host over
 * the logging channel, ships the log and its acks, sends and watches
 * heartbeats, and before any VM goes live, arbitrates on the shared disk.
 * ftctl talks to it over its control socket. ftd(8), docs/channel.md.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include "ctlsock.h"
#include "ftdlog.h"
#include "pair.h"
#include "util.h"

struct ftd_conf conf;
struct ftp_stats stats_chan, stats_hb;
uint64_t ftd_epoch;
bool ftd_exiting;

#define MAX_SIM 16

struct opts {
	bool foreground, json;
	const char *config;
	const char *sim[MAX_SIM];
	int nsim;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [--foreground] [--json] [--config FILE] [--sim-vm SPEC]...\n\n"
		"Pairs protected VMs with their backups on another host, ships their\n"
		"logs, watches heartbeats and, before any VM goes live, arbitrates on\n"
		"the shared disk. ftctl talks to it (pair, unpair, promote, status).\n\n"
		"  --foreground  stay in the foreground, log to stderr (systemd runs it so)\n"
		"  --json        log JSON objects, one per line\n"
		"  --config FILE the configuration (default %s; without it,\n"
		"                and without a key_file in it, pairing is off)\n"
		"  --sim-vm SPEC a simulated VM instead of the module's, for tests:\n"
		"                IDENTITY[,rate=N][,replay=N][,mac=XX:XX:XX:XX:XX:XX]\n"
		"                [,keep=0][,state=FILE]\n"
		"  --help        show this message\n", ft_prog, FTD_CONF_PATH);
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

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "sim-vm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 's':
			if (o->nsim == MAX_SIM) {
				ft_msg("at most %d --sim-vm", MAX_SIM);
				return FT_EXIT_USAGE;
			}
			o->sim[o->nsim++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
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
	return 0;
}

static int configure(const struct opts *o)
{
	char err[600];

	conf_defaults(&conf);
	if (conf_load(&conf, o->config ? o->config : FTD_CONF_PATH, o->config != NULL,
		      err, sizeof(err))) {
		ft_msg("%s", err);
		return FT_EXIT_INPUT;
	}
	if (conf.key_file[0] && conf_load_key(&conf, err, sizeof(err))) {
		ft_msg("%s", err);
		return FT_EXIT_ENV;
	}
	chan_local = (struct chan_local){
		.psk = conf.psk, .host = conf.host_name, .host_id = conf.host_id,
		.proto_min = FTP_PROTO_MIN, .proto_max = FTP_PROTO_MAX,
		.stats = &stats_chan,
	};
	/* A test hook: speak another protocol version, to be refused. */
	if (getenv("FTD_TEST_PROTO"))
		chan_local.proto_min = chan_local.proto_max = atoi(getenv("FTD_TEST_PROTO"));
	return 0;
}

static int backends(const struct opts *o)
{
	char err[300];
	int ret;

	for (int i = 0; i < o->nsim; i++)
		if (vm_sim_add(o->sim[i], err, sizeof(err))) {
			ft_msg("%s", err);
			return FT_EXIT_USAGE;
		}
	if (o->nsim)
		return 0;
	ret = vm_kvmft_start(err, sizeof(err));
	chan_local.module_version = ftd_module_version;
	return ret;
}

static void on_signal(void *arg, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)arg, (void)revents;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		flog(LOG_INFO, "SIG%s received; exiting", sigabbrev_np(si.ssi_signo));
		loop_stop(FT_EXIT_OK);
	}
}

static int signals(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -1;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -1 : loop_add(fd, POLLIN, on_signal, NULL);
}

/* Sockets, then the background: errors so far reach the caller. */
static int start(const struct opts *o)
{
	char err[300];

	if (ctl_start(conf.socket, err, sizeof(err))) {
		ft_msg("%s", err);
		return FT_EXIT_ENV;
	}
	if (conf.have_key && net_start(err, sizeof(err))) {
		ft_msg("%s", err);
		return FT_EXIT_ENV;
	}
	if (signals()) {
		ft_err("signals", errno, NULL);
		return FT_EXIT_ENV;
	}
	if (!o->foreground && daemon(0, 0)) {
		ft_err("daemon", errno, NULL);
		return FT_EXIT_ENV;
	}
	if (!o->foreground)
		openlog("ftd", LOG_PID, LOG_DAEMON);
	flog_init(o->json, !o->foreground, o->foreground && stderr_is_journal());
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct timespec ts;
	int ret;

	ft_prog = "ftd";
	ret = parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? FT_EXIT_OK : ret;
	ret = configure(&o);
	if (!ret)
		pair_state_load();
	if (!ret)
		ret = backends(&o);
	if (!ret)
		ret = start(&o);
	if (ret)
		return ret;
	clock_gettime(CLOCK_REALTIME, &ts);
	ftd_epoch = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	flog(LOG_INFO, "ftd started (pid %d), host %s, host_id %u, %s; %s", (int)getpid(),
	     conf.host_name, conf.host_id, o.nsim ? "simulated VMs" : "kvmft module",
	     conf.have_key ? "pairing on" : "pairing off: no key_file configured");
	ret = loop_run();
	ftd_exiting = true;
	while (pairs)
		pair_free(pairs);
	ctl_stop();
	vm_kvmft_stop();
	return ret;
}
