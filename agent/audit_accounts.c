/*
 * Accounts: an empty password, or a password from the dictionary of
 * default credentials (data/credentials.tsv: the Mirai bot's list and
 * vendors' documented factory defaults), found by hashing each dictionary
 * password with the account's own salt (crypt_rn from libxcrypt: yescrypt,
 * SHA-512, SHA-256, MD5 and DES crypt).
 *
 * Bots try every password of their list with every user name, so every
 * account is tried with every distinct password; the work is bounded to one
 * crypt per distinct password per account, and to AUDIT_MAX_ACCOUNTS
 * accounts with a hash. Nothing is logged per try.
 *
 * The finding names the default password it matched: a PSIRT needs to know
 * which factory default a device kept, and whoever can read the report
 * could already read the hash on the device and run the public list
 * against it.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define AUDIT_MAX_ACCOUNTS 256    /* accounts kept from passwd and shadow */
#define AUDIT_MAX_CREDS 4096      /* dictionary lines */
#define AUDIT_LINE_MAX 4096       /* a shadow or passwd line */
#define AUDIT_USER_MAX 64         /* a user name, NUL included */
#define AUDIT_HASH_MAX 256        /* a hash field, NUL included */
#define AUDIT_CRED_FIELD 128      /* a dictionary field, NUL included */

struct cred {
	char user[AUDIT_CRED_FIELD];
	char password[AUDIT_CRED_FIELD];
	char source[32];
	int first;                   /* the first line with this password */
};

struct account {
	char user[AUDIT_USER_MAX];
	char hash[AUDIT_HASH_MAX];
	char from[16];               /* "/etc/shadow" or "/etc/passwd" */
};

struct accounts {
	struct account *a;
	size_t n;
	unsigned dropped;
	const char *from;
	int passwd;                  /* reading passwd: "x" defers to shadow */
};

int audit_parse_shadow(const char *text, size_t len,
		       void (*fn)(const char *user, const char *hash, void *arg), void *arg)
{
	size_t pos = 0;
	int n = 0;

	if (text == NULL && len > 0)
		return MM_EINVAL;
	while (pos < len) {
		const char *line = text + pos, *nl, *c1, *c2, *end;
		size_t ll, ul, hl;
		char user[AUDIT_USER_MAX], hash[AUDIT_HASH_MAX];

		nl = memchr(line, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl != NULL);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#' || ll >= AUDIT_LINE_MAX)
			continue;
		if (memchr(line, '\0', ll) != NULL)
			continue;
		end = line + ll;
		c1 = memchr(line, ':', ll);
		if (c1 == NULL || c1 == line)
			continue;
		/* passwd has seven fields and shadow nine: a line with only a user
		 * and a hash is neither, so the second colon is required. */
		c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
		if (c2 == NULL)
			continue;
		ul = (size_t)(c1 - line);
		hl = (size_t)(c2 - c1 - 1);
		if (ul >= sizeof user || hl >= sizeof hash)
			continue;
		memcpy(user, line, ul);
		user[ul] = '\0';
		memcpy(hash, c1 + 1, hl);
		hash[hl] = '\0';
		/* NIS compat lines (+user, -user, +) are not accounts of this file. */
		if (user[0] == '+' || user[0] == '-')
			continue;
		fn(user, hash, arg);
		n++;
	}
	return n;
}

static struct account *account_find(struct accounts *t, const char *user)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->a[i].user, user) == 0)
			return &t->a[i];
	return NULL;
}

static void add_account(const char *user, const char *hash, void *arg)
{
	struct accounts *t = arg;
	struct account *a;

	/* passwd's "x" (or "*" on some systems with shadow) says: look in shadow. */
	if (t->passwd && strcmp(hash, "x") == 0)
		return;
	/* The first file read wins: a non-"x" passwd field is what login uses. */
	if (account_find(t, user) != NULL)
		return;
	if (t->n == AUDIT_MAX_ACCOUNTS) {
		t->dropped++;
		return;
	}
	a = &t->a[t->n++];
	audit_copy(a->user, sizeof a->user, user);
	audit_copy(a->hash, sizeof a->hash, hash);
	audit_copy(a->from, sizeof a->from, t->from);
}

static int read_accounts(struct audit_ctx *c, const char *path, int passwd, struct accounts *t)
{
	char *text;
	size_t len;
	int rc;

	rc = audit_read(c, path, AUDIT_FILE_MAX, &text, &len);
	if (rc != 0)
		return rc;
	t->from = path;
	t->passwd = passwd;
	rc = audit_parse_shadow(text, len, add_account, t);
	free(text);
	return rc < 0 ? rc : 0;
}

/* Splits a TAB-separated field out of line; *p moves past it. */
static int field(const char **p, const char *end, char *out, size_t size)
{
	const char *tab = memchr(*p, '\t', (size_t)(end - *p));
	const char *fe = tab != NULL ? tab : end;
	size_t n = (size_t)(fe - *p);

	if (n >= size)
		return MM_ETOOBIG;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = tab != NULL ? tab + 1 : end;
	return tab != NULL ? 1 : 0;
}

/*
 * Parses the dictionary (docs/formats/audit.md): USER TAB PASSWORD TAB
 * WEIGHT [TAB SOURCE]. Malformed lines are skipped and counted.
 */
static int parse_creds(const char *text, size_t len, struct cred *cr, size_t max, size_t *n,
		       unsigned *bad)
{
	size_t pos = 0;

	*n = 0;
	*bad = 0;
	while (pos < len) {
		const char *line = text + pos, *nl, *p, *end;
		char weight[32];
		size_t ll, i;
		char *e;
		long w;
		struct cred k;
		int more;

		nl = memchr(line, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl != NULL);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		memset(&k, 0, sizeof k);
		p = line;
		end = line + ll;
		if (field(&p, end, k.user, sizeof k.user) != 1 ||
		    field(&p, end, k.password, sizeof k.password) != 1 ||
		    (more = field(&p, end, weight, sizeof weight)) < 0) {
			(*bad)++;
			continue;
		}
		errno = 0;
		w = strtol(weight, &e, 10);
		if (errno != 0 || e == weight || *e != '\0' || w < 0 || memchr(line, '\0', ll)) {
			(*bad)++;
			continue;
		}
		if (more) {
			if (field(&p, end, k.source, sizeof k.source) != 0 || k.source[0] == '\0') {
				(*bad)++;
				continue;
			}
		} else {
			audit_copy(k.source, sizeof k.source, "custom");
		}
		if (*n == max) {
			(*bad)++;
			continue;
		}
		k.first = 1;
		for (i = 0; i < *n; i++)
			if (strcmp(cr[i].password, k.password) == 0) {
				k.first = 0;
				break;
			}
		cr[(*n)++] = k;
	}
	return 0;
}

/* The dictionary: opts->credentials, the installed one, or the source tree's. */
static int load_creds(struct audit_ctx *c, struct cred *cr, size_t *n)
{
	const char *paths[3];
	size_t np = 0, i;
	unsigned bad;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (c->o->credentials != NULL) {
		paths[np++] = c->o->credentials;
	} else {
		paths[np++] = MAMORI_DATADIR "/credentials.tsv";
		paths[np++] = MAMORI_SRC_DATADIR "/credentials.tsv";
	}
	/* The dictionary belongs to the auditor, not to the audited root. */
	for (i = 0; i < np; i++) {
		if ((f = fopen(paths[i], "re")) == NULL)
			continue;
		text = malloc(AUDIT_FILE_MAX + 1);
		if (text == NULL) {
			fclose(f);
			return MM_ENOMEM;
		}
		len = fread(text, 1, AUDIT_FILE_MAX + 1, f);
		fclose(f);
		if (len > AUDIT_FILE_MAX) {
			log_warnx("audit: %s: larger than %d bytes", paths[i], AUDIT_FILE_MAX);
			free(text);
			return MM_ETOOBIG;
		}
		parse_creds(text, len, cr, AUDIT_MAX_CREDS, n, &bad);
		if (bad > 0)
			log_warnx("audit: %s: %u lines skipped", paths[i], bad);
		free(text);
		return 0;
	}
	log_warnx("audit: no credential dictionary (%s): default passwords not checked",
		  paths[0]);
	return MM_ENOTFOUND;
}

/* Locked or disabled: "!", "*", "!!", "!*", "!$6$..." (locked with a hash), "*LK*". */
static int locked(const char *hash)
{
	return hash[0] == '!' || hash[0] == '*';
}

/* The line of the dictionary to name for password i: the one with this
 * account's user name when there is one, else the first with the password. */
static const struct cred *best_pair(const struct cred *cr, size_t n, const char *user,
				    const char *password)
{
	const struct cred *first = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(cr[i].password, password) != 0)
			continue;
		if (strcmp(cr[i].user, user) == 0)
			return &cr[i];
		if (first == NULL)
			first = &cr[i];
	}
	return first;
}

static void check_account(struct audit_ctx *c, const struct account *a, const struct cred *cr,
			  size_t ncr, struct crypt_data *cd)
{
	const struct cred *pair;
	json_t *d;
	size_t i;

	if (a->hash[0] == '\0') {
		d = json_pack("{s:o, s:s}", "user", audit_jstr(a->user, 63), "file", a->from);
		audit_emit(c, "credential.empty", a->user, d,
			   "account %.64s has an empty password in %s", a->user, a->from);
		return;
	}
	if (locked(a->hash))
		return;
	for (i = 0; i < ncr; i++) {
		char *h;

		if (!cr[i].first)
			continue;
		memset(cd, 0, sizeof *cd);
		h = crypt_rn(cr[i].password, a->hash, cd, (int)sizeof *cd);
		/* An unsupported or malformed setting gives NULL or a "*" failure token. */
		if (h == NULL || h[0] == '*')
			return;
		if (strcmp(h, a->hash) != 0)
			continue;
		pair = best_pair(cr, ncr, a->user, cr[i].password);
		d = json_pack("{s:o, s:o, s:s, s:b, s:s}", "user", audit_jstr(a->user, 63),
			      "password", audit_jstr(cr[i].password, 127), "source", pair->source,
			      "same_user", strcmp(pair->user, a->user) == 0, "file", a->from);
		audit_emit(c, "credential.default", a->user, d,
			   "account %.64s has a default password (%s dictionary)", a->user,
			   pair->source);
		return;
	}
}

void audit_check_accounts(struct audit_ctx *c)
{
	struct accounts t;
	struct cred *cr = NULL;
	struct crypt_data *cd = NULL;
	size_t ncr = 0, i;
	int have_shadow;

	memset(&t, 0, sizeof t);
	t.a = calloc(AUDIT_MAX_ACCOUNTS, sizeof *t.a);
	cr = calloc(AUDIT_MAX_CREDS, sizeof *cr);
	cd = calloc(1, sizeof *cd);
	if (t.a == NULL || cr == NULL || cd == NULL) {
		log_warnx("audit: accounts: out of memory");
		goto done;
	}
	/* passwd first: a hash written there is the one login checks. */
	read_accounts(c, "/etc/passwd", 1, &t);
	have_shadow = read_accounts(c, "/etc/shadow", 0, &t) == 0;
	if (!have_shadow)
		log_debug("audit: no /etc/shadow under %s", c->o->root);
	if (t.dropped > 0)
		log_warnx("audit: accounts: %u beyond the first %d not checked", t.dropped,
			  AUDIT_MAX_ACCOUNTS);
	if (t.n == 0)
		goto done;
	load_creds(c, cr, &ncr);
	for (i = 0; i < t.n; i++)
		check_account(c, &t.a[i], cr, ncr, cd);
done:
	free(cd);
	free(cr);
	free(t.a);
}
