/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * kvmft: fault tolerance for KVM virtual machines, as a loadable module.
 *
 * This header is the one contract between kvmft.ko and userspace. Numbers
 * are only ever appended; nothing is renumbered.
 *
 * Generic netlink family "kvmft", version 1
 * -----------------------------------------
 * Every attribute has a typed policy; unknown attributes and wrong types are
 * rejected with an extended-ack message. State-changing commands need
 * CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM); ATTACH
 * and DETACH also need CAP_SYS_ADMIN (netlink_capable): ATTACH takes a
 * reference on another process's VM, and detaching a backup makes it run
 * live.
 *
 * KVMFT_CMD_ATTACH (admin)
 *   KVMFT_A_VM_FD: u32, required. A KVM VM fd in the caller's fd table (the
 *                  caller's own VM, or one taken from a VMM with pidfd_getfd).
 *   KVMFT_A_PID: u32, optional. Pid of the VMM owning the VM, for display.
 *   KVMFT_A_SVM_VMCB_OFF: u32, optional, 8..65536 (else ERANGE). Offset of
 *                  `vmcb` in struct vcpu_svm as read from the kvm_amd BTF.
 *                  If it differs from the offset the module was built
 *                  with, the VM can be attached but LOG_OPEN refuses it.
 *   reply: KVMFT_CMD_ATTACH with the VM's attributes (see below).
 *   errors: EBADF (fd not open), ENOTTY (fd is not a KVM VM),
 *           EEXIST (VM already attached), EBUSY (VM still being detached),
 *           EPERM (not privileged).
 *
 * Every command: EINVAL with "Unknown attribute type" for an attribute
 * number above KVMFT_A_MAX, EINVAL with "invalid attribute length" for a
 * wrong size, EINVAL with "missing attribute ..." for a required one left
 * out; the extended ack points at the attribute.
 *
 * KVMFT_CMD_DETACH (admin, CAP_SYS_ADMIN)
 *   KVMFT_A_VM_ID: u32, required.
 *   Returns once the VM has left the table (its vCPUs no longer
 *   intercepted), which takes as long as each vCPU takes to reach KVM;
 *   the wait is killable, and a detach whose caller was killed finishes on
 *   its own (DESTROY event).
 *   errors: ENOENT (unknown VM id, or already being detached), EPERM
 *           (not privileged), EINTR (caller killed while waiting).
 *
 * KVMFT_CMD_GET_VM (doit with KVMFT_A_VM_ID, or dump of all VMs)
 *   reply, and every KVMFT_CMD_VM_EVENT notification, carries:
 *   KVMFT_A_VM_ID: u32
 *   KVMFT_A_EVENT: u8, enum kvmft_event (EXISTS in replies)
 *   KVMFT_A_SEQ: u64, module-wide event sequence number; a dump reply
 *                carries the sequence current when it was filled, so a
 *                subscriber that joined the group first can drop older
 *                notifications.
 *   KVMFT_A_ROLE: u8, enum kvmft_role
 *   KVMFT_A_PID: u32, pid given at attach (0 if none); only to callers
 *                with CAP_NET_ADMIN
 *   KVMFT_A_VCPUS: u32, number of vCPUs the VM has now
 *   KVMFT_A_STATS: nested, enum kvmft_stat, each a u64
 *   KVMFT_A_SESSION: u64, the recording session of the VM's log (0: none)
 *   KVMFT_A_LOG_SEQ: u64, last record appended to the log (primary:
 *                recorded; backup: received from the writer)
 *   KVMFT_A_LOG_SHIPPED: u64, primary: last record read out of the log
 *   KVMFT_A_LOG_REPLAYED: u64, backup: last record its vCPU took
 *   KVMFT_A_DIVERGED_SEQ: u64, backup: the record that did not match what
 *                its vCPU did (0: none); the vCPU is stopped there
 *   KVMFT_A_DIVERGED_WHY: u32, enum kvmft_divergence: how it did not match
 *   KVMFT_A_VM_FLAGS: u32, KVMFT_VM_F_*
 *   KVMFT_A_LOG_ACKED: u64, primary of a KEEP session: the last record
 *   acked, which the log no longer holds
 *   KVMFT_A_OUTQ: nested, enum kvmft_outq_attr: the output hold queue
 *
 * KVMFT_CMD_PROMOTE (admin, CAP_SYS_ADMIN)
 *   KVMFT_A_VM_ID: u32, required. The backup takes no more records,
 *   replays the ones it holds, then runs live (role NONE, CHANGE event);
 *   its TSC never goes back. The only way a backup goes live, besides
 *   DETACH: never at the end of its log, never after a divergence.
 *   errors: ENOENT (unknown VM id), EINVAL (not a backup), ESTALE (the
 *           backup diverged: its state is not the primary's), EALREADY
 *           (already promoted), EPERM.
 *
 * KVMFT_CMD_VERIFY (admin)
 *   KVMFT_A_VM_ID: u32, required. KVMFT_A_LOG_SEQ: u64, required: a log
 *   position this side (primary or backup) has not reached yet.
 *   Waits (killably) until the record at or past that position has taken
 *   effect, then hashes all guest memory before the guest runs on, and
 *   replies with KVMFT_A_LOG_SEQ (the position hashed at, normally the one
 *   asked for) and KVMFT_A_MEM_HASH (xxh64 over every user memslot in
 *   guest-physical order, each preceded by its base gfn and page count).
 *   A primary and its backup asked for the same position must give the
 *   same hash; a difference is a divergence.
 *   errors: ENOENT, EINVAL (no role), ERANGE (position already passed),
 *           ECANCELED (the VM left its role first), EINTR (killed).
 *
 * KVMFT_CMD_GET_INFO (no attributes)
 *   reply: KVMFT_A_LIVE_OBJECTS: u64, KVMFT_A_VERSION: u32 (module
 *          protocol version, KVMFT_GENL_VERSION), KVMFT_A_SEQ: u64 (the
 *          event sequence now, for a subscriber whose dump was empty).
 *
 * KVMFT_CMD_TAP (admin, CAP_SYS_ADMIN)
 *   KVMFT_A_VM_ID: u32, required. KVMFT_A_IFINDEX: u32, required: the
 *   network device (in the initial namespace) through which the VM's
 *   packets enter the host, normally its tap; 0 unbinds. From then on
 *   every packet arriving on it, after every other ingress hook and tc
 *   filter, is held while the VM is a primary, dropped while it is a
 *   backup, and let through while it has no role (the output rule,
 *   docs/output-rule.md). KVMFT_A_OUTQ_MAX_PKTS, KVMFT_A_OUTQ_MAX_BYTES:
 *   u32, optional: the VM's hold limits (0: the module parameters
 *   outq_max_pkts, outq_max_bytes). Unbinding, detaching, unloading, the
 *   device going away or the VM leaving the primary role frees the
 *   packets still held, unsent.
 *   errors: ENOENT (unknown VM id), ENODEV (no such device), EBUSY (the
 *           device is bound to another VM), EEXIST (the VM has another
 *           device bound: unbind it first), EPERM.
 *
 * KVMFT_CMD_ACK (admin)
 *   KVMFT_A_VM_ID: u32, required. KVMFT_A_LOG_SEQ: u64, required: the
 *   backup holds every record up to this position. The primary releases,
 *   in arrival order, the held packets tagged at or below it, and every
 *   later packet tagged at or below it passes at once. An ack below an
 *   earlier one changes nothing. A KEEP session's log lets go of the
 *   records up to it, and a reader not yet past it skips to it. The same
 *   as KVMFT_IOC_LOG_ACK on the
 *   primary's log fd, which is cheaper (docs/decisions.md).
 *   errors: ENOENT, EINVAL (not a primary), ERANGE (past the last record
 *           recorded), EPERM.
 *
 * GET_VM and GET_INFO need no privilege; subscribing to the events group
 * needs CAP_NET_ADMIN where the kernel supports privileged groups (else
 * events carry no pid). The family
 * exists in the initial network namespace only: attached VMs belong to
 * the host. Event sequence numbers rise by one per event, and
 * notifications go out in sequence order.
 *
 * Multicast group "events": KVMFT_CMD_VM_EVENT with the VM attributes above
 *   and KVMFT_A_EVENT = CREATE (attach), CHANGE (role change, divergence,
 *   promotion), DESTROY (detach, or the VM's last fd closed).
 *
 * Character device /dev/kvmft: the log stream
 * -------------------------------------------
 * KVMFT_IOC_LOG_OPEN (CAP_SYS_ADMIN), argument struct kvmft_log_open,
 * returns a new fd on one VM's log:
 *   KVMFT_LOG_READ:  the VM becomes PRIMARY, recording a new session whose
 *                    id LOG_OPEN returns in `session`; read() returns whole records
 *                    (struct kvmft_rec followed by its payload), blocks
 *                    while the log is empty, and returns 0 once the VM has
 *                    gone and the log is drained. Closing it ends recording
 *                    (role NONE). While the log is full the vCPU waits.
 *   KVMFT_LOG_READ|KVMFT_LOG_KEEP: as READ, but a record leaves the log
 *                    only when acked (KVMFT_CMD_ACK, KVMFT_IOC_LOG_ACK),
 *                    not when read, so the log bounds the unacked records;
 *                    and closing the fd does not end recording: the VM
 *                    stays PRIMARY, records until its log is full of
 *                    unacked records, then its vCPU waits
 *                    (KVMFT_VM_F_NO_READER), and the module stays loaded
 *                    until the session is resumed or the VM detached.
 *                    KVMFT_IOC_LOG_END before close ends it for good.
 *   KVMFT_LOG_READ|KVMFT_LOG_KEEP|KVMFT_LOG_RESUME: take the reader of the
 *                    running KEEP session `session` again (ftd restarted):
 *                    `acked` and `recorded` come back, and the first
 *                    read() returns record acked + 1. EINVAL if the VM
 *                    keeps no such recording, EBUSY if it records another
 *                    session or a reader is still open. A plain READ on
 *                    such a VM gets EBUSY.
 *   KVMFT_LOG_WRITE: the VM becomes BACKUP, replaying the session given in
 *                    `session` (not 0); write() takes whole records,
 *                    checked (type, length, sequence, CRC, which a record
 *                    of another session fails) before any is
 *                    taken: EBADMSG for a corrupt or out-of-order record,
 *                    EMSGSIZE for a truncated one. The vCPU waits for the
 *                    record it needs. A backup never goes live on its own:
 *                    at the end of its log its vCPU waits for more records
 *                    (a writer may LOG_OPEN the same session again and go
 *                    on) or for PROMOTE; a record that does not match what
 *                    its vCPU does stops the vCPU there for good
 *                    (divergence: CHANGE event with KVMFT_A_DIVERGED_SEQ).
 *   errors: ENOENT (unknown VM id), EBUSY (VM already has a log open),
 *           EINVAL (bad flags, reserved not 0, size too small, WRITE
 *           or RESUME without a session), E2BIG (a longer struct whose tail is not
 *           0), EOPNOTSUPP (outside the v1 contract: exactly one vCPU, no
 *           in-kernel irqchip or PIT, no SVM in the guest's CPUID, no
 *           SEV-ES, the host kvm_amd, and kvm_amd's layout as the module
 *           was built for). Every refusal but EFAULT/ENOMEM/EPERM comes
 *           with a reason in `reason`, like an extended ack.
 *   While a VM has a role its shape is fixed: KVM_CREATE_VCPU fails with
 *   EBUSY and KVM_CREATE_PIT2 with ENOMEM (KVM's only error there), each
 *   with a kernel log line naming the VM.
 *   LOG_OPEN returns once the vCPU intercepts RDTSC, so the log starts at
 *   a defined point. The log holds kvmft's log_kb module parameter of
 *   KiB (default 1024) of records, fixed when the VM is attached; every
 *   KVM_RUN that waited for it (full for a primary, empty for a backup)
 *   counts in KVMFT_STAT_LOG_WAITS.
 *   read() needs a buffer of at least KVMFT_REC_MAX_LEN (else EINVAL) and
 *   may return several records; write() takes several and returns a
 *   partial count on error, EPIPE once the VM is gone, live, promoted or
 *   diverged (poll: EPOLLERR). poll() and O_NONBLOCK work. The fd is
 *   O_CLOEXEC. Sequence numbers restart at 1 on every LOG_OPEN.
 *   A backup that stops replaying (goes live, is detached) moves its
 *   guest's TSC forward past the last value replayed, so the guest never
 *   sees its TSC go back.
 */
#ifndef _UAPI_LINUX_KVMFT_H
#define _UAPI_LINUX_KVMFT_H

#include <linux/const.h>
#include <linux/types.h>
#include <linux/ioctl.h>

#define KVMFT_GENL_NAME		"kvmft"
#define KVMFT_GENL_VERSION	1
#define KVMFT_MCGRP_EVENTS	"events"
#define KVMFT_DEVICE_NAME	"kvmft"

enum kvmft_cmd {
	KVMFT_CMD_UNSPEC,
	KVMFT_CMD_ATTACH,
	KVMFT_CMD_DETACH,
	KVMFT_CMD_GET_VM,
	KVMFT_CMD_GET_INFO,
	KVMFT_CMD_VM_EVENT,
	KVMFT_CMD_PROMOTE,
	KVMFT_CMD_VERIFY,
	KVMFT_CMD_TAP,
	KVMFT_CMD_ACK,
	__KVMFT_CMD_MAX
};

#define KVMFT_CMD_MAX (__KVMFT_CMD_MAX - 1)

enum kvmft_attr {
	KVMFT_A_UNSPEC,
	KVMFT_A_VM_FD,		/* u32 */
	KVMFT_A_VM_ID,		/* u32 */
	KVMFT_A_PID,		/* u32 */
	KVMFT_A_ROLE,		/* u8, enum kvmft_role */
	KVMFT_A_EVENT,		/* u8, enum kvmft_event */
	KVMFT_A_SEQ,		/* u64 */
	KVMFT_A_VCPUS,		/* u32 */
	KVMFT_A_STATS,		/* nested, enum kvmft_stat */
	KVMFT_A_LIVE_OBJECTS,	/* u64 */
	KVMFT_A_VERSION,	/* u32 */
	KVMFT_A_SVM_VMCB_OFF,	/* u32 */
	KVMFT_A_PAD,
	KVMFT_A_SESSION,	/* u64 */
	KVMFT_A_LOG_SEQ,	/* u64 */
	KVMFT_A_LOG_SHIPPED,	/* u64 */
	KVMFT_A_LOG_REPLAYED,	/* u64 */
	KVMFT_A_DIVERGED_SEQ,	/* u64 */
	KVMFT_A_VM_FLAGS,	/* u32, KVMFT_VM_F_* */
	KVMFT_A_MEM_HASH,	/* u64 */
	KVMFT_A_IFINDEX,	/* u32 */
	KVMFT_A_OUTQ,		/* nested, enum kvmft_outq_attr */
	KVMFT_A_OUTQ_MAX_PKTS,	/* u32 */
	KVMFT_A_OUTQ_MAX_BYTES,	/* u32 */
	KVMFT_A_DIVERGED_WHY,	/* u32, enum kvmft_divergence */
	KVMFT_A_LOG_ACKED,	/* u64 */
	__KVMFT_A_LAST
};

#define KVMFT_A_MAX (__KVMFT_A_LAST - 1)

enum kvmft_role {
	KVMFT_ROLE_NONE,	/* attached, observed, not recorded */
	KVMFT_ROLE_PRIMARY,	/* non-deterministic inputs are recorded */
	KVMFT_ROLE_BACKUP,	/* non-deterministic inputs come from the log */
	__KVMFT_ROLE_LAST
};

#define KVMFT_ROLE_MAX (__KVMFT_ROLE_LAST - 1)

/* KVMFT_A_VM_FLAGS: what a backup is doing besides replaying. */
#define KVMFT_VM_F_LOG_ENDED	_BITUL(0)	/* writer gone, log empty: waits */
#define KVMFT_VM_F_PROMOTING	_BITUL(1)	/* replays what it holds, then live */
#define KVMFT_VM_F_DIVERGED	_BITUL(2)	/* stopped at KVMFT_A_DIVERGED_SEQ */
#define KVMFT_VM_F_KEEP		_BITUL(3)	/* primary: records kept until acked */
#define KVMFT_VM_F_NO_READER	_BITUL(4)	/* KEEP primary with no reader now */
#define __KVMFT_VM_F_ALL	(KVMFT_VM_F_LOG_ENDED | KVMFT_VM_F_PROMOTING | \
				 KVMFT_VM_F_DIVERGED | KVMFT_VM_F_KEEP | \
				 KVMFT_VM_F_NO_READER)

/* KVMFT_A_DIVERGED_WHY: how a backup left its primary's path. */
enum kvmft_divergence {
	KVMFT_DIV_NONE,
	KVMFT_DIV_RECORD,	/* the next record is not what this exit needs */
	KVMFT_DIV_STATE,	/* registers differ from a state record's */
	KVMFT_DIV_PASSED,	/* an event's landmark is behind the vCPU */
	KVMFT_DIV_OFF_LANDMARK,	/* an exit's event, but not at that exit */
	KVMFT_DIV_SEARCH,	/* a kind-3 landmark not found in 2^24 steps */
	KVMFT_DIV_EVENT,	/* an event of an unknown kind */
	KVMFT_DIV_DELIVERY,	/* an interrupt or NMI during a kind-3 search */
	__KVMFT_DIV_LAST
};

enum kvmft_event {
	KVMFT_EVENT_EXISTS,
	KVMFT_EVENT_CREATE,
	KVMFT_EVENT_CHANGE,
	KVMFT_EVENT_DESTROY,
	__KVMFT_EVENT_LAST
};

enum kvmft_stat {
	KVMFT_STAT_UNSPEC,
	KVMFT_STAT_RUNS,	/* KVM_RUN calls seen */
	KVMFT_STAT_PIO_IN,	/* PIO IN completions seen */
	KVMFT_STAT_RDTSC,	/* RDTSC/RDTSCP exits handled */
	KVMFT_STAT_RECORDED,	/* records appended to the log */
	KVMFT_STAT_REPLAYED,	/* records injected from the log */
	KVMFT_STAT_DIVERGENCES,	/* log record did not match the exit */
	KVMFT_STAT_PAD,
	KVMFT_STAT_LOG_WAITS,	/* KVM_RUN calls that waited for the log */
	KVMFT_STAT_RDMSR,	/* MSR reads recorded or replayed */
	KVMFT_STAT_REFUSED,	/* instructions refused with #GP (RDPMC) */
	KVMFT_STAT_STATES,	/* vCPU state hashes recorded or checked */
	KVMFT_STAT_DET_EXITS,	/* deterministic exits while it had a role */
	KVMFT_STAT_EVENTS,	/* asynchronous events recorded or applied */
	KVMFT_STAT_WITHHELD,	/* backup: its VMM's own events, withheld */
	KVMFT_STAT_STEP_EVENTS,	/* events at kind-3 landmarks (recorded or applied) */
	KVMFT_STAT_STEPS,	/* backup: instructions single-stepped to them */
	__KVMFT_STAT_LAST
};

#define KVMFT_STAT_MAX (__KVMFT_STAT_LAST - 1)

/*
 * KVMFT_A_OUTQ: the output rule's hold queue (docs/output-rule.md). Each
 * a u64 unless said otherwise; counters count since attach.
 */
enum kvmft_outq_attr {
	KVMFT_OUTQ_UNSPEC,
	KVMFT_OUTQ_PAD,
	KVMFT_OUTQ_IFINDEX,	/* u32: the bound device, 0: none */
	KVMFT_OUTQ_ACKED,	/* last position acked (primary; see ACKS) */
	KVMFT_OUTQ_HELD_PKTS,	/* packets held now */
	KVMFT_OUTQ_HELD_BYTES,	/* their frame bytes */
	KVMFT_OUTQ_HELD,	/* packets ever held */
	KVMFT_OUTQ_RELEASED,	/* held packets released after an ack */
	KVMFT_OUTQ_PASSED,	/* let through unheld (no role, or acked) */
	KVMFT_OUTQ_DROPPED,	/* backup's packets, and held ones freed */
	KVMFT_OUTQ_LONGEST_NS,	/* longest hold of a released packet */
	KVMFT_OUTQ_WAITS,	/* KVM_RUN calls that waited at the limit */
	KVMFT_OUTQ_MAX_PKTS,	/* u32: the VM's packet limit */
	KVMFT_OUTQ_MAX_BYTES,	/* u32: the VM's byte limit */
	KVMFT_OUTQ_ACKS,	/* acks received */
	__KVMFT_OUTQ_LAST
};

#define KVMFT_OUTQ_MAX (__KVMFT_OUTQ_LAST - 1)

/*
 * Log records. Every record is a header followed by `len` payload bytes;
 * `crc` is the CRC32 (IEEE, as crc32_le(~0, ...) ^ ~0) of the session id
 * (8 bytes, little-endian), then the header with crc set to 0, then the
 * payload: a record of another recording session fails it. Sequence numbers start at 1 and
 * have no gaps. Records are native-endian and packed back to back, so a
 * header that follows a PIO record may be unaligned. A PIO record has
 * count >= 1; an RDTSC record has aux 0.
 */
enum kvmft_rec_type {
	KVMFT_REC_UNSPEC,
	KVMFT_REC_PIO_IN,	/* payload: struct kvmft_rec_pio + data */
	KVMFT_REC_RDTSC,	/* payload: struct kvmft_rec_tsc */
	KVMFT_REC_RDTSCP,	/* payload: struct kvmft_rec_tsc */
	KVMFT_REC_RDMSR,	/* payload: struct kvmft_rec_msr */
	KVMFT_REC_STATE,	/* payload: struct kvmft_rec_state */
	KVMFT_REC_EVENT,	/* payload: struct kvmft_rec_event */
	KVMFT_REC_MMIO_IN,	/* payload: struct kvmft_rec_mmio */
	__KVMFT_REC_LAST
};

struct kvmft_rec {
	__u64 seq;
	__u16 type;		/* enum kvmft_rec_type */
	__u16 len;		/* payload bytes after this header */
	__u32 vcpu;		/* vCPU index */
	__u32 crc;
	__u32 reserved;		/* 0 */
};

struct kvmft_rec_pio {
	__u16 port;
	__u8 size;		/* 1, 2 or 4 */
	__u8 reserved;		/* 0 */
	__u32 count;		/* data is size * count bytes */
	__u8 data[];
};

struct kvmft_rec_tsc {
	__u64 tsc;		/* value the guest read */
	__u64 aux;		/* TSC_AUX for RDTSCP, else 0 */
};

/*
 * What an RDMSR gave the guest: the value, or a #GP (flags
 * KVMFT_MSR_F_GP, value 0). Whoever answered it (KVM from host state, or
 * the VMM through KVM_EXIT_X86_RDMSR), the backup gives the same.
 */
struct kvmft_rec_msr {
	__u32 index;		/* ECX */
	__u32 flags;		/* KVMFT_MSR_F_* */
	__u64 value;		/* EDX:EAX */
};

/*
 * Divergence detection: every state_every records (kvmft's module
 * parameter, fixed at LOG_OPEN; 0: never) the primary puts this in front
 * of the record: a hash of the vCPU's registers (GPRs, RIP, RFLAGS, CR0,
 * CR2, CR3, CR4, EFER) as they were before that record took effect. The
 * backup computes the same at the same point; a mismatch is a divergence
 * at this record. The hash is xxh64 over those values, seed 0: equal
 * only between hosts of one vendor and one kvmft version.
 */
struct kvmft_rec_state {
	__u64 hash;
	__u64 rip;		/* for the reader of a divergence report */
};

/*
 * An asynchronous change to the in-kernel irqchip or timers, and the
 * landmark where it took effect (docs/replay-engine.md): after `det`
 * deterministic exits of the vCPU, either right after the last of them
 * (KVMFT_LANDMARK_EXIT, RIP there for the reader) or, when the primary
 * held it longer than kvmft's landmark_bound_us, at a later instruction
 * boundary named by RIP and `hash` (KVMFT_LANDMARK_STEP, "kind 3"), which
 * the backup finds by single-stepping from that exit. The backup applies
 * it at the same landmark; one it passed is a divergence.
 */
enum kvmft_async {
	KVMFT_ASYNC_UNSPEC,
	KVMFT_ASYNC_LAPIC_TIMER,	/* the LAPIC timer expired */
	KVMFT_ASYNC_MSI,		/* KVM_SIGNAL_MSI: struct kvmft_ev_msi */
	__KVMFT_ASYNC_LAST
};

enum kvmft_landmark {
	KVMFT_LANDMARK_EXIT,	/* right after deterministic exit number det */
	KVMFT_LANDMARK_STEP,	/* past it, where RIP and hash match */
	__KVMFT_LANDMARK_LAST
};

struct kvmft_rec_event {
	__u64 det;		/* deterministic exits before it */
	__u64 rip;
	__u16 kind;		/* enum kvmft_async */
	__u16 landmark;		/* enum kvmft_landmark */
	__u32 reserved;		/* 0 */
	/*
	 * KVMFT_LANDMARK_STEP: xxh64 (seed 0) of the 16 general registers,
	 * RIP and RFLAGS without TF and RF, as u64s in that order; else 0.
	 */
	__u64 hash;
	/* then what the kind carries, if anything */
};

/* KVMFT_ASYNC_MSI: the struct kvm_msi the VMM signalled. */
struct kvmft_ev_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 flags;
	__u32 devid;
	__u32 reserved;		/* 0 */
};

/*
 * What an MMIO read the VMM answered (KVM_EXIT_MMIO) gave the guest: one
 * fragment of at most 8 bytes at gpa, as KVM completes it; data beyond
 * len is 0.
 */
struct kvmft_rec_mmio {
	__u64 gpa;
	__u32 len;		/* 1 to 8 */
	__u32 reserved;		/* 0 */
	__u8 data[8];
};

#define KVMFT_MSR_F_GP		_BITUL(0)
#define __KVMFT_MSR_F_ALL	KVMFT_MSR_F_GP

#define KVMFT_REC_MAX_PIO_DATA	4096
#define KVMFT_REC_MAX_LEN \
	(sizeof(struct kvmft_rec) + sizeof(struct kvmft_rec_pio) + \
	 KVMFT_REC_MAX_PIO_DATA)

/*
 * On-disk log file written by `ftctl record`: this header, then records.
 * Version 1 (before sessions) had no `session`; it cannot be replayed.
 */
#define KVMFT_LOGFILE_MAGIC	"KVMFTLOG"
#define KVMFT_LOGFILE_VERSION	2
struct kvmft_logfile_hdr {
	char magic[8];		/* KVMFT_LOGFILE_MAGIC, not NUL-terminated */
	__u32 version;		/* KVMFT_LOGFILE_VERSION */
	__u32 reserved;		/* 0 */
	__u64 session;		/* the recording's session id (not 0) */
};

/* /dev/kvmft ioctls */
#define KVMFT_LOG_READ		_BITUL(0)
#define KVMFT_LOG_WRITE		_BITUL(1)
#define KVMFT_LOG_KEEP		_BITUL(2)	/* with READ */
#define KVMFT_LOG_RESUME	_BITUL(3)	/* with READ|KEEP */
#define __KVMFT_LOG_ALL		(KVMFT_LOG_READ | KVMFT_LOG_WRITE | \
				 KVMFT_LOG_KEEP | KVMFT_LOG_RESUME)

#define KVMFT_REASON_LEN	128

/*
 * Argument of KVMFT_IOC_LOG_OPEN. `size` is sizeof() as the caller knows
 * it: fields are only ever appended, and a caller built against a newer
 * header may pass a longer struct as long as the part this kernel does
 * not know is zero (else E2BIG).
 */
struct kvmft_log_open {
	__u32 size;		/* in: sizeof(struct kvmft_log_open) */
	__u32 vm_id;		/* in */
	__u32 flags;		/* in: exactly one of KVMFT_LOG_READ/WRITE */
	__u32 reserved;		/* in: 0 */
	/*
	 * READ: out, the new recording's id; WRITE and RESUME: in, the one
	 * to accept or to take up again
	 */
	__u64 session;
	char reason[KVMFT_REASON_LEN];	/* out: why it was refused, or "" */
	/* Appended; out. READ: the last record acked (0 for a new session) */
	__u64 acked;
	/* out: the last record recorded (READ) or received (WRITE) */
	__u64 recorded;
};

#define KVMFT_IOC_MAGIC		0xF7
#define KVMFT_IOC_LOG_OPEN	_IOWR(KVMFT_IOC_MAGIC, 2, struct kvmft_log_open)
/*
 * On a primary's log fd (the reader): the backup holds every record up to
 * *arg; as KVMFT_CMD_ACK. Errors: EBADF on a writer's fd, EINVAL (no
 * longer a primary), ERANGE (past the last record recorded).
 */
#define KVMFT_IOC_LOG_ACK	_IOW(KVMFT_IOC_MAGIC, 3, __u64)
/*
 * On a KEEP reader: end the session when this fd closes, as without KEEP;
 * the records read but not acked are dropped now. EINVAL on any other fd.
 */
#define KVMFT_IOC_LOG_END	_IO(KVMFT_IOC_MAGIC, 4)

#endif /* _UAPI_LINUX_KVMFT_H */
