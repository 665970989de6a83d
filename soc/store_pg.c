/*
 * The PostgreSQL back end of the store, through libpq.
 *
 * Statements are written with '?' in store.c and renumbered $1, $2... here.
 * Fixed statements are prepared once per connection (named "mm_sN").
 * Integers travel as decimal text, text and bytes in binary form with their
 * length (so that nothing depends on a terminating NUL).
 *
 * Events go through libpq's pipeline mode: store_add_event() sends the
 * INSERT and returns without waiting for its result, so that a batch of
 * thousands costs a few round trips instead of one per event. The id each
 * event gets is known before the INSERT leaves: ids are taken from the
 * events' identity sequence in blocks (one round trip per ID_BLOCK events)
 * and written explicitly. The results are read before any statement that
 * needs its own result, every PIPE_MAX events, and at commit; an INSERT that
 * failed makes that call (at the latest store_commit()) fail and the batch
 * is rolled back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "store_int.h"

/* Event ids fetched from the sequence per round trip. */
#define ID_BLOCK 4096
/* Events sent before their results are read. Each result is a few dozen
 * bytes, so the server never blocks on a full socket while we send. */
#define PIPE_MAX 2048
/* The longest statement text after renumbering. */
#define PG_SQL_MAX 16384

/* Type oids of the results we read as integers or bytes. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26
#define OID_NUMERIC 1700

struct store_pg {
	struct store base;
	PGconn *conn;
	unsigned char prepared[SQL_COUNT];
	int64_t ids[ID_BLOCK];
	size_t nids, idpos;
	int pipeline;   /* in pipeline mode */
	size_t pending; /* INSERTs sent whose results are not read yet */
	int failed;     /* a pipelined INSERT of this transaction failed */
	struct mm_buf sql;
};

/* The parameters of one call in libpq's form. */
struct pg_params {
	const char *values[STORE_MAX_COLS];
	int lengths[STORE_MAX_COLS];
	int formats[STORE_MAX_COLS];
	char ints[STORE_MAX_COLS][24];
};

static int pg_err(struct store_pg *s, const char *what, const PGresult *res)
{
	const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
	size_t n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	return store_set_err(&s->base, "postgresql: %s: %.*s", what, (int)n, m);
}

static void quiet(void *arg, const char *msg)
{
	/* NOTICEs ("relation already exists, skipping") are not errors. */
}

/* Renumbers the '?' of sql as $1, $2... outside quoted literals. */
static int renumber(struct store_pg *s, const char *sql)
{
	int n = 0, quoted = 0, rc = 0;
	const char *p;

	mm_buf_reset(&s->sql);
	for (p = sql; *p && rc == 0; p++) {
		if (*p == '\'')
			quoted = !quoted;
		if (*p == '?' && !quoted)
			rc = mm_buf_printf(&s->sql, "$%d", ++n);
		else
			rc = mm_buf_putc(&s->sql, *p);
	}
	if (rc == 0 && s->sql.data == NULL)
		rc = mm_buf_puts(&s->sql, "");
	return rc < 0 ? store_set_err(&s->base, "postgresql: statement too long") : 0;
}

static int params_of(struct store_pg *s, const struct store_val *p, int np, struct pg_params *pp)
{
	int i;

	if (np > STORE_MAX_COLS)
		return store_set_err(&s->base, "postgresql: %d parameters, at most %d", np,
				     STORE_MAX_COLS);
	for (i = 0; i < np; i++) {
		pp->lengths[i] = 0;
		pp->formats[i] = 0;
		switch (p[i].t) {
		case SV_NULL: pp->values[i] = NULL; break;
		case SV_INT:
			snprintf(pp->ints[i], sizeof pp->ints[i], "%" PRId64, p[i].i);
			pp->values[i] = pp->ints[i];
			break;
		case SV_TEXT:
		case SV_BLOB:
			if (p[i].len > INT32_MAX)
				return store_set_err(&s->base, "postgresql: parameter too long");
			/* Binary text is its bytes; binary bytea too. */
			pp->values[i] = p[i].len ? p[i].s : "";
			pp->lengths[i] = (int)p[i].len;
			pp->formats[i] = 1;
			break;
		}
	}
	return 0;
}

static int prepare(struct store_pg *s, int id, const char *sql)
{
	char name[16];
	PGresult *res;
	int rc;

	if (s->prepared[id])
		return 0;
	if ((rc = renumber(s, sql)) < 0)
		return rc;
	snprintf(name, sizeof name, "mm_s%d", id);
	res = PQprepare(s->conn, name, s->sql.data, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_err(s, "prepare", res);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	s->prepared[id] = 1;
	return 0;
}

/* After a lost connection the next call gets a new one (outside any
 * transaction: the batch that was open is gone and its commit fails). */
static void reconnect_if_lost(struct store_pg *s)
{
	if (PQstatus(s->conn) != CONNECTION_BAD)
		return;
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof s->prepared);
	s->nids = s->idpos = 0;
	s->failed = 1;
}

/*
 * Reads the results of the pipelined INSERTs and leaves pipeline mode.
 * Returns MM_EIO when one of them (or an earlier one of this transaction)
 * failed, with the first failure's text.
 */
static int drain(struct store_pg *s)
{
	PGresult *res;
	size_t nulls = 0;
	int bad = 0;

	if (!s->pipeline)
		return s->failed ? MM_EIO : 0;
	if (PQpipelineSync(s->conn) != 1) {
		s->failed = 1;
		pg_err(s, "pipeline sync", NULL);
	}
	for (;;) {
		res = PQgetResult(s->conn);
		if (res == NULL) {
			/* One NULL ends each query's results; more than that means
			 * the connection is gone. */
			if (PQstatus(s->conn) == CONNECTION_BAD || ++nulls > s->pending + 1) {
				if (!s->failed)
					pg_err(s, "pipeline", NULL);
				bad = 1;
				break;
			}
			continue;
		}
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			goto synced;
		case PGRES_FATAL_ERROR:
			if (!s->failed)
				pg_err(s, "insert event", res);
			s->failed = 1;
			break;
		case PGRES_PIPELINE_ABORTED:
			s->failed = 1;
			break;
		default: break;
		}
		PQclear(res);
	}
synced:
	if (!bad && PQexitPipelineMode(s->conn) != 1)
		bad = 1;
	s->pipeline = 0;
	s->pending = 0;
	if (bad) {
		s->failed = 1;
		reconnect_if_lost(s);
	}
	return s->failed ? MM_EIO : 0;
}

/* Decodes bytea's text form "\x0a1b..." into a new allocation. */
static char *bytea_decode(const char *t, size_t *len)
{
	size_t n = strlen(t), i;
	char *out;

	if (n < 2 || t[0] != '\\' || t[1] != 'x')
		return NULL;
	n = (n - 2) / 2;
	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		int hi = mm_hex_digit(t[2 + 2 * i]), lo = mm_hex_digit(t[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi << 4 | lo);
	}
	*len = n;
	return out;
}

static int rows_of(struct store_pg *s, PGresult *res, store_row_fn cb, void *arg)
{
	struct store_val cols[STORE_MAX_COLS];
	char *blobs[STORE_MAX_COLS];
	int nrows = PQntuples(res), ncols = PQnfields(res), r, c, rc = 0;

	if (ncols > STORE_MAX_COLS)
		return store_set_err(&s->base, "postgresql: %d columns, at most %d", ncols,
				     STORE_MAX_COLS);
	for (r = 0; r < nrows && rc == 0; r++) {
		for (c = 0; c < ncols; c++) {
			struct store_val *v = &cols[c];
			const char *t = PQgetvalue(res, r, c);

			blobs[c] = NULL;
			memset(v, 0, sizeof *v);
			if (PQgetisnull(res, r, c)) {
				v->t = SV_NULL;
				continue;
			}
			switch (PQftype(res, c)) {
			case OID_BOOL:
				v->t = SV_INT;
				v->i = t[0] == 't';
				break;
			case OID_INT8:
			case OID_INT2:
			case OID_INT4:
			case OID_OID:
			case OID_NUMERIC:
				v->t = SV_INT;
				v->i = strtoll(t, NULL, 10);
				break;
			case OID_BYTEA:
				v->t = SV_BLOB;
				if ((blobs[c] = bytea_decode(t, &v->len)) == NULL) {
					v->t = SV_NULL;
					v->len = 0;
				}
				v->s = blobs[c];
				break;
			default:
				v->t = SV_TEXT;
				v->s = t;
				v->len = (size_t)PQgetlength(res, r, c);
				break;
			}
		}
		rc = cb(arg, cols, ncols);
		for (c = 0; c < ncols; c++)
			free(blobs[c]);
	}
	return rc;
}

static int pg_exec(struct store *st, int id, const char *sql, const struct store_val *p, int np,
		   store_row_fn cb, void *arg, int64_t *changes)
{
	struct store_pg *s = (struct store_pg *)st;
	struct pg_params pp;
	PGresult *res;
	ExecStatusType status;
	char name[16];
	int rc;

	if ((rc = drain(s)) < 0)
		return rc;
	if ((rc = params_of(s, p, np, &pp)) < 0)
		return rc;
	if (id >= 0) {
		if ((rc = prepare(s, id, sql)) < 0)
			return rc;
		snprintf(name, sizeof name, "mm_s%d", id);
		res = PQexecPrepared(s->conn, name, np, pp.values, pp.lengths, pp.formats, 0);
	} else {
		if ((rc = renumber(s, sql)) < 0)
			return rc;
		res = PQexecParams(s->conn, s->sql.data, np, NULL, pp.values, pp.lengths,
				   pp.formats, 0);
	}
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		rc = pg_err(s, "query", res);
		reconnect_if_lost(s);
		goto done;
	}
	if (cb != NULL && (rc = rows_of(s, res, cb, arg)) != 0)
		goto done;
	if (changes != NULL)
		*changes = strtoll(PQcmdTuples(res), NULL, 10);
done:
	PQclear(res);
	return rc;
}

static int pg_exec_plain(struct store *st, const char *sql)
{
	struct store_pg *s = (struct store_pg *)st;
	PGresult *res;
	ExecStatusType status;
	int rc = 0;

	if ((rc = drain(s)) < 0)
		return rc;
	res = PQexec(s->conn, sql);
	status = PQresultStatus(res);
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
		rc = pg_err(s, "exec", res);
	PQclear(res);
	return rc;
}

static int id_row(void *arg, const struct store_val *c, int n)
{
	struct store_pg *s = arg;

	if (n > 0 && c[0].t == SV_INT && s->nids < ID_BLOCK)
		s->ids[s->nids++] = c[0].i;
	return 0;
}

static int refill_ids(struct store_pg *s)
{
	struct store_val p[1] = {{.t = SV_INT, .i = ID_BLOCK}};
	int rc;

	s->nids = s->idpos = 0;
	rc = pg_exec(&s->base, STORE_SQL_DYNAMIC,
		     "SELECT nextval(pg_get_serial_sequence('events', 'id'))"
		     " FROM generate_series(1, ?)",
		     p, 1, id_row, s, NULL);
	if (rc == 0 && s->nids == 0)
		rc = store_set_err(&s->base, "postgresql: no event ids from the sequence");
	return rc;
}

static int pg_add_event(struct store *st, const char *sql, struct store_val *p, int np,
			int64_t *id)
{
	struct store_pg *s = (struct store_pg *)st;
	struct pg_params pp;
	char name[16];
	int rc;

	if (s->failed)
		return drain(s);
	if (s->idpos >= s->nids && (rc = drain(s)) < 0)
		return rc;
	if (s->idpos >= s->nids && (rc = refill_ids(s)) < 0)
		return rc;
	if (!s->prepared[SQL_INSERT_EVENT] &&
	    ((rc = drain(s)) < 0 || (rc = prepare(s, SQL_INSERT_EVENT, sql)) < 0))
		return rc;
	p[0].t = SV_INT;
	p[0].i = s->ids[s->idpos++];
	if ((rc = params_of(s, p, np, &pp)) < 0)
		return rc;
	if (!s->pipeline) {
		if (PQenterPipelineMode(s->conn) != 1)
			return pg_err(s, "pipeline mode", NULL);
		s->pipeline = 1;
	}
	snprintf(name, sizeof name, "mm_s%d", SQL_INSERT_EVENT);
	if (PQsendQueryPrepared(s->conn, name, np, pp.values, pp.lengths, pp.formats, 0) != 1) {
		rc = pg_err(s, "send event", NULL);
		s->failed = 1;
		drain(s);
		return rc;
	}
	s->pending++;
	*id = p[0].i;
	if (s->pending >= PIPE_MAX)
		return drain(s);
	return 0;
}

static int pg_begin(struct store *st)
{
	struct store_pg *s = (struct store_pg *)st;

	drain(s);
	s->failed = 0;
	return pg_exec_plain(st, "BEGIN");
}

static int pg_rollback(struct store *st)
{
	struct store_pg *s = (struct store_pg *)st;

	drain(s);
	s->failed = 0;
	return pg_exec_plain(st, "ROLLBACK");
}

static int pg_commit(struct store *st)
{
	struct store_pg *s = (struct store_pg *)st;
	PGresult *res;
	int rc;

	if ((rc = drain(s)) < 0) {
		/* The error of the INSERT that failed is kept: roll back
		 * without overwriting it. */
		char keep[STORE_ERR_MAX];

		memcpy(keep, st->err, sizeof keep);
		pg_rollback(st);
		memcpy(st->err, keep, sizeof keep);
		return MM_EIO;
	}
	res = PQexec(s->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_err(s, "commit", res);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		/* A transaction that had failed ends in ROLLBACK, not an error. */
		rc = store_set_err(st, "postgresql: commit: the transaction was rolled back");
	PQclear(res);
	return rc;
}

static int first_int(void *arg, const struct store_val *c, int n)
{
	if (n > 0 && c[0].t == SV_INT)
		*(int64_t *)arg = c[0].i;
	return 0;
}

static int pg_events_bytes(struct store *st, int64_t *bytes)
{
	*bytes = 0;
	return pg_exec(st, STORE_SQL_DYNAMIC, "SELECT pg_total_relation_size('events')", NULL, 0,
		       first_int, bytes, NULL);
}

static int pg_total_bytes(struct store *st, int64_t *bytes)
{
	*bytes = 0;
	return pg_exec(st, STORE_SQL_DYNAMIC, "SELECT pg_database_size(current_database())",
		       NULL, 0, first_int, bytes, NULL);
}

static void pg_close(struct store *st)
{
	struct store_pg *s = (struct store_pg *)st;

	drain(s);
	PQfinish(s->conn);
	mm_buf_free(&s->sql);
	free(s);
}

static const struct store_ops pg_ops = {
	.name = "postgresql",
	.dialect = STORE_DIALECT_PG,
	.size_shrinks = 0,
	.exec = pg_exec,
	.add_event = pg_add_event,
	.exec_plain = pg_exec_plain,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.events_bytes = pg_events_bytes,
	.total_bytes = pg_total_bytes,
	.close = pg_close,
};

int store_pg_open(const char *url, struct store **out, char *err, size_t errlen)
{
	struct store_pg *s;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "postgresql: out of memory");
		return MM_ENOMEM;
	}
	s->base.ops = &pg_ops;
	mm_buf_init(&s->sql, PG_SQL_MAX);
	s->conn = PQconnectdb(url);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		const char *m = s->conn ? PQerrorMessage(s->conn) : "out of memory";
		size_t n = strlen(m);

		while (n > 0 && m[n - 1] == '\n')
			n--;
		snprintf(err, errlen, "postgresql: %.*s", (int)n, m);
		goto fail;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
		snprintf(err, errlen, "postgresql: the server does not take UTF-8");
		goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	PQfinish(s->conn);
	mm_buf_free(&s->sql);
	free(s);
	return MM_EIO;
}
