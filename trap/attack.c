/*
 * The ATT&CK table (see event.h and data/trap/attack.tsv): which technique
 * ids an event or a command shows. The table is read once at start into
 * fixed arrays; a table larger than they hold is refused rather than cut,
 * so that a tag never goes missing without a word.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "mamori/error.h"

#define AT_LINE_MAX 512      /* longest line of the file */
#define AT_MAX_TECHNIQUES 128
#define AT_MAX_RULES 256
#define AT_IDS_PER_RULE 8
#define AT_ID_MAX 10         /* "T1234.567" */
#define AT_MATCH_MAX 96
#define AT_NAME_MAX 96
#define AT_TACTICS_MAX 160

enum at_kind { AT_EVENT, AT_COMMAND, AT_ARGV };

struct at_technique {
	char id[AT_ID_MAX + 1];
	char name[AT_NAME_MAX + 1];
	char tactics[AT_TACTICS_MAX + 1];
};

struct at_rule {
	enum at_kind kind;
	char match[AT_MATCH_MAX + 1]; /* the event id or applet */
	char sub[AT_MATCH_MAX + 1];   /* argv: the argument substring */
	unsigned nids;
	char ids[AT_IDS_PER_RULE][AT_ID_MAX + 1];
};

struct trap_attack {
	unsigned ntech, nrules;
	struct at_technique tech[AT_MAX_TECHNIQUES];
	struct at_rule rules[AT_MAX_RULES];
};

/* ATT&CK Enterprise's tactics by their short names. */
static const char *const tactic_names[] = {
	"reconnaissance", "resource-development", "initial-access", "execution",
	"persistence", "privilege-escalation", "defense-evasion", "credential-access",
	"discovery", "lateral-movement", "collection", "command-and-control",
	"exfiltration", "impact",
};

/* T followed by four digits, and optionally a dot and three digits. */
static int id_valid(const char *s, size_t len)
{
	size_t i;

	if (len != 5 && len != 9)
		return 0;
	if (s[0] != 'T')
		return 0;
	for (i = 1; i < len; i++) {
		if (i == 5) {
			if (s[i] != '.')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	return 1;
}

static int tactic_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof tactic_names / sizeof tactic_names[0]; i++)
		if (strlen(tactic_names[i]) == len && memcmp(tactic_names[i], s, len) == 0)
			return 1;
	return 0;
}

static const struct at_technique *find_tech(const struct trap_attack *a, const char *id)
{
	unsigned i;

	for (i = 0; i < a->ntech; i++)
		if (strcmp(a->tech[i].id, id) == 0)
			return &a->tech[i];
	return NULL;
}

/* Copies a field of len bytes into dst of size n; 0 or -1 when it does not fit. */
static int field(char *dst, size_t n, const char *s, size_t len)
{
	if (len == 0 || len >= n)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Splits line at tabs into at most max fields; returns how many. */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	while (n < max) {
		char *tab = strchr(p, '\t');

		f[n++] = p;
		if (tab == NULL)
			return n;
		*tab = '\0';
		p = tab + 1;
	}
	return n + 1; /* one field too many */
}

static int parse_technique(struct trap_attack *a, char **f, const char **why)
{
	struct at_technique *t;
	const char *p = f[3];

	if (a->ntech == AT_MAX_TECHNIQUES) {
		*why = "too many techniques";
		return -1;
	}
	t = &a->tech[a->ntech];
	if (!id_valid(f[1], strlen(f[1])) || field(t->id, sizeof t->id, f[1], strlen(f[1])) < 0) {
		*why = "not a technique id (T1234 or T1234.567)";
		return -1;
	}
	if (find_tech(a, t->id)) {
		*why = "technique named twice";
		return -1;
	}
	if (field(t->name, sizeof t->name, f[2], strlen(f[2])) < 0) {
		*why = "name empty or too long";
		return -1;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (!tactic_valid(p, len)) {
			*why = "not an ATT&CK tactic";
			return -1;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (field(t->tactics, sizeof t->tactics, f[3], strlen(f[3])) < 0) {
		*why = "tactics too long";
		return -1;
	}
	a->ntech++;
	return 0;
}

static int parse_rule(struct trap_attack *a, enum at_kind kind, char **f, const char **why)
{
	struct at_rule *r;
	const char *p = f[2];

	if (a->nrules == AT_MAX_RULES) {
		*why = "too many mappings";
		return -1;
	}
	r = &a->rules[a->nrules];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	if (kind == AT_ARGV) {
		const char *sp = strchr(f[1], ' ');

		if (sp == NULL || field(r->match, sizeof r->match, f[1], (size_t)(sp - f[1])) < 0 ||
		    field(r->sub, sizeof r->sub, sp + 1, strlen(sp + 1)) < 0) {
			*why = "argv needs \"APPLET SUBSTRING\"";
			return -1;
		}
	} else if (field(r->match, sizeof r->match, f[1], strlen(f[1])) < 0) {
		*why = "match empty or too long";
		return -1;
	}
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (r->nids == AT_IDS_PER_RULE) {
			*why = "too many ids";
			return -1;
		}
		if (!id_valid(p, len)) {
			*why = "not a technique id (T1234 or T1234.567)";
			return -1;
		}
		memcpy(r->ids[r->nids], p, len);
		r->ids[r->nids++][len] = '\0';
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	a->nrules++;
	return 0;
}

/* Every id a mapping uses is named by a technique row (anywhere in the file). */
static int check_named(const struct trap_attack *a, char *err, size_t errlen)
{
	unsigned i, j;

	for (i = 0; i < a->nrules; i++)
		for (j = 0; j < a->rules[i].nids; j++)
			if (!find_tech(a, a->rules[i].ids[j])) {
				snprintf(err, errlen, "%s used by \"%s\" is not named by a technique row",
					 a->rules[i].ids[j], a->rules[i].match);
				return MM_EINVAL;
			}
	return 0;
}

int trap_attack_load(const char *path, struct trap_attack **out, char *err, size_t errlen)
{
	char line[AT_LINE_MAX + 2];
	struct trap_attack *a;
	FILE *fp;
	int lineno = 0, rc = MM_EINVAL;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return MM_EIO;
	}
	if ((a = calloc(1, sizeof *a)) == NULL) {
		fclose(fp);
		return MM_ENOMEM;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		const char *why = NULL;
		size_t len = strlen(line);
		char *f[5];
		int n;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(fp)) {
			why = "line too long";
			goto bad;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		n = split_tabs(line, f, 4);
		if (strcmp(f[0], "technique") == 0) {
			if (n != 4)
				why = "technique needs ID, NAME and TACTICS";
			else
				parse_technique(a, f, &why);
		} else if (strcmp(f[0], "event") == 0 || strcmp(f[0], "command") == 0 ||
			   strcmp(f[0], "argv") == 0) {
			enum at_kind k = f[0][0] == 'e' ? AT_EVENT : f[0][0] == 'c' ? AT_COMMAND
										: AT_ARGV;
			if (n != 3)
				why = "a mapping needs MATCH and IDS";
			else
				parse_rule(a, k, f, &why);
		} else {
			why = "unknown kind (technique, event, command, argv)";
		}
		if (why)
			goto bad;
		continue;
bad:
		snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
		goto fail;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = MM_EIO;
		goto fail;
	}
	if ((rc = check_named(a, err, errlen)) < 0)
		goto fail;
	fclose(fp);
	*out = a;
	return 0;
fail:
	fclose(fp);
	free(a);
	return rc;
}

void trap_attack_free(struct trap_attack *a)
{
	free(a);
}

/* Appends id to arr unless it is there already. */
static void add_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			return;
	json_array_append_new(arr, json_string(id));
}

static void add_rule(const struct at_rule *r, json_t *arr)
{
	unsigned i;

	for (i = 0; i < r->nids; i++)
		add_id(arr, r->ids[i]);
}

void trap_attack_event(const struct trap_attack *a, const char *eventid, json_t *arr)
{
	unsigned i;

	if (a == NULL || eventid == NULL || !json_is_array(arr))
		return;
	for (i = 0; i < a->nrules; i++)
		if (a->rules[i].kind == AT_EVENT && strcmp(a->rules[i].match, eventid) == 0)
			add_rule(&a->rules[i], arr);
}

static const char *base_name(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash ? slash + 1 : s;
}

void trap_attack_command(const struct trap_attack *a, int argc, char **argv, json_t *arr)
{
	const char *applet;
	unsigned i;
	int first = 1, j;

	if (a == NULL || argc < 1 || argv == NULL || argv[0] == NULL || !json_is_array(arr))
		return;
	applet = base_name(argv[0]);
	/* "/bin/busybox wget ..." runs wget; busybox alone keeps its own name. */
	if (strcmp(applet, "busybox") == 0 && argc >= 2 && argv[1] != NULL) {
		applet = base_name(argv[1]);
		first = 2;
	}
	for (i = 0; i < a->nrules; i++) {
		const struct at_rule *r = &a->rules[i];

		if (r->kind == AT_EVENT || strcmp(r->match, applet) != 0)
			continue;
		if (r->kind == AT_COMMAND) {
			add_rule(r, arr);
			continue;
		}
		for (j = first; j < argc; j++)
			if (argv[j] != NULL && strstr(argv[j], r->sub) != NULL) {
				add_rule(r, arr);
				break;
			}
	}
}

const char *trap_attack_name(const struct trap_attack *a, const char *id, const char **tactics)
{
	const struct at_technique *t = a && id ? find_tech(a, id) : NULL;

	if (tactics)
		*tactics = t ? t->tactics : NULL;
	return t ? t->name : NULL;
}
