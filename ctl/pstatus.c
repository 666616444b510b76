// SPDX-License-Identifier: GPL-2.0
/*
 * What `ftctl status` shows when ftd runs: every VM, its pair (role,
 * peer, channel, log positions and lag, heartbeat age, generation), and
 * the frames and heartbeats refused, as text or one JSON object.
 */
#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "pair.h"
#include "util.h"
#include "vm.h"

static const char *chan_state(const struct pair *p)
{
	static const char *const names[] = {
		[CH_CONNECTING] = "connecting", [CH_HELLO] = "handshake", [CH_UP] = "up",
	};

	return p->ch ? names[p->ch->state] : "down";
}

static uint64_t hb_age(const struct pair *p)
{
	return p->hb_rx_ms ? ft_now_ms() - p->hb_rx_ms : 0;
}

static void stats_json(struct json *j, const char *key, const struct ftp_stats *s)
{
	json_obj_begin(j, key);
	json_u64(j, "garbage", s->garbage);
	json_u64(j, "bad_version", s->bad_version);
	json_u64(j, "truncated", s->truncated);
	json_u64(j, "oversized", s->oversized);
	json_u64(j, "forged", s->forged);
	json_u64(j, "replayed", s->replayed);
	json_u64(j, "malformed", s->malformed);
	json_obj_end(j);
}

static void pair_json(struct json *j, const struct pair *p)
{
	char id[20];

	json_obj_begin(j, "pair");
	json_str(j, "state", pair_state_name(p->state));
	json_str(j, "side", p->primary ? "primary" : "backup");
	json_str(j, "why", p->why);
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)p->pair_id);
	json_str(j, "pair_id", id);
	json_str(j, "peer", p->peer_name[0] ? p->peer_name : p->peer);
	json_str(j, "peer_addr", p->ch ? p->ch->name : p->peer);
	json_u64(j, "peer_host_id", p->peer_host_id);
	json_str(j, "channel", chan_state(p));
	json_u64(j, "chan_bytes_tx", p->ch ? p->ch->bytes_tx : 0);
	json_u64(j, "chan_bytes_rx", p->ch ? p->ch->bytes_rx : 0);
	json_u64(j, "sent", p->sent);
	json_u64(j, "acked", p->primary ? p->acked : p->held);
	json_u64(j, "held", p->held);
	json_u64(j, "replayed", p->replayed);
	json_u64(j, "lag", ship_lag(p));
	json_bool(j, "slowed", p->slowed);
	json_bool(j, "stalled", p->stalled);
	json_u64(j, "stalls", p->stalls);
	json_u64(j, "hb_age_ms", hb_age(p));
	json_u64(j, "hb_sent", p->hb_sent);
	json_u64(j, "hb_got", p->hb_got);
	json_u64(j, "gen", p->gen);
	json_u64(j, "peer_gen", p->peer_gen);
	json_str(j, "disk", p->disk);
	json_u64(j, "arb_ms", p->arb_ms);
	json_u64(j, "arb_tries", p->arb_tries);
	/* The output rule's queue, as the module last said (0: no tap). */
	json_obj_begin(j, "held_outputs");
	json_u64(j, "tap_ifindex", p->vm ? p->vm->outq[KVMFT_OUTQ_IFINDEX] : 0);
	json_u64(j, "packets", p->vm ? p->vm->outq[KVMFT_OUTQ_HELD_PKTS] : 0);
	json_u64(j, "bytes", p->vm ? p->vm->outq[KVMFT_OUTQ_HELD_BYTES] : 0);
	json_u64(j, "acked", p->vm ? p->vm->outq[KVMFT_OUTQ_ACKED] : 0);
	json_u64(j, "released", p->vm ? p->vm->outq[KVMFT_OUTQ_RELEASED] : 0);
	json_u64(j, "dropped", p->vm ? p->vm->outq[KVMFT_OUTQ_DROPPED] : 0);
	json_u64(j, "waits", p->vm ? p->vm->outq[KVMFT_OUTQ_WAITS] : 0);
	json_obj_end(j);
	json_obj_end(j);
}

static void vm_json(struct json *j, const struct ftd_vm *vm)
{
	json_obj_begin(j, NULL);
	json_u64(j, "id", vm->id);
	json_str(j, "ident", vm->ident);
	json_str(j, "backend", vm->ops->name);
	json_str(j, "role", ftvm_role_name(vm->role));
	json_bool(j, "stopped", vm->gone);
	json_u64(j, "pid", vm->pid);
	json_obj_begin(j, "stats");
	for (unsigned int s = 0; s < __KVMFT_STAT_LAST; s++)
		if (ftvm_stat_name(s))
			json_u64(j, ftvm_stat_name(s), vm->stats[s]);
	json_obj_end(j);
	if (vm->pair)
		pair_json(j, vm->pair);
	json_obj_end(j);
}

static void render_json(FILE *f, const struct ftd_vm *only)
{
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "host", conf.host_name);
	json_u64(&j, "host_id", conf.host_id);
	json_bool(&j, "pairing", conf.have_key);
	json_arr_begin(&j, "vms");
	for (const struct ftd_vm *v = ftd_vms; v; v = v->next)
		if (!only || v == only)
			vm_json(&j, v);
	json_arr_end(&j);
	json_obj_begin(&j, "rejected");
	stats_json(&j, "channel", &stats_chan);
	stats_json(&j, "heartbeat", &stats_hb);
	json_obj_end(&j);
	json_obj_end(&j);
}

static void pair_text(FILE *f, const struct pair *p)
{
	fprintf(f, "  pair: %s, %s side, peer %s (%s), channel %s\n",
		pair_state_name(p->state), p->primary ? "primary" : "backup",
		p->peer_name[0] ? p->peer_name : "?", p->ch ? p->ch->name : p->peer,
		chan_state(p));
	if (p->primary)
		fprintf(f, "  log: sent %" PRIu64 ", acked %" PRIu64 ", replayed %" PRIu64
			", lag %" PRIu64 " records%s\n", p->sent, p->acked, p->replayed,
			ship_lag(p), p->stalled ? " (stalled)" : p->slowed ? " (slowed)" : "");
	else
		fprintf(f, "  log: held %" PRIu64 ", replayed %" PRIu64 ", lag %" PRIu64 " records\n",
			p->held, p->replayed, ship_lag(p));
	fprintf(f, "  heartbeat: last %" PRIu64 " ms ago (every %u ms, timeout %u ms), sent %"
		PRIu64 ", got %" PRIu64 "\n", hb_age(p), conf.hb_interval_ms,
		conf.hb_timeout_ms, p->hb_sent, p->hb_got);
	fprintf(f, "  arbitration: generation %" PRIu64 " on %s", p->gen, p->disk[0] ? p->disk : "?");
	if (p->arb_tries)
		fprintf(f, ", last asked in %" PRIu64 " ms", p->arb_ms);
	if (p->vm && p->vm->outq[KVMFT_OUTQ_IFINDEX])
		fprintf(f, "\n  held outputs: %" PRIu64 " packets (%" PRIu64 " bytes), acked to %"
			PRIu64 "; released %" PRIu64 ", dropped %" PRIu64 ", vCPU waits %"
			PRIu64 "\n", p->vm->outq[KVMFT_OUTQ_HELD_PKTS],
			p->vm->outq[KVMFT_OUTQ_HELD_BYTES], p->vm->outq[KVMFT_OUTQ_ACKED],
			p->vm->outq[KVMFT_OUTQ_RELEASED], p->vm->outq[KVMFT_OUTQ_DROPPED],
			p->vm->outq[KVMFT_OUTQ_WAITS]);
	else
		fprintf(f, "\n  held outputs: none, no tap bound (QEMU's ifname=, or ftctl tap)\n");
	fprintf(f, "  why: %s\n", p->why);
}

static void stats_text(FILE *f, const char *what, const struct ftp_stats *s)
{
	fprintf(f, "refused %s: garbage %" PRIu64 ", bad version %" PRIu64 ", truncated %"
		PRIu64 ", oversized %" PRIu64 ", forged %" PRIu64 ", replayed %" PRIu64
		", malformed %" PRIu64 "\n", what, s->garbage, s->bad_version, s->truncated,
		s->oversized, s->forged, s->replayed, s->malformed);
}

void pstatus_render(FILE *f, const struct ftd_vm *only, bool json)
{
	/* A primary's queue changes without events: ask the module now. */
	for (struct ftd_vm *v = ftd_vms; v; v = v->next)
		if (v->pair && !v->gone && v->ops->refresh)
			v->ops->refresh(v);
	if (json) {
		render_json(f, only);
		return;
	}
	fprintf(f, "host %s (host_id %u), pairing %s, port %u\n", conf.host_name,
		conf.host_id, conf.have_key ? "on" : "off (no key_file)", conf.port);
	for (const struct ftd_vm *v = ftd_vms; v; v = v->next) {
		if (only && v != only)
			continue;
		fprintf(f, "VM %u '%s' (%s): role %s%s\n", v->id, v->ident, v->ops->name,
			ftvm_role_name(v->role), v->gone ? ", stopped" : "");
		if (v->pair)
			pair_text(f, v->pair);
	}
	stats_text(f, "frames", &stats_chan);
	stats_text(f, "heartbeats", &stats_hb);
}
