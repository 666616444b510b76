/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer: compact output, one document per line, so
 * `ftctl events --json` is JSON Lines and `status --json` one object.
 */
#ifndef FT_JSON_H
#define FT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
/*
 * Writes s as a JSON string, quotes included. Control characters are
 * escaped; bytes that are not valid UTF-8 become U+FFFD.
 */
void json_escape(FILE *f, const char *s);

/* key is NULL for the top level and for array elements. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);	/* ends the line at depth 0 */
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);

#endif
