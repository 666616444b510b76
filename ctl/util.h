/* SPDX-License-Identifier: GPL-2.0 */
/* What every ftctl subcommand and ftd share: exit codes, errors, colour. */
#ifndef FT_UTIL_H
#define FT_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/kvmft.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes, the same for every subcommand and for ftd. */
enum {
	FT_EXIT_OK = 0,
	FT_EXIT_USAGE = 1,	/* bad command line */
	FT_EXIT_KERNEL = 2,	/* the module (or kernel) refused: errno */
	FT_EXIT_ENV = 3,	/* module not loaded, no /dev/kvmft, no VM fd */
	FT_EXIT_INPUT = 4,	/* bad input file */
	FT_EXIT_TIMEOUT = 5,	/* `events --timeout` before `--count` */
	FT_EXIT_LOST = 6,	/* another host won the arbitration */
	FT_EXIT_REFUSED = 7,	/* ftd or its peer refused; the message says why */
};

#define COLOR_RED	"\033[31m"
#define COLOR_GREEN	"\033[32m"
#define COLOR_YELLOW	"\033[33m"
#define COLOR_CYAN	"\033[36m"
#define COLOR_BOLD	"\033[1m"
#define COLOR_RESET	"\033[0m"

/* "ftctl" or "ftd": the first word of every message. */
extern const char *ft_prog;

/* "<prog>: <op>: <msg or strerror(err)> (<ERRNO>)"; err is positive. */
void ft_err(const char *op, int err, const char *msg);
/* "<prog>: <printf>" */
void ft_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "EPERM"; "E123" for numbers glibc does not name. */
const char *ft_errno_name(int err);

struct ftnl;
/*
 * Opens nl (and joins the events group if events): 0, or FT_EXIT_ENV after
 * saying why (the module is not loaded, say).
 */
int ft_nl_connect(struct ftnl *nl, bool events);

/* The "kvmft module not loaded" message. */
void ft_module_missing(void);

/* Why ft_log_open() failed. */
struct ft_log_err {
	int exit;		/* FT_EXIT_ENV: /dev/kvmft; FT_EXIT_KERNEL: the ioctl */
	int err;		/* errno */
	uint32_t vm;
	char reason[KVMFT_REASON_LEN];	/* the module's reason, or "" */
};

/*
 * Opens /dev/kvmft and a log fd on vm (logdev.c). flags KVMFT_LOG_READ:
 * the VM records a new session, whose id goes to *session; KVMFT_LOG_WRITE:
 * the VM replays session *session (not 0). Returns the log fd, or -1 with
 * *e filled and nothing said: ft_log_open_failed() says it.
 */
int ft_log_open(uint32_t vm, uint32_t flags, uint64_t *session,
		struct ft_log_err *e);
/*
 * As ft_log_open(), with the flags KVMFT_LOG_KEEP and KVMFT_LOG_RESUME
 * (*session in) too, and what the module says of the log: the last
 * record acked and recorded (received, for WRITE). A module older than
 * those fields leaves them 0.
 */
int ft_log_open_at(uint32_t vm, uint32_t flags, uint64_t *session,
		   uint64_t *acked, uint64_t *recorded, struct ft_log_err *e);
/*
 * "<prog>: <op>: <why>: <strerror> (<ERRNO>)", why being the module's
 * reason or, where it gave none, what the errno means for LOG_OPEN.
 * Returns the exit code, e->exit.
 */
int ft_log_open_failed(const char *op, const struct ft_log_err *e);

/*
 * snprintf() for messages that may be cut short on purpose (a peer's
 * name, a path): returns buf.
 */
char *ft_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Strict decimal parse; false on junk or overflow. */
bool ft_parse_u32(const char *s, uint32_t *v);
/* --vm ID: ft_parse_u32(), saying "<cmd>: bad VM id" when it fails. */
bool ft_parse_vm_id(const char *cmd, const char *s, uint32_t *id);

/* True if colour escapes should go to f: a terminal, no NO_COLOR. */
bool ft_color(FILE *f);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t ft_now_ms(void);

/*
 * Reports a getopt_long() failure for subcommand cmd (NULL: none): the
 * unknown option or the option that needs an argument. opt is getopt's
 * return value.
 */
void ft_bad_option(const char *cmd, int opt, char **argv);

#endif
