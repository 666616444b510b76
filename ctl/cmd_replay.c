// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl replay: check a log file whole, then make the VM backup, replaying
 * the session in the file's header, and write the records to it. Nothing
 * reaches the module unless every record passed, so a bad file never
 * leaves a VM half-fed.
 *
 * A backup never goes live on its own: at the end of the file its vCPU
 * waits for promotion. --go-live-at-end promotes it once every record is
 * written (tests and debugging; a pair's controller promotes only after
 * arbitration).
 *
 * --in - reads a stream (`ftctl record --out - | ftctl replay --in -`): the
 * backup follows the primary live. A stream cannot be checked whole first,
 * so each record is checked as it comes; at a bad one feeding stops, and
 * the backup waits where it is, as at the end of a file.
 *
 * --acks FILE writes, after each record the module took, its sequence
 * number and a newline to FILE (a FIFO that `ftctl record --acks` reads):
 * the backup holds the log up to there, so the primary's held packets up
 * to there may leave (docs/output-rule.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ftctl.h"
#include "logrec.h"
#include "nl.h"

static int ack_fd = -1;		/* --acks */

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s replay --vm ID --in FILE|- [--go-live-at-end] [--acks FILE]\n",
		ft_prog);
}

/* The backup holds the log up to @seq: say so. A reader gone stops it. */
static void ack(uint64_t seq)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq);

	if (ack_fd < 0)
		return;
	if (write(ack_fd, line, len) != len) {
		ft_err("replay: acks", errno, "no more acks are sent");
		close(ack_fd);
		ack_fd = -1;
	}
}

static int bad_file(const char *file, const struct ftlog_reader *r)
{
	ft_msg("replay: %s: %s", file, r->err);
	return FT_EXIT_INPUT;
}

/* Every record, checked; the number of them in *nrec, the session too. */
static int check_file(const char *in, uint64_t *nrec, uint64_t *session)
{
	struct ftlog_reader r;
	int ret;

	if (ftlog_reader_open(&r, in))
		return bad_file(in, &r);
	while ((ret = ftlog_reader_next(&r)) > 0)
		;
	*nrec = r.nrec;
	*session = r.session;
	ftlog_reader_close(&r);
	return ret < 0 ? bad_file(in, &r) : 0;
}

/* A write() carries no text: give the contract's meanings. */
static const char *write_error(int err)
{
	if (err == EBADMSG)
		return "the module refused it as corrupt, out of order or of another session";
	if (err == EMSGSIZE)
		return "the module saw it truncated";
	if (err == EPIPE)
		return "the VM is gone, was promoted, or diverged from the log (ftctl status)";
	return NULL;
}

/* PROMOTE: the backup replays what it holds, then runs live. */
static int promote(uint32_t vm)
{
	struct nl_msg *msg;
	struct ftnl nl;
	int ret;

	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_PROMOTE, 0);
	if (!msg || nla_put_u32(msg, KVMFT_A_VM_ID, vm) < 0) {
		nlmsg_free(msg);
		ret = -ENOMEM;
	} else {
		ret = ftnl_request(&nl, msg, NULL, NULL);
	}
	if (ret < 0) {
		ft_err("replay: promote", -ret, nl.ext_msg);
		ret = FT_EXIT_KERNEL;
	}
	ftnl_close(&nl);
	return ret;
}

/* Writes every record @r gives to the log @fd; @r is closed after. */
static int feed_reader(int fd, const char *in, struct ftlog_reader *r,
		       uint64_t *nrec)
{
	char op[64];
	size_t len;
	ssize_t n;
	int ret;

	while ((ret = ftlog_reader_next(r)) > 0) {
		len = sizeof(r->rec.hdr) + r->rec.hdr.len;
		do
			n = write(fd, r->rec.buf, len);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)len) {
			ack(r->rec.hdr.seq);
			continue;
		}
		snprintf(op, sizeof(op), "replay: record %" PRIu64, r->nrec);
		if (n < 0)
			ft_err(op, errno, write_error(errno));
		else
			ft_msg("%s: the module took %zd of %zu bytes", op, n,
			       len);
		ftlog_reader_close(r);
		return FT_EXIT_KERNEL;
	}
	*nrec = r->nrec;
	ftlog_reader_close(r);
	/* A file that changed since it was checked; a bad record in a stream. */
	return ret < 0 ? bad_file(in, r) : 0;
}

static int feed(int fd, const char *in, uint64_t session, uint64_t *nrec)
{
	struct ftlog_reader r;

	if (ftlog_reader_open(&r, in))
		return bad_file(in, &r);
	if (r.session != session) {
		ft_msg("replay: %s: the file changed since it was checked (session %016" PRIx64 ", was %016" PRIx64 ")",
		       in, r.session, session);
		ftlog_reader_close(&r);
		return FT_EXIT_INPUT;
	}
	return feed_reader(fd, in, &r, nrec);
}

static int replay(uint32_t vm, const char *in, bool go_live)
{
	bool stream = !strcmp(in, "-");
	uint64_t nrec = 0, checked, session;
	struct ftlog_reader r;
	struct ft_log_err le;
	char op[48];
	int fd, ret;

	if (stream) {
		/* The header only: the records come as the primary runs. */
		in = "standard input";
		if (ftlog_reader_fdopen(&r, fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC,
						  0)))
			return bad_file(in, &r);
		session = r.session;
	} else {
		ret = check_file(in, &checked, &session);
		if (ret)
			return ret;
	}
	/* The module takes only records whose CRC has this session. */
	fd = ft_log_open(vm, KVMFT_LOG_WRITE, &session, &le);
	if (fd < 0) {
		if (stream)
			ftlog_reader_close(&r);
		snprintf(op, sizeof(op), "cannot replay into VM %" PRIu32, vm);
		return ft_log_open_failed(op, &le);
	}
	ret = stream ? feed_reader(fd, in, &r, &nrec) :
		       feed(fd, in, session, &nrec);
	if (!ret && go_live)
		ret = promote(vm);
	/* The backup keeps its role: it waits at the end of the log. */
	if (close(fd) && !ret) {
		ft_err("replay: close log", errno, NULL);
		ret = FT_EXIT_KERNEL;
	}
	if (ret)
		return ret;
	printf("%" PRIu64 " records written to vm %" PRIu32
	       ", session %016" PRIx64 "\n", nrec, vm, session);
	if (go_live)
		printf("vm %" PRIu32 " promoted: it goes live after record %" PRIu64 "\n",
		       vm, nrec);
	else
		printf("vm %" PRIu32 " stays a backup: it waits after record %" PRIu64
		       " (ftctl promote, or detach, lets it go on)\n", vm, nrec);
	return 0;
}

int replay_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "in", required_argument, NULL, 'i' },
		{ "go-live-at-end", no_argument, NULL, 'g' },
		{ "acks", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *in = NULL, *acks = NULL;
	bool have_id = false, go_live = false;
	uint32_t id = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			if (!ft_parse_vm_id("replay", optarg, &id))
				return FT_EXIT_USAGE;
			have_id = true;
			break;
		case 'i':
			in = optarg;
			break;
		case 'g':
			go_live = true;
			break;
		case 'a':
			acks = optarg;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("replay", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !have_id || !in) {
		if (optind < argc)
			ft_msg("replay: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("replay: --vm and --in are required");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	if (acks) {
		/* A FIFO's open waits for its reader, `ftctl record --acks`. */
		ack_fd = open(acks, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);
		if (ack_fd < 0) {
			ft_err("replay: open acks", errno, acks);
			return FT_EXIT_ENV;
		}
		signal(SIGPIPE, SIG_IGN);
	}
	c = replay(id, in, go_live);
	if (ack_fd >= 0)
		close(ack_fd);
	return c;
}
