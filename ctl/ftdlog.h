/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftd's log: one line per message with a timestamp, to stderr (with a
 * <priority> prefix when stderr is the journal), syslog in the
 * background, or JSON objects with --json. Events (state changes of
 * VMs and pairs) also go to every `ftctl events` listening.
 */
#ifndef FT_FTDLOG_H
#define FT_FTDLOG_H

#include <stdbool.h>
#include <syslog.h>

void flog_init(bool json, bool use_syslog, bool journal);
void flog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ISO 8601 with milliseconds and the zone. */
void flog_timestamp(char *buf, size_t len);
/*
 * A state change of VM vm (0: none): logged at NOTICE and sent to event
 * listeners as "TIME vm:ID EVENT: MSG" or {"time","id","event","msg"}.
 */
void fevent(unsigned int vm, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Where fevent() sends its line, in both forms; ctlsock.c sets it. */
extern void (*fevent_sink)(const char *json, const char *text);
/* An event's line as fevent() makes it (malloc'd), NULL on ENOMEM. */
char *fevent_line(unsigned int vm, const char *event, const char *msg,
		  bool json);

#endif
