/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmft internal interfaces. One file per subsystem:
 *   main.c    init ladder, debugfs, live-object accounting
 *   genl.c    generic netlink family and events
 *   vm.c      attached VMs: table, lifetime, attach/detach, roles
 *   hooks.c   ftrace hooks on KVM (KVM_RUN entry, VM fd release, halt)
 *   vendor.c  the table of vendor operations, and arming the vendor
 *   svm.c     AMD SVM: RDTSC/RDTSCP interception and its exit handler
 *   vmx.c     Intel VMX: not implemented yet; refuses, by name
 *   log.c     per-VM record log: append, take, waiters
 *   chardev.c /dev/kvmft and log stream fds
 *   verify.c  guest memory hashes at a log position (VERIFY)
 *   landmark.c counting deterministic exits, the landmarks of replay
 *   lapic.c   the in-kernel LAPIC timer under the log (experimental)
 *   step.c    kind-3 landmarks: RIP and a register hash, single-stepped to
 *   outq.c    the output rule: the VM's tap packets held until acked
 */
#ifndef KVMFT_H
#define KVMFT_H

#include <linux/completion.h>
#include <linux/ftrace.h>
#include <linux/kvm_host.h>
#include <linux/netlink.h>
#include <linux/kfifo.h>
#include <linux/kref.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/rculist.h>
#include <linux/sizes.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/kvmft.h>

#define KVMFT_LOG_KB_DEFAULT	1024
#define KVMFT_LOG_KB_MIN	64
#define KVMFT_LOG_KB_MAX	65536

extern unsigned int kvmft_log_kb;	/* module parameter log_kb */
extern unsigned int kvmft_state_every;	/* module parameter state_every */

#define KVMFT_OUTQ_MAX_PKTS_DEFAULT	4096
#define KVMFT_OUTQ_MAX_BYTES_DEFAULT	(4 * 1024 * 1024)
extern unsigned int kvmft_outq_max_pkts;	/* module parameter */
extern unsigned int kvmft_outq_max_bytes;	/* module parameter */

/* A record and the state record that may precede it. */
#define KVMFT_REC_STATE_LEN \
	(sizeof(struct kvmft_rec) + sizeof(struct kvmft_rec_state))

/* Objects the module owns; all must be gone after detach/unload. */
extern atomic64_t kvmft_live_objects;

static inline void kvmft_obj_get(void)
{
	atomic64_inc(&kvmft_live_objects);
}

static inline void kvmft_obj_put(void)
{
	atomic64_dec(&kvmft_live_objects);
}

struct kvmft_vcpu_state {
	/* KVM's PIO IN completion, while kvmft's runs in front of it */
	int (*orig_cui)(struct kvm_vcpu *vcpu);
	bool need_wait;		/* returned -EINTR; wait before next entry */
	bool tsc_replayed;	/* the guest read tsc_max from the log */
	bool verify_pending;	/* hash memory before the guest runs on */
	/*
	 * Landmarks (docs/replay-engine.md): exits caused by the guest's
	 * instruction stream, counted alike on primary and backup. An NPF
	 * counts only if KVM emulated the instruction, known after its
	 * handler: it is settled at the next exit or KVM_RUN.
	 */
	u64 det_exits;
	bool npf_open;		/* the last exit was an NPF, not settled */
	bool emulated;		/* KVM emulated an instruction since */
	bool at_landmark;	/* the last exit was deterministic */
	bool bypass;		/* kvmft calls a hooked function itself */
	/*
	 * Kind-3 landmarks (step.c). Primary: held_since is when an event
	 * began to wait for a landmark (ns, 0: none waits); step_landmark
	 * says the events applied at this loop point are at one; delivering
	 * that events were applied since the last deterministic exit (the
	 * guest may be in their handlers, which a backup cannot step). Backup:
	 * stepping while it single-steps to one (search_steps so far),
	 * step_found once it applied one here.
	 */
	bool step_landmark;
	bool delivering;
	u64 injected_mark;	/* interrupts KVM had injected at the last one */
	u64 npf_mark;		/* ... at the NPF not settled yet */
	bool stepping;
	bool step_found;
	u64 held_since;
	u32 search_steps;
	u64 tsc_max;		/* highest TSC value replayed */
};

/*
 * A primary's log has two positions in one ring: the kfifo's own `out`,
 * the first byte of record acked + 1, and the read point `rd` (out <= rd
 * <= in). Without KEEP both move together, as a read consumes; with KEEP
 * only an ack moves `out`, so the ring bounds the unacked records.
 */
struct kvmft_log {
	spinlock_t lock;		/* producers and consumers of fifo */
	DECLARE_KFIFO_PTR(fifo, u8);
	void *buf;
	wait_queue_head_t wq;		/* readers, writers, waiting vCPUs */
	struct mutex rd_mutex;		/* primary: copy-out, ack, resume */
	u64 next_seq;			/* seq of the next record appended */
	u64 session;			/* this recording's id, in every CRC */
	u32 state_every;		/* primary: a state record each N */
	bool has_reader;		/* a READ fd is open (primary) */
	bool has_writer;		/* a WRITE fd is open (backup) */
	bool keep;			/* primary: KEEP session (under both locks) */
	bool pinned;			/* a KEEP orphan pins the module; kvmft_lock */
	bool promoted;			/* backup: replay what is here, go live */
	unsigned int rd;		/* primary: read point, kfifo index */
	u64 acked;			/* primary: last seq acked (KEEP) */
	u64 shipped;			/* primary: last seq read out */
	u64 replayed;			/* backup: last seq taken */
	u64 diverged;			/* backup: seq that did not match, or 0 */
	u32 diverged_why;		/* enum kvmft_divergence */
};

#define KVMFT_MSI_HOLD	64	/* MSIs a primary holds between landmarks */

struct kvmft_msi_hold {
	spinlock_t lock;	/* the fields below */
	u32 head, tail;		/* free-running; ring index modulo size */
	struct kvmft_ev_msi ring[KVMFT_MSI_HOLD];
};

/* The output rule's hold queue (outq.c). */
struct kvmft_outq {
	spinlock_t lock;		/* q and the counters; BH */
	struct sk_buff_head q;		/* held, in arrival order */
	struct mutex release_lock;	/* one release at a time */
	bool releasing;			/* a released batch is out */
	bool acked_any;			/* an ack came since it became primary */
	u64 acked;			/* last position acked */
	u32 held_pkts, held_bytes;	/* WRITE_ONCE under lock */
	u32 max_pkts, max_bytes;	/* the VM's limits */
	u64 held, released, passed, dropped, longest_ns, acks;
	atomic64_t waits;		/* KVM_RUN calls that waited */
	/* Binding, under RTNL. */
	struct net_device *dev;
	netdevice_tracker dev_tracker;
	int ifindex;			/* READ_ONCE: dev's, or 0 */
	struct nf_hook_ops ops;
	struct list_head node;		/* kvmft_outq_list */
};

struct kvmft_vm {
	struct hlist_node hnode;	/* kvmft_vm_hash, RCU */
	struct list_head node;		/* kvmft_vm_list, kvmft_lock */
	struct rcu_head rcu;
	struct kref ref;
	struct kvm *kvm;		/* referenced until the last put */
	u32 id;
	u32 pid;
	u32 vmcb_off;			/* offsetof(struct vcpu_svm, vmcb) */
	u8 role;			/* enum kvmft_role, READ_ONCE */
	bool detached;
	struct work_struct release_work; /* VM fd closed: detach */
	struct work_struct change_work;	/* CHANGE event from atomic context */
	struct work_struct detach_work;	/* undo interception, leave table */
	struct work_struct free_work;	/* last reference: drop the kvm */
	struct completion detach_done;	/* detach_work has finished */
	atomic64_t stats[__KVMFT_STAT_LAST];
	struct kvmft_log log;
	struct kvmft_vcpu_state *vcpus;	/* KVM_MAX_VCPUS entries */
	struct {
		struct mutex mutex;	/* one VERIFY at a time */
		spinlock_t lock;	/* the fields below */
		wait_queue_head_t wq;	/* VERIFY waits for the hash */
		u64 at;			/* position asked for, 0: none */
		u64 seq;		/* position hashed at */
		u64 hash;
		int err;
		bool done;
	} verify;
	u8 *pio_buf;			/* the recorded vCPU's PIO IN data */
	struct kvmft_msi_hold msi_hold;	/* primary: MSIs for a landmark */
	struct kvmft_outq outq;		/* the output rule */
};

static inline bool kvmft_vm_wants_exits(struct kvmft_vm *vm)
{
	return READ_ONCE(vm->role) != KVMFT_ROLE_NONE && !READ_ONCE(vm->detached);
}

/*
 * PERMANENT: while a hook is registered, sysctl kernel.ftrace_enabled=0 is
 * refused (EBUSY), as for livepatch: with tracing off the hooks would stop
 * while VMCBs still intercept exits that only kvmft can handle.
 */
#define KVMFT_HOOK_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION | \
			  FTRACE_OPS_FL_PERMANENT)

struct kvmft_hook {
	const char *name;
	const char *module;
	ftrace_func_t func;
	unsigned long flags;
	struct ftrace_ops ops;
	unsigned long addr;
};

static inline void kvmft_stat_inc(struct kvmft_vm *vm, int stat)
{
	atomic64_inc(&vm->stats[stat]);
}

/* main.c */
extern struct mutex kvmft_lock;
extern struct workqueue_struct *kvmft_wq;

/* vm.c */
typedef int (*kvmft_fill_t)(struct sk_buff *skb, struct kvmft_vm *vm, u8 cmd,
			    u8 event, u32 portid, u32 seq, int flags, bool pid);
int kvmft_vm_dump(struct sk_buff *skb, struct netlink_callback *cb,
		  kvmft_fill_t fill);
struct kvmft_vm *kvmft_vm_lookup_rcu(struct kvm *kvm);
struct kvmft_vm *kvmft_vm_lookup_apic_rcu(void *apic, struct kvm_vcpu **vcpu);
struct kvmft_vm *kvmft_vm_get_rcu(struct kvm *kvm);
struct kvmft_vm *kvmft_vm_get_by_id(u32 id);
void kvmft_vm_put(struct kvmft_vm *vm);
struct kvmft_vm *kvmft_vm_attach(struct file *file, u32 pid, u32 vmcb_off,
				 struct netlink_ext_ack *extack);
int kvmft_vm_detach(struct kvmft_vm *vm);
int kvmft_vm_detach_wait(struct kvmft_vm *vm);
void kvmft_vm_detach_all(void);
void kvmft_vm_set_role(struct kvmft_vm *vm, u8 role);
void kvmft_vm_released(struct kvm *kvm);
void kvmft_vm_change_async(struct kvmft_vm *vm);
enum kvmft_sync {
	KVMFT_SYNC_NOWAIT,	/* kick, let the hooks catch up */
	KVMFT_SYNC_KILLABLE,	/* wait, unless the caller is killed */
	KVMFT_SYNC_ALWAYS,	/* wait: the VM is leaving the table */
};

int kvmft_vm_sync_vcpus(struct kvmft_vm *vm, enum kvmft_sync wait);
u32 kvmft_vm_vcpu_count(struct kvmft_vm *vm);
void kvmft_vm_kick(struct kvmft_vm *vm);
struct kvmft_vcpu_state *kvmft_vcpu_state(struct kvmft_vm *vm,
					  struct kvm_vcpu *vcpu);

/* genl.c */
int kvmft_genl_init(void);
void kvmft_genl_exit(void);
void kvmft_genl_notify(struct kvmft_vm *vm, u8 event, gfp_t gfp);

/* hooks.c */
int kvmft_hooks_init(void);
void kvmft_hooks_exit(void);
int kvmft_hooks_arm_vendor(struct netlink_ext_ack *extack);
unsigned long kvmft_lookup_symbol(const char *name);
unsigned long kvmft_symbol_start(unsigned long addr);
bool kvmft_func_bounds(unsigned long addr, unsigned long *start,
		       unsigned long *size);
void kvmft_diverge(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u64 seq,
		   enum kvmft_divergence why);
void kvmft_vcpu_sync(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
bool kvmft_vcpu_sync_done(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
int kvmft_hook_register(struct kvmft_hook *h);
void kvmft_redirect_get(void);
void kvmft_redirect_put(void);
void kvmft_hooks_drain(void);
void kvmft_hook_unregister(struct kvmft_hook *h);
int kvmft_tsc_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, bool rdtscp,
		   u64 *tsc, u64 *aux);
int kvmft_rdmsr_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
int kvmft_rdpmc_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);

/*
 * vendor.c: what differs between kvm_amd (svm.c) and kvm_intel (vmx.c).
 * Every operation runs on the vCPU's thread or under its mutex, but for
 * arm/disarm (kvmft_lock, unload) and layout_off.
 */
struct kvmft_vendor {
	const char *module;		/* the module that owns /dev/kvm */
	int (*arm)(struct netlink_ext_ack *extack);	/* hook exits */
	void (*disarm)(void);
	u32 (*layout_off)(void);	/* offset checked against BTF */
	/* Why @vcpu cannot be recorded or replayed, or NULL. */
	const char *(*check_vcpu)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
	/* Are the intercepts of @vcpu those of a VM that wants exits? */
	bool (*intercepts_match)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
				 bool want);
	void (*sync_intercepts)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
				bool want);
	void (*set_tsc_offset)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			       u64 offset);
	/* The registers divergence detection hashes (struct kvmft_rec_state). */
	void (*state)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
		      struct kvmft_rec_state *st);
	/* Blocks the guest's interrupts for one instruction (STI, MOV SS)? */
	bool (*interrupt_shadow)(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
};

extern const struct kvmft_vendor kvmft_svm_vendor, kvmft_vmx_vendor;
extern const struct kvmft_vendor *kvmft_vendor;

void kvmft_vendor_exit(void);
void kvmft_vendor_release(void);
u32 kvmft_vendor_layout_off(void);

static inline const struct kvmft_vendor *kvmft_vendor_get(void)
{
	return READ_ONCE(kvmft_vendor);
}

static inline const char *kvmft_vendor_check_vcpu(struct kvmft_vm *vm,
						  struct kvm_vcpu *vcpu)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();

	return v ? v->check_vcpu(vm, vcpu) : "no KVM vendor module is armed";
}

static inline bool kvmft_vendor_intercepts_match(struct kvmft_vm *vm,
						 struct kvm_vcpu *vcpu,
						 bool want)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();

	return !v || v->intercepts_match(vm, vcpu, want);
}

static inline void kvmft_vendor_sync_intercepts(struct kvmft_vm *vm,
						struct kvm_vcpu *vcpu,
						bool want)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();

	if (v)
		v->sync_intercepts(vm, vcpu, want);
}

static inline void kvmft_vendor_set_tsc_offset(struct kvmft_vm *vm,
					       struct kvm_vcpu *vcpu,
					       u64 offset)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();

	if (v)
		v->set_tsc_offset(vm, vcpu, offset);
}

static inline void kvmft_vendor_state(struct kvmft_vm *vm,
				      struct kvm_vcpu *vcpu,
				      struct kvmft_rec_state *st)
{
	const struct kvmft_vendor *v = kvmft_vendor_get();

	memset(st, 0, sizeof(*st));
	if (v)
		v->state(vm, vcpu, st);
}

/* log.c */
int kvmft_log_init(struct kvmft_log *log);
void kvmft_log_free(struct kvmft_log *log);
int kvmft_rec_check(const struct kvmft_rec *rec, size_t avail, u64 seq,
		    u64 session);
int kvmft_log_append(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u16 type,
		     const void *payload, u16 len, const void *data,
		     u16 data_len, const struct kvmft_rec_state *st);
int kvmft_log_take(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, u16 type,
		   void *fixed, u16 fixed_len, bool match, void *data,
		   u16 data_len, u64 *seq);
bool kvmft_log_ready(struct kvmft_vm *vm);
int kvmft_log_ack(struct kvmft_vm *vm, u64 pos);
int kvmft_log_end_keep(struct kvmft_vm *vm);
void kvmft_log_peek_at(struct kvmft_log *log, unsigned int idx, void *buf,
		       unsigned int len);

/* Primary: is anyone recording (a reader, or a KEEP session without one)? */
static inline bool kvmft_log_recording(const struct kvmft_log *log)
{
	return log->has_reader || log->keep;
}

/* Primary: bytes recorded but not read yet. */
static inline unsigned int kvmft_log_unread(const struct kvmft_log *log)
{
	return READ_ONCE(log->fifo.kfifo.in) - READ_ONCE(log->rd);
}

bool kvmft_log_promote_done(struct kvmft_vm *vm);
bool kvmft_log_has_room(struct kvmft_vm *vm, size_t bytes);
int kvmft_log_peek_event(struct kvmft_vm *vm, struct kvmft_rec_event *ev,
			 u64 *seq);
u64 kvmft_log_next_event_seq(struct kvmft_vm *vm);
bool kvmft_log_empty(struct kvmft_vm *vm);
int kvmft_vm_promote(struct kvmft_vm *vm, struct netlink_ext_ack *extack);
void kvmft_log_wake(struct kvmft_vm *vm);

/*
 * Exported by kvm.ko but declared only in its private headers
 * (arch/x86/kvm/cpuid.h and x86.h), which are not shipped with the
 * kernel headers.
 */
struct x86_exception;
struct kvm_cpuid_entry2 *kvm_find_cpuid_entry(struct kvm_vcpu *vcpu,
					      u32 function);
struct kvm_cpuid_entry2 *kvm_find_cpuid_entry_index(struct kvm_vcpu *vcpu,
						    u32 function, u32 index);
int kvm_read_guest_virt(struct kvm_vcpu *vcpu, gva_t addr, void *val,
			unsigned int bytes, struct x86_exception *exception);
void kvm_inject_pending_timer_irqs(struct kvm_vcpu *vcpu);	/* irq.h */

/* landmark.c */
bool kvmft_exit_deterministic(u32 exit_code);
void kvmft_landmark_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			 u32 exit_code);
void kvmft_landmark_settle(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
void kvmft_landmark_refused(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
int kvmft_landmark_init(void);
void kvmft_landmark_exit_hooks(void);

/* lapic.c */
bool kvmft_lapic_enabled(void);
bool kvmft_lapic_resume(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
bool kvmft_backup_apply(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			struct kvmft_vcpu_state *vs);
bool kvmft_backup_apply_now(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
			    struct kvmft_vcpu_state *vs);
int kvmft_lapic_init(void);
void kvmft_lapic_exit(void);

/* step.c */
u64 kvmft_step_hash(struct kvm_vcpu *vcpu);
u64 kvmft_step_injections(struct kvm_vcpu *vcpu);
bool kvmft_step_due(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
		    struct kvmft_vcpu_state *vs, bool held);
void kvmft_step_fill(struct kvmft_vm *vm, struct kvm_vcpu *vcpu,
		     struct kvmft_vcpu_state *vs, struct kvmft_rec_event *ev);
void kvmft_step_set(struct kvm_vcpu *vcpu, struct kvmft_vcpu_state *vs,
		    bool on);
bool kvmft_step_match(struct kvm_vcpu *vcpu, const struct kvmft_rec_event *ev);
bool kvmft_step_exit(struct kvmft_vcpu_state *vs, u32 exit_code);
int kvmft_step_trap(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
void kvmft_step_inject(struct kvmft_vm *vm, struct kvm_vcpu *vcpu);
void kvmft_vcpu_stop(struct kvmft_vcpu_state *vs);

/* verify.c */
int kvmft_verify_exit(struct kvmft_vm *vm, struct kvm_vcpu *vcpu, int ret);
int kvmft_run_verify(struct kvm_vcpu *vcpu);
int kvmft_verify(struct kvmft_vm *vm, u64 at, u64 *hash, u64 *seq,
		 struct netlink_ext_ack *extack);

/* outq.c */
void kvmft_outq_init(struct kvmft_outq *oq);
bool kvmft_outq_full(struct kvmft_vm *vm);
int kvmft_outq_ack(struct kvmft_vm *vm, u64 pos);
void kvmft_outq_set_role(struct kvmft_vm *vm, u8 role);
void kvmft_outq_detach(struct kvmft_vm *vm);
int kvmft_outq_tap(struct kvmft_vm *vm, int ifindex, u32 max_pkts,
		   u32 max_bytes, struct netlink_ext_ack *extack);
int kvmft_outq_fill(struct sk_buff *skb, struct kvmft_vm *vm);
int kvmft_outq_module_init(void);
void kvmft_outq_module_exit(void);

/* chardev.c */
int kvmft_chardev_init(void);
void kvmft_chardev_exit(void);

#endif /* KVMFT_H */
