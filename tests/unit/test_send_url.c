/*
 * Unit tests of the sender's destination URLs (lib/send_url.c) and of the
 * sender's option checks (lib/send.c): every scheme with and without a port,
 * IPv6 literals, and the malformed forms, each with its exact result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/send.h"
#include "mamori/spool.h"

struct url_case {
	const char *in;
	int rc;
	enum mm_send_proto proto;
	const char *host, *port;
};

static const struct url_case url_cases[] = {
	{ "relp://soc.example:2514", 0, MM_SEND_RELP, "soc.example", "2514" },
	{ "relp://soc.example", 0, MM_SEND_RELP, "soc.example", "2514" },
	{ "relp+tls://soc.example:10514", 0, MM_SEND_RELP_TLS, "soc.example", "10514" },
	{ "relp+tls://10.0.0.1", 0, MM_SEND_RELP_TLS, "10.0.0.1", "2514" },
	{ "tls://127.0.0.1", 0, MM_SEND_TLS, "127.0.0.1", "6514" },
	{ "tls://127.0.0.1:1", 0, MM_SEND_TLS, "127.0.0.1", "1" },
	{ "tcp://localhost:65535", 0, MM_SEND_TCP, "localhost", "65535" },
	{ "tcp://my_host-1.lan", 0, MM_SEND_TCP, "my_host-1.lan", "514" },
	{ "udp://192.0.2.7", 0, MM_SEND_UDP, "192.0.2.7", "514" },
	{ "udp://[::1]:5514", 0, MM_SEND_UDP, "::1", "5514" },
	{ "tcp://[fe80::1%eth0]", 0, MM_SEND_TCP, "fe80::1%eth0", "514" },
	/* malformed */
	{ "", MM_EINVAL, 0, NULL, NULL },
	{ "soc.example:514", MM_EINVAL, 0, NULL, NULL },
	{ "http://soc.example", MM_EINVAL, 0, NULL, NULL },
	{ "RELP://soc.example", MM_EINVAL, 0, NULL, NULL },
	{ "relp+://soc.example", MM_EINVAL, 0, NULL, NULL },
	{ "relp://", MM_EINVAL, 0, NULL, NULL },
	{ "relp://:2514", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:0", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:65536", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:123456", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:25a", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:-1", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host:+1", MM_EINVAL, 0, NULL, NULL },
	{ "relp://ho st", MM_EINVAL, 0, NULL, NULL },
	{ "relp://host/path", MM_EINVAL, 0, NULL, NULL },
	{ "relp://user@host", MM_EINVAL, 0, NULL, NULL },
	{ "udp://::1", MM_EINVAL, 0, NULL, NULL },
	{ "udp://[::1", MM_EINVAL, 0, NULL, NULL },
	{ "udp://[::1]x", MM_EINVAL, 0, NULL, NULL },
	{ "udp://[]:514", MM_EINVAL, 0, NULL, NULL },
	{ "udp://[host]", MM_EINVAL, 0, NULL, NULL },
};

static void test_url_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
		const struct url_case *c = &url_cases[i];
		struct mm_send_url u;
		int rc;

		memset(&u, 0x5a, sizeof u);
		rc = mm_send_url_parse(c->in, &u);
		if (rc != c->rc)
			fail_msg("'%s': got %d, want %d", c->in, rc, c->rc);
		if (rc < 0) {
			/* a refused URL leaves u as it was */
			assert_int_equal(((unsigned char *)&u)[0], 0x5a);
			continue;
		}
		assert_int_equal(u.proto, c->proto);
		assert_string_equal(u.host, c->host);
		assert_string_equal(u.port, c->port);
	}
}

static void test_url_long_host(void **state)
{
	char in[400], host[300];
	struct mm_send_url u;

	(void)state;
	memset(host, 'a', 255);
	host[255] = '\0';
	snprintf(in, sizeof in, "tcp://%s:1", host);
	assert_int_equal(mm_send_url_parse(in, &u), 0);
	assert_string_equal(u.host, host);
	memset(host, 'a', 256);
	host[256] = '\0';
	snprintf(in, sizeof in, "tcp://%s:1", host);
	assert_int_equal(mm_send_url_parse(in, &u), MM_EINVAL);
}

static void test_proto_names(void **state)
{
	static const char *urls[] = { "udp://h", "tcp://h", "tls://h", "relp://h", "relp+tls://h" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		struct mm_send_url u;
		char back[32];

		assert_int_equal(mm_send_url_parse(urls[i], &u), 0);
		snprintf(back, sizeof back, "%s://h", mm_send_proto_name(u.proto));
		assert_string_equal(back, urls[i]);
	}
}

/* The option checks of mm_sender_new() refuse before touching the spool. */
struct opt_case {
	const char *url, *ca, *cert, *key;
	unsigned window, timeout_ms;
};

static const struct opt_case bad_opts[] = {
	{ "tls://h", NULL, NULL, NULL, 16, 5000 },        /* TLS without a CA */
	{ "relp+tls://h", NULL, NULL, NULL, 16, 5000 },   /* RELP over TLS without a CA */
	{ "tls://h", "ca.pem", "c.pem", NULL, 16, 5000 }, /* a certificate without its key */
	{ "tls://h", "ca.pem", NULL, "c.key", 16, 5000 }, /* a key without its certificate */
	{ "tcp://h", NULL, "c.pem", "c.key", 16, 5000 },  /* a client certificate over TCP */
	{ "relp://h", NULL, NULL, NULL, 0, 5000 },        /* an empty window */
	{ "relp://h", NULL, NULL, NULL, 16, 10 },         /* a timeout too short */
};

static void test_sender_option_checks(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
		struct mm_sender_opts o;
		struct mm_sender *s = NULL;

		mm_sender_opts_default(&o);
		assert_int_equal(mm_send_url_parse(bad_opts[i].url, &o.url), 0);
		o.ca_file = bad_opts[i].ca;
		o.cert_file = bad_opts[i].cert;
		o.key_file = bad_opts[i].key;
		o.window = bad_opts[i].window;
		o.timeout_ms = bad_opts[i].timeout_ms;
		if (mm_sender_new(&o, NULL, &s) != MM_EINVAL)
			fail_msg("case %zu (%s) was accepted", i, bad_opts[i].url);
		assert_null(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_url_long_host),
		cmocka_unit_test(test_proto_names),
		cmocka_unit_test(test_sender_option_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
