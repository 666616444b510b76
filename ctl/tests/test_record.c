// SPDX-License-Identifier: GPL-2.0
/*
 * `ftctl record` and `ftctl replay` end to end, with a pipe or a packet
 * socket standing in for the log fd the module would hand out: this file
 * supplies ft_log_open() in place of logdev.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "ftctl.h"
#include "logrec.h"
#include "tap.h"

/* The session the test's "module" records, and the records carry. */
#define SID 0x5e55107deadbeef1ull

static int log_fd = -1;		/* what ft_log_open() hands out next */
static uint32_t log_flags;
static bool log_opened;
static uint64_t log_session;	/* READ: handed out; WRITE: what came in */
static struct ft_log_err refusal; /* given when log_fd is -1 */

int ft_log_open(uint32_t vm, uint32_t flags, uint64_t *session,
		struct ft_log_err *e)
{
	int fd = log_fd;

	log_flags = flags;
	log_opened = true;
	log_fd = -1;
	if (fd < 0) {
		*e = refusal;
		e->vm = vm;
		return -1;
	}
	if (flags == KVMFT_LOG_READ)
		*session = log_session;
	else
		log_session = *session;
	return fd;
}

static void refuse(int code, int err, const char *reason)
{
	memset(&refusal, 0, sizeof(refusal));
	refusal.exit = code;
	refusal.err = err;
	snprintf(refusal.reason, sizeof(refusal.reason), "%s", reason);
	log_fd = -1;
}

static char out[8192], err[8192];
static char file[] = "/tmp/ftctl-rec-XXXXXX";
static char absent[64];		/* file + ".new", which must not be left */

static void grab(int fd, int saved, int target, char *buf, size_t len)
{
	ssize_t n;

	dup2(saved, target);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Runs a subcommand in this process with its stdout and stderr caught. */
static int call(int (*fn)(int, char **), const char *const argv[])
{
	int o = memfd_create("out", 0), e = memfd_create("err", 0);
	int so = dup(1), se = dup(2), argc = 0, ret;

	while (argv[argc])
		argc++;
	fflush(stdout);
	dup2(o, 1);
	dup2(e, 2);
	optind = 0;		/* a fresh getopt for each call */
	log_opened = false;
	ret = fn(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	grab(o, so, 1, out, sizeof(out));
	grab(e, se, 2, err, sizeof(err));
	return ret;
}

#define CALL(fn, ...) call(fn, (const char *const[]){ __VA_ARGS__, NULL })

static union {
	struct kvmft_rec h;
	unsigned char b[KVMFT_REC_MAX_LEN];
} rec;

/* Record i of a test log of session sid, into rec; its length. */
static size_t nth_of(uint64_t sid, int i)
{
	if (i % 2)
		return ftlog_build_pio(rec.b, sid, i, 0, 0x3f8, 1, 3, "abc");
	return ftlog_build_tsc(rec.b, sid, KVMFT_REC_RDTSC, i, 0, 1000 + i, 0);
}

static size_t nth(int i)
{
	return nth_of(SID, i);
}

/* Appends records from..to of session sid to buf; the bytes used. */
static size_t batch_of(uint64_t sid, unsigned char *buf, int from, int to)
{
	size_t n = 0, len;

	for (int i = from; i <= to; i++) {
		len = nth_of(sid, i);
		memcpy(buf + n, rec.b, len);
		n += len;
	}
	return n;
}

static size_t batch(unsigned char *buf, int from, int to)
{
	return batch_of(SID, buf, from, to);
}

/* The records in the file, all checked; -1 if it is not a valid log. */
static int count_records_session(uint64_t *session)
{
	struct ftlog_reader r;
	int ret;

	if (ftlog_reader_open(&r, file))
		return -1;
	while ((ret = ftlog_reader_next(&r)) > 0)
		;
	ftlog_reader_close(&r);
	if (session)
		*session = r.session;
	return ret < 0 ? -1 : (int)r.nrec;
}

static int count_records(void)
{
	return count_records_session(NULL);
}

/* A child that plays the module's side of a log pipe; see each test. */
static pid_t module(void (*fn)(int fd), int *ours, int type)
{
	int sv[2];
	pid_t pid;

	if (type == SOCK_STREAM ? pipe(sv) : socketpair(AF_UNIX, type, 0, sv))
		return -1;
	pid = fork();
	if (!pid) {
		close(sv[0]);
		fn(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	*ours = sv[0];
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void send_all(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		_exit(1);
}

static void five_then_eof(int fd)
{
	unsigned char buf[1024];

	send_all(fd, buf, batch(buf, 1, 3));	/* three in one read */
	usleep(20000);
	send_all(fd, buf, batch(buf, 4, 4));
	send_all(fd, buf, batch(buf, 5, 5));
}

static void bad_third(int fd)
{
	unsigned char buf[1024];
	size_t n = batch(buf, 1, 3);

	buf[n - 1] ^= 1;
	send_all(fd, buf, n);
}

/* Records of a session other than the one LOG_OPEN returned. */
static void other_session(int fd)
{
	unsigned char buf[1024];

	send_all(fd, buf, batch_of(SID + 1, buf, 1, 2));
}

static void half_record(int fd)
{
	unsigned char buf[1024];

	send_all(fd, buf, batch(buf, 1, 2) - 5);
}

/* Whether the parent (record_main) has its SIGINT handler in place yet. */
static bool parent_catches_sigint(void)
{
	unsigned long long mask = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)getppid());
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigCgt: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ULL << (SIGINT - 1));
}

static void two_then_sigint(int fd)
{
	unsigned char buf[1024];
	int i;

	send_all(fd, buf, batch(buf, 1, 2));
	/* Before the handler, SIGINT would kill the whole test program. */
	for (i = 0; i < 1000 && !parent_catches_sigint(); i++)
		usleep(10000);
	usleep(50000);		/* let it reach read(): either way must work */
	kill(getppid(), SIGINT);
	sleep(10);		/* the log stays open: only the signal ends it */
}

static void records(void)
{
	pid_t pid;
	int ret;

	uint64_t session = 0;

	log_session = SID;
	pid = module(five_then_eof, &log_fd, SOCK_STREAM);
	ret = CALL(record_main, "record", "--vm", "1", "--out", file);
	ok(ret == 0 && log_flags == KVMFT_LOG_READ && strstr(out, "5 records written") &&
	   !strstr(out, "stopped"), "record: 5 records until read() returns 0");
	ok(count_records_session(&session) == 5, "record: the file holds the 5 records, all checked");
	if (!ok(session == SID && strstr(out, "session 5e55107deadbeef1"),
		"record: the file header and the output carry the session LOG_OPEN gave"))
		tap_diag("session %016" PRIx64 "; stdout: %s", session, out);
	reap(pid);

	pid = module(other_session, &log_fd, SOCK_STREAM);
	ret = CALL(record_main, "record", "--vm", "1", "--out", file);
	ok(ret == 2 && strstr(err, "record 1 from the kernel is bad: bad CRC"),
	   "record: records of another session than LOG_OPEN's are refused, exit 2");
	if (ret != 2)
		tap_diag("exit %d: %s%s", ret, out, err);
	reap(pid);

	pid = module(bad_third, &log_fd, SOCK_STREAM);
	ret = CALL(record_main, "record", "--vm", "1", "--out", file);
	ok(ret == 2 && strstr(err, "record 3 from the kernel is bad: bad CRC"),
	   "record: a corrupt record from the kernel stops it, exit 2");
	if (ret != 2)
		tap_diag("exit %d: %s%s", ret, out, err);
	ok(count_records() == 2, "record: ... keeping the 2 good records in a valid file");
	reap(pid);

	pid = module(half_record, &log_fd, SOCK_STREAM);
	ret = CALL(record_main, "record", "--vm", "1", "--out", file);
	ok(ret == 2 && strstr(err, "record 2 from the kernel is bad: truncated"),
	   "record: half a record from the kernel is an error");
	reap(pid);

	pid = module(two_then_sigint, &log_fd, SOCK_STREAM);
	ret = CALL(record_main, "record", "--vm", "1", "--out", file);
	ok(ret == 0 && strstr(out, "(stopped by signal)"), "record: SIGINT ends it, exit 0");
	ret = count_records();
	ok(ret >= 0 && ret <= 2, "record: ... with a valid file of %d records", ret);
	reap(pid);
}

/* Takes packets until EOF; exits with their number if each was one whole
 * record in sequence, else 255. */
static void take_packets(int fd)
{
	unsigned char buf[KVMFT_REC_MAX_LEN + 16];
	struct ftlog_err e;
	ssize_t n;
	int i = 0;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		if (ftlog_check(buf, n, SID, ++i, &e) != (size_t)n)
			_exit(255);
	_exit(i);
}

static void write_log(int nrec)
{
	struct ftlog_writer w;

	ftlog_writer_open(&w, file, SID);
	for (int i = 1; i <= nrec; i++)
		ftlog_writer_add(&w, rec.b, nth(i));
	ftlog_writer_close(&w);
}

static void replays(void)
{
	pid_t pid;
	int ret, status;

	write_log(7);
	log_session = 0;
	pid = module(take_packets, &log_fd, SOCK_SEQPACKET);
	ret = CALL(replay_main, "replay", "--vm", "4", "--in", file);
	waitpid(pid, &status, 0);
	ok(ret == 0 && log_flags == KVMFT_LOG_WRITE && strstr(out, "7 records written to vm 4"),
	   "replay: 7 records written, then the log closed");
	ok(log_session == SID && strstr(out, "session 5e55107deadbeef1"),
	   "replay: LOG_OPEN(WRITE) is given the file header's session");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	   "replay: one write() per whole record, in order (%d)", WEXITSTATUS(status));

	write_log(7);
	{
		int fd = open(file, O_RDWR);
		char c = 0x55;

		/* Last byte of the file: the data of record 7. */
		if (pwrite(fd, &c, 1, lseek(fd, 0, SEEK_END) - 1) != 1)
			tap_diag("pwrite failed");
		close(fd);
	}
	log_fd = -1;
	ret = CALL(replay_main, "replay", "--vm", "4", "--in", file);
	ok(ret == 4 && !log_opened && strstr(err, "record 7 (offset"),
	   "replay: a bad record 7 is found before the log is opened, exit 4");

	/* Another recording's header on these records: every CRC fails. */
	write_log(3);
	{
		uint64_t other = SID + 1;
		int fd = open(file, O_RDWR);

		if (pwrite(fd, &other, sizeof(other),
			   offsetof(struct kvmft_logfile_hdr, session)) != sizeof(other))
			tap_diag("pwrite failed");
		close(fd);
	}
	log_fd = -1;
	ret = CALL(replay_main, "replay", "--vm", "4", "--in", file);
	if (!ok(ret == 4 && !log_opened && strstr(err, "record 1 (offset 24): bad CRC"),
		"replay: records under another session's header are refused before the log is opened"))
		tap_diag("exit %d: %s", ret, err);
}

/* What the module refuses, and how ftctl says it. */
static void refusals(void)
{
	int ret;

	refuse(FT_EXIT_KERNEL, EOPNOTSUPP,
	       "the VM has KVM's in-kernel irqchip (PIC, IOAPIC, LAPIC): reads that KVM answers itself are not recorded yet");
	ret = CALL(record_main, "record", "--vm", "3", "--out", absent);
	ok(ret == 2 && !strcmp(err, "ftctl: cannot record VM 3: the VM has KVM's in-kernel irqchip "
			       "(PIC, IOAPIC, LAPIC): reads that KVM answers itself are not "
			       "recorded yet: Operation not supported (EOPNOTSUPP)\n"),
	   "record: the module's reason is printed, exit 2");
	if (ret != 2)
		tap_diag("exit %d: %s%s", ret, out, err);
	ok(access(absent, F_OK), "record: ... and no file is left behind");

	refuse(FT_EXIT_KERNEL, EPERM, "");
	ret = CALL(record_main, "record", "--vm", "3", "--out", absent);
	if (!ok(ret == 2 && strstr(err, "cannot record VM 3: opening a log needs CAP_SYS_ADMIN: "
				   "Operation not permitted (EPERM)"),
		"record: without a reason from the module, the errno's meaning"))
		tap_diag("exit %d: %s", ret, err);

	refuse(FT_EXIT_KERNEL, ENOTTY, "");
	ret = CALL(record_main, "record", "--vm", "3", "--out", absent);
	if (!ok(ret == 2 && strstr(err, "does not know LOG_OPEN with sessions"),
		"record: a module from before sessions (ENOTTY) is named"))
		tap_diag("exit %d: %s", ret, err);

	refuse(FT_EXIT_ENV, ENOENT, "");
	ret = CALL(record_main, "record", "--vm", "3", "--out", absent);
	if (!ok(ret == 3 && strstr(err, "/dev/kvmft not found") && access(absent, F_OK),
		"record: no /dev/kvmft is exit 3"))
		tap_diag("exit %d: %s", ret, err);

	log_session = 0;
	{
		int sv[2];

		if (pipe(sv))
			tap_diag("pipe failed");
		log_fd = sv[0];
		ret = CALL(record_main, "record", "--vm", "3", "--out", absent);
		close(sv[1]);
	}
	if (!ok(ret == 2 && strstr(err, "session 0") && access(absent, F_OK),
		"record: a session 0 from the module is refused, no file"))
		tap_diag("exit %d: %s", ret, err);
	log_session = SID;

	write_log(2);
	refuse(FT_EXIT_KERNEL, EBUSY, "the VM already has a log open (role primary)");
	ret = CALL(replay_main, "replay", "--vm", "4", "--in", file);
	ok(ret == 2 && log_flags == KVMFT_LOG_WRITE &&
	   !strcmp(err, "ftctl: cannot replay into VM 4: the VM already has a log open "
			"(role primary): Device or resource busy (EBUSY)\n"),
	   "replay: the module's reason is printed, exit 2");
	if (ret != 2)
		tap_diag("exit %d: %s%s", ret, out, err);
}

int main(void)
{
	int fd = mkstemp(file);

	tap_plan(21);
	close(fd);
	snprintf(absent, sizeof(absent), "%s.new", file);
	records();
	refusals();
	replays();
	unlink(file);
	unlink(absent);
	return tap_done();
}
