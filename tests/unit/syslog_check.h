/*
 * Helpers shared by the syslog unit tests (test_syslog5424.c,
 * test_syslog3164.c). Include after <cmocka.h> and "mamori/syslog.h".
 */
#ifndef MAMORI_TEST_SYSLOG_CHECK_H
#define MAMORI_TEST_SYSLOG_CHECK_H

#define BOM "\xEF\xBB\xBF"

/* Compares a parsed slice with the expected text; NULL means absent. in,
 * when not NULL, names the input in the failure message. */
static void expect_slice(const struct mm_str *s, const char *want, const char *what,
			 const char *in)
{
	const char *sep = in ? ": " : "";

	in = in ? in : "";
	if (want == NULL) {
		if (s->p != NULL)
			fail_msg("%s%s%s: expected absent, got \"%.*s\"", in, sep, what,
				 (int)s->len, s->p);
		return;
	}
	if (s->p == NULL)
		fail_msg("%s%s%s: expected \"%s\", got absent", in, sep, what, want);
	if (s->len != strlen(want) || memcmp(s->p, want, s->len) != 0)
		fail_msg("%s%s%s: expected \"%s\", got \"%.*s\"", in, sep, what, want,
			 (int)s->len, s->p);
}

/* Parses len bytes from an exact-size heap copy so that ASan catches any
 * read past the end; the copy stays in *keep while the fields are read. */
static int parse_copy(const char *s, size_t len, enum mm_syslog_parse_mode mode,
		      struct mm_syslog_msg *m, char **keep)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	*keep = p;
	return mm_syslog_parse(p, len, mode, m);
}

#endif
