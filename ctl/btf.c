// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "btf.h"

/* libbpf's own warnings would only repeat what we report. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static bool find_member(const struct btf *btf, const struct btf_type *t,
			const char *name, uint32_t base, uint32_t *bits)
{
	const struct btf_member *m = btf_members(t);
	const struct btf_type *mt;
	const char *n;

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		uint32_t off = base + btf_member_bit_offset(t, i);

		n = btf__name_by_offset(btf, m->name_off);
		if (n && *n) {
			if (!strcmp(n, name)) {
				*bits = off;
				return true;
			}
			continue;
		}
		mt = btf__type_by_id(btf, btf__resolve_type(btf, m->type));
		if (mt && btf_is_composite(mt) &&
		    find_member(btf, mt, name, off, bits))
			return true;
	}
	return false;
}

int ftbtf_member_offset(const char *module, const char *type,
			const char *member, uint32_t *off, char *msg,
			size_t len)
{
	struct btf *vmlinux, *btf = NULL;
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	const struct btf_type *t;
	uint32_t bits;
	int id, ret = 0;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		ret = -errno;
		snprintf(msg, len, "cannot load the kernel's BTF: %s",
			 strerror(errno));
		goto out;
	}
	if (module) {
		btf = btf__parse_split(module, vmlinux);
		if (!btf) {
			ret = -errno;
			snprintf(msg, len, "cannot read %s: %s", module,
				 strerror(errno));
			goto out;
		}
	}
	id = btf__find_by_name_kind(btf ? btf : vmlinux, type,
				    BTF_KIND_STRUCT);
	if (id < 0) {
		ret = -ENOENT;
		snprintf(msg, len, "no struct %s in %s", type,
			 module ? module : "the kernel's BTF");
		goto out;
	}
	t = btf__type_by_id(btf ? btf : vmlinux, id);
	if (!find_member(btf ? btf : vmlinux, t, member, 0, &bits)) {
		ret = -ENOENT;
		snprintf(msg, len, "struct %s has no member %s", type, member);
		goto out;
	}
	if (bits % 8) {
		ret = -EINVAL;
		snprintf(msg, len, "%s.%s is a bit field", type, member);
		goto out;
	}
	*off = bits / 8;
out:
	btf__free(btf);
	btf__free(vmlinux);
	libbpf_set_print(old);
	return ret;
}
