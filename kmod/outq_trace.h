/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the output rule (outq.c): per packet, how long it was
 * held, and why one was dropped. For perf, bpftrace, or a BPF program on
 * the tracepoint: tracing/events/kvmft/.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvmft

#if !defined(KVMFT_OUTQ_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVMFT_OUTQ_TRACE_H

#include <linux/tracepoint.h>

#define KVMFT_OUTQ_DROP_BACKUP	0	/* a backup's packet */
#define KVMFT_OUTQ_DROP_FREED	1	/* held, then freed unsent */

TRACE_EVENT(kvmft_outq_release,
	    TP_PROTO(u32 vm, u64 tag, u64 hold_ns, u32 len),
	    TP_ARGS(vm, tag, hold_ns, len),
	    TP_STRUCT__entry(__field(u32, vm)
			     __field(u32, len)
			     __field(u64, tag)
			     __field(u64, hold_ns)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->len = len;
			   __entry->tag = tag;
			   __entry->hold_ns = hold_ns;),
	    TP_printk("vm=%u tag=%llu hold_ns=%llu len=%u", __entry->vm,
		      __entry->tag, __entry->hold_ns, __entry->len)
);

TRACE_EVENT(kvmft_outq_drop,
	    TP_PROTO(u32 vm, u32 why, u32 len),
	    TP_ARGS(vm, why, len),
	    TP_STRUCT__entry(__field(u32, vm)
			     __field(u32, why)
			     __field(u32, len)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->why = why;
			   __entry->len = len;),
	    TP_printk("vm=%u why=%s len=%u", __entry->vm,
		      __print_symbolic(__entry->why,
				       { KVMFT_OUTQ_DROP_BACKUP, "backup" },
				       { KVMFT_OUTQ_DROP_FREED, "freed" }),
		      __entry->len)
);

#endif /* KVMFT_OUTQ_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE outq_trace
#include <trace/define_trace.h>
