// SPDX-License-Identifier: GPL-2.0
/*
 * The netlink library (nl.c) and the VM parser (vm.c). With no kvmft module
 * here, requests go to families every kernel has: nlctrl for doit and dump,
 * ethtool for an extended-ack message. Error and VM messages are also
 * built by hand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <netlink/genl/genl.h>

#include "nl.h"
#include "tap.h"
#include "vm.h"

static union {
	struct nlmsghdr h;
	unsigned char b[512];
} m;

struct names {
	int n;
	bool saw_nlctrl;
};

static int family_name(struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct names *names = arg;

	if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME])
		return -EBADMSG;
	names->n++;
	if (!strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl"))
		names->saw_nlctrl = true;
	return 0;
}

static void requests(void)
{
	struct names names = { 0 };
	struct nl_msg *msg;
	struct ftnl nl;
	int ret;

	/* Asking for the family autoloads an installed module. */
	if (access("/sys/module/kvmft", F_OK) == 0 ||
	    system("modprobe -nq kvmft 2>/dev/null") == 0) {
		tap_skip("kvmft is loaded or installed here", "open: family missing gives -ENOENT");
	} else {
		ret = ftnl_open(&nl);
		ok(ret == -ENOENT && strstr(nl.ext_msg, "'kvmft'"),
		   "open: family missing gives -ENOENT (%s)", nl.ext_msg);
	}

	ret = ftnl_open_family(&nl, "nlctrl");
	if (!ok(ret == 0, "open nlctrl")) {
		tap_diag("%d %s", ret, nl.ext_msg);
		for (int i = 0; i < 4; i++)
			tap_skip("no generic netlink", "nlctrl request");
		return;
	}
	msg = ftnl_msg(&nl, CTRL_CMD_GETFAMILY, NLM_F_DUMP);
	ret = ftnl_request(&nl, msg, family_name, &names);
	ok(ret == 0 && names.n > 1 && names.saw_nlctrl,
	   "dump: %d families, nlctrl among them", names.n);

	memset(&names, 0, sizeof(names));
	msg = ftnl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	ret = ftnl_request(&nl, msg, family_name, &names);
	ok(ret == 0 && names.n == 1 && names.saw_nlctrl, "doit: one reply, then the ack");

	msg = ftnl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "ftnl-nofamily");
	ret = ftnl_request(&nl, msg, family_name, &names);
	ok(ret == -ENOENT, "doit: the kernel's errno comes back (%d)", ret);

	/* The socket is still in step after an error. */
	memset(&names, 0, sizeof(names));
	msg = ftnl_msg(&nl, CTRL_CMD_GETFAMILY, 0);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl");
	ret = ftnl_request(&nl, msg, family_name, &names);
	ok(ret == 0 && names.n == 1, "doit after an error still works");
	ftnl_close(&nl);
}

static void ext_ack_from_kernel(void)
{
	struct nl_msg *msg;
	struct ftnl nl;
	int ret;

	if (ftnl_open_family(&nl, "ethtool")) {
		tap_skip("no ethtool genl family", "extended ack text from the kernel");
		return;
	}
	/* ETHTOOL_MSG_LINKINFO_GET (2) without its required header. */
	msg = ftnl_msg(&nl, 2, 0);
	ret = ftnl_request(&nl, msg, NULL, NULL);
	ok(ret == -EINVAL && nl.ext_msg[0],
	   "extended ack from the kernel has text: %d '%s'", ret, nl.ext_msg);
	ftnl_close(&nl);
}

/* An NLMSG_ERROR or NLMSG_DONE with an extended-ack message. */
static void build_err(uint16_t type, int err, bool capped, const char *text)
{
	unsigned char *p = NLMSG_DATA(&m.h);
	struct nlmsgerr e = { .error = err };
	struct nlattr *a;
	int off;

	memset(&m, 0, sizeof(m));
	m.h.nlmsg_type = type;
	if (type == NLMSG_DONE) {
		memcpy(p, &err, sizeof(err));
		off = NLMSG_ALIGN(sizeof(err));
	} else {
		/* The request echoed back: a header and 7 payload bytes. */
		e.msg.nlmsg_len = NLMSG_HDRLEN + 7;
		memcpy(p, &e, sizeof(e));
		off = NLMSG_ALIGN(sizeof(e) + (capped ? 0 : 7));
		if (capped)
			m.h.nlmsg_flags |= NLM_F_CAPPED;
	}
	m.h.nlmsg_len = NLMSG_HDRLEN + off;
	if (!text)
		return;
	m.h.nlmsg_flags |= NLM_F_ACK_TLVS;
	a = (struct nlattr *)(p + off);
	a->nla_type = NLMSGERR_ATTR_OFFS;	/* another TLV first */
	a->nla_len = NLA_HDRLEN + 4;
	off += NLA_ALIGN(a->nla_len);
	a = (struct nlattr *)(p + off);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = NLA_HDRLEN + strlen(text) + 1;
	strcpy((char *)(a + 1), text);
	m.h.nlmsg_len = NLMSG_HDRLEN + off + NLA_ALIGN(a->nla_len);
}

static void ext_ack_parsing(void)
{
	char msg[64];
	int ret;

	build_err(NLMSG_ERROR, -EEXIST, true, "VM already attached");
	ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
	ok(ret == -EEXIST && !strcmp(msg, "VM already attached"), "capped error: errno and text");

	build_err(NLMSG_ERROR, -EBADF, false, "fd not open");
	ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
	ok(ret == -EBADF && !strcmp(msg, "fd not open"), "uncapped error: text after the echoed request");

	build_err(NLMSG_ERROR, -EPERM, true, NULL);
	ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
	ok(ret == -EPERM && !msg[0], "error without text");

	build_err(NLMSG_ERROR, 0, true, NULL);
	ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
	ok(ret == 0 && !msg[0], "plain ack");

	build_err(NLMSG_DONE, -EMSGSIZE, true, "dump failed");
	ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
	ok(ret == -EMSGSIZE && !strcmp(msg, "dump failed"), "NLMSG_DONE with an error and text");

	{
		struct ftnl nl = { .family = 0x30, .kvmft = true };
		struct nlmsgerr *e = NLMSG_DATA(&m.h);
		struct nlattr *a;

		build_err(NLMSG_ERROR, -EINVAL, true, NULL);
		e->msg.nlmsg_type = 0x30;
		m.h.nlmsg_flags |= NLM_F_ACK_TLVS;
		a = (struct nlattr *)((unsigned char *)&m.h + m.h.nlmsg_len);
		a->nla_type = NLMSGERR_ATTR_MISS_TYPE;
		a->nla_len = NLA_HDRLEN + 4;
		*(uint32_t *)(a + 1) = KVMFT_A_VM_FD;
		m.h.nlmsg_len += NLA_HDRLEN + 4;
		ret = ftnl_msg_error(&nl, &m.h, msg, sizeof(msg));
		ok(ret == -EINVAL && !strcmp(msg, "missing required attribute KVMFT_A_VM_FD"),
		   "a missing kvmft attribute is named: '%s'", msg);
		ret = ftnl_msg_error(NULL, &m.h, msg, sizeof(msg));
		ok(ret == -EINVAL && !strcmp(msg, "missing required attribute 1"),
		   "another family's is numbered: '%s'", msg);
	}

	build_err(NLMSG_ERROR, -EINVAL, true, "a very long message that does not fit the buffer");
	ret = ftnl_msg_error(NULL, &m.h, msg, 8);
	ok(ret == -EINVAL && strlen(msg) == 7, "long text cut to the buffer");
}

static struct nl_msg *vm_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 0, 0, 0x20, 0, 0, cmd, KVMFT_GENL_VERSION);
	return msg;
}

static void vm_parsing(void)
{
	struct nl_msg *msg = vm_msg(KVMFT_CMD_VM_EVENT);
	struct nlattr *stats;
	struct ftvm vm;
	int ret;

	nla_put_u32(msg, KVMFT_A_VM_ID, 7);
	nla_put_u8(msg, KVMFT_A_EVENT, KVMFT_EVENT_DESTROY);
	nla_put_u64(msg, KVMFT_A_SEQ, 1ull << 40);
	nla_put_u8(msg, KVMFT_A_ROLE, KVMFT_ROLE_BACKUP);
	nla_put_u32(msg, KVMFT_A_PID, 4321);
	nla_put_u32(msg, KVMFT_A_VCPUS, 1);
	stats = nla_nest_start(msg, KVMFT_A_STATS);
	nla_put_u64(msg, KVMFT_STAT_REPLAYED, 99);
	nla_put_u64(msg, KVMFT_STAT_DIVERGENCES, 2);
	nla_put_u64(msg, 60, 5);		/* a counter from a newer module */
	nla_nest_end(msg, stats);
	nla_put_u32(msg, KVMFT_A_MAX + 3, 1);	/* an attribute from a newer module */
	ret = ftvm_parse(nlmsg_hdr(msg), &vm);
	ok(ret == 0 && vm.id == 7 && vm.event == KVMFT_EVENT_DESTROY &&
	   vm.has_seq && vm.seq == 1ull << 40 && vm.role == KVMFT_ROLE_BACKUP &&
	   vm.pid == 4321 && vm.vcpus == 1 && vm.stats[KVMFT_STAT_REPLAYED] == 99 &&
	   vm.stats[KVMFT_STAT_DIVERGENCES] == 2 && vm.cmd == KVMFT_CMD_VM_EVENT,
	   "a VM event parses; newer attributes and counters are ignored");
	nlmsg_free(msg);

	msg = vm_msg(KVMFT_CMD_GET_VM);
	nla_put_u32(msg, KVMFT_A_PID, 1);
	ok(ftvm_parse(nlmsg_hdr(msg), &vm) == -EBADMSG, "a VM without an id is rejected");
	nlmsg_free(msg);

	msg = vm_msg(KVMFT_CMD_GET_VM);
	nla_put_u8(msg, KVMFT_A_VM_ID, 1);
	ok(ftvm_parse(nlmsg_hdr(msg), &vm) == -EBADMSG, "a u8 where a u32 belongs is rejected");
	nlmsg_free(msg);
}

static void family_gone(void)
{
	struct ftnl nl = { .family = 0x21 };
	struct nl_msg *msg;

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, GENL_ID_CTRL, 0, 0, CTRL_CMD_DELFAMILY, 2);
	nla_put_u16(msg, CTRL_ATTR_FAMILY_ID, 0x21);
	nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "kvmft");
	ok(ftnl_family_gone(&nl, nlmsg_hdr(msg)), "DELFAMILY of kvmft is seen");
	nl.family = 0x22;
	ok(!ftnl_family_gone(&nl, nlmsg_hdr(msg)), "DELFAMILY of another id is not");
	nlmsg_free(msg);

	msg = nlmsg_alloc();
	genlmsg_put(msg, 0, 0, GENL_ID_CTRL, 0, 0, CTRL_CMD_NEWFAMILY, 2);
	nla_put_u16(msg, CTRL_ATTR_FAMILY_ID, 0x22);
	ok(!ftnl_family_gone(&nl, nlmsg_hdr(msg)), "NEWFAMILY is not");
	nlmsg_free(msg);
}

int main(void)
{
	tap_plan(21);
	requests();
	ext_ack_from_kernel();
	ext_ack_parsing();
	vm_parsing();
	family_gone();
	return tap_done();
}
