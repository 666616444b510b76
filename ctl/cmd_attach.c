// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl attach: hand the module a VM fd. With --pid, the fd is taken from
 * the VMM (stock QEMU) with pidfd_getfd(), which needs ptrace-attach rights
 * over it (PTRACE_MODE_ATTACH_REALCREDS): in practice, root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "btf.h"
#include "ftctl.h"
#include "nl.h"
#include "vm.h"

#define KVM_VM_LINK	"anon_inode:kvm-vm"

struct reply {
	bool have;
	struct ftvm vm;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s attach --pid PID | --fd N [--json]\n", ft_prog);
}

static bool is_vm_link(int dirfd, const char *name)
{
	char target[64];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, KVM_VM_LINK);
}

/* The VMM's VM fd number, or -1 after saying why there is none. */
static int find_vm_fd(uint32_t pid)
{
	char path[64];
	struct dirent *de;
	int found = -1, count = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/fd", pid);
	d = opendir(path);
	if (!d) {
		int err = errno;
		char why[128];

		snprintf(why, sizeof(why), "cannot read %s: %s", path,
			 strerror(err));
		if (err == ENOENT)
			ft_msg("attach: no process with pid %" PRIu32, pid);
		else
			ft_err("attach", err, why);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !is_vm_link(dirfd(d), de->d_name))
			continue;
		if (!count++)
			found = atoi(de->d_name);
	}
	closedir(d);
	if (count == 1)
		return found;
	if (!count)
		ft_msg("attach: process %" PRIu32 " has no KVM VM fd (no link to %s in %s)",
		       pid, KVM_VM_LINK, path);
	else
		ft_msg("attach: process %" PRIu32 " has %d KVM VM fds; kvmft expects one VM per VMM",
		       pid, count);
	return -1;
}

/* A copy of the VMM's VM fd in our table, or -1 after saying why not. */
static int take_vm_fd(uint32_t pid)
{
	char self[64];
	int target, pidfd, fd;

	target = find_vm_fd(pid);
	if (target < 0)
		return -1;
	pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		ft_err("attach: pidfd_open", errno, NULL);
		return -1;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, target, 0);
	if (fd < 0) {
		ft_err("attach: pidfd_getfd", errno, errno != EPERM ? NULL :
		       "not allowed to take the VMM's fd (needs root, or ptrace rights over it)");
		close(pidfd);
		return -1;
	}
	close(pidfd);
	/* The VMM may have closed and reused that number meanwhile. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (!is_vm_link(AT_FDCWD, self)) {
		ft_msg("attach: fd %d of process %" PRIu32 " stopped being a KVM VM; try again",
		       target, pid);
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_reply(struct nlmsghdr *nlh, void *arg)
{
	struct reply *r = arg;

	if (ftvm_parse(nlh, &r->vm))
		return -EBADMSG;
	r->have = true;
	return 0;
}

static int build(struct nl_msg *msg, int fd, uint32_t pid)
{
	uint32_t off;
	char why[160];
	int ret;

	if (nla_put_u32(msg, KVMFT_A_VM_FD, fd) < 0 ||
	    (pid && nla_put_u32(msg, KVMFT_A_PID, pid) < 0))
		return -ENOMEM;
	if (access(FTBTF_KVM_AMD, F_OK))
		return 0;
	ret = ftbtf_member_offset(FTBTF_KVM_AMD, "vcpu_svm", "vmcb", &off,
				  why, sizeof(why));
	if (ret < 0) {
		/* The module decides whether it can do without. */
		ft_msg("attach: warning: %s; not sending the vmcb offset", why);
		return 0;
	}
	return nla_put_u32(msg, KVMFT_A_SVM_VMCB_OFF, off) < 0 ? -ENOMEM : 0;
}

static int attach(int fd, uint32_t pid, bool json)
{
	struct reply r = { 0 };
	struct nl_msg *msg;
	struct ftnl nl;
	struct json j;
	int ret;

	ret = ft_nl_connect(&nl, false);
	if (ret)
		return ret;
	msg = ftnl_msg(&nl, KVMFT_CMD_ATTACH, 0);
	ret = msg ? build(msg, fd, pid) : -ENOMEM;
	if (ret < 0)
		nlmsg_free(msg);
	else
		ret = ftnl_request(&nl, msg, parse_reply, &r);
	if (ret < 0) {
		ft_err("attach", -ret, nl.ext_msg);
		ftnl_close(&nl);
		return FT_EXIT_KERNEL;
	}
	ftnl_close(&nl);
	if (json) {
		json_init(&j, stdout);
		if (r.have) {
			ftvm_json(&j, NULL, &r.vm, false);
		} else {
			json_obj_begin(&j, NULL);
			json_obj_end(&j);
		}
	} else if (r.have) {
		printf("attached vm %" PRIu32 " (pid %" PRIu32 ", %" PRIu32 " vcpus)\n",
		       r.vm.id, r.vm.pid, r.vm.vcpus);
	} else {
		printf("attached (the module sent no VM id)\n");
	}
	return FT_EXIT_OK;
}

int attach_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "fd", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool json = false, have_pid = false, have_fd = false;
	uint32_t pid = 0, fd = 0;
	int c, vmfd, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'f':
			if (!ft_parse_u32(optarg, c == 'p' ? &pid : &fd) ||
			    (c == 'p' && !pid) || (c == 'f' && fd > INT32_MAX)) {
				ft_msg("attach: bad %s '%s'",
				       c == 'p' ? "pid" : "fd", optarg);
				return FT_EXIT_USAGE;
			}
			*(c == 'p' ? &have_pid : &have_fd) = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("attach", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || have_pid == have_fd) {
		if (optind < argc)
			ft_msg("attach: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("attach: give exactly one of --pid and --fd");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	if (have_fd)
		return attach(fd, 0, json);
	vmfd = take_vm_fd(pid);
	if (vmfd < 0)
		return FT_EXIT_ENV;
	ret = attach(vmfd, pid, json);
	close(vmfd);
	return ret;
}
