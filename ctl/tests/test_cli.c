// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl and ftd as an operator meets them, on a host without the kvmft
 * module: help, exit codes, messages, and the checks that run before the
 * module is touched. The binaries under test come from $FTCTL and $FTD.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>

#include "logrec.h"
#include "tap.h"

extern char **environ;

static const char *ftctl, *ftd;
static bool module_present;
static char dir[] = "/tmp/ftctl-cli-XXXXXX";

struct run {
	int code;		/* exit code, or 128 + signal */
	char out[16384];
	char err[16384];
};

static struct run r;

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Runs argv (NULL-terminated, argv[0] the binary) into r. */
static int run_v(const char *const argv[])
{
	int out = memfd_create("out", 0), err = memfd_create("err", 0);
	posix_spawn_file_actions_t fa;
	int status = 0, ret;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	ret = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	if (ret) {
		tap_diag("spawn %s: %s", argv[0], strerror(ret));
		r.code = -1;
	} else {
		waitpid(pid, &status, 0);
		r.code = WIFEXITED(status) ? WEXITSTATUS(status) :
			 128 + WTERMSIG(status);
	}
	posix_spawn_file_actions_destroy(&fa);
	slurp(out, r.out, sizeof(r.out));
	slurp(err, r.err, sizeof(r.err));
	return r.code;
}

#define run(...) run_v((const char *const[]){ __VA_ARGS__, NULL })

/* ok() on the exit code, with what the program said if it is wrong. */
static bool expect(int code, const char *needle, const char *name)
{
	bool pass = r.code == code &&
		    (!needle || strstr(r.err, needle) || strstr(r.out, needle));

	if (!ok(pass, "%s", name))
		tap_diag("exit %d (want %d)\nstdout: %s\nstderr: %s", r.code,
			 code, r.out, r.err);
	return pass;
}

static void help(void)
{
	static const char *const cmds[] = {
		"attach", "detach", "status", "events", "record", "replay",
		"log-dump", "info", "arb", "pair", "unpair", "promote", "genkey", "reconnect",
	};
	char *line, *save = NULL, list[16384], name[32];
	bool all = true;

	run(ftctl, "--help");
	expect(0, "Usage: ftctl <cmd>", "ftctl --help exits 0 with the usage");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(name, sizeof(name), "\n  %s ", cmds[i]);
		all &= !!strstr(r.out, name);
	}
	ok(all, "--help lists every subcommand");
	ok(strstr(r.out, "\n  pair ") && strstr(r.out, "\n  unpair ") &&
	   strstr(r.out, "\n  promote "), "--help offers pair, unpair and promote");

	/* Every listed subcommand answers its own --help. */
	snprintf(list, sizeof(list), "%s", r.out);
	all = true;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "  %31s", name) != 1 || line[2] == ' ' ||
		    strncmp(line, "  ", 2) || !strcmp(name, "help"))
			continue;
		run(ftctl, name, "--help");
		if (r.code != 0 || !strcasestr(r.out, "usage") || !strstr(r.out, name)) {
			tap_diag("'%s --help': exit %d, %s%s", name, r.code, r.out, r.err);
			all = false;
		}
	}
	ok(all, "every subcommand in the list has a working --help");

	run(ftctl, "help");
	expect(0, "Available subcommands", "ftctl help exits 0");
	run(ftctl);
	expect(1, "Usage: ftctl <cmd>", "ftctl alone: usage, exit 1");
	run(ftctl, "frobnicate");
	expect(1, "ftctl: unknown subcommand 'frobnicate'", "an unknown subcommand: exit 1");
	run(ftctl, "status", "--frob");
	expect(1, "unknown option '--frob'", "an unknown option: exit 1");
	run(ftctl, "detach");
	expect(1, "--vm is required", "detach without --vm: exit 1");
	run(ftctl, "detach", "--vm", "12x");
	expect(1, "bad VM id '12x'", "a bad VM id: exit 1");
	run(ftctl, "attach", "--pid", "1", "--fd", "3");
	expect(1, "exactly one of --pid and --fd", "attach with --pid and --fd: exit 1");
	run(ftctl, "events", "--timeout", "0");
	expect(1, "bad timeout", "events --timeout 0: exit 1");
	run(ftd, "--help");
	expect(0, "--sim-vm SPEC", "ftd --help lists its options");
	run(ftd, "--bogus");
	expect(1, "unknown option '--bogus'", "ftd with a bad option: exit 1");
}

static const char missing[] =
	"kvmft module not loaded (genl family 'kvmft' not found); run 'modprobe kvmft'";

static void without_module(void)
{
	static const char *const why = "kvmft is loaded or installed here";

	if (module_present) {
		for (int i = 0; i < 6; i++)
			tap_skip(why, "commands without the module");
		return;
	}
	run(ftctl, "status");
	if (expect(3, missing, "status without the module: exit 3, says so"))
		ok(!strcmp(r.err, "ftctl: kvmft module not loaded (genl family 'kvmft' not found); "
			   "run 'modprobe kvmft'\n"), "... in exactly one line");
	else
		tap_skip("status failed", "... in exactly one line");
	run(ftctl, "events", "--count", "1", "--timeout", "1");
	expect(3, missing, "events without the module: exit 3");
	run(ftctl, "info", "--json");
	expect(3, missing, "info without the module: exit 3");
	run(ftd, "--foreground");
	expect(3, "ftd: kvmft module not loaded", "ftd without the module: exit 3");
	run(ftctl, "detach", "--vm", "1");
	expect(3, missing, "detach without the module: exit 3");
}

static char *path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* ftctl arb on a file: what it refuses, and one acquire each way. */
static void arb(void)
{
	run(ftctl, "arb");
	expect(1, "expected init, show or acquire", "arb without a verb: exit 1");
	run(ftctl, "arb", "show");
	expect(1, "--disk is required", "arb show without --disk: exit 1");
	run(ftctl, "arb", "init", "--disk", path("arb"));
	expect(1, "init needs --vm", "arb init without --vm: exit 1");
	run(ftctl, "arb", "init", "--disk", path("arb"), "--vm", "v", "--hosts", "1");
	expect(4, "hosts must be 2..", "arb init --hosts 1: exit 4");
	run(ftctl, "arb", "init", "--disk", path("arb"), "--vm", "v");
	expect(0, "generation 0", "arb init on a new file");
	run(ftctl, "arb", "acquire", "--disk", path("arb"), "--host-id", "1",
	    "--name", "a", "--base", "0");
	expect(0, "won generation 1", "arb acquire: host 1 wins generation 1");
	run(ftctl, "arb", "acquire", "--disk", path("arb"), "--host-id", "2",
	    "--name", "b", "--base", "0");
	expect(6, "belongs to host 1 (a)", "arb acquire: host 2 loses, exit 6, names the owner");
	run(ftctl, "arb", "show", "--disk", path("arb"), "--json");
	expect(0, "\"gen\":1,\"owner\":1,\"owner_name\":\"a\"", "arb show --json: generation 1, owner a");
	run(ftctl, "arb", "acquire", "--disk", path("nothere"), "--host-id", "1",
	    "--name", "a", "--base", "0");
	expect(3, "cannot open", "arb acquire on a missing disk: exit 3, says why");
	unlink(path("arb"));
}

/* pair, unpair, promote, reconnect, genkey: what they say without ftd. */
static void pair_cmds(void)
{
	static const char *const cmds[] = { "pair", "unpair", "promote", "reconnect" };
	bool all = true;

	setenv("FTD_SOCKET", path("no-ftd.sock"), 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		run(ftctl, cmds[i]);
		all &= r.code == 1 && strstr(r.err, "--vm is required");
	}
	ok(all, "pair, unpair, promote, reconnect without --vm: exit 1, say so");
	run(ftctl, "pair", "--vm", "1");
	expect(1, "--peer HOST[:PORT] is required", "pair without --peer: exit 1");
	run(ftctl, "unpair", "--vm", "1", "--peer", "x");
	expect(1, "--peer is for pair only", "unpair --peer: exit 1");
	run(ftctl, "pair", "--vm", "1", "--peer", "hostb");
	expect(3, "ftd is not running (nothing answers on", "pair without ftd: exit 3, says ftd is not running");
	run(ftctl, "genkey");
	ok(r.code == 0 && strlen(r.out) == 65 && strspn(r.out, "0123456789abcdef") == 64,
	   "genkey prints 64 hex digits");
	unsetenv("FTD_SOCKET");
}

/* The session of the test logs. */
#define SID 0xfeedc0de12345678ull

/* A log of n records: pio, rdtsc, rdtscp, pio, ... */
static void make_log(const char *file, int n)
{
	static union {
		struct kvmft_rec h;
		unsigned char b[KVMFT_REC_MAX_LEN];
	} rec;
	struct ftlog_writer w;

	ftlog_writer_open(&w, file, SID);
	for (int i = 1; i <= n; i++) {
		size_t len = i % 3 == 1 ?
			ftlog_build_pio(rec.b, SID, i, 0, 0x3f8, 1, 2, "hi") :
			ftlog_build_tsc(rec.b, SID, i % 3 ? KVMFT_REC_RDTSC : KVMFT_REC_RDTSCP,
					i, 0, 0x1000 + i, i % 3 ? 0 : 1);
		ftlog_writer_add(&w, rec.b, len);
	}
	ftlog_writer_close(&w);
}

static void poke(const char *file, long off, uint8_t xor)
{
	int fd = open(file, O_RDWR);
	uint8_t b;

	if (pread(fd, &b, 1, off) == 1) {
		b ^= xor;
		if (pwrite(fd, &b, 1, off) != 1)
			tap_diag("pwrite failed");
	}
	close(fd);
}

static void log_files(void)
{
	/* Offsets: header 24; record 1 pio 24+8+2 = 34; record 2 at 58. */
	const long rec2 = 24 + 34, rec3 = rec2 + 40;
	const long ver = offsetof(struct kvmft_logfile_hdr, version);
	const long sess = offsetof(struct kvmft_logfile_hdr, session);
	char *good = path("good.log"), *bad = path("bad.log");

	make_log(good, 5);
	run(ftctl, "log-dump", "--in", good);
	expect(0, "pio_in", "log-dump lists a good file");
	ok(strstr(r.out, "port 0x03f8 size 1 count 2 data 6869") &&
	   strstr(r.out, "rdtscp  tsc 0x1003 aux 0x1"), "log-dump shows the fields");
	ok(!strncmp(r.out, "session feedc0de12345678\n", 25),
	   "log-dump shows the file's session first, on a line of its own");
	run(ftctl, "log-dump", "--in", good, "--json");
	expect(0, "{\"session\":\"feedc0de12345678\",\"seq\":1,\"vcpu\":0,\"type\":\"pio_in\","
		  "\"port\":1016,\"size\":1,\"count\":2,\"data\":\"6869\"}\n",
	       "log-dump --json: one object per record, with the session");

	make_log(bad, 5);
	poke(bad, rec2 + 24 + 3, 0x10);
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "record 2 (offset 58): bad CRC", "replay of a corrupt file: exit 4, names record 2");
	run(ftctl, "log-dump", "--in", bad);
	expect(4, "record 2 (offset 58): bad CRC", "log-dump of a corrupt file: exit 4");
	ok(strstr(r.out, "\n1 ") && !strstr(r.out, "\n2 "), "log-dump printed record 1 only");

	make_log(bad, 5);
	if (truncate(bad, rec3 + 30))
		tap_diag("truncate failed");
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "record 3 (offset 98): truncated", "replay of a truncated file: exit 4, names record 3");

	/* The same records under another recording's session. */
	make_log(bad, 3);
	poke(bad, sess, 0x01);
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "record 1 (offset 24): bad CRC", "replay of records from another session: exit 4");
	run(ftctl, "log-dump", "--in", bad);
	expect(4, "record 1 (offset 24): bad CRC", "log-dump checks the CRCs with the header's session");

	/* A version 1 file: 16-byte header, no session. */
	make_log(bad, 3);
	poke(bad, ver, 2 ^ 1);
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "log file version 1 predates recording sessions and cannot be replayed or checked; "
		  "record the VM again", "replay of a version 1 file: exit 4, says to record again");
	run(ftctl, "log-dump", "--in", bad);
	expect(4, "version 1 predates recording sessions", "log-dump of a version 1 file: exit 4");

	make_log(bad, 0);
	for (int i = 0; i < 8; i++)
		poke(bad, sess + i, (uint8_t)(SID >> (8 * i)));
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "session 0", "replay of a file with session 0: exit 4");

	make_log(bad, 3);
	poke(bad, 1, 0x20);
	run(ftctl, "replay", "--vm", "1", "--in", bad);
	expect(4, "bad magic", "replay of a file with a bad magic: exit 4");

	run(ftctl, "replay", "--vm", "1", "--in", path("absent.log"));
	expect(4, "No such file", "replay of a missing file: exit 4");

	if (module_present) {
		tap_skip("kvmft is loaded or installed here", "replay of a good file");
		tap_skip("kvmft is loaded or installed here", "record");
		tap_skip("kvmft is loaded or installed here", "record keeps a file");
		return;
	}
	/* A good file passes the checks and only then needs the module. */
	run(ftctl, "replay", "--vm", "1", "--in", good);
	expect(3, "/dev/kvmft not found", "replay of a good file gets as far as /dev/kvmft");
	run(ftctl, "record", "--vm", "1", "--out", path("new.log"));
	ok(r.code == 3 && access(path("new.log"), F_OK),
	   "record without the module: exit 3, no file left behind");
	make_log(path("keep.log"), 2);
	run(ftctl, "record", "--vm", "1", "--out", path("keep.log"));
	run(ftctl, "log-dump", "--in", path("keep.log"));
	ok(r.code == 0 && strstr(r.out, "\n2 "), "a failed record leaves an existing file alone");
}

/* A child holding a KVM VM fd, as QEMU does; 0 if KVM is unusable. */
static pid_t vmm(void)
{
	int sync[2], kvm, vm;
	pid_t pid;
	char c;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return 0;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	if (vm < 0)
		return 0;
	if (pipe(sync))
		return 0;
	pid = fork();
	if (!pid) {
		close(sync[0]);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(vm);
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1)
		pid = 0;
	close(sync[0]);
	return pid;
}

static void attach(void)
{
	char pid[16];
	pid_t child;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	run(ftctl, "attach", "--pid", pid);
	expect(3, "has no KVM VM fd", "attach to a process without a VM: exit 3");
	run(ftctl, "attach", "--pid", "999999999");
	expect(3, "no process with pid", "attach to no process: exit 3");

	child = vmm();
	if (!child || module_present || geteuid()) {
		tap_skip(!child ? "no usable /dev/kvm" : module_present ?
			 "kvmft is loaded or installed here" : "not root",
			 "attach --pid finds and takes a VMM's VM fd");
	} else {
		/* Only a fd found and taken gets as far as netlink. */
		snprintf(pid, sizeof(pid), "%d", (int)child);
		run(ftctl, "attach", "--pid", pid);
		expect(3, missing, "attach --pid finds and takes a VMM's VM fd");
	}
	if (child) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

int main(void)
{
	ftctl = getenv("FTCTL");
	ftd = getenv("FTD");
	tap_plan(55);
	if (!ftctl || !ftd || !mkdtemp(dir)) {
		tap_diag("set FTCTL and FTD to the binaries under test");
		return 1;
	}
	/* Asking for the family autoloads an installed module. */
	module_present = access("/sys/module/kvmft", F_OK) == 0 ||
			system("modprobe -nq kvmft 2>/dev/null") == 0;
	help();
	without_module();
	log_files();
	attach();
	arb();
	pair_cmds();
	for (const char *f = "good.log bad.log keep.log"; *f;) {
		char name[16];
		int n = 0;

		sscanf(f, "%15s%n", name, &n);
		unlink(path(name));
		f += n;
		while (*f == ' ')
			f++;
	}
	rmdir(dir);
	return tap_done();
}
