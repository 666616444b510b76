// SPDX-License-Identifier: GPL-2.0
/* JSON escaping and the writer (json.c), and the VM object (vm.c). */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"
#include "vm.h"

static char *buf;
static size_t len;

static FILE *mem(void)
{
	free(buf);
	buf = NULL;
	return open_memstream(&buf, &len);
}

static void escape(const char *in, const char *want, const char *name)
{
	FILE *f = mem();

	json_escape(f, in);
	fclose(f);
	if (!ok(!strcmp(buf, want), "escape %s", name))
		tap_diag("got %s want %s", buf, want);
}

static void escaping(void)
{
	escape("plain", "\"plain\"", "plain text");
	escape("", "\"\"", "the empty string");
	escape("a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash");
	escape("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"", "newline, return, tab");
	escape("\b\f", "\"\\b\\f\"", "backspace, form feed");
	escape("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other control characters");
	escape("vm caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"vm caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
	       "valid UTF-8 kept");
	escape("bad\xff", "\"bad\\ufffd\"", "an invalid byte replaced");
	escape("\xc3", "\"\\ufffd\"", "a truncated sequence replaced");
	escape("\xc0\xaf", "\"\\ufffd\\ufffd\"", "an overlong form replaced");
	escape("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate replaced");
	escape("/</script>", "\"/</script>\"", "slash left alone");
}

static void writer(void)
{
	struct json j;
	FILE *f = mem();

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_str(&j, "name", "x\"y");
	json_u64(&j, "n", 18446744073709551615ull);
	json_bool(&j, "t", true);
	json_arr_begin(&j, "list");
	json_u64(&j, NULL, 1);
	json_obj_begin(&j, NULL);
	json_obj_end(&j);
	json_arr_begin(&j, NULL);
	json_arr_end(&j);
	json_arr_end(&j);
	json_obj_begin(&j, "o");
	json_bool(&j, "f", false);
	json_obj_end(&j);
	json_obj_end(&j);
	json_obj_begin(&j, NULL);	/* a second document, its own line */
	json_obj_end(&j);
	fclose(f);
	ok(!strcmp(buf, "{\"name\":\"x\\\"y\",\"n\":18446744073709551615,\"t\":true,"
		   "\"list\":[1,{},[]],\"o\":{\"f\":false}}\n{}\n"),
	   "writer: commas, nesting, one document per line");
	tap_diag("%s", buf);
}

static void vm_object(void)
{
	struct ftvm vm = {
		.id = 3, .pid = 1234, .vcpus = 1, .role = KVMFT_ROLE_PRIMARY,
		.event = KVMFT_EVENT_CHANGE, .has_seq = true, .seq = 42,
	};
	struct json j;
	FILE *f = mem();

	vm.stats[KVMFT_STAT_RUNS] = 10;
	vm.stats[KVMFT_STAT_DIVERGENCES] = 1;
	vm.stats[KVMFT_STAT_LOG_WAITS] = 5;
	json_init(&j, f);
	ftvm_json(&j, NULL, &vm, true);
	fclose(f);
	ok(!strcmp(buf, "{\"event\":\"change\",\"id\":3,\"role\":\"primary\",\"pid\":1234,"
		   "\"vcpus\":1,\"seq\":42,\"stats\":{\"runs\":10,\"pio_in\":0,\"rdtsc\":0,"
		   "\"recorded\":0,\"replayed\":0,\"divergences\":1,\"log_waits\":5,"
		   "\"events\":0,\"step_events\":0,\"steps\":0}}\n"),
	   "VM object as JSON");
	tap_diag("%s", buf);

	f = mem();
	ftvm_line(f, &vm, false);
	fclose(f);
	ok(!strcmp(buf, "change vm:3 seq:42 role:primary pid:1234 vcpus:1 runs:10 pio_in:0 "
		   "rdtsc:0 recorded:0 replayed:0 divergences:1 log_waits:5 events:0 "
		   "step_events:0 steps:0\n"),
	   "VM event as a line");
	tap_diag("%s", buf);

	vm.role = 9;
	vm.event = 7;
	f = mem();
	json_init(&j, f);
	ftvm_json(&j, NULL, &vm, true);
	fclose(f);
	ok(strstr(buf, "\"event\":\"event7\"") && strstr(buf, "\"role\":\"role9\""),
	   "unknown role and event from a newer module print as numbers");
}

int main(void)
{
	tap_plan(16);
	escaping();
	writer();
	vm_object();
	free(buf);
	return tap_done();
}
