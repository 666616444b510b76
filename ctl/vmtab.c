// SPDX-License-Identifier: GPL-2.0
/* The VMs ftd knows, from either backend (vmif.h). */
#include <string.h>

#include "ftdlog.h"
#include "pair.h"
#include "vm.h"

struct ftd_vm *ftd_vms;
uint32_t ftd_module_version;

struct ftd_vm *vm_find(uint32_t id)
{
	for (struct ftd_vm *v = ftd_vms; v; v = v->next)
		if (v->id == id)
			return v;
	return NULL;
}

/* Of the VMs with this identity, a free one first (role none, unpaired). */
struct ftd_vm *vm_find_ident(const char *ident)
{
	struct ftd_vm *any = NULL;

	for (struct ftd_vm *v = ftd_vms; v; v = v->next) {
		if (v->gone || !v->ident[0] || strcmp(v->ident, ident))
			continue;
		if (!v->pair && v->role == KVMFT_ROLE_NONE)
			return v;
		any = any ? any : v;
	}
	return any;
}

void vm_changed(struct ftd_vm *vm, const char *why)
{
	fevent(vm->id, "vm", "%s: role %s%s", why, ftvm_role_name(vm->role),
	       vm->gone ? ", stopped" : "");
	if (vm->gone && vm->pair)
		failover_vm_gone(vm->pair);
	else if (!vm->pair)
		pair_state_vm(vm);
}
