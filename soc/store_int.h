/*
 * The store's inside: what store.c (the interface, the SQL, the JSON, the
 * migrations) asks of a back end (store_sqlite.c, store_pg.c).
 *
 * Every statement is written once, in store.c, with '?' for each parameter;
 * the PostgreSQL back end renumbers them $1, $2... when it prepares them.
 * Statements with a fixed text have an id (enum store_sql) and are prepared
 * once per handle; a query whose WHERE clause depends on a filter is passed
 * with id STORE_SQL_DYNAMIC and prepared each time. Values always travel as
 * bound parameters, never inside the SQL text.
 */
#ifndef MAMORI_SOC_STORE_INT_H
#define MAMORI_SOC_STORE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One bound parameter or one column of a result row. */
enum store_vtype {
	SV_NULL = 0,
	SV_INT = 1,
	SV_TEXT = 2, /* s[0..len), valid UTF-8 */
	SV_BLOB = 3, /* s[0..len), any bytes */
};

struct store_val {
	enum store_vtype t;
	int64_t i;
	const char *s;
	size_t len;
};

/* The most columns a result row has and parameters a statement takes. */
#define STORE_MAX_COLS 40

/* Called for each result row; the values are valid only during the call.
 * A non-zero return stops the statement and is passed up by exec(). */
typedef int (*store_row_fn)(void *arg, const struct store_val *cols, int ncols);

/* The statements with a fixed text (store.c holds their text). */
enum store_sql {
	STORE_SQL_DYNAMIC = -1,
	SQL_INSERT_EVENT = 0,
	SQL_INSERT_DEAD,
	SQL_TOUCH_DEVICE,
	SQL_TOUCH_CERT,
	SQL_ADD_INCIDENT,
	SQL_UPDATE_INCIDENT,
	SQL_LINK,
	SQL_LINK_WINDOW,
	SQL_FIND_FINDING,
	SQL_UPDATE_FINDING,
	SQL_INSERT_FINDING,
	SQL_RESOLVE_FINDING,
	SQL_CERTS_SHARED,
	SQL_CERTS_EXPIRING,
	SQL_NEVER_AUTH,
	SQL_RETAIN_SCAN,
	SQL_RETAIN_NTH,
	SQL_RETAIN_LINKS,
	SQL_RETAIN_EVENTS,
	SQL_RETAIN_DEAD_AGE,
	SQL_RETAIN_DEAD_KEEP,
	SQL_COUNT_EVENTS,
	SQL_OLDEST_RECV,
	SQL_GET_INCIDENT,
	SQL_COUNT,
};

enum store_dialect {
	STORE_DIALECT_SQLITE = 0,
	STORE_DIALECT_PG = 1,
};

struct store;

struct store_ops {
	const char *name; /* "sqlite", "postgresql" */
	enum store_dialect dialect;
	/* 1 when deleting rows makes events_bytes() smaller at once (SQLite's
	 * free pages); 0 when the space is only reused later (PostgreSQL). */
	int size_shrinks;
	/*
	 * Runs one statement: sql with np parameters p. id >= 0 names a fixed
	 * statement (prepared once and kept); STORE_SQL_DYNAMIC prepares sql for
	 * this call only. cb (may be NULL) gets each row. *changes (may be
	 * NULL) gets the rows an INSERT, UPDATE or DELETE touched.
	 * Returns 0, cb's non-zero value, or MM_EIO with store_error() set.
	 */
	int (*exec)(struct store *st, int id, const char *sql, const struct store_val *p, int np,
		    store_row_fn cb, void *arg, int64_t *changes);
	/*
	 * Inserts one event with SQL_INSERT_EVENT. p[0] is the id parameter:
	 * the back end sets it (NULL for SQLite, which numbers the row itself;
	 * an id taken from the sequence for PostgreSQL) and returns the row's
	 * id in *id. A back end may send the row now and learn of its failure
	 * at the next call or at commit.
	 */
	int (*add_event)(struct store *st, const char *sql, struct store_val *p, int np,
			 int64_t *id);
	/* Runs SQL without parameters or results (schema statements, pragmas). */
	int (*exec_plain)(struct store *st, const char *sql);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	int (*rollback)(struct store *st);
	/* The size of the events as the back end measures it (see store.h). */
	int (*events_bytes)(struct store *st, int64_t *bytes);
	/* The size of the whole store. */
	int (*total_bytes)(struct store *st, int64_t *bytes);
	/* Frees the handle (its struct store too). */
	void (*close)(struct store *st);
};

#define STORE_ERR_MAX 512

/* The head of every back end's handle. */
struct store {
	const struct store_ops *ops;
	int in_tx; /* between store_begin() and store_commit()/store_rollback() */
	char err[STORE_ERR_MAX];
};

/* Sets the handle's error text; returns MM_EIO. */
int store_set_err(struct store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The back ends' constructors: path is what follows "sqlite:", url the
 * whole libpq URI. On failure err gets the reason and *out is NULL. */
int store_sqlite_open(const char *path, struct store **out, char *err, size_t errlen);
int store_pg_open(const char *url, struct store **out, char *err, size_t errlen);

#endif
