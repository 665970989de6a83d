/*
 * The login policy of mamori-trap: which user name and password pairs let
 * an attacker in. The dictionary is mamori's credentials.tsv (the Mirai
 * bot's list and vendors' factory defaults); [login] accept chooses which
 * of its pairs are accepted, and accept_after lets in the Nth attempt from
 * an address whatever it typed, counted across its connections in a
 * bounded table of addresses (limit.c).
 *
 * The pairs are kept sorted as "user\tpass" strings and found by binary
 * search: a dictionary holds hundreds of pairs, at most TRAP_LOGIN_MAX.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "trap.h"

#define TRAP_LOGIN_MAX 65536
#define TRAP_LOGIN_FILE_MAX (4 << 20)
#define TRAP_LOGIN_FIELD_MAX 256

struct trap_login {
	struct trap_login_opts o;
	char **pairs;
	size_t npairs;
	struct trap_addrtab *tab;
};

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits one line into its TAB-separated fields (at most nf); returns how
 * many, the line being cut in place. */
static size_t split_tabs(char *line, char **f, size_t nf)
{
	size_t n = 0;

	while (n < nf) {
		char *tab = strchr(line, '\t');
		f[n++] = line;
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

/* Reads the dictionary, keeping the pairs accept selects. */
static int load_pairs(struct trap_login *l, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, *p;
	size_t n, cap = 0;
	int line = 0, rc = 0;

	if (!f)
		return trap_errf(err, errlen, MM_EIO, "%s: cannot be read", path);
	if (!(text = malloc(TRAP_LOGIN_FILE_MAX + 1))) {
		fclose(f);
		return MM_ENOMEM;
	}
	n = fread(text, 1, TRAP_LOGIN_FILE_MAX + 1, f);
	fclose(f);
	if (n > TRAP_LOGIN_FILE_MAX) {
		rc = trap_errf(err, errlen, MM_ETOOBIG, "%s: larger than %d bytes", path,
			  TRAP_LOGIN_FILE_MAX);
		goto out;
	}
	text[n] = '\0';
	for (p = text; p && *p;) {
		char *end = strchr(p, '\n'), *fl[5], *pair;
		size_t nf, lu, lp;

		if (end)
			*end = '\0';
		line++;
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (*p == '#' || *p == '\0')
			goto next;
		nf = split_tabs(p, fl, 5);
		if (nf != 4) {
			rc = trap_errf(err, errlen, MM_EPARSE,
				  "%s:%d: expected USER, PASSWORD, WEIGHT and SOURCE separated by TABs",
				  path, line);
			goto out;
		}
		lu = strlen(fl[0]);
		lp = strlen(fl[1]);
		if (lu == 0 || lu > TRAP_LOGIN_FIELD_MAX || lp > TRAP_LOGIN_FIELD_MAX) {
			rc = trap_errf(err, errlen, MM_EPARSE, "%s:%d: a user name of 1 to %d bytes and a "
				  "password of at most %d", path, line, TRAP_LOGIN_FIELD_MAX,
				  TRAP_LOGIN_FIELD_MAX);
			goto out;
		}
		if (l->o.accept == TRAP_ACCEPT_MIRAI && strcmp(fl[3], "mirai") != 0)
			goto next;
		if (l->npairs == TRAP_LOGIN_MAX) {
			rc = trap_errf(err, errlen, MM_ETOOBIG, "%s:%d: more than %d pairs", path, line,
				  TRAP_LOGIN_MAX);
			goto out;
		}
		if (l->npairs == cap) {
			size_t ncap = cap ? 2 * cap : 128;
			char **np = realloc(l->pairs, ncap * sizeof *np);
			if (!np) {
				rc = MM_ENOMEM;
				goto out;
			}
			l->pairs = np;
			cap = ncap;
		}
		if (!(pair = malloc(lu + lp + 2))) {
			rc = MM_ENOMEM;
			goto out;
		}
		memcpy(pair, fl[0], lu);
		pair[lu] = '\t';
		memcpy(pair + lu + 1, fl[1], lp + 1);
		l->pairs[l->npairs++] = pair;
next:
		p = end ? end + 1 : NULL;
	}
	if (l->npairs > 1)
		qsort(l->pairs, l->npairs, sizeof *l->pairs, cmp_pair);
out:
	free(text);
	return rc;
}

int trap_login_new(const struct trap_login_opts *o, struct trap_login **out, char *err,
		   size_t errlen)
{
	struct trap_login *l;
	int rc;

	*out = NULL;
	if (!(l = calloc(1, sizeof *l)))
		return MM_ENOMEM;
	l->o = *o;
	l->o.credentials = NULL; /* not kept: the caller's string */
	if ((rc = trap_addrtab_new(o->max_addresses ? o->max_addresses : 65536, &l->tab)) < 0)
		goto fail;
	if (o->accept == TRAP_ACCEPT_MIRAI || o->accept == TRAP_ACCEPT_ALL) {
		if (!o->credentials) {
			rc = trap_errf(err, errlen, MM_EINVAL, "no credential dictionary");
			goto fail;
		}
		if ((rc = load_pairs(l, o->credentials, err, errlen)) < 0)
			goto fail;
	}
	*out = l;
	return 0;
fail:
	trap_login_free(l);
	return rc;
}

void trap_login_free(struct trap_login *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->npairs; i++)
		free(l->pairs[i]);
	free(l->pairs);
	trap_addrtab_free(l->tab);
	free(l);
}

static int in_dictionary(const struct trap_login *l, const char *user, const char *pass)
{
	char key[2 * TRAP_LOGIN_FIELD_MAX + 2];
	const char *k = key;
	size_t lu = strlen(user), lp = strlen(pass);

	/* A pair longer than any in the dictionary cannot be in it. */
	if (lu > TRAP_LOGIN_FIELD_MAX || lp > TRAP_LOGIN_FIELD_MAX || l->npairs == 0)
		return 0;
	memcpy(key, user, lu);
	key[lu] = '\t';
	memcpy(key + lu + 1, pass, lp + 1);
	return bsearch(&k, l->pairs, l->npairs, sizeof *l->pairs, cmp_pair) != NULL;
}

enum trap_login_verdict trap_login_attempt(struct trap_login *l, const struct trap_addr *a,
					   const char *user, const char *pass)
{
	struct trap_addr_val *v = NULL;
	enum trap_login_verdict verdict = TRAP_LOGIN_REFUSED;

	if (l->o.accept_after > 0 && (v = trap_addrtab_get(l->tab, a, 1)) != NULL) {
		v->attempts++;
		if (v->attempts >= l->o.accept_after)
			verdict = TRAP_LOGIN_NTH;
	}
	if (l->o.accept == TRAP_ACCEPT_ANY ||
	    ((l->o.accept == TRAP_ACCEPT_MIRAI || l->o.accept == TRAP_ACCEPT_ALL) &&
	     in_dictionary(l, user, pass)))
		verdict = TRAP_LOGIN_DICTIONARY;
	if (verdict != TRAP_LOGIN_REFUSED && v)
		v->attempts = 0;
	return verdict;
}

size_t trap_login_pairs(const struct trap_login *l)
{
	return l->npairs;
}

uint64_t trap_login_evicted(const struct trap_login *l)
{
	return trap_addrtab_evicted(l->tab);
}
