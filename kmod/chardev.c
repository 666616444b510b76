// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kvmft: KVMFT_IOC_LOG_OPEN hands out a stream fd on one VM's log.
 * Opening it for reading makes the VM a primary, for writing a backup;
 * the role lasts as long as the fd (a backup goes live once its log is
 * drained after the writer closed).
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include "kvmft.h"

struct kvmft_log_file {
	struct kvmft_vm *vm;
	bool writer;
	struct mutex lock;		/* one reader or writer at a time */
	u8 buf[KVMFT_REC_MAX_LEN];
};

static bool kvmft_log_drained(struct kvmft_vm *vm)
{
	return !kvmft_log_unread(&vm->log) && READ_ONCE(vm->detached);
}

/*
 * Copy out whole records from the read point; returns bytes copied or a
 * negative error. The bytes between the ring's `out` and `in` stay put
 * while rd_mutex is held (only its holder moves `out`), so they are read
 * without the spinlock, which only the positions need.
 */
static ssize_t kvmft_log_copy_out(struct kvmft_log_file *lf,
				  char __user *ubuf, size_t count)
{
	struct kvmft_log *log = &lf->vm->log;
	unsigned int rd, avail;
	struct kvmft_rec h;
	size_t done = 0, total;
	ssize_t ret = 0;

	mutex_lock(&log->rd_mutex);
	for (;;) {
		spin_lock(&log->lock);
		rd = log->rd;
		avail = log->fifo.kfifo.in - rd;
		spin_unlock(&log->lock);
		if (avail < sizeof(h))
			break;
		kvmft_log_peek_at(log, rd, &h, sizeof(h));
		total = sizeof(h) + h.len;
		if (total > count - done || total > avail)
			break;
		kvmft_log_peek_at(log, rd, lf->buf, total);
		if (copy_to_user(ubuf + done, lf->buf, total)) {
			ret = -EFAULT;
			break;
		}
		spin_lock(&log->lock);
		log->rd = rd + total;
		log->shipped = h.seq;
		/* Without KEEP a record read is gone; with it, an ack frees. */
		if (!log->keep)
			log->fifo.kfifo.out = log->rd;
		spin_unlock(&log->lock);
		done += total;
	}
	mutex_unlock(&log->rd_mutex);
	if (done)
		wake_up_interruptible(&log->wq);
	return done ? done : ret;
}

static ssize_t kvmft_log_read(struct file *file, char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct kvmft_log_file *lf = file->private_data;
	struct kvmft_vm *vm = lf->vm;
	ssize_t ret;

	if (lf->writer)
		return -EBADF;
	if (count < KVMFT_REC_MAX_LEN)
		return -EINVAL;
	if (mutex_lock_interruptible(&lf->lock))
		return -ERESTARTSYS;
	for (;;) {
		ret = kvmft_log_copy_out(lf, ubuf, count);
		if (ret || kvmft_log_drained(vm))
			break;
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			break;
		ret = -ERESTARTSYS;
		if (wait_event_interruptible(vm->log.wq,
					     kvmft_log_unread(&vm->log) ||
					     READ_ONCE(vm->detached)))
			break;
	}
	mutex_unlock(&lf->lock);
	return ret;
}

/*
 * May the writer add records? Not once the VM is gone, live, promoted (it
 * replays what it holds, nothing more) or diverged.
 */
static bool kvmft_log_writable(struct kvmft_vm *vm)
{
	return !READ_ONCE(vm->detached) &&
	       READ_ONCE(vm->role) == KVMFT_ROLE_BACKUP &&
	       !READ_ONCE(vm->log.promoted) && !READ_ONCE(vm->log.diverged);
}

static ssize_t kvmft_log_write_one(struct kvmft_log_file *lf,
				   const char __user *ubuf, size_t avail,
				   bool nonblock)
{
	struct kvmft_vm *vm = lf->vm;
	struct kvmft_log *log = &vm->log;
	struct kvmft_rec *rec = (struct kvmft_rec *)lf->buf;
	size_t total;
	int err;

	if (avail < sizeof(*rec))
		return -EMSGSIZE;
	if (copy_from_user(rec, ubuf, sizeof(*rec)))
		return -EFAULT;
	total = sizeof(*rec) + rec->len;
	if (total > KVMFT_REC_MAX_LEN)
		return -EBADMSG;
	if (avail < total)
		return -EMSGSIZE;
	if (copy_from_user(rec + 1, ubuf + sizeof(*rec), rec->len))
		return -EFAULT;
	err = kvmft_rec_check(rec, total, log->next_seq, log->session);
	if (err)
		return err;
	if (kfifo_avail(&log->fifo) < total && nonblock)
		return -EAGAIN;
	if (wait_event_interruptible(log->wq, !kvmft_log_writable(vm) ||
				     kfifo_avail(&log->fifo) >= total))
		return -ERESTARTSYS;
	/* Gone, live, promoted or diverged: nobody will take it. */
	if (!kvmft_log_writable(vm))
		return -EPIPE;
	spin_lock(&log->lock);
	kfifo_in(&log->fifo, lf->buf, total);
	log->next_seq++;
	spin_unlock(&log->lock);
	wake_up_interruptible(&log->wq);
	/* A halted backup waits in KVM, not on the log: wake it to look. */
	kvmft_vm_kick(vm);
	return total;
}

static ssize_t kvmft_log_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct kvmft_log_file *lf = file->private_data;
	ssize_t ret = 0;
	size_t done = 0;

	if (!lf->writer)
		return -EBADF;
	if (mutex_lock_interruptible(&lf->lock))
		return -ERESTARTSYS;
	while (done < count) {
		ret = kvmft_log_write_one(lf, ubuf + done, count - done,
					  file->f_flags & O_NONBLOCK);
		if (ret < 0)
			break;
		done += ret;
	}
	mutex_unlock(&lf->lock);
	return done ? done : ret;
}

static __poll_t kvmft_log_poll(struct file *file, poll_table *wait)
{
	struct kvmft_log_file *lf = file->private_data;
	struct kvmft_vm *vm = lf->vm;
	__poll_t mask = 0;

	poll_wait(file, &vm->log.wq, wait);
	if (READ_ONCE(vm->detached))
		mask |= lf->writer ? EPOLLERR : EPOLLHUP;
	else if (lf->writer && !kvmft_log_writable(vm))
		mask |= EPOLLERR;
	if (!lf->writer && kvmft_log_unread(&vm->log))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (lf->writer && kfifo_avail(&vm->log.fifo) >= KVMFT_REC_MAX_LEN)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static void kvmft_log_file_close(struct kvmft_log_file *lf)
{
	struct kvmft_vm *vm = lf->vm;
	bool orphan;

	mutex_lock(&kvmft_lock);
	spin_lock(&vm->log.lock);
	if (lf->writer)
		vm->log.has_writer = false;
	else
		vm->log.has_reader = false;
	orphan = !lf->writer && vm->log.keep && !vm->detached;
	spin_unlock(&vm->log.lock);
	/*
	 * A primary stops recording, unless it keeps its records until they
	 * are acked (KEEP): then it records on without a reader, until the
	 * log is full, for a reader to resume it, and pins the module
	 * meanwhile: unloading would leave it live and unrecorded while its
	 * backup may be promoted. Detach or RESUME drop the pin. A backup
	 * keeps its role: it replays what it holds and then waits at the end
	 * of its log, for a writer to come back (LOG_OPEN of the same
	 * session) or for promotion.
	 */
	if (orphan) {
		if (!vm->log.pinned) {
			__module_get(THIS_MODULE);
			vm->log.pinned = true;
		}
		kvmft_genl_notify(vm, KVMFT_EVENT_CHANGE, GFP_KERNEL);
	} else if (!vm->detached && !lf->writer) {
		kvmft_vm_set_role(vm, KVMFT_ROLE_NONE);
	}
	kvmft_log_wake(vm);
	mutex_unlock(&kvmft_lock);
	kvmft_vm_put(vm);
	kfree(lf);
	kvmft_obj_put();
}

static int kvmft_log_release(struct inode *inode, struct file *file)
{
	kvmft_log_file_close(file->private_data);
	return 0;
}

/*
 * On a primary's log fd: KVMFT_IOC_LOG_ACK as KVMFT_CMD_ACK, cheaper;
 * KVMFT_IOC_LOG_END ends a KEEP session at close.
 */
static long kvmft_log_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct kvmft_log_file *lf = file->private_data;
	u64 pos;

	switch (cmd) {
	case KVMFT_IOC_LOG_ACK:
		if (lf->writer)
			return -EBADF;
		if (get_user(pos, (u64 __user *)arg))
			return -EFAULT;
		return kvmft_log_ack(lf->vm, pos);
	case KVMFT_IOC_LOG_END:
		return lf->writer ? -EINVAL : kvmft_log_end_keep(lf->vm);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kvmft_log_fops = {
	.owner = THIS_MODULE,
	.read = kvmft_log_read,
	.write = kvmft_log_write,
	.poll = kvmft_log_poll,
	.unlocked_ioctl = kvmft_log_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = kvmft_log_release,
	.llseek = noop_llseek,
};

#define kvmft_refuse(arg, fmt, ...) \
	snprintf((arg)->reason, sizeof((arg)->reason), fmt, ##__VA_ARGS__)

/* KVM's paravirtual features that let the host write guest memory. */
static const struct {
	u32 bit;
	const char *name;
} kvmft_pv_refused[] = {
	{ KVM_FEATURE_CLOCKSOURCE, "kvmclock" },
	{ KVM_FEATURE_CLOCKSOURCE2, "kvmclock" },
	{ KVM_FEATURE_ASYNC_PF, "async page faults" },
	{ KVM_FEATURE_ASYNC_PF_VMEXIT, "async page faults" },
	{ KVM_FEATURE_ASYNC_PF_INT, "async page faults" },
	{ KVM_FEATURE_STEAL_TIME, "steal time" },
	{ KVM_FEATURE_PV_EOI, "PV EOI" },
};

/* Where KVM's CPUID leaves start: 0x40000000, or 0x40000100 with Hyper-V. */
static struct kvm_cpuid_entry2 *kvmft_kvm_leaves(struct kvm_vcpu *vcpu)
{
	static const u32 bases[] = { 0x40000000, 0x40000100 };
	struct kvm_cpuid_entry2 *e;
	int i;

	for (i = 0; i < ARRAY_SIZE(bases); i++) {
		e = kvm_find_cpuid_entry(vcpu, bases[i]);
		/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
		if (e && e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 &&
		    e->edx == 0x4d)
			return kvm_find_cpuid_entry(vcpu, bases[i] + 1);
	}
	return NULL;
}

/*
 * The guest's CPUID may offer nothing whose result the log does not hold:
 * RDRAND and RDSEED (KVM lets the guest run them), KVM's paravirtual
 * clock, steal time, PV EOI and async page faults (the host writes guest
 * memory behind the log's back). Names the first bit found, or NULL.
 */
static const char *kvmft_cpuid_refusal(struct kvm_vcpu *vcpu, char *buf,
				       size_t len)
{
	struct kvm_cpuid_entry2 *e;
	int i;

	e = kvm_find_cpuid_entry(vcpu, 1);
	if (e && (e->ecx & BIT(X86_FEATURE_RDRAND & 31)))
		return "the guest's CPUID offers RDRAND (CPUID.1:ECX[30]; QEMU -cpu ...,-rdrand)";
	e = kvm_find_cpuid_entry_index(vcpu, 7, 0);
	if (e && (e->ebx & BIT(X86_FEATURE_RDSEED & 31)))
		return "the guest's CPUID offers RDSEED (CPUID.7.0:EBX[18]; QEMU -cpu ...,-rdseed)";
	e = kvmft_kvm_leaves(vcpu);
	for (i = 0; e && i < ARRAY_SIZE(kvmft_pv_refused); i++) {
		if (!(e->eax & BIT(kvmft_pv_refused[i].bit)))
			continue;
		snprintf(buf, len,
			 "the guest's CPUID offers KVM's %s (KVM feature bit %u; QEMU -cpu ...,kvm=off)",
			 kvmft_pv_refused[i].name, kvmft_pv_refused[i].bit);
		return buf;
	}
	return NULL;
}

/*
 * The v1 contract, as far as the module can see it. Called with kvm->lock
 * held, which KVM holds to create vCPUs and the PIT: nothing it checks can
 * change until the role is set (kvmft_hooks.c refuses both while a VM has
 * a role).
 */
static int kvmft_log_contract(struct kvmft_vm *vm, struct kvmft_log_open *arg)
{
	struct kvm *kvm = vm->kvm;
	struct kvm_vcpu *vcpu;
	const char *why;
	unsigned long i;

	if (kvm->created_vcpus != 1 || kvmft_vm_vcpu_count(vm) != 1) {
		kvmft_refuse(arg, "the VM has %d vCPUs; the v1 contract allows one",
			     kvm->created_vcpus);
		return -EOPNOTSUPP;
	}
	/*
	 * irqchip_in_kernel() is private to KVM; split irqchips count too,
	 * but for the experimental LAPIC timer replay (lapic.c).
	 */
	if (READ_ONCE(kvm->arch.irqchip_mode) != KVM_IRQCHIP_NONE &&
	    !(kvmft_lapic_enabled() &&
	      READ_ONCE(kvm->arch.irqchip_mode) == KVM_IRQCHIP_SPLIT)) {
		/* KVM answers reads of the PIC, IOAPIC, LAPIC timer itself. */
		kvmft_refuse(arg, "in-kernel irqchip: its reads are not recorded yet");
		return -EOPNOTSUPP;
	}
	if (kvm->arch.vpit) {
		kvmft_refuse(arg, "in-kernel PIT: its reads are not recorded yet");
		return -EOPNOTSUPP;
	}
	kvm_for_each_vcpu(i, vcpu, kvm) {
		why = kvmft_vendor_check_vcpu(vm, vcpu);
		if (!why)
			why = kvmft_cpuid_refusal(vcpu, arg->reason,
						  sizeof(arg->reason));
		if (why) {
			if (why != arg->reason)
				kvmft_refuse(arg, "%s", why);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/*
 * A backup whose writer went away (ftd restarted, the channel broke) takes
 * a writer of the same session again: the log goes on where it stopped.
 */
static bool kvmft_log_resumable(struct kvmft_vm *vm, bool writer,
				struct kvmft_log_open *arg)
{
	struct kvmft_log *log = &vm->log;

	return writer && vm->role == KVMFT_ROLE_BACKUP && !log->has_writer &&
	       !log->promoted && !log->diverged && arg->session == log->session;
}

/*
 * RESUME: a reader takes up the VM's KEEP session again where its acks
 * left it. Called with kvmft_lock held; *@unpin: drop the orphan's pin.
 */
static int kvmft_log_resume(struct kvmft_vm *vm, struct kvmft_log_open *arg,
			    bool *unpin)
{
	struct kvmft_log *log = &vm->log;

	if (vm->role != KVMFT_ROLE_PRIMARY || !log->keep) {
		kvmft_refuse(arg, "VM %u keeps no recording to resume", vm->id);
		return -EINVAL;
	}
	if (arg->session != log->session) {
		kvmft_refuse(arg, "VM %u records session %llx, not %llx",
			     vm->id, log->session, arg->session);
		return -EBUSY;
	}
	if (log->has_reader) {
		kvmft_refuse(arg, "session %llx has a reader", log->session);
		return -EBUSY;
	}
	mutex_lock(&log->rd_mutex);
	spin_lock(&log->lock);
	log->has_reader = true;
	log->rd = log->fifo.kfifo.out;
	log->shipped = log->acked;
	arg->acked = log->acked;
	arg->recorded = log->next_seq - 1;
	spin_unlock(&log->lock);
	mutex_unlock(&log->rd_mutex);
	*unpin = log->pinned;
	log->pinned = false;
	kvmft_genl_notify(vm, KVMFT_EVENT_CHANGE, GFP_KERNEL);
	return 0;
}

/* Called with kvmft_lock held: may this VM take the role now? */
static int kvmft_log_claim(struct kvmft_vm *vm, struct kvmft_log_open *arg,
			   bool *unpin)
{
	bool writer = arg->flags == KVMFT_LOG_WRITE;
	int err;

	if (vm->detached) {
		kvmft_refuse(arg, "the VM is being detached");
		return -ENOENT;
	}
	if (arg->flags & KVMFT_LOG_RESUME)
		return kvmft_log_resume(vm, arg, unpin);
	if (kvmft_log_resumable(vm, writer, arg)) {
		spin_lock(&vm->log.lock);
		vm->log.has_writer = true;
		arg->recorded = vm->log.next_seq - 1;
		spin_unlock(&vm->log.lock);
		return 0;
	}
	if (vm->role == KVMFT_ROLE_PRIMARY && vm->log.keep &&
	    !vm->log.has_reader) {
		kvmft_refuse(arg, "VM %u keeps session %llx for a reader: use KVMFT_LOG_RESUME",
			     vm->id, vm->log.session);
		return -EBUSY;
	}
	if (vm->log.has_reader || vm->log.has_writer ||
	    vm->role != KVMFT_ROLE_NONE) {
		kvmft_refuse(arg, "the VM already has a log open (role %s)",
			     vm->role == KVMFT_ROLE_BACKUP ? "backup" :
			     vm->role == KVMFT_ROLE_PRIMARY ? "primary" : "none");
		return -EBUSY;
	}
	err = kvmft_hooks_arm_vendor(NULL);
	if (err) {
		kvmft_refuse(arg, "needs kvm_amd (AMD SVM) and its hooks: see dmesg");
		return err;
	}

	mutex_lock(&vm->kvm->lock);
	err = kvmft_log_contract(vm, arg);
	if (!err) {
		mutex_lock(&vm->log.rd_mutex);
		spin_lock(&vm->log.lock);
		kfifo_reset(&vm->log.fifo);
		vm->log.rd = 0;
		vm->log.acked = 0;
		vm->log.keep = !!(arg->flags & KVMFT_LOG_KEEP);
		vm->log.next_seq = 1;
		vm->log.session = arg->session;
		vm->log.state_every = READ_ONCE(kvmft_state_every);
		vm->log.promoted = false;
		vm->log.shipped = 0;
		vm->log.replayed = 0;
		vm->log.diverged = 0;
		vm->log.diverged_why = KVMFT_DIV_NONE;
		if (writer)
			vm->log.has_writer = true;
		else
			vm->log.has_reader = true;
		spin_unlock(&vm->log.lock);
		mutex_unlock(&vm->log.rd_mutex);
		kvmft_vm_set_role(vm, writer ? KVMFT_ROLE_BACKUP :
					       KVMFT_ROLE_PRIMARY);
	}
	mutex_unlock(&vm->kvm->lock);
	return err;
}

/*
 * struct kvmft_log_open carries its size: callers built against an older
 * header pass a shorter one, newer ones a longer one whose unknown tail
 * must be zero (copy_struct_from_user()).
 */
static int kvmft_log_open_args(struct kvmft_log_open *arg,
			       struct kvmft_log_open __user *uarg, u32 *usize)
{
	int err;

	if (get_user(*usize, &uarg->size))
		return -EFAULT;
	if (*usize < offsetofend(struct kvmft_log_open, reason))
		return -EINVAL;
	err = copy_struct_from_user(arg, sizeof(*arg), uarg, *usize);
	if (err)
		return err;
	arg->reason[0] = 0;
	arg->acked = 0;
	arg->recorded = 0;
	if (arg->reserved ||
	    (arg->flags != KVMFT_LOG_READ && arg->flags != KVMFT_LOG_WRITE &&
	     arg->flags != (KVMFT_LOG_READ | KVMFT_LOG_KEEP) &&
	     arg->flags != (KVMFT_LOG_READ | KVMFT_LOG_KEEP | KVMFT_LOG_RESUME))) {
		kvmft_refuse(arg, "bad flags 0x%x or reserved field not zero",
			     arg->flags);
		return -EINVAL;
	}
	if (arg->flags == KVMFT_LOG_WRITE && !arg->session) {
		kvmft_refuse(arg, "a backup needs the session it replays");
		return -EINVAL;
	}
	if ((arg->flags & KVMFT_LOG_RESUME) && !arg->session) {
		kvmft_refuse(arg, "RESUME needs the session to take up");
		return -EINVAL;
	}
	return 0;
}

static long kvmft_ioctl_log_open(struct kvmft_log_open __user *uarg)
{
	struct kvmft_log_open arg = { 0 };
	struct kvmft_log_file *lf;
	struct kvmft_vm *vm;
	bool writer, resume, unpin = false;
	u32 usize = 0;
	int fd, err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	err = kvmft_log_open_args(&arg, uarg, &usize);
	if (err)
		goto out_reason;
	writer = arg.flags == KVMFT_LOG_WRITE;
	resume = arg.flags & KVMFT_LOG_RESUME;
	if (!writer && !resume)
		arg.session = get_random_u64() ?: 1;
	vm = kvmft_vm_get_by_id(arg.vm_id);
	if (!vm) {
		kvmft_refuse(&arg, "no attached VM has id %u", arg.vm_id);
		err = -ENOENT;
		goto out_reason;
	}
	lf = kzalloc(sizeof(*lf), GFP_KERNEL_ACCOUNT);
	if (!lf) {
		kvmft_vm_put(vm);
		return -ENOMEM;
	}
	kvmft_obj_get();
	mutex_init(&lf->lock);
	lf->vm = vm;
	lf->writer = writer;

	mutex_lock(&kvmft_lock);
	err = kvmft_log_claim(vm, &arg, &unpin);
	mutex_unlock(&kvmft_lock);
	if (err)
		goto err_claim;
	/* Our own call holds the module: the orphan's pin may go. */
	if (unpin)
		module_put(THIS_MODULE);
	/* The log starts where interception does: wait until it is on. */
	if (!resume)
		kvmft_vm_sync_vcpus(vm, KVMFT_SYNC_KILLABLE);
	if (copy_to_user(uarg, &arg, min_t(u32, usize, sizeof(arg)))) {
		fd = -EFAULT;
		goto err_fd;
	}
	/* From here the fd owns lf and the VM reference. */
	fd = anon_inode_getfd("kvmft-log", &kvmft_log_fops, lf,
			      (writer ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd >= 0)
		return fd;
err_fd:
	/* A new KEEP session nobody learnt of ends; a resumed one waits on. */
	if (!resume && (arg.flags & KVMFT_LOG_KEEP))
		kvmft_log_end_keep(vm);
	kvmft_log_file_close(lf);
	return fd;

err_claim:
	kfree(lf);
	kvmft_obj_put();
	kvmft_vm_put(vm);
out_reason:
	/* Like an extended ack: the reason goes back with the errno. */
	if (arg.reason[0] && usize >= offsetofend(struct kvmft_log_open, reason) &&
	    copy_to_user(uarg->reason, arg.reason, sizeof(arg.reason)))
		return -EFAULT;
	return err;
}

static long kvmft_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	/* The size in the number may grow with the struct: not checked. */
	if (_IOC_TYPE(cmd) == _IOC_TYPE(KVMFT_IOC_LOG_OPEN) &&
	    _IOC_NR(cmd) == _IOC_NR(KVMFT_IOC_LOG_OPEN) &&
	    _IOC_DIR(cmd) == _IOC_DIR(KVMFT_IOC_LOG_OPEN))
		return kvmft_ioctl_log_open((void __user *)arg);
	return -ENOTTY;
}

static const struct file_operations kvmft_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kvmft_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kvmft_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KVMFT_DEVICE_NAME,
	.fops = &kvmft_dev_fops,
	.mode = 0600,
};

int kvmft_chardev_init(void)
{
	return misc_register(&kvmft_miscdev);
}

void kvmft_chardev_exit(void)
{
	misc_deregister(&kvmft_miscdev);
}
