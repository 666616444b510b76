// SPDX-License-Identifier: GPL-2.0
/*
 * KVM exits seen from inside the kernel: how many of each exit reason, and
 * how long each took to handle, measured from kvm_exit to the next
 * kvm_entry on the same thread (so an exit that KVM hands to the VMM, like
 * port I/O, includes the VMM's time). targ_tgid, set before load, limits
 * both to one process (one VM); 0 means every process.
 *
 * Why classic tracepoints read through CO-RE: the prototypes of the kvm
 * tracepoints are not stable even within 6.1.y (6.1.153 gave kvm_entry a
 * force_immediate_exit argument and its record an immediate_exit field), and
 * the exit reason is not an argument of kvm_exit at all: KVM computes it
 * into the tracepoint's record. So kvm_exit's record is read through a
 * local struct that names only the two fields used; libbpf relocates their
 * offsets against trace_event_raw_kvm_exit in the running kernel's BTF
 * (kvm.ko's module BTF on Debian), and the load fails cleanly if a field
 * disappears. The kvm_entry handler reads nothing from its context, so it
 * attaches to either shape of that tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kvmft_exits.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 targ_tgid;

/* Updates lost to a full map, reported so that counts are never silently low. */
__u64 nr_dropped;

struct kvmft_pending_exit {
	__u64 ts;
	struct kvmft_exit_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KVMFT_EXITS_MAX_REASONS);
	__type(key, struct kvmft_exit_key);
	__type(value, struct kvmft_exit_stat);
} exit_stats SEC(".maps");

/*
 * The exit each thread is handling, by thread id. LRU, so that threads
 * that die between an exit and the next entry cannot fill it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct kvmft_pending_exit);
} pending SEC(".maps");

/* Only the fields used; the ___kvmft suffix is dropped for CO-RE matching. */
struct trace_event_raw_kvm_exit___kvmft {
	unsigned int exit_reason;
	__u32 isa;
} __attribute__((preserve_access_index));

static __always_inline bool kvmft_traced(__u64 pid_tgid)
{
	return !targ_tgid || (__u32)(pid_tgid >> 32) == targ_tgid;
}

static struct kvmft_exit_stat *kvmft_stat(const struct kvmft_exit_key *key)
{
	struct kvmft_exit_stat zero = {};
	struct kvmft_exit_stat *st;

	st = bpf_map_lookup_elem(&exit_stats, key);
	if (st)
		return st;
	/* Another CPU may insert the key first; then the lookup finds it. */
	bpf_map_update_elem(&exit_stats, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&exit_stats, key);
}

SEC("tracepoint/kvm/kvm_exit")
int kvmft_exit(struct trace_event_raw_kvm_exit___kvmft *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kvmft_pending_exit p = {};
	struct kvmft_exit_stat *st;
	__u32 tid = (__u32)id;

	if (!kvmft_traced(id))
		return 0;
	p.key.isa = ctx->isa;
	p.key.reason = ctx->exit_reason;
	st = kvmft_stat(&p.key);
	if (!st) {
		__sync_fetch_and_add(&nr_dropped, 1);
		return 0;
	}
	/* Per-CPU value, tracepoint context: no other writer on this CPU. */
	st->count++;
	p.ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&pending, &tid, &p, BPF_ANY))
		__sync_fetch_and_add(&nr_dropped, 1);
	return 0;
}

SEC("tracepoint/kvm/kvm_entry")
int kvmft_entry(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kvmft_pending_exit *p;
	struct kvmft_exit_stat *st;
	__u32 tid = (__u32)id;

	if (!kvmft_traced(id))
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	/* The thread may have moved CPUs; the per-CPU slots are summed. */
	st = bpf_map_lookup_elem(&exit_stats, &p->key);
	if (st) {
		st->lat_ns += bpf_ktime_get_ns() - p->ts;
		st->lat_samples++;
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}
