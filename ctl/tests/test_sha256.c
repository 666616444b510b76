// SPDX-License-Identifier: GPL-2.0
/*
 * SHA-256 and HMAC-SHA256 (sha256.c) against FIPS 180-4 and RFC 4231
 * vectors, every length across the padding boundaries (checked against
 * Python's hashlib), and incremental updates in any chunking.
 */
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

static const char *hex(const unsigned char *d)
{
	static char s[2 * SHA256_LEN + 1];

	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(s + 2 * i, "%02x", d[i]);
	return s;
}

static int is(const unsigned char *d, const char *want)
{
	if (strcmp(hex(d), want)) {
		tap_diag("got  %s\nwant %s", hex(d), want);
		return 0;
	}
	return 1;
}

static unsigned char buf[1000];

static void vectors(void)
{
	static const char two[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	unsigned char d[SHA256_LEN], key[131];
	struct sha256 s;

	sha256("abc", 3, d);
	ok(is(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "sha256(\"abc\") (FIPS 180-4)");
	sha256("", 0, d);
	ok(is(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	   "sha256(\"\")");
	sha256(two, strlen(two), d);
	ok(is(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	   "sha256 of the 448-bit message (two blocks of padding)");
	memset(buf, 'a', sizeof(buf));
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, buf, 1000);
	sha256_final(&s, d);
	ok(is(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	   "sha256 of a million 'a' in 1000-byte updates");
	memset(key, 0x0b, 20);
	hmac256(key, 20, "Hi There", 8, d);
	ok(is(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	   "HMAC-SHA256 RFC 4231 case 1");
	hmac256("Jefe", 4, "what do ya want for nothing?", 28, d);
	ok(is(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	   "HMAC-SHA256 RFC 4231 case 2");
	memset(key, 0xaa, sizeof(key));
	hmac256(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
	ok(is(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
	   "HMAC-SHA256 RFC 4231 case 6 (a key longer than a block)");
}

static void lengths(void)
{
	unsigned char d[SHA256_LEN], one[SHA256_LEN], inc[SHA256_LEN];
	struct sha256 all, s;
	bool same = true;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (i * 7 + 3) & 255;
	sha256_init(&all);
	for (size_t n = 0; n < 300; n++) {
		sha256(buf, n, one);
		sha256_update(&all, one, sizeof(one));
		/* The same bytes in chunks of 1..n: must not change the hash. */
		sha256_init(&s);
		for (size_t off = 0, c = 1; off < n; off += c, c = c % 67 + 1)
			sha256_update(&s, buf + off, n - off < c ? n - off : c);
		sha256_final(&s, inc);
		same &= !memcmp(one, inc, SHA256_LEN);
	}
	sha256_final(&all, d);
	ok(is(d, "7b074096cabb18dd0d1b468a173cb2f97f80e952525bca29542e606fd6d0753a"),
	   "sha256 of every length 0..299 matches hashlib");
	ok(same, "... and chunked updates give the same hashes");
	sha256_init(&all);
	for (size_t n = 0; n < 300; n++) {
		hmac256(buf, n % 150, buf, n, one);
		sha256_update(&all, one, sizeof(one));
	}
	sha256_final(&all, d);
	ok(is(d, "44f184bd3042e06436e5f4a4daaa60d9cb6672a9dbb21853bc9fd049b765f257"),
	   "HMAC-SHA256 with keys of 0..149 bytes matches Python's hmac");
}

int main(void)
{
	tap_plan(11);
	vectors();
	lengths();
	ok(ct_equal("abcd", "abcd", 4) && !ct_equal("abcd", "abce", 4) &&
	   ct_equal("x", "y", 0), "ct_equal");
	return tap_done();
}
