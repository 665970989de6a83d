/*
 * mamori x1367: the standard IoT error log from the command line.
 *
 *   codes     print the Annex A table, or what given codes are
 *   validate  check records, strictly or leniently, and say what is wrong where
 *   map       map a vendor's proprietary code with a mapping table
 *   build     make a record from options, for scripts
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "mamori/errmap.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/x1367.h"

static void x1367_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori x1367 VERB [OPTIONS]\n\n"
		"  codes [--json] [CODE...]\n"
		"      print the standard code table, or what each CODE (two hex digits) is\n"
		"  validate [--lenient] [--print] [--quiet] [FILE...|-]\n"
		"      check records: one record per file, or one per line (JSON lines)\n"
		"  map --table FILE --protocol NAME [--vendor NAME] --code CODE [--json]\n"
		"      map a proprietary error code to the standard code\n"
		"  build --protocol NAME --code CODE [party and other options] [--pretty]\n"
		"      make a record from options ('mamori x1367 build --help')\n\n"
		"Each verb takes --help. Exit status: 0 done and valid, 1 invalid or not\n"
		"found, 2 usage or input error.\n");
}

/* ---- codes ---- */

static json_t *code_json(uint8_t code)
{
	const struct mm_x1367_code *info = mm_x1367_code_info(code);
	const struct mm_x1367_range *rg = mm_x1367_range_of(code);
	char hex[3];

	snprintf(hex, sizeof hex, "%02X", code);
	return json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "code", hex, "message",
			 info ? info->message : NULL, "description",
			 info ? info->description : NULL, "category", rg->name, "status",
			 mm_x1367_status_name(mm_x1367_code_status(code)));
}

static int print_json(json_t *j)
{
	int rc = j ? json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : -1;

	putchar('\n');
	json_decref(j);
	return rc ? CLI_USAGE : CLI_OK;
}

static int codes_table(int as_json)
{
	const struct mm_x1367_range *rg;
	const struct mm_x1367_code *cd;
	size_t nr, nc, i, j;
	json_t *root, *ranges, *codes;

	rg = mm_x1367_ranges(&nr);
	cd = mm_x1367_codes(&nc);
	if (!as_json) {
		for (i = 0; i < nr; i++) {
			printf("%02X-%02X  %s\n", rg[i].lo, rg[i].hi, rg[i].name);
			for (j = 0; j < nc; j++)
				if (cd[j].code >= rg[i].lo && cd[j].code <= rg[i].hi)
					printf("  %02X   %-28s %s\n", cd[j].code, cd[j].message,
					       cd[j].description);
		}
		return CLI_OK;
	}
	root = json_object();
	ranges = json_array();
	codes = json_array();
	for (i = 0; i < nr; i++) {
		char lo[3], hi[3];
		snprintf(lo, sizeof lo, "%02X", rg[i].lo);
		snprintf(hi, sizeof hi, "%02X", rg[i].hi);
		json_array_append_new(ranges,
				      json_pack("{s:s, s:s, s:s}", "from", lo, "to", hi, "category",
						rg[i].name));
	}
	for (j = 0; j < nc; j++)
		json_array_append_new(codes, code_json(cd[j].code));
	json_object_set_new(root, "ranges", ranges);
	json_object_set_new(root, "codes", codes);
	return print_json(root);
}

static int codes_explain(char **argv, int n, int as_json)
{
	json_t *arr = json_array();
	int i, rc = CLI_OK;
	uint8_t code;

	for (i = 0; i < n; i++) {
		const struct mm_x1367_code *info;
		if (mm_x1367_code_parse(argv[i], &code) < 0) {
			log_warnx("'%s' is not a standard code (two hex digits)", argv[i]);
			rc = CLI_USAGE;
			continue;
		}
		if (as_json) {
			json_array_append_new(arr, code_json(code));
			continue;
		}
		info = mm_x1367_code_info(code);
		printf("%02X  %s  [%s, %s]%s%s\n", code, info ? info->message : "-",
		       mm_x1367_range_of(code)->name,
		       mm_x1367_status_name(mm_x1367_code_status(code)), info ? "  " : "",
		       info ? info->description : "");
	}
	if (as_json)
		print_json(arr);
	else
		json_decref(arr);
	return rc;
}

static int x1367_codes(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, as_json = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = 1;
			break;
		case 'h':
			printf("usage: mamori x1367 codes [--json] [CODE...]\n\n"
			       "Without CODE, prints every range and assigned code of X.1367 Annex A.\n"
			       "With CODEs (two hex digits each), prints each code's message, range\n"
			       "and status: assigned, unassigned, reserved or private.\n");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return codes_explain(argv + optind, argc - optind, as_json);
	return codes_table(as_json);
}

/* ---- validate ---- */

struct vstate {
	enum mm_x1367_mode mode;
	int print, quiet;
	unsigned long records, valid, lenient, invalid;
};

/* Prints the problems of one record; line0 is the record's first line in the file. */
static void print_diags(const char *name, int line0, const struct mm_x1367_diags *d)
{
	unsigned i;

	for (i = 0; i < d->n; i++) {
		const struct mm_x1367_diag *g = &d->v[i];
		fprintf(stderr, "%s:%d:%d: %s%s%s%s\n", name, line0 + (g->line ? g->line : 1) - 1,
			g->col ? g->col : 1, g->attr, g->attr[0] ? ": " : "", g->msg,
			g->forgiven ? " (forgiven)" : "");
	}
	if (d->dropped)
		fprintf(stderr, "%s:%d: %u more problems not shown\n", name, line0, d->dropped);
}

static void validate_one(struct vstate *st, const char *name, int line0, const char *text,
			 size_t len)
{
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;
	enum mm_x1367_status status;
	int rc;

	st->records++;
	rc = mm_x1367_decode(text, len, st->mode, &r, &d);
	if (!st->quiet || rc < 0)
		print_diags(name, line0, &d);
	if (rc < 0) {
		st->invalid++;
		return;
	}
	if (r->forgiven)
		st->lenient++;
	else
		st->valid++;
	status = mm_x1367_code_status(r->code);
	if (status != MM_X1367_ASSIGNED && !st->quiet)
		fprintf(stderr, "%s:%d: Error Code: %02X is %s (%s); kept with message \"%s\"\n",
			name, line0, r->code, mm_x1367_status_name(status),
			mm_x1367_range_of(r->code)->name, r->message);
	if (st->print) {
		char *json = mm_x1367_encode(r, 0);
		if (json) {
			puts(json);
			free(json);
		} else {
			log_warnx("%s:%d: accepted record could not be written back", name, line0);
		}
	}
	mm_x1367_free(r);
}

/* A first line that holds a whole JSON object means JSON lines. */
static int whole_object(const char *s, size_t n)
{
	size_t i = 0;
	int depth = 0, in_str = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == n || s[i] != '{')
		return 0;
	for (; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return 1;
		}
	}
	return 0;
}

static int validate_file(struct vstate *st, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	struct mm_buf line, whole;
	FILE *f;
	int rc, lineno = 1, ret = CLI_OK;

	if ((f = cli_open(path)) == NULL)
		return CLI_USAGE;
	mm_buf_init(&line, MM_X1367_MAX_TEXT);
	mm_buf_init(&whole, MM_X1367_MAX_TEXT);
	rc = cli_read_line(f, &line);
	if (rc > 0 && whole_object(line.data, line.len)) {
		/* JSON lines: one record per non-empty line. */
		do {
			if (rc == MM_ETOOBIG) {
				fprintf(stderr, "%s:%d:1: record longer than %d bytes\n", name, lineno,
					MM_X1367_MAX_TEXT);
				st->records++;
				st->invalid++;
			} else if (line.len > strspn(line.data, " \t\r")) {
				validate_one(st, name, lineno, line.data, line.len);
			}
			lineno++;
		} while ((rc = cli_read_line(f, &line)) != 0 && rc != MM_EIO);
	} else if (rc != 0 && rc != MM_EIO) {
		/* One record in the whole input. */
		int over = rc == MM_ETOOBIG;
		do {
			if (rc == MM_ETOOBIG || mm_buf_append(&whole, line.data ? line.data : "",
							       line.len) < 0 ||
			    mm_buf_putc(&whole, '\n') < 0)
				over = 1;
		} while (!over && (rc = cli_read_line(f, &line)) > 0);
		if (over) {
			fprintf(stderr, "%s:1:1: record longer than %d bytes\n", name,
				MM_X1367_MAX_TEXT);
			st->records++;
			st->invalid++;
		} else if (rc != MM_EIO) {
			validate_one(st, name, 1, whole.data, whole.len);
		}
	}
	if (rc == MM_EIO) {
		log_warn("%s: read", name);
		ret = CLI_USAGE;
	}
	mm_buf_free(&line);
	mm_buf_free(&whole);
	cli_close(f);
	return ret;
}

static int x1367_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"lenient", no_argument, NULL, 'l'},
		{"print", no_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct vstate st = {.mode = MM_X1367_STRICT};
	int c, i, rc = CLI_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "lpqh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			st.mode = MM_X1367_LENIENT;
			break;
		case 'p':
			st.print = 1;
			break;
		case 'q':
			st.quiet = 1;
			break;
		case 'h':
			printf("usage: mamori x1367 validate [--lenient] [--print] [--quiet] "
			       "[FILE...|-]\n\n"
			       "Checks X.1367 records. A file whose first line is a whole JSON object\n"
			       "is read as JSON lines, one record per line; otherwise the whole file\n"
			       "is one record. Without FILE, or with -, reads standard input.\n\n"
			       "  --lenient  accept what real senders emit (trailing commas, non-hex\n"
			       "             Transmitted Code, unknown attributes, ...) and mark it\n"
			       "  --print    write each accepted record to stdout as canonical JSON\n"
			       "  --quiet    print only errors, no summary\n\n"
			       "Problems go to stderr as FILE:LINE:COL: attribute: what is wrong;\n"
			       "accepted ones end in (forgiven). Exit 0 when every record is valid\n"
			       "(or accepted with --lenient), 1 otherwise, 2 when input can't be read.\n");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (optind == argc)
		rc = validate_file(&st, "-");
	for (i = optind; i < argc; i++)
		if (validate_file(&st, argv[i]) != CLI_OK)
			rc = CLI_USAGE;
	if (!st.quiet)
		fprintf(stderr, "%lu records: %lu valid, %lu accepted leniently, %lu invalid\n",
			st.records, st.valid, st.lenient, st.invalid);
	if (rc == CLI_OK && st.invalid)
		rc = CLI_INVALID;
	return rc;
}

/* ---- map ---- */

static const char *match_name(enum mm_errmap_match m)
{
	switch (m) {
	case MM_ERRMAP_EXACT: return "exact";
	case MM_ERRMAP_RANGE: return "range";
	case MM_ERRMAP_DEFAULT: return "default";
	case MM_ERRMAP_FALLBACK: return "fallback";
	}
	return "?";
}

/* Loads a mapping table, printing FILE:LINE:COL: why on failure. */
static struct mm_errmap *load_table(const char *path)
{
	struct mm_errmap *map;
	struct mm_errmap_err err;

	if (mm_errmap_load_file(&map, path, &err) < 0) {
		if (err.line)
			fprintf(stderr, "%s:%d:%d: %s\n", path, err.line, err.col ? err.col : 1,
				err.msg);
		else
			fprintf(stderr, "%s: %s\n", path, err.msg);
		return NULL;
	}
	return map;
}

static int x1367_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{"table", required_argument, NULL, 't'},
		{"protocol", required_argument, NULL, 'P'},
		{"vendor", required_argument, NULL, 'V'},
		{"code", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *table = NULL, *proto = NULL, *vendor = NULL, *code = NULL;
	struct mm_errmap_result r;
	struct mm_errmap *map;
	int c, as_json = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:P:V:c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 't': table = optarg; break;
		case 'P': proto = optarg; break;
		case 'V': vendor = optarg; break;
		case 'c': code = optarg; break;
		case 'j': as_json = 1; break;
		case 'h':
			printf("usage: mamori x1367 map --table FILE --protocol NAME [--vendor NAME]\n"
			       "                        --code CODE [--json]\n\n"
			       "Maps a proprietary error CODE (0x1F or 31 numeric, anything else a\n"
			       "name) with the mapping table FILE (see mamori-errmap(5)) and prints\n"
			       "the standard code, its message, and which entry matched. Exit 1\n"
			       "when no table in FILE serves the protocol.\n");
			return CLI_OK;
		default:
			return CLI_USAGE;
		}
	}
	if (!table || !proto || !code || optind != argc) {
		log_warnx("map needs --table, --protocol and --code (see --help)");
		return CLI_USAGE;
	}
	if ((map = load_table(table)) == NULL)
		return CLI_USAGE;
	rc = mm_errmap_lookup(map, proto, vendor, code, &r);
	if (rc == MM_ENOTFOUND) {
		fprintf(stderr, "%s: no table for protocol \"%s\"%s%s\n", table, proto,
			vendor ? " and vendor " : "", vendor ? vendor : "");
		mm_errmap_free(map);
		return CLI_INVALID;
	}
	if (rc < 0) {
		log_warnx("code '%s': %s", code, mm_strerror(rc));
		mm_errmap_free(map);
		return CLI_USAGE;
	}
	if (as_json) {
		char hex[3];
		snprintf(hex, sizeof hex, "%02X", r.code);
		print_json(json_pack("{s:s, s:s, s:s, s:i, s:s, s:s?}", "Error Code", hex,
				     "Error Message", r.message, "match", match_name(r.match), "line",
				     r.line, "protocol", r.protocol, "vendor", r.vendor));
	} else {
		printf("%02X %s\n", r.code, r.message);
		if (r.line)
			fprintf(stderr, "%s:%d: %s match\n", table, r.line, match_name(r.match));
		else
			fprintf(stderr, "%s: no entry and no default: %s\n", table,
				match_name(r.match));
	}
	mm_errmap_free(map);
	return CLI_OK;
}

/* ---- build ---- */

static void build_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori x1367 build --protocol NAME (--code CODE [--message TEXT] |\n"
		"         --table FILE --vendor-code CODE [--vendor NAME]) [options] [--pretty]\n\n"
		"Makes one X.1367 record, checks it strictly and prints it as JSON.\n\n"
		"  --time RFC3339            when the error happened (default: now)\n"
		"  --reporter-ip|-id|-name|-mac VALUE      who reports (at least one)\n"
		"  --requester-ip|-id|-name|-mac VALUE     who sent the request\n"
		"  --request HEX             the raw request (Requester's Transmitted Code)\n"
		"  --responder-ip|-id|-name|-mac VALUE     who answered with the error\n"
		"  --response HEX            the raw error response (Responder's Transmitted Code)\n"
		"  --code CODE               the standard code, two hex digits\n"
		"  --message TEXT            its message; needed only for codes without one\n"
		"  --table FILE --vendor-code CODE [--vendor NAME]\n"
		"                            map a proprietary code instead of --code\n"
		"  --description KEY=VALUE   a remark in Description (repeatable)\n"
		"  --pretty                  indent the output\n");
}

/* Long options for the twelve party identifiers: val encodes party and kind. */
#define PARTY_OPT(p, k) (0x100 + (p) * 16 + (k))

static int x1367_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{"time", required_argument, NULL, 'T'},
		{"protocol", required_argument, NULL, 'P'},
		{"code", required_argument, NULL, 'c'},
		{"message", required_argument, NULL, 'm'},
		{"table", required_argument, NULL, 't'},
		{"vendor", required_argument, NULL, 'V'},
		{"vendor-code", required_argument, NULL, 'C'},
		{"request", required_argument, NULL, 'q'},
		{"response", required_argument, NULL, 'r'},
		{"description", required_argument, NULL, 'D'},
		{"pretty", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"reporter-id", required_argument, NULL, PARTY_OPT(0, MM_X1367_ID_UNIQUE_ID)},
		{"reporter-name", required_argument, NULL, PARTY_OPT(0, MM_X1367_ID_UNIQUE_NAME)},
		{"reporter-ip", required_argument, NULL, PARTY_OPT(0, MM_X1367_ID_IP)},
		{"reporter-mac", required_argument, NULL, PARTY_OPT(0, MM_X1367_ID_MAC)},
		{"requester-id", required_argument, NULL, PARTY_OPT(1, MM_X1367_ID_UNIQUE_ID)},
		{"requester-name", required_argument, NULL, PARTY_OPT(1, MM_X1367_ID_UNIQUE_NAME)},
		{"requester-ip", required_argument, NULL, PARTY_OPT(1, MM_X1367_ID_IP)},
		{"requester-mac", required_argument, NULL, PARTY_OPT(1, MM_X1367_ID_MAC)},
		{"responder-id", required_argument, NULL, PARTY_OPT(2, MM_X1367_ID_UNIQUE_ID)},
		{"responder-name", required_argument, NULL, PARTY_OPT(2, MM_X1367_ID_UNIQUE_NAME)},
		{"responder-ip", required_argument, NULL, PARTY_OPT(2, MM_X1367_ID_IP)},
		{"responder-mac", required_argument, NULL, PARTY_OPT(2, MM_X1367_ID_MAC)},
		{NULL, 0, NULL, 0},
	};
	struct mm_x1367_record *r = mm_x1367_new();
	const char *code = NULL, *message = NULL, *table = NULL, *vendor = NULL,
		   *vcode = NULL, *when = NULL, *proto = NULL;
	const char *hex[3] = {NULL, NULL, NULL};
	struct mm_x1367_diags d;
	struct timespec ts;
	int c, rc = CLI_USAGE, pretty = 0;
	char *json = NULL;
	unsigned i;

	if (!r)
		fatalx("out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= PARTY_OPT(0, 0)) {
			int p = (c - 0x100) / 16, k = (c - 0x100) % 16;
			if (mm_x1367_set_id(r, (enum mm_x1367_party)p, (enum mm_x1367_idkind)k,
					    optarg) < 0) {
				log_warnx("--%s: '%s' is not a valid %s", opts[12 + p * 4 + k].name,
					  optarg, mm_x1367_idkind_name((enum mm_x1367_idkind)k));
				goto done;
			}
			continue;
		}
		switch (c) {
		case 'T': when = optarg; break;
		case 'P': proto = optarg; break;
		case 'c': code = optarg; break;
		case 'm': message = optarg; break;
		case 't': table = optarg; break;
		case 'V': vendor = optarg; break;
		case 'C': vcode = optarg; break;
		case 'q': hex[MM_X1367_REQUESTER] = optarg; break;
		case 'r': hex[MM_X1367_RESPONDER] = optarg; break;
		case 'p': pretty = 1; break;
		case 'D': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				log_warnx("--description wants KEY=VALUE, got '%s'", optarg);
				goto done;
			}
			*eq = '\0';
			if (mm_x1367_set_description(r, optarg, eq + 1) < 0) {
				log_warnx("--description %s: value is not UTF-8", optarg);
				goto done;
			}
			break;
		}
		case 'h':
			build_usage(stdout);
			rc = CLI_OK;
			goto done;
		default:
			goto done;
		}
	}
	if (optind != argc || !proto || (!code == !vcode) || (vcode && !table)) {
		log_warnx("build needs --protocol and either --code or --table with --vendor-code");
		build_usage(stderr);
		goto done;
	}
	if (mm_x1367_set_protocol(r, proto) < 0) {
		log_warnx("--protocol must not be empty");
		goto done;
	}
	if (when) {
		if (mm_x1367_time_parse(when, &ts) < 0) {
			log_warnx("--time '%s' is not an RFC 3339 date and time", when);
			goto done;
		}
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
	}
	mm_x1367_set_time(r, &ts);
	for (i = MM_X1367_REQUESTER; i <= MM_X1367_RESPONDER; i++) {
		const char *h = hex[i] ? hex[i] : "";
		if (!mm_hex_valid(h, strlen(h))) {
			log_warnx("--%s '%s' is not an even number of hex digits",
				  i == MM_X1367_REQUESTER ? "request" : "response", h);
			goto done;
		}
		free(r->party[i].transmitted);
		if ((r->party[i].transmitted = strdup(h)) == NULL)
			fatalx("out of memory");
	}
	if (code) {
		uint8_t v;
		if (mm_x1367_code_parse(code, &v) < 0) {
			log_warnx("--code '%s' is not two hex digits", code);
			goto done;
		}
		if (mm_x1367_set_code(r, v, message) < 0) {
			if (message)
				log_warnx("--message '%s' does not fit code %02X", message, v);
			else
				log_warnx("code %02X is not assigned: give its --message", v);
			goto done;
		}
	} else {
		struct mm_errmap *map = load_table(table);
		struct mm_errmap_result res;
		if (!map)
			goto done;
		if (mm_errmap_lookup(map, proto, vendor, vcode, &res) < 0) {
			log_warnx("%s: no table for protocol \"%s\"", table, proto);
			mm_errmap_free(map);
			rc = CLI_INVALID;
			goto done;
		}
		rc = mm_x1367_set_code(r, res.code, res.message);
		mm_errmap_free(map);
		if (rc < 0) {
			log_warnx("%s: mapped code %02X has no usable message", table, res.code);
			rc = CLI_INVALID;
			goto done;
		}
		rc = CLI_USAGE;
	}
	if (mm_x1367_validate(r, &d) < 0) {
		for (i = 0; i < d.n; i++)
			log_warnx("%s: %s", d.v[i].attr, d.v[i].msg);
		rc = CLI_INVALID;
		goto done;
	}
	if ((json = mm_x1367_encode(r, pretty ? MM_X1367_ENC_PRETTY : 0)) == NULL)
		fatalx("cannot encode the record");
	puts(json);
	rc = CLI_OK;
done:
	free(json);
	mm_x1367_free(r);
	return rc;
}

int cmd_x1367(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(int, char **);
	} verbs[] = {
		{"codes", x1367_codes},
		{"validate", x1367_validate},
		{"map", x1367_map},
		{"build", x1367_build},
	};
	size_t i;

	if (argc < 2) {
		x1367_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		x1367_usage(stdout);
		return CLI_OK;
	}
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			return verbs[i].fn(argc - 1, argv + 1);
	log_warnx("x1367: unknown verb '%s'", argv[1]);
	x1367_usage(stderr);
	return CLI_USAGE;
}
