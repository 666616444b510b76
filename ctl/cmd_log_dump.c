// SPDX-License-Identifier: GPL-2.0
/*
 * ftctl log-dump: list a log file's records, for people or as JSON Lines,
 * checking each one's CRC with the session in the file header.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "ftctl.h"
#include "json.h"
#include "logrec.h"

#define HUMAN_DATA_MAX	16	/* bytes of PIO data shown per line */

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s log-dump --in FILE [--json]\n", ft_prog);
}

static void hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void dump_json(struct json *j, const struct ftlog_reader *r)
{
	const struct kvmft_rec *h = &r->rec.hdr;
	const unsigned char *pl = r->rec.buf + sizeof(*h);
	static char data[2 * KVMFT_REC_MAX_PIO_DATA + 1];
	struct kvmft_rec_pio pio;
	struct kvmft_rec_tsc tsc;
	char session[17];

	/* A string: a 64-bit id does not survive a JSON number's double. */
	snprintf(session, sizeof(session), "%016" PRIx64, r->session);
	json_obj_begin(j, NULL);
	json_str(j, "session", session);
	json_u64(j, "seq", h->seq);
	json_u64(j, "vcpu", h->vcpu);
	json_str(j, "type", ftlog_rec_type_name(h->type));
	if (h->type == KVMFT_REC_PIO_IN) {
		memcpy(&pio, pl, sizeof(pio));
		hex(data, pl + sizeof(pio), h->len - sizeof(pio));
		json_u64(j, "port", pio.port);
		json_u64(j, "size", pio.size);
		json_u64(j, "count", pio.count);
		json_str(j, "data", data);
	} else if (h->type == KVMFT_REC_EVENT) {
		struct kvmft_rec_event ev;

		memcpy(&ev, pl, sizeof(ev));
		json_u64(j, "kind", ev.kind);
		json_u64(j, "det", ev.det);
		json_u64(j, "rip", ev.rip);
		json_u64(j, "landmark", ev.landmark);
		if (ev.landmark == KVMFT_LANDMARK_STEP)
			json_u64(j, "hash", ev.hash);
	} else if (h->type == KVMFT_REC_STATE) {
		struct kvmft_rec_state st;
		char hash[17];

		memcpy(&st, pl, sizeof(st));
		snprintf(hash, sizeof(hash), "%016" PRIx64, (uint64_t)st.hash);
		json_str(j, "hash", hash);
		json_u64(j, "rip", st.rip);
	} else if (h->type == KVMFT_REC_MMIO_IN) {
		struct kvmft_rec_mmio m;

		memcpy(&m, pl, sizeof(m));
		hex(data, m.data, m.len);
		json_u64(j, "gpa", m.gpa);
		json_u64(j, "len", m.len);
		json_str(j, "data", data);
	} else if (h->type == KVMFT_REC_RDMSR) {
		struct kvmft_rec_msr m;

		memcpy(&m, pl, sizeof(m));
		json_u64(j, "msr", m.index);
		json_bool(j, "gp", m.flags & KVMFT_MSR_F_GP);
		json_u64(j, "value", m.value);
	} else {
		memcpy(&tsc, pl, sizeof(tsc));
		json_u64(j, "tsc", tsc.tsc);
		if (h->type == KVMFT_REC_RDTSCP)
			json_u64(j, "aux", tsc.aux);
	}
	json_obj_end(j);
}

static void dump_human(const struct ftlog_reader *r)
{
	const struct kvmft_rec *h = &r->rec.hdr;
	const unsigned char *pl = r->rec.buf + sizeof(*h);
	char data[2 * HUMAN_DATA_MAX + 1];
	struct kvmft_rec_pio pio;
	struct kvmft_rec_tsc tsc;
	size_t n;

	printf("%-10" PRIu64 " %-4" PRIu32 " %-7s", (uint64_t)h->seq,
	       (uint32_t)h->vcpu, ftlog_rec_type_name(h->type));
	if (h->type == KVMFT_REC_PIO_IN) {
		memcpy(&pio, pl, sizeof(pio));
		n = h->len - sizeof(pio);
		hex(data, pl + sizeof(pio), n < HUMAN_DATA_MAX ? n : HUMAN_DATA_MAX);
		printf(" port 0x%04x size %u count %" PRIu32 " data %s%s\n",
		       pio.port, pio.size, (uint32_t)pio.count, data,
		       n > HUMAN_DATA_MAX ? "..." : "");
	} else if (h->type == KVMFT_REC_EVENT) {
		struct kvmft_rec_event ev;

		memcpy(&ev, pl, sizeof(ev));
		printf(" %s at landmark %" PRIu64 " rip 0x%" PRIx64,
		       ev.kind == KVMFT_ASYNC_MSI ? "msi" : "lapic timer",
		       (uint64_t)ev.det, (uint64_t)ev.rip);
		if (ev.landmark == KVMFT_LANDMARK_STEP)
			printf(" (stepped to: hash %016" PRIx64 ")", (uint64_t)ev.hash);
		printf("\n");
	} else if (h->type == KVMFT_REC_STATE) {
		struct kvmft_rec_state st;

		memcpy(&st, pl, sizeof(st));
		printf(" hash %016" PRIx64 " rip 0x%" PRIx64 "\n",
		       (uint64_t)st.hash, (uint64_t)st.rip);
	} else if (h->type == KVMFT_REC_MMIO_IN) {
		struct kvmft_rec_mmio m;

		memcpy(&m, pl, sizeof(m));
		hex(data, m.data, m.len);
		printf(" gpa 0x%" PRIx64 " len %" PRIu32 " data %s\n",
		       (uint64_t)m.gpa, (uint32_t)m.len, data);
	} else if (h->type == KVMFT_REC_RDMSR) {
		struct kvmft_rec_msr m;

		memcpy(&m, pl, sizeof(m));
		if (m.flags & KVMFT_MSR_F_GP)
			printf(" msr 0x%08" PRIx32 " #GP\n", (uint32_t)m.index);
		else
			printf(" msr 0x%08" PRIx32 " value 0x%" PRIx64 "\n",
			       (uint32_t)m.index, (uint64_t)m.value);
	} else {
		memcpy(&tsc, pl, sizeof(tsc));
		printf(" tsc 0x%" PRIx64, (uint64_t)tsc.tsc);
		if (h->type == KVMFT_REC_RDTSCP)
			printf(" aux 0x%" PRIx64, (uint64_t)tsc.aux);
		putchar('\n');
	}
}

static int dump(const char *in, bool json)
{
	struct ftlog_reader r;
	struct json j;
	int ret;

	if (ftlog_reader_open(&r, in)) {
		ft_msg("log-dump: %s: %s", in, r.err);
		return FT_EXIT_INPUT;
	}
	json_init(&j, stdout);
	if (!json) {
		printf("session %016" PRIx64 "\n", r.session);
		printf("%-10s %-4s %-7s %s\n", "SEQ", "VCPU", "TYPE", "DETAILS");
	}
	while ((ret = ftlog_reader_next(&r)) > 0) {
		if (json)
			dump_json(&j, &r);
		else
			dump_human(&r);
	}
	ftlog_reader_close(&r);
	if (ret < 0) {
		fflush(stdout);
		ft_msg("log-dump: %s: %s", in, r.err);
		return FT_EXIT_INPUT;
	}
	return FT_EXIT_OK;
}

int log_dump_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *in = NULL;
	bool json = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return FT_EXIT_OK;
		default:
			ft_bad_option("log-dump", c, argv);
			usage(stderr);
			return FT_EXIT_USAGE;
		}
	}
	if (optind < argc || !in) {
		if (optind < argc)
			ft_msg("log-dump: unexpected argument '%s'", argv[optind]);
		else
			ft_msg("log-dump: --in is required");
		usage(stderr);
		return FT_EXIT_USAGE;
	}
	return dump(in, json);
}
