// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"

void conf_defaults(struct ftd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->port = FTP_PORT;
	c->arb_timeout_ms = 5000;
	/* Detection under a second on a LAN: 5 missed 100 ms beats. */
	c->hb_interval_ms = 100;
	c->hb_timeout_ms = 500;
	c->lag_slow = 4096;
	c->lag_stall = 16384;
	snprintf(c->socket, sizeof(c->socket), "%s", FTD_SOCK_PATH);
	snprintf(c->state_dir, sizeof(c->state_dir), "/run/kvmft");
	if (gethostname(c->host_name, sizeof(c->host_name)))
		snprintf(c->host_name, sizeof(c->host_name), "localhost");
	c->host_name[sizeof(c->host_name) - 1] = '\0';
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*v = n;
	return true;
}

static int set_str(char *dst, size_t len, const char *v)
{
	if (!*v || strlen(v) >= len)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

struct u32_key {
	const char *name;
	size_t off;
	uint32_t min, max;
};

static const struct u32_key u32_keys[] = {
	{ "host_id", offsetof(struct ftd_conf, host_id), 1, 64 },
	{ "arb_timeout_ms", offsetof(struct ftd_conf, arb_timeout_ms), 100, 600000 },
	{ "hb_interval_ms", offsetof(struct ftd_conf, hb_interval_ms), 10, 10000 },
	{ "hb_timeout_ms", offsetof(struct ftd_conf, hb_timeout_ms), 30, 600000 },
	{ "lag_slow", offsetof(struct ftd_conf, lag_slow), 1, 1u << 30 },
	{ "lag_stall", offsetof(struct ftd_conf, lag_stall), 1, 1u << 30 },
};

static int set_u32(struct ftd_conf *c, const char *k, const char *v,
		   char *why, size_t len)
{
	uint32_t port;

	if (!strcmp(k, "port")) {
		if (!parse_u32(v, 1, 65535, &port)) {
			snprintf(why, len, "port must be 1..65535");
			return -1;
		}
		c->port = port;
		return 0;
	}
	for (size_t i = 0; i < sizeof(u32_keys) / sizeof(u32_keys[0]); i++) {
		const struct u32_key *u = &u32_keys[i];

		if (strcmp(k, u->name))
			continue;
		if (parse_u32(v, u->min, u->max, (uint32_t *)((char *)c + u->off)))
			return 0;
		snprintf(why, len, "%s must be a number in %u..%u", k, u->min, u->max);
		return -1;
	}
	return 1;	/* not a number key */
}

static int set_key(struct ftd_conf *c, const char *k, const char *v,
		   char *why, size_t len)
{
	int ret = set_u32(c, k, v, why, len);

	if (ret <= 0)
		return ret;
	if (!strcmp(k, "listen"))
		ret = set_str(c->listen, sizeof(c->listen), v);
	else if (!strcmp(k, "key_file"))
		ret = set_str(c->key_file, sizeof(c->key_file), v);
	else if (!strcmp(k, "host_name"))
		ret = set_str(c->host_name, sizeof(c->host_name), v);
	else if (!strcmp(k, "control_socket"))
		ret = set_str(c->socket, sizeof(c->socket), v);
	else if (!strcmp(k, "state_dir"))
		ret = set_str(c->state_dir, sizeof(c->state_dir), v);
	else if (!strcmp(k, "announce_dev"))
		ret = set_str(c->announce_dev, sizeof(c->announce_dev), v);
	else if (!strcmp(k, "arb_disk") && c->n_arb < FTD_MAX_DISKS)
		ret = set_str(c->arb_disk[c->n_arb++], sizeof(c->arb_disk[0]), v);
	else if (!strcmp(k, "arb_disk"))
		return snprintf(why, len, "more than %d arb_disk lines", FTD_MAX_DISKS), -1;
	else
		return snprintf(why, len, "unknown key '%s'", k), -1;
	if (ret)
		snprintf(why, len, "%s: empty or too long", k);
	return ret;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line; 0 or -1 with why. */
static int parse_line(struct ftd_conf *c, char *line, char *why, size_t len)
{
	char *eq, *k, *v;

	*strchrnul(line, '#') = '\0';
	k = trim(line);
	if (!*k)
		return 0;
	eq = strchr(k, '=');
	if (!eq) {
		snprintf(why, len, "expected 'key = value'");
		return -1;
	}
	*eq = '\0';
	k = trim(k);
	v = trim(eq + 1);
	return set_key(c, k, v, why, len);
}

static int check(const struct ftd_conf *c, char *why, size_t len)
{
	if (c->hb_timeout_ms < 2 * c->hb_interval_ms)
		return snprintf(why, len, "hb_timeout_ms (%u) must be at least twice hb_interval_ms (%u)",
				c->hb_timeout_ms, c->hb_interval_ms), -1;
	if (c->lag_stall < c->lag_slow)
		return snprintf(why, len, "lag_stall (%u) must not be below lag_slow (%u)",
				c->lag_stall, c->lag_slow), -1;
	return 0;
}

int conf_load(struct ftd_conf *c, const char *path, bool required,
	      char *err, size_t len)
{
	char line[512], why[200];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f && errno == ENOENT && !required)
		return 0;
	if (!f)
		return snprintf(err, len, "%s: %s", path, strerror(errno)), -1;
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, len, "%s:%d: line too long", path, n);
			fclose(f);
			return -1;
		}
		if (parse_line(c, line, why, sizeof(why))) {
			snprintf(err, len, "%s:%d: %s", path, n, why);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (check(c, why, sizeof(why)))
		return snprintf(err, len, "%s: %s", path, why), -1;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

bool conf_parse_key(const char *s, unsigned char key[FTP_KEY_LEN])
{
	for (int i = 0; i < FTP_KEY_LEN; i++) {
		int hi = hexval((unsigned char)s[2 * i]);
		int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);

		if (lo < 0)
			return false;
		key[i] = hi << 4 | lo;
	}
	for (s += 2 * FTP_KEY_LEN; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

int conf_load_key(struct ftd_conf *c, char *err, size_t len)
{
	char buf[2 * FTP_KEY_LEN + 64];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(c->key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snprintf(err, len, "key_file %s: %s", c->key_file, strerror(errno)), -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077)) {
		close(fd);
		return snprintf(err, len, "key_file %s must be a regular file owned by root with mode 0600 or 0400 (it is %04o, uid %u); refusing to use it",
				c->key_file, (unsigned int)(st.st_mode & 07777),
				(unsigned int)st.st_uid), -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n < 2 * FTP_KEY_LEN || !conf_parse_key(buf, c->psk))
		return snprintf(err, len, "key_file %s must hold 64 hex digits (make one with 'ftctl genkey')",
				c->key_file), -1;
	c->have_key = true;
	return 0;
}
