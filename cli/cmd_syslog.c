/*
 * mamori syslog: syslog messages from the command line.
 *
 *   parse  split a byte stream into messages (RFC 6587 framing), parse each
 *          (RFC 5424 or RFC 3164) and print one JSON object per message
 *
 * The JSON written here is documented in docs/formats/syslog.md; keep the
 * two in step.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"
#include "mamori/log.h"
#include "mamori/syslog.h"

#define MAX_SIZE_LIMIT (64UL * 1024 * 1024) /* the largest --max-size taken */
#define READ_CHUNK 65536

static void syslog_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori syslog parse [--framing lf|octet|auto] [--max-size BYTES]\n"
		"                           [--only-5424|--only-3164] [FILE|-]\n\n"
		"Reads syslog messages from FILE (or standard input for '-' or no FILE),\n"
		"splits them into frames and prints one JSON object per frame.\n\n"
		"  --framing lf      one message per line (the default)\n"
		"  --framing octet   RFC 6587 octet counting: \"LEN SP MSG\"\n"
		"  --framing auto    per frame: a digit starts an octet count, else a line\n"
		"  --max-size BYTES  longest message kept, 1 to %lu (default %d);\n"
		"                    a longer frame is reported as an error and skipped\n"
		"  --only-5424       parse every message as RFC 5424 (strict)\n"
		"  --only-3164       parse every message as RFC 3164 (lenient)\n"
		"                    (default: RFC 5424 when a VERSION follows <PRI>)\n\n"
		"A message that cannot be parsed prints {\"error\":...,\"offset\":...,\n"
		"\"frame\":...} and the next one is read. Exit status: 0 all parsed, 1 some\n"
		"failed, 2 usage or input error.\n",
		MAX_SIZE_LIMIT, MM_FRAME_DEFAULT_MAX);
}

/* What a parse run keeps between frames. */
struct run {
	enum mm_syslog_parse_mode mode;
	size_t max;
	unsigned long long frame; /* frames seen, counting from 1 */
	int failed;
	int finishing; /* set while mm_frame_finish() runs */
	int out_err;
};

static const char *const quirk_names[] = {
	"no_pri", "no_timestamp", "no_hostname", "year", "fraction",
	"rfc3339", "cisco", "tz", "trailer",
};

static json_t *str_or_null(const struct mm_str *s)
{
	return s->p ? json_stringn_nocheck(s->p, s->len) : json_null();
}

static json_t *time_json(const struct mm_syslog_time *t)
{
	json_t *o;

	if (!t->present)
		return json_null();
	o = json_object();
	if (t->year)
		json_object_set_new(o, "year", json_integer(t->year));
	json_object_set_new(o, "month", json_integer(t->month));
	json_object_set_new(o, "day", json_integer(t->day));
	json_object_set_new(o, "hour", json_integer(t->hour));
	json_object_set_new(o, "minute", json_integer(t->minute));
	json_object_set_new(o, "second", json_integer(t->second));
	json_object_set_new(o, "nsec", json_integer(t->nsec));
	json_object_set_new(o, "frac_digits", json_integer(t->frac_digits));
	if (t->has_offset)
		json_object_set_new(o, "offset_min", json_integer(t->offset_min));
	return o;
}

/*
 * One SD-PARAM value into the element's object. A name seen once maps to a
 * string; a name repeated inside one element (RFC 5424 allows it) maps to
 * an array of its values in the order received.
 */
static int add_param(json_t *el, const struct mm_sd_param *sp, struct mm_buf *tmp)
{
	json_t *v, *old;
	char name[33];

	mm_buf_reset(tmp);
	if (mm_syslog_sd_unescape(&sp->value, tmp) < 0)
		return -1;
	/* SD-NAMEs are at most 32 PRINTUSASCII characters. */
	memcpy(name, sp->name.p, sp->name.len);
	name[sp->name.len] = '\0';
	v = json_stringn_nocheck(tmp->data ? tmp->data : "", tmp->len);
	old = json_object_get(el, name);
	if (old == NULL)
		return json_object_set_new(el, name, v);
	if (!json_is_array(old)) {
		json_t *arr = json_array();

		json_array_append(arr, old);
		json_object_set_new(el, name, arr);
		old = arr;
	}
	return json_array_append_new(old, v);
}

static json_t *sd_json(const struct mm_syslog_msg *m, struct mm_buf *tmp)
{
	json_t *sd;

	if (m->format != MM_SYSLOG_RFC5424)
		return json_null();
	sd = json_object();
	for (unsigned i = 0; i < m->nelements; i++) {
		const struct mm_sd_element *e = &m->elements[i];
		json_t *el = json_object();
		char id[33];

		for (unsigned k = 0; k < e->nparams; k++)
			add_param(el, &m->params[e->first_param + k], tmp);
		memcpy(id, e->id.p, e->id.len);
		id[e->id.len] = '\0';
		json_object_set_new(sd, id, el);
	}
	return sd;
}

static json_t *quirks_json(unsigned q)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof quirk_names / sizeof quirk_names[0]; i++)
		if (q & (1u << i))
			json_array_append_new(a, json_string(quirk_names[i]));
	return a;
}

/* MSG as text when it is UTF-8, else as hex so that no byte is lost. */
static void add_msg(json_t *o, const struct mm_syslog_msg *m, struct mm_buf *tmp)
{
	if (m->msg.p == NULL || m->msg_utf8) {
		json_object_set_new(o, "msg", str_or_null(&m->msg));
		return;
	}
	mm_buf_reset(tmp);
	if (mm_hex_encode(tmp, m->msg.p, m->msg.len) == 0)
		json_object_set_new(o, "msg_hex", json_stringn(tmp->data, tmp->len));
}

static json_t *msg_json(const struct mm_syslog_msg *m, unsigned long long frame)
{
	struct mm_buf tmp;
	json_t *o = json_object();
	int is5424 = m->format == MM_SYSLOG_RFC5424;

	mm_buf_init(&tmp, 2 * MAX_SIZE_LIMIT + 1);
	json_object_set_new(o, "frame", json_integer((json_int_t)frame));
	json_object_set_new(o, "format", json_string(is5424 ? "rfc5424" : "rfc3164"));
	json_object_set_new(o, "pri", json_integer(m->pri));
	json_object_set_new(o, "facility", json_integer(m->facility));
	json_object_set_new(o, "severity", json_integer(m->severity));
	json_object_set_new(o, "version", is5424 ? json_integer(m->version) : json_null());
	json_object_set_new(o, "timestamp", str_or_null(&m->timestamp));
	json_object_set_new(o, "time", time_json(&m->time));
	json_object_set_new(o, "hostname", str_or_null(&m->hostname));
	json_object_set_new(o, "app_name", str_or_null(&m->app_name));
	json_object_set_new(o, "procid", str_or_null(&m->procid));
	json_object_set_new(o, "msgid", str_or_null(&m->msgid));
	json_object_set_new(o, "structured_data", sd_json(m, &tmp));
	add_msg(o, m, &tmp);
	json_object_set_new(o, "msg_bom", json_boolean(m->msg_bom));
	json_object_set_new(o, "quirks", quirks_json(m->quirks));
	mm_buf_free(&tmp);
	return o;
}

static json_t *error_json(const char *what, size_t off, unsigned long long frame)
{
	return json_pack("{s:s, s:I, s:I}", "error", what, "offset", (json_int_t)off, "frame",
			 (json_int_t)frame);
}

static int print_line(struct run *r, json_t *o)
{
	int rc = o ? json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) : -1;

	json_decref(o);
	if (rc < 0 || putchar('\n') == EOF) {
		r->out_err = 1;
		return -1;
	}
	return 0;
}

/* Frames that the decoder could not deliver whole are errors of their own. */
static json_t *frame_error(struct run *r, size_t len, int status)
{
	if (status == MM_ETOOBIG)
		return error_json("frame is longer than --max-size", r->max, r->frame);
	if (r->finishing)
		return error_json("input ends inside a frame", len, r->frame);
	return error_json("malformed octet count; skipped to the next LF", 0, r->frame);
}

static int on_frame(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct run *r = arg;
	struct mm_syslog_msg m;

	r->frame++;
	if (status < 0) {
		r->failed = 1;
		return print_line(r, frame_error(r, len, status));
	}
	if (mm_syslog_parse(msg, len, r->mode, &m) < 0) {
		r->failed = 1;
		return print_line(r, error_json(m.err, m.err_off, r->frame));
	}
	return print_line(r, msg_json(&m, r->frame));
}

static int parse_stream(FILE *f, struct run *r, enum mm_frame_mode framing)
{
	static uint8_t buf[READ_CHUNK];
	struct mm_frame_dec d;
	size_t n;
	int rc = 0;

	mm_frame_init(&d, framing, r->max);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if ((rc = mm_frame_feed(&d, buf, n, on_frame, r)) < 0)
			break;
	if (rc == MM_ENOMEM)
		log_warnx("out of memory");
	if (rc == 0 && ferror(f)) {
		log_warn("read");
		rc = MM_EIO;
	}
	if (rc == 0) {
		r->finishing = 1;
		rc = mm_frame_finish(&d, on_frame, r);
	}
	mm_frame_free(&d);
	if (fflush(stdout) == EOF || r->out_err) {
		log_warn("write");
		return CLI_USAGE;
	}
	if (rc < 0)
		return CLI_USAGE;
	return r->failed ? CLI_INVALID : CLI_OK;
}

/* A whole decimal number from 1 to max; 0 when s is anything else. */
static size_t parse_size(const char *s, size_t max)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return 0;
	return (size_t)v;
}

static int parse_framing(const char *s, enum mm_frame_mode *out)
{
	if (strcmp(s, "lf") == 0)
		*out = MM_FRAME_LF;
	else if (strcmp(s, "octet") == 0)
		*out = MM_FRAME_OCTET;
	else if (strcmp(s, "auto") == 0)
		*out = MM_FRAME_AUTO;
	else
		return -1;
	return 0;
}

static int cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "framing", required_argument, NULL, 'f' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "only-5424", no_argument, NULL, '5' },
		{ "only-3164", no_argument, NULL, '3' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { .mode = MM_SYSLOG_AUTO, .max = MM_FRAME_DEFAULT_MAX };
	enum mm_frame_mode framing = MM_FRAME_LF;
	const char *path = "-";
	FILE *f;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_framing(optarg, &framing) < 0) {
				log_warnx("--framing takes lf, octet or auto, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'm':
			if ((r.max = parse_size(optarg, MAX_SIZE_LIMIT)) == 0) {
				log_warnx("--max-size takes a number of bytes from 1 to %lu",
					  MAX_SIZE_LIMIT);
				return CLI_USAGE;
			}
			break;
		case '5':
		case '3':
			if (r.mode != MM_SYSLOG_AUTO) {
				log_warnx("--only-5424 and --only-3164 exclude each other");
				return CLI_USAGE;
			}
			r.mode = c == '5' ? MM_SYSLOG_ONLY_5424 : MM_SYSLOG_ONLY_3164;
			break;
		case 'h':
			syslog_usage(stdout);
			return CLI_OK;
		default:
			syslog_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind > 1) {
		log_warnx("parse takes one FILE");
		syslog_usage(stderr);
		return CLI_USAGE;
	}
	if (optind < argc)
		path = argv[optind];
	if ((f = cli_open(path)) == NULL)
		return CLI_USAGE;
	rc = parse_stream(f, &r, framing);
	cli_close(f);
	return rc;
}

int cmd_syslog(int argc, char **argv)
{
	if (argc < 2) {
		syslog_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		syslog_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc - 1, argv + 1);
	log_warnx("unknown verb 'syslog %s'", argv[1]);
	syslog_usage(stderr);
	return CLI_USAGE;
}
