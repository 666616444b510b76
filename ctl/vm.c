// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "util.h"
#include "vm.h"

static struct nla_policy vm_policy[KVMFT_A_MAX + 1] = {
	[KVMFT_A_VM_ID]	= { .type = NLA_U32 },
	[KVMFT_A_PID]	= { .type = NLA_U32 },
	[KVMFT_A_ROLE]	= { .type = NLA_U8 },
	[KVMFT_A_EVENT]	= { .type = NLA_U8 },
	[KVMFT_A_SEQ]	= { .type = NLA_U64 },
	[KVMFT_A_VCPUS]	= { .type = NLA_U32 },
	[KVMFT_A_STATS]	= { .type = NLA_NESTED },
	[KVMFT_A_SESSION] = { .type = NLA_U64 },
	[KVMFT_A_LOG_SEQ] = { .type = NLA_U64 },
	[KVMFT_A_LOG_SHIPPED] = { .type = NLA_U64 },
	[KVMFT_A_LOG_REPLAYED] = { .type = NLA_U64 },
	[KVMFT_A_DIVERGED_SEQ] = { .type = NLA_U64 },
	[KVMFT_A_DIVERGED_WHY] = { .type = NLA_U32 },
	[KVMFT_A_VM_FLAGS] = { .type = NLA_U32 },
	[KVMFT_A_OUTQ] = { .type = NLA_NESTED },
	[KVMFT_A_LOG_ACKED] = { .type = NLA_U64 },
};

static uint64_t u64_or_0(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

int ftvm_parse(struct nlmsghdr *nlh, struct ftvm *vm)
{
	struct nlattr *tb[KVMFT_A_MAX + 1], *a;
	struct genlmsghdr *g = nlmsg_data(nlh);
	int rem;

	memset(vm, 0, sizeof(*vm));
	if (genlmsg_parse(nlh, 0, tb, KVMFT_A_MAX, vm_policy) < 0 ||
	    !tb[KVMFT_A_VM_ID])
		return -EBADMSG;
	vm->cmd = g->cmd;
	vm->id = nla_get_u32(tb[KVMFT_A_VM_ID]);
	if (tb[KVMFT_A_PID])
		vm->pid = nla_get_u32(tb[KVMFT_A_PID]);
	if (tb[KVMFT_A_VCPUS])
		vm->vcpus = nla_get_u32(tb[KVMFT_A_VCPUS]);
	if (tb[KVMFT_A_ROLE])
		vm->role = nla_get_u8(tb[KVMFT_A_ROLE]);
	if (tb[KVMFT_A_EVENT])
		vm->event = nla_get_u8(tb[KVMFT_A_EVENT]);
	if (tb[KVMFT_A_SEQ]) {
		vm->has_seq = true;
		vm->seq = nla_get_u64(tb[KVMFT_A_SEQ]);
	}
	vm->session = u64_or_0(tb[KVMFT_A_SESSION]);
	vm->log_seq = u64_or_0(tb[KVMFT_A_LOG_SEQ]);
	vm->log_shipped = u64_or_0(tb[KVMFT_A_LOG_SHIPPED]);
	vm->log_replayed = u64_or_0(tb[KVMFT_A_LOG_REPLAYED]);
	vm->log_acked = u64_or_0(tb[KVMFT_A_LOG_ACKED]);
	vm->diverged_seq = u64_or_0(tb[KVMFT_A_DIVERGED_SEQ]);
	if (tb[KVMFT_A_DIVERGED_WHY])
		vm->diverged_why = nla_get_u32(tb[KVMFT_A_DIVERGED_WHY]);
	if (tb[KVMFT_A_VM_FLAGS])
		vm->flags = nla_get_u32(tb[KVMFT_A_VM_FLAGS]);
	if (tb[KVMFT_A_STATS]) {
		nla_for_each_nested(a, tb[KVMFT_A_STATS], rem) {
			unsigned int t = nla_type(a);

			if (ftvm_stat_name(t) && nla_len(a) == sizeof(uint64_t))
				vm->stats[t] = nla_get_u64(a);
		}
	}
	if (tb[KVMFT_A_OUTQ]) {
		vm->has_outq = true;
		nla_for_each_nested(a, tb[KVMFT_A_OUTQ], rem) {
			unsigned int t = nla_type(a);

			if (!ftvm_outq_name(t))
				continue;
			if (nla_len(a) == sizeof(uint64_t))
				vm->outq[t] = nla_get_u64(a);
			else if (nla_len(a) == sizeof(uint32_t))
				vm->outq[t] = nla_get_u32(a);
		}
	}
	return 0;
}

/* An unknown value from a newer module prints as, say, "role7". */
static const char *name_or_number(const char *const *names, size_t n,
				  unsigned int v, char *buf, size_t len,
				  const char *prefix)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf, len, "%s%u", prefix, v);
	return buf;
}

const char *ftvm_role_name(unsigned int role)
{
	static const char *const names[] = {
		[KVMFT_ROLE_NONE] = "none",
		[KVMFT_ROLE_PRIMARY] = "primary",
		[KVMFT_ROLE_BACKUP] = "backup",
	};

	static char buf[16];

	return name_or_number(names, ARRAY_SIZE(names), role, buf, sizeof(buf),
			      "role");
}

const char *ftvm_event_name(unsigned int event)
{
	static const char *const names[] = {
		[KVMFT_EVENT_EXISTS] = "exists",
		[KVMFT_EVENT_CREATE] = "create",
		[KVMFT_EVENT_CHANGE] = "change",
		[KVMFT_EVENT_DESTROY] = "destroy",
	};

	static char buf[16];

	return name_or_number(names, ARRAY_SIZE(names), event, buf,
			      sizeof(buf), "event");
}

const char *ftvm_stat_name(unsigned int stat)
{
	static const char *const names[] = {
		[KVMFT_STAT_RUNS] = "runs",
		[KVMFT_STAT_PIO_IN] = "pio_in",
		[KVMFT_STAT_RDTSC] = "rdtsc",
		[KVMFT_STAT_RECORDED] = "recorded",
		[KVMFT_STAT_REPLAYED] = "replayed",
		[KVMFT_STAT_DIVERGENCES] = "divergences",
		[KVMFT_STAT_LOG_WAITS] = "log_waits",
		[KVMFT_STAT_EVENTS] = "events",
		[KVMFT_STAT_STEP_EVENTS] = "step_events",
		[KVMFT_STAT_STEPS] = "steps",
	};

	return stat < ARRAY_SIZE(names) ? names[stat] : NULL;
}

const char *ftvm_divergence_name(unsigned int why)
{
	static const char *const names[] = {
		[KVMFT_DIV_RECORD] = "record",
		[KVMFT_DIV_STATE] = "state",
		[KVMFT_DIV_PASSED] = "landmark_passed",
		[KVMFT_DIV_OFF_LANDMARK] = "off_landmark",
		[KVMFT_DIV_SEARCH] = "search",
		[KVMFT_DIV_EVENT] = "event_kind",
		[KVMFT_DIV_DELIVERY] = "delivery",
	};

	return why < ARRAY_SIZE(names) && names[why] ? names[why] : "unknown";
}

const char *ftvm_outq_name(unsigned int attr)
{
	static const char *const names[] = {
		[KVMFT_OUTQ_IFINDEX] = "ifindex",
		[KVMFT_OUTQ_ACKED] = "acked",
		[KVMFT_OUTQ_HELD_PKTS] = "held_pkts",
		[KVMFT_OUTQ_HELD_BYTES] = "held_bytes",
		[KVMFT_OUTQ_HELD] = "held",
		[KVMFT_OUTQ_RELEASED] = "released",
		[KVMFT_OUTQ_PASSED] = "passed",
		[KVMFT_OUTQ_DROPPED] = "dropped",
		[KVMFT_OUTQ_LONGEST_NS] = "longest_hold_ns",
		[KVMFT_OUTQ_WAITS] = "waits",
		[KVMFT_OUTQ_MAX_PKTS] = "max_pkts",
		[KVMFT_OUTQ_MAX_BYTES] = "max_bytes",
		[KVMFT_OUTQ_ACKS] = "acks",
	};

	return attr < ARRAY_SIZE(names) ? names[attr] : NULL;
}

void ftvm_json(struct json *j, const char *key, const struct ftvm *vm,
	       bool with_event)
{
	json_obj_begin(j, key);
	if (with_event)
		json_str(j, "event", ftvm_event_name(vm->event));
	json_u64(j, "id", vm->id);
	json_str(j, "role", ftvm_role_name(vm->role));
	json_u64(j, "pid", vm->pid);
	json_u64(j, "vcpus", vm->vcpus);
	if (vm->has_seq)
		json_u64(j, "seq", vm->seq);
	json_obj_begin(j, "stats");
	for (unsigned int s = 0; s < __KVMFT_STAT_LAST; s++)
		if (ftvm_stat_name(s))
			json_u64(j, ftvm_stat_name(s), vm->stats[s]);
	json_obj_end(j);
	if (vm->session) {
		json_obj_begin(j, "log");
		json_u64(j, "session", vm->session);
		json_u64(j, "seq", vm->log_seq);
		if (vm->role == KVMFT_ROLE_PRIMARY)
			json_u64(j, "shipped", vm->log_shipped);
		if (vm->flags & KVMFT_VM_F_KEEP) {
			json_u64(j, "acked", vm->log_acked);
			json_bool(j, "reader", !(vm->flags & KVMFT_VM_F_NO_READER));
		}
		if (vm->role == KVMFT_ROLE_BACKUP)
			json_u64(j, "replayed", vm->log_replayed);
		json_u64(j, "lag", ftvm_log_lag(vm));
		if (vm->diverged_seq) {
			json_u64(j, "diverged", vm->diverged_seq);
			json_str(j, "diverged_why",
				 ftvm_divergence_name(vm->diverged_why));
		}
		json_obj_end(j);
	}
	if (vm->has_outq) {
		json_obj_begin(j, "outq");
		for (unsigned int a = 0; a < __KVMFT_OUTQ_LAST; a++)
			if (ftvm_outq_name(a))
				json_u64(j, ftvm_outq_name(a), vm->outq[a]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

/*
 * Records not yet through: a primary's still in its log (recorded, not
 * shipped), a backup's not yet replayed (received, not taken).
 */
uint64_t ftvm_log_lag(const struct ftvm *vm)
{
	uint64_t done = vm->role == KVMFT_ROLE_PRIMARY ? vm->log_shipped :
			vm->role == KVMFT_ROLE_BACKUP ? vm->log_replayed :
			vm->log_seq;

	return vm->log_seq > done ? vm->log_seq - done : 0;
}

static const char *event_color(unsigned int event)
{
	switch (event) {
	case KVMFT_EVENT_CREATE:
		return COLOR_GREEN;
	case KVMFT_EVENT_CHANGE:
		return COLOR_YELLOW;
	case KVMFT_EVENT_DESTROY:
		return COLOR_RED;
	}
	return "";
}

void ftvm_line(FILE *f, const struct ftvm *vm, bool color)
{
	fprintf(f, "%s%s%s vm:%" PRIu32, color ? event_color(vm->event) : "",
		ftvm_event_name(vm->event), color ? COLOR_RESET : "", vm->id);
	if (vm->has_seq)
		fprintf(f, " seq:%" PRIu64, vm->seq);
	fprintf(f, " role:%s pid:%" PRIu32 " vcpus:%" PRIu32,
		ftvm_role_name(vm->role), vm->pid, vm->vcpus);
	for (unsigned int s = 0; s < __KVMFT_STAT_LAST; s++)
		if (ftvm_stat_name(s))
			fprintf(f, " %s:%" PRIu64, ftvm_stat_name(s),
				vm->stats[s]);
	fputc('\n', f);
}
