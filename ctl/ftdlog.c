// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "ftdlog.h"
#include "json.h"

static struct {
	bool json, use_syslog, journal;
} cfg;

void (*fevent_sink)(const char *json, const char *text);

void flog_init(bool json, bool use_syslog, bool journal)
{
	cfg.json = json;
	cfg.use_syslog = use_syslog;
	cfg.journal = journal;
}

void flog_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(buf + n, len - n, ".%03ld", (long)tv.tv_usec / 1000);
	strftime(buf + n, len - n, "%z", &tm);
}

static void emit(int prio, const char *line)
{
	if (cfg.use_syslog)
		syslog(prio, "%s", line);
	else if (cfg.journal)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else
		fprintf(stderr, "%s\n", line);
}

static const char *level(int prio)
{
	return prio <= LOG_ERR ? "error" : prio == LOG_WARNING ? "warning" :
	       prio == LOG_NOTICE ? "notice" : "info";
}

/* One line: text, or a JSON object with the extra event fields. */
static char *format(int prio, unsigned int vm, const char *event,
		    const char *msg, bool json)
{
	char ts[48], *line = NULL;
	size_t len = 0;
	struct json j;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return NULL;
	flog_timestamp(ts, sizeof(ts));
	if (json) {
		json_init(&j, f);
		json_obj_begin(&j, NULL);
		json_str(&j, "time", ts);
		json_str(&j, "level", level(prio));
		if (event) {
			json_u64(&j, "id", vm);
			json_str(&j, "event", event);
		}
		json_str(&j, "msg", msg);
		json_obj_end(&j);
	} else if (event) {
		fprintf(f, "%s vm:%u %s: %s\n", ts, vm, event, msg);
	} else {
		fprintf(f, "%s %s\n", ts, msg);
	}
	fclose(f);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	return line;
}

static void vlog(int prio, unsigned int vm, const char *event,
		 const char *fmt, va_list ap)
{
	char msg[600], *line;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	line = format(prio, vm, event, msg, cfg.json);
	if (line)
		emit(prio, line);
	free(line);
	if (event && fevent_sink) {
		char *text = format(prio, vm, event, msg, false);

		line = format(prio, vm, event, msg, true);
		if (line && text)
			fevent_sink(line, text);
		free(line);
		free(text);
	}
}

char *fevent_line(unsigned int vm, const char *event, const char *msg,
		  bool json)
{
	return format(LOG_NOTICE, vm, event, msg, json);
}

void flog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, 0, NULL, fmt, ap);
	va_end(ap);
}

void fevent(unsigned int vm, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, vm, event, fmt, ap);
	va_end(ap);
}
