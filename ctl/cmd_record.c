// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl record: make a VM primary and copy its log to a file until the VM
 * goes away (read() returns 0) or SIGINT/SIGTERM; either way the file ends
 * on a whole record and is fsynced. The file header carries the session
 * LOG_OPEN started, which every record's CRC includes.
 *
 * --out - streams to standard output, each batch flushed as it is read,
 * for a backup following live (`... | ftctl replay --vm B --in -`); the
 * summary then goes to standard error.
 *
 * --acks FILE reads the backup's acks, one log position per line (a FIFO
 * that `ftctl replay --acks` writes), and passes each to the module on the
 * log fd (KVMFT_IOC_LOG_ACK): the primary's held packets up to there
 * leave (docs/output-rule.md).
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>
#include <unistd.h>

#include "ftctl.h"
#include "logrec.h"

#define READ_BUF	(64 * 1024)

static volatile sig_atomic_t stop_signal;
static int log_fd = -1, null_fd = -1;

/* --acks: the backup's positions, a line each. */
static struct {
	int fd;
	size_t len;
	char buf[256];
	uint64_t acked;
} acks = { .fd = -1 };

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s record --vm ID --out FILE|- [--acks FILE]\n",
		ft_prog);
}

/*
 * Read what the acks file has, pass the highest position on. The writer
 * gone (EOF) ends acking; the module's refusals are reported, not fatal:
 * the log matters more than the packets.
 */
static void take_acks(void)
{
	uint64_t best = acks.acked, v;
	char *nl, *end;
	ssize_t n;

	n = read(acks.fd, acks.buf + acks.len, sizeof(acks.buf) - 1 - acks.len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(acks.fd);
		acks.fd = -1;
		return;
	}
	acks.len += n;
	acks.buf[acks.len] = '\0';
	while ((nl = strchr(acks.buf, '\n'))) {
		*nl = '\0';
		errno = 0;
		v = strtoull(acks.buf, &end, 10);
		if (!errno && end != acks.buf && !*end && v > best)
			best = v;
		acks.len -= nl + 1 - acks.buf;
		memmove(acks.buf, nl + 1, acks.len + 1);
	}
	if (acks.len == sizeof(acks.buf) - 1)
		acks.len = 0;	/* no line is this long: junk */
	if (best == acks.acked)
		return;
	if (ioctl(log_fd, KVMFT_IOC_LOG_ACK, &best) && !stop_signal)
		ft_err("record: ack", errno, NULL);
	else
		acks.acked = best;
}

/* Wait for the log (and acks); false if the log is not readable yet. */
static bool wait_log(void)
{
	struct pollfd p[2] = {
		{ .fd = log_fd, .events = POLLIN },
		{ .fd = acks.fd, .events = POLLIN },
	};

	if (acks.fd < 0)
		return true;	/* read() blocks */
	if (poll(p, 2, -1) < 0)
		return false;
	if (p[1].revents)
		take_acks();
	return p[0].revents != 0;
}

/*
 * A signal that lands between the check of stop_signal and read() would
 * leave read() blocked until the next record. Pointing log_fd at /dev/null
 * closes the log (recording ends) and makes that read() return 0 at once.
 */
static void on_signal(int sig)
{
	int saved = errno;

	stop_signal = sig;
	dup2(null_fd, log_fd);
	errno = saved;
}

static int cannot(const char *file, const char *what)
{
	int err = errno;
	char why[300];

	snprintf(why, sizeof(why), "%s %s: %s", what, file, strerror(err));
	ft_err("record", err, why);
	return FT_EXIT_ENV;
}

static void progress(const struct ftlog_writer *w, bool done)
{
	static uint64_t last;
	uint64_t now = ft_now_ms();

	if (!done && now - last < 200)
		return;
	last = now;
	fprintf(stderr, "\r%" PRIu64 " records, %" PRIu64 " KiB%s",
		w->nrec, w->bytes / 1024, done ? "\033[K\n" : "\033[K");
}

/* Appends every record in buf[0..n); 0, or an exit code after saying why. */
static int take(struct ftlog_writer *w, const unsigned char *buf, size_t n)
{
	struct ftlog_err e;
	size_t off = 0, len;

	while (off < n) {
		len = ftlog_check(buf + off, n - off, w->session, w->nrec + 1,
				  &e);
		if (!len) {
			ft_msg("record: record %" PRIu64 " from the kernel is bad: %s",
			       w->nrec + 1, e.msg);
			return FT_EXIT_KERNEL;
		}
		if (ftlog_writer_add(w, buf + off, len)) {
			ft_err("record: write", errno, NULL);
			return FT_EXIT_ENV;
		}
		off += len;
	}
	return 0;
}

static int copy_log(struct ftlog_writer *w)
{
	static unsigned char buf[READ_BUF] __attribute__((aligned(8)));
	bool tty = isatty(STDERR_FILENO);
	ssize_t n;
	int ret;

	for (;;) {
		if (stop_signal)
			return 0;
		if (!wait_log())
			continue;
		n = read(log_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ft_err("record: read log", errno, NULL);
			return FT_EXIT_KERNEL;
		}
		if (!n)
			return 0;
		ret = take(w, buf, n);
		if (!ret && w->stream && fflush(w->f)) {
			ft_err("record: write", errno, NULL);
			ret = FT_EXIT_ENV;
		}
		if (ret)
			return ret;
		if (tty)
			progress(w, false);
	}
}

static int record(uint32_t vm, const char *out)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ftlog_writer w;
	struct ft_log_err le;
	uint64_t session = 0;
	bool created;
	char op[48];
	int ret, fd;

	stop_signal = 0;
	/*
	 * The file first, so a bad path does not leave the VM primary; but
	 * an existing file is only truncated once the log is open.
	 */
	if (!strcmp(out, "-")) {
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
		created = false;
	} else {
		fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		created = fd >= 0;
		if (fd < 0 && errno == EEXIST)
			fd = open(out, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return cannot(out, "cannot create");
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0) {
		ft_err("record: open /dev/null", errno, NULL);
		ret = FT_EXIT_ENV;
	} else {
		log_fd = ft_log_open(vm, KVMFT_LOG_READ, &session, &le);
		snprintf(op, sizeof(op), "cannot record VM %" PRIu32, vm);
		ret = log_fd < 0 ? ft_log_open_failed(op, &le) : 0;
		if (!ret && !session) {
			ft_msg("%s: the module gave session 0, which no log file may carry",
			       op);
			close(log_fd);
			ret = FT_EXIT_KERNEL;
		}
	}
	if (ret) {
		if (null_fd >= 0)
			close(null_fd);
		log_fd = -1;
		close(fd);
		if (created)
			unlink(out);
		return ret;
	}
	if (ftlog_writer_fdopen(&w, fd, session)) {
		close(log_fd);
		close(null_fd);
		return cannot(out, "cannot write");
	}
	w.stream = !strcmp(out, "-");
	if (w.stream && fflush(w.f)) {	/* the header, for the reader */
		close(log_fd);
		close(null_fd);
		ftlog_writer_close(&w);
		return cannot(out, "cannot write");
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART: read() must end */
	sigaction(SIGTERM, &sa, NULL);

	ret = copy_log(&w);

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	close(log_fd);
	close(null_fd);
	if (isatty(STDERR_FILENO))
		progress(&w, true);
	if (ftlog_writer_close(&w))
		return cannot(out, "cannot write");
	fprintf(w.stream ? stderr : stdout,
		"%" PRIu64 " records written to %s, session %016" PRIx64 "%s\n",
	       w.nrec, w.stream ? "standard output" : out, session,
	       stop_signal ? " (stopped by signal)" :
	       ret ? " (stopped by an error)" : "");
	return ret;
}

int record_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ "acks", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *out = NULL;
	bool have_id = false;
	uint32_t id = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("record", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'a':
			/* Not waiting for a FIFO's writer: replay may start later. */
			acks.fd = open(optarg, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (acks.fd < 0)
				return cannot(optarg, "cannot open");
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("record", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id || !out) {
		if (optind < argc)
			ft_msg("record: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("record: --vm and --out are required");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	return record(id, out);
}
