/*
 * The SQLite back end of the store: one sqlite3 connection per handle, in
 * WAL mode so that the HTTP API's handle reads while the writer writes.
 *
 * synchronous=NORMAL: a transaction is durable once its commit record is in
 * the WAL file, which a kill -9 of the process cannot take away (only a
 * power cut can take the last transactions, never corrupt the database).
 * Fixed statements are prepared once with SQLITE_PREPARE_PERSISTENT and
 * kept for the life of the handle; parameters are bound without copying.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori/error.h"
#include "store_int.h"

/* How long a handle waits for another one's lock before it fails. */
#define SQLITE_BUSY_MS 10000
/* Page cache per connection (KiB): the events' indexes stay in memory
 * while a batch inserts into them. */
#define SQLITE_CACHE_KIB 65536
/* The WAL file is cut back to this size after a checkpoint. */
#define SQLITE_WAL_LIMIT (128 * 1024 * 1024)
/* Pages written to the WAL before it is copied back into the database.
 * SQLite's default (1000 pages) checkpoints after almost every batch; a page
 * written by several batches between two checkpoints is copied once. */
#define SQLITE_CHECKPOINT_PAGES 4096

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_COUNT];
};

static int db_err(struct store_sqlite *s, const char *what)
{
	return store_set_err(&s->base, "sqlite: %s: %s", what, sqlite3_errmsg(s->db));
}

static int prepare(struct store_sqlite *s, int id, const char *sql, sqlite3_stmt **out)
{
	unsigned flags = id >= 0 ? SQLITE_PREPARE_PERSISTENT : 0;

	if (id >= 0 && s->stmt[id] != NULL) {
		*out = s->stmt[id];
		return 0;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, flags, out, NULL) != SQLITE_OK)
		return db_err(s, "prepare");
	if (id >= 0)
		s->stmt[id] = *out;
	return 0;
}

static int bind_all(struct store_sqlite *s, sqlite3_stmt *q, const struct store_val *p, int np)
{
	int i, rc = SQLITE_OK;

	for (i = 0; i < np && rc == SQLITE_OK; i++) {
		switch (p[i].t) {
		case SV_NULL: rc = sqlite3_bind_null(q, i + 1); break;
		case SV_INT: rc = sqlite3_bind_int64(q, i + 1, p[i].i); break;
		case SV_TEXT:
			rc = sqlite3_bind_text64(q, i + 1, p[i].s, p[i].len, SQLITE_STATIC,
						 SQLITE_UTF8);
			break;
		case SV_BLOB:
			/* A zero-length blob must still be a blob, not NULL. */
			rc = sqlite3_bind_blob64(q, i + 1, p[i].len ? p[i].s : "", p[i].len,
						 SQLITE_STATIC);
			break;
		}
	}
	return rc == SQLITE_OK ? 0 : db_err(s, "bind");
}

static void row_of(sqlite3_stmt *q, struct store_val *cols, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct store_val *v = &cols[i];

		memset(v, 0, sizeof *v);
		switch (sqlite3_column_type(q, i)) {
		case SQLITE_NULL: v->t = SV_NULL; break;
		case SQLITE_INTEGER:
		case SQLITE_FLOAT:
			v->t = SV_INT;
			v->i = sqlite3_column_int64(q, i);
			break;
		case SQLITE_BLOB:
			v->t = SV_BLOB;
			v->s = sqlite3_column_blob(q, i);
			v->len = (size_t)sqlite3_column_bytes(q, i);
			break;
		default:
			v->t = SV_TEXT;
			v->s = (const char *)sqlite3_column_text(q, i);
			v->len = (size_t)sqlite3_column_bytes(q, i);
			if (v->s == NULL)
				v->s = "";
			break;
		}
	}
}

static int sq_exec(struct store *st, int id, const char *sql, const struct store_val *p, int np,
		   store_row_fn cb, void *arg, int64_t *changes)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	struct store_val cols[STORE_MAX_COLS];
	sqlite3_stmt *q;
	int rc, n;

	if ((rc = prepare(s, id, sql, &q)) < 0)
		return rc;
	if ((rc = bind_all(s, q, p, np)) < 0)
		goto done;
	n = sqlite3_column_count(q);
	if (n > STORE_MAX_COLS) {
		rc = store_set_err(st, "sqlite: %d columns, at most %d", n, STORE_MAX_COLS);
		goto done;
	}
	for (;;) {
		int step = sqlite3_step(q);

		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = db_err(s, "step");
			goto done;
		}
		if (cb != NULL) {
			row_of(q, cols, n);
			if ((rc = cb(arg, cols, n)) != 0)
				goto done;
		}
	}
	if (changes != NULL)
		*changes = sqlite3_changes64(s->db);
	rc = 0;
done:
	if (id >= 0) {
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
	} else {
		sqlite3_finalize(q);
	}
	return rc;
}

/* The hot path: one cached statement, no row callback, the rowid read back. */
static int sq_add_event(struct store *st, const char *sql, struct store_val *p, int np,
			int64_t *id)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	sqlite3_stmt *q;
	int rc;

	p[0].t = SV_NULL;
	if ((rc = prepare(s, SQL_INSERT_EVENT, sql, &q)) < 0)
		return rc;
	if ((rc = bind_all(s, q, p, np)) < 0)
		goto done;
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(s, "insert event");
		goto done;
	}
	*id = sqlite3_last_insert_rowid(s->db);
done:
	sqlite3_reset(q);
	return rc;
}

static int sq_exec_plain(struct store *st, const char *sql)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	char *msg = NULL;
	int rc;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	rc = store_set_err(st, "sqlite: %s", msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return rc;
}

/* BEGIN IMMEDIATE takes the write lock now, so a batch never fails half way
 * because the API's handle started reading first. */
static int sq_begin(struct store *st)
{
	return sq_exec_plain(st, "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *st)
{
	return sq_exec_plain(st, "COMMIT");
}

static int sq_rollback(struct store *st)
{
	struct store_sqlite *s = (struct store_sqlite *)st;

	/* SQLite may already have rolled back on its own (SQLITE_FULL...). */
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return sq_exec_plain(st, "ROLLBACK");
}

static int pragma_int(struct store_sqlite *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *q;
	int rc = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return db_err(s, sql);
	if (sqlite3_step(q) == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	else
		rc = db_err(s, sql);
	sqlite3_finalize(q);
	return rc;
}

/* The pages in use (all pages minus the free list): deleting rows frees
 * pages at once, so this falls as retention deletes. */
static int sq_bytes(struct store *st, int64_t *bytes)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	int64_t pages = 0, freel = 0, size = 0;
	int rc;

	if ((rc = pragma_int(s, "PRAGMA page_count", &pages)) < 0 ||
	    (rc = pragma_int(s, "PRAGMA freelist_count", &freel)) < 0 ||
	    (rc = pragma_int(s, "PRAGMA page_size", &size)) < 0)
		return rc;
	*bytes = (pages - freel) * size;
	return 0;
}

static void sq_close(struct store *st)
{
	struct store_sqlite *s = (struct store_sqlite *)st;
	int i;

	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close_v2(s->db);
	free(s);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.dialect = STORE_DIALECT_SQLITE,
	.size_shrinks = 1,
	.exec = sq_exec,
	.add_event = sq_add_event,
	.exec_plain = sq_exec_plain,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.events_bytes = sq_bytes,
	.total_bytes = sq_bytes,
	.close = sq_close,
};

int store_sqlite_open(const char *path, struct store **out, char *err, size_t errlen)
{
	static const char *const pragmas[] = {
		/* Only a new, empty database takes a page size, and only before
		 * it is in WAL mode: 16 KiB pages, because each commit writes
		 * every page it touched whole to the WAL, and the events' indexes
		 * on device and addresses touch one page per distinct value; fewer,
		 * larger pages cost less per batch (measured with bench_store). */
		"PRAGMA page_size = 16384",
		"PRAGMA journal_mode = WAL",
		"PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = OFF",
		"PRAGMA temp_store = MEMORY",
	};
	char sql[128];
	struct store_sqlite *s;
	size_t i;

	*out = NULL;
	if (path[0] == '\0') {
		snprintf(err, errlen, "sqlite: no path after \"sqlite:\"");
		return MM_EINVAL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		snprintf(err, errlen, "sqlite: out of memory");
		return MM_ENOMEM;
	}
	s->base.ops = &sqlite_ops;
	/* One thread at a time uses a handle: no SQLite mutex is needed. */
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQLITE_BUSY_MS);
	for (i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++)
		if (sq_exec_plain(&s->base, pragmas[i]) < 0)
			goto fail_db;
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", SQLITE_CACHE_KIB);
	if (sq_exec_plain(&s->base, sql) < 0)
		goto fail_db;
	snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d", SQLITE_WAL_LIMIT);
	if (sq_exec_plain(&s->base, sql) < 0)
		goto fail_db;
	snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = %d", SQLITE_CHECKPOINT_PAGES);
	if (sq_exec_plain(&s->base, sql) < 0)
		goto fail_db;
	*out = &s->base;
	return 0;
fail_db:
	snprintf(err, errlen, "%s: %s", path, s->base.err);
fail:
	sqlite3_close_v2(s->db);
	free(s);
	return MM_EIO;
}
