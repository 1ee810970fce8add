/*
 * db.c - SQL drivers: what SQLite and PostgreSQL share (the handle, its
 * statements, placeholders, error classes, reconnecting); the engines are
 * in db_sqlite.c and db_pg.c
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_driver.h"

static const char *const classtab[DB_ERR__MAX] = {
	[DB_ERR_NONE] = "none",
	[DB_ERR_BUSY] = "busy",
	[DB_ERR_READONLY] = "read-only",
	[DB_ERR_CONN] = "connection",
	[DB_ERR_CONSTRAINT] = "constraint",
	[DB_ERR_OTHER] = "other",
	[DB_ERR_CANCELLED] = "cancelled",
};

static enum bootd_err
nomem(struct db *db, struct bootd_error *err)
{
	return db_fail(db, DB_ERR_OTHER, BOOTD_ENOMEM, err, "out of memory");
}

/* Where every call that can fail starts: no failure yet. */
static void
clear(struct db *db)
{
	db->errclass = DB_ERR_NONE;
}

static enum bootd_err
not_connected(struct db *db, struct bootd_error *err)
{
	return db_fail(db, DB_ERR_CONN, BOOTD_EDB, err,
	    "not connected to the database (reconnect failed)");
}

/* Placeholders ---------------------------------------------------------- */

/*
 * Length of the PostgreSQL dollar-quote tag at s ("$$" or "$tag$"), or 0
 * when s starts no tag.  A tag's name is a letter or underscore followed
 * by letters, digits and underscores.
 */
static size_t
dollar_tag(const char *s)
{
	size_t n = 1;

	if (s[n] != '$' && !(s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') ||
	    (s[n] >= 'A' && s[n] <= 'Z')))
		return 0;
	while (s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') ||
	    (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9'))
		n++;
	return s[n] == '$' ? n + 1 : 0;
}

/* Can c continue an identifier?  ($ can, in PostgreSQL: x$1 is a name.) */
static int
ident_char(char c)
{
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (unsigned char)c >= 0x80;
}

int
db_params(const char *sql, char *rewrite)
{
	const char *p = sql, *end;
	size_t tag;
	long n;
	int max = 0;

	if (rewrite != NULL)
		strcpy(rewrite, sql);
	while (*p != '\0') {
		end = NULL;
		if (*p != '$' && ident_char(*p)) {
			/* A name or number, $ and digits in it included. */
			for (end = p + 1; ident_char(*end); end++)
				;
			p = end;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			end = strchr(p + 1, *p);
			end = end == NULL ? p + strlen(p) : end + 1;
		} else if (p[0] == '-' && p[1] == '-') {
			end = strchr(p, '\n');
			end = end == NULL ? p + strlen(p) : end;
		} else if (p[0] == '/' && p[1] == '*') {
			end = strstr(p + 2, "*/");
			end = end == NULL ? p + strlen(p) : end + 2;
		} else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
			n = 0;
			for (end = p + 1; *end >= '0' && *end <= '9'; end++)
				if ((n = n * 10 + (*end - '0')) > DB_MAX_PARAMS)
					return -1;
			if (n > max)
				max = (int)n;
			if (rewrite != NULL)
				rewrite[p - sql] = '?';
		} else if (*p == '$' && (tag = dollar_tag(p)) > 0) {
			/* $tag$ ... $tag$: PostgreSQL's other string. */
			const char *close = p + tag;

			while ((close = strchr(close, '$')) != NULL &&
			    strncmp(close, p, tag) != 0)
				close++;
			end = close == NULL ? p + strlen(p) : close + tag;
		}
		p = end != NULL ? end : p + 1;
	}
	return max;
}

/* Errors ---------------------------------------------------------------- */

enum bootd_err
db_fail(struct db *db, enum db_errclass class, enum bootd_err code,
    struct bootd_error *err, const char *fmt, ...)
{
	va_list ap;
	char *r, *w;

	if (db != NULL)
		db->errclass = class;
	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
		for (r = w = err->text; *r != '\0'; r++) {
			if (*r == '\n' || *r == '\r' || *r == '\t' ||
			    *r == ' ') {
				if (w > err->text && w[-1] != ' ')
					*w++ = ' ';
			} else {
				*w++ = *r;
			}
		}
		while (w > err->text && w[-1] == ' ')
			w--;
		*w = '\0';
	}
	return code;
}

enum db_errclass
db_errclass(const struct db *db)
{
	return db->errclass;
}

const char *
db_engine_msg(const char *text)
{
	const char *p = text;

	while ((*p >= 'a' && *p <= 'z') || *p == ' ')
		p++;
	return p > text && p[0] == ':' && p[1] == ' ' ? p + 2 : text;
}

const char *
db_open_reason(const char *text, const char *path)
{
	static const char head[] = "cannot open database \"";
	size_t n = strlen(path);

	if (strncmp(text, head, sizeof(head) - 1) == 0 &&
	    strncmp(text + sizeof(head) - 1, path, n) == 0 &&
	    strncmp(text + sizeof(head) - 1 + n, "\": ", 3) == 0)
		return text + sizeof(head) - 1 + n + 3;
	return text;
}

const char *
db_errclass_name(enum db_errclass class)
{
	if ((unsigned)class >= DB_ERR__MAX)
		return "unknown";
	return classtab[class];
}

/* Connections ----------------------------------------------------------- */

int
db_is_uri(const char *where)
{
	return where != NULL && (strncmp(where, "postgresql://", 13) == 0 ||
	    strncmp(where, "postgres://", 11) == 0);
}

int
db_uri_param_is(const char *s, size_t n, const char *want)
{
	unsigned v;
	size_t i;
	char c;

	for (i = 0; i < n; i++, want++) {
		c = s[i];
		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2]) &&
		    sscanf(s + i + 1, "%2x", &v) == 1) {
			c = (char)v;
			i += 2;
		}
		if (*want == '\0' || c != *want)
			return 0;
	}
	return *want == '\0';
}

/*
 * Where the passwords of the PostgreSQL URI uri are, as written there:
 * in the user information ("postgresql://user:PASSWORD@host/..."; the
 * last @ of the authority ends it) and as any password= or sslpassword=
 * parameter (the latter unlocks the client's key).  Fill
 * at[] and len[] with at most max of them; return how many.
 */
#define URI_MAX_PASSWORDS	8
static int
uri_passwords(const char *uri, const char *at[], size_t len[], int max)
{
	const char *p, *end, *c, *last = NULL, *eq;
	int n = 0;

	p = strstr(uri, "://") + 3;
	end = p + strcspn(p, "/?#");
	for (c = p; c < end; c++)
		if (*c == '@')
			last = c;
	if (last != NULL && (c = memchr(p, ':', (size_t)(last - p))) != NULL &&
	    last > c + 1) {
		at[n] = c + 1;
		len[n++] = (size_t)(last - c - 1);
	}
	if ((p = strchr(end, '?')) == NULL)
		return n;
	for (p++; *p != '\0' && *p != '#' && n < max; ) {
		end = p + strcspn(p, "&#");
		if ((eq = memchr(p, '=', (size_t)(end - p))) != NULL &&
		    (db_uri_param_is(p, (size_t)(eq - p), "password") ||
		    db_uri_param_is(p, (size_t)(eq - p), "sslpassword")) &&
		    end > eq + 1) {
			at[n] = eq + 1;
			len[n++] = (size_t)(end - eq - 1);
		}
		p = *end == '&' ? end + 1 : end;
	}
	return n;
}

const char *
db_where_print(const char *where, char *out, size_t size)
{
	const char *at[URI_MAX_PASSWORDS], *p;
	size_t len[URI_MAX_PASSWORDS], o = 0, skip;
	int i, n;

	if (size == 0)
		return out;
	if (!db_is_uri(where)) {
		snprintf(out, size, "%s", where != NULL ? where : "");
		return out;
	}
	n = uri_passwords(where, at, len, URI_MAX_PASSWORDS);
	for (p = where; *p != '\0' && o + 1 < size; ) {
		for (skip = 0, i = 0; i < n; i++)
			if (p == at[i])
				skip = len[i];
		if (skip == 0) {
			out[o++] = *p++;
			continue;
		}
		for (i = 0; i < 3 && o + 1 < size; i++)
			out[o++] = '*';
		p += skip;
	}
	out[o] = '\0';
	return out;
}

void
db_scrub(char *text, const char *where)
{
	const char *at[URI_MAX_PASSWORDS];
	size_t len[URI_MAX_PASSWORDS];
	char *p;
	int i, n;

	if (!db_is_uri(where))
		return;
	n = uri_passwords(where, at, len, URI_MAX_PASSWORDS);
	for (i = 0; i < n; i++)
		for (p = text; *p != '\0'; ) {
			if (strncmp(p, at[i], len[i]) != 0) {
				p++;
				continue;
			}
			if (len[i] < 3) {
				memset(p, '*', len[i]);	/* never longer */
				p += len[i];
				continue;
			}
			memmove(p + 3, p + len[i], strlen(p + len[i]) + 1);
			memcpy(p, "***", 3);
			p += 3;
		}
}

/*
 * Does the authority of URI uri hold more than one "@"?  libpq ends the
 * user information at the first, uri_passwords() at the last (a password
 * may hold one written as it is): libpq would take the password's rest
 * for a host and quote it in its message, unmasked.
 */
static int
uri_ambiguous(const char *uri)
{
	const char *p = strstr(uri, "://") + 3, *end;
	int n = 0;

	for (end = p + strcspn(p, "/?#"); p < end; p++)
		if (*p == '@')
			n++;
	return n > 1;
}

enum bootd_err
db_open(const char *where, enum db_mode mode, struct db **out,
    struct bootd_error *err)
{
	struct db *db;
	enum bootd_err rc;
	char shown[512];

	*out = NULL;
	if (where == NULL || *where == '\0')
		return bootd_error_set(err, BOOTD_EINVAL,
		    "no database path or URI given");
	if (db_is_uri(where) && uri_ambiguous(where))
		return bootd_error_set(err, BOOTD_EINVAL, "database URI %s: "
		    "an \"@\" in its user or password must be written %%40",
		    db_where_print(where, shown, sizeof(shown)));
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return nomem(NULL, err);
	if (db_is_uri(where)) {
#ifdef BOOTD_WITH_POSTGRESQL
		db->drv = &db_pg_driver;
		db->engine = DB_POSTGRESQL;
#else
		free(db);
		return bootd_error_set(err, BOOTD_EINVAL, "a PostgreSQL URI "
		    "is given, and this bootd is built without PostgreSQL");
#endif
	} else {
		db->drv = &db_sqlite_driver;
		db->engine = DB_SQLITE;
	}
	db->mode = mode;
	db->timeout_ms = DB_DEFAULT_TIMEOUT_MS;
	if ((db->where = strdup(where)) == NULL) {
		free(db);
		return nomem(NULL, err);
	}
	if ((rc = db->drv->connect(db, err)) != BOOTD_OK) {
		db_close(db);
		return rc;
	}
	*out = db;
	return BOOTD_OK;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	while (db->stmts != NULL)
		db_finalize(db->stmts);
	if (db->conn != NULL)
		db->drv->disconnect(db);
	free(db->where);
	free(db);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->engine;
}

int
db_is_standby(const struct db *db)
{
	return db->conn != NULL && db->drv->is_standby(db);
}

enum bootd_err
db_reconnect(struct db *db, struct bootd_error *err)
{
	struct db_stmt *st;
	enum bootd_err rc;

	clear(db);
	for (st = db->stmts; st != NULL; st = st->next) {
		if (st->prepared)
			db->drv->unprepare(st, 0);
		st->prepared = st->stepped = st->done = st->ncols = 0;
		st->bound = 0;
		st->changes = 0;
	}
	if (db->conn != NULL)
		db->drv->disconnect(db);
	if ((rc = db->drv->connect(db, err)) != BOOTD_OK)
		return rc;
	/*
	 * Prepare everything again now, so that a schema the statements do
	 * not fit shows here.  One that fails is tried again at its next
	 * use.
	 */
	for (st = db->stmts; st != NULL; st = st->next) {
		if ((rc = db->drv->prepare(st, err)) != BOOTD_OK)
			return rc;
		st->prepared = 1;
	}
	return BOOTD_OK;
}

/* Set *field to ms (0 for less) and apply it, or leave it to connect. */
static enum bootd_err
set_ms(struct db *db, int *field, int ms, struct bootd_error *err)
{
	clear(db);
	*field = ms < 0 ? 0 : ms;
	if (db->conn == NULL)
		return BOOTD_OK;	/* applied by the next connect */
	return db->drv->set_timeout(db, err);
}

enum bootd_err
db_set_timeout(struct db *db, int ms, struct bootd_error *err)
{
	return set_ms(db, &db->timeout_ms, ms, err);
}

enum bootd_err
db_set_deadline(struct db *db, int ms, struct bootd_error *err)
{
	return set_ms(db, &db->deadline_ms, ms, err);
}

enum bootd_err
db_exec(struct db *db, const char *sql, struct bootd_error *err)
{
	clear(db);
	if (db->conn == NULL)
		return not_connected(db, err);
	return db->drv->exec(db, sql, err);
}

/* Transactions ---------------------------------------------------------- */

enum bootd_err
db_begin(struct db *db, enum db_txn txn, struct bootd_error *err)
{
	clear(db);
	if (db->conn == NULL)
		return not_connected(db, err);
	return db->drv->begin(db, txn, err);
}

enum bootd_err
db_commit(struct db *db, struct bootd_error *err)
{
	clear(db);
	if (db->conn == NULL)
		return not_connected(db, err);
	return db->drv->commit(db, err);
}

enum bootd_err
db_rollback(struct db *db, struct bootd_error *err)
{
	clear(db);
	if (db->conn == NULL || !db->drv->in_txn(db))
		return BOOTD_OK;
	return db->drv->exec(db, "ROLLBACK", err);
}

/* Statements ------------------------------------------------------------ */

enum bootd_err
db_prepare(struct db *db, const char *sql, struct db_stmt **out,
    struct bootd_error *err)
{
	struct db_stmt *st;
	enum bootd_err rc;
	int n;

	*out = NULL;
	clear(db);
	if (db->conn == NULL)
		return not_connected(db, err);
	if ((n = db_params(sql, NULL)) < 0)
		return db_fail(db, DB_ERR_OTHER, BOOTD_EINVAL, err,
		    "prepare: more than %d parameters", DB_MAX_PARAMS);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return nomem(db, err);
	if ((st->sql = strdup(sql)) == NULL) {
		free(st);
		return nomem(db, err);
	}
	st->db = db;
	st->nparams = n;
	st->name = ++db->names;
	if ((rc = db->drv->prepare(st, err)) != BOOTD_OK) {
		free(st->sql);
		free(st);
		return rc;
	}
	st->prepared = 1;
	if ((st->next = db->stmts) != NULL)
		st->next->prev = st;
	db->stmts = st;
	*out = st;
	return BOOTD_OK;
}

void
db_finalize(struct db_stmt *st)
{
	struct db *db;

	if (st == NULL)
		return;
	db = st->db;
	if (st->prepared)
		db->drv->unprepare(st, db->conn != NULL);
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		db->stmts = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	free(st->sql);
	free(st);
}

void
db_reset(struct db_stmt *st)
{
	if (st->prepared)
		st->db->drv->reset(st);
	st->stepped = st->done = st->ncols = st->bound = 0;
}

void
db_reset_active(struct db *db)
{
	struct db_stmt *st;

	for (st = db->stmts; st != NULL; st = st->next)
		if (st->stepped && !st->done)
			db_reset(st);
}

/*
 * A statement ready for binding or running: prepared on the current
 * connection (again, after a reconnect that could not).
 */
static enum bootd_err
prepare_again(struct db_stmt *st, struct bootd_error *err)
{
	struct db *db = st->db;
	enum bootd_err rc;

	if (db->conn == NULL)
		return not_connected(db, err);
	if (!st->prepared) {
		if ((rc = db->drv->prepare(st, err)) != BOOTD_OK)
			return rc;
		st->prepared = 1;
	}
	return BOOTD_OK;
}

/* The usual case inline, on the boot lookup's path: nothing to do. */
static inline enum bootd_err
ready(struct db_stmt *st, struct bootd_error *err)
{
	clear(st->db);
	if (st->prepared && st->db->conn != NULL)
		return BOOTD_OK;
	return prepare_again(st, err);
}

static enum bootd_err
bindable(struct db_stmt *st, int i, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = ready(st, err)) != BOOTD_OK)
		return rc;
	if (i < 1 || i > st->nparams)
		return db_fail(st->db, DB_ERR_OTHER, BOOTD_EINVAL, err,
		    "bind: no parameter $%d in a statement of %d", i,
		    st->nparams);
	if (st->stepped)
		return db_fail(st->db, DB_ERR_OTHER, BOOTD_EINVAL, err,
		    "bind: statement run and not reset");
	return BOOTD_OK;
}

enum bootd_err
db_bind_text(struct db_stmt *st, int i, const char *v,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = bindable(st, i, err)) != BOOTD_OK)
		return rc;
	st->bound = 1;
	return st->db->drv->bind_text(st, i, v, err);
}

enum bootd_err
db_bind_text_ref(struct db_stmt *st, int i, const char *v,
    struct bootd_error *err)
{
	enum bootd_err rc;

	if (st->db->drv->bind_text_ref == NULL)
		return db_bind_text(st, i, v, err);
	if ((rc = bindable(st, i, err)) != BOOTD_OK)
		return rc;
	st->bound = 1;
	return st->db->drv->bind_text_ref(st, i, v, err);
}

enum bootd_err
db_bind_int64(struct db_stmt *st, int i, int64_t v, struct bootd_error *err)
{
	enum bootd_err rc;

	if ((rc = bindable(st, i, err)) != BOOTD_OK)
		return rc;
	st->bound = 1;
	return st->db->drv->bind_int64(st, i, v, err);
}

enum bootd_err
db_bind_null(struct db_stmt *st, int i, struct bootd_error *err)
{
	return db_bind_text(st, i, NULL, err);
}

enum bootd_err
db_step(struct db_stmt *st, int *row, struct bootd_error *err)
{
	enum bootd_err rc;

	*row = 0;
	st->ncols = 0;
	if ((rc = ready(st, err)) != BOOTD_OK)
		return rc;
	if (!st->stepped) {
		st->stepped = 1;
		st->changes = 0;
	} else if (st->done) {
		return BOOTD_OK;	/* stays at the end until a reset */
	}
	if ((rc = st->db->drv->step(st, row, err)) == BOOTD_OK) {
		if (*row)
			st->ncols = st->db->drv->column_count(st);
		else
			st->done = 1;
	}
	return rc;
}

int
db_column_count(struct db_stmt *st)
{
	return st->ncols;
}

/* Every column function's check: ncols is 0 without a current row. */
const char *
db_column_text(struct db_stmt *st, int i)
{
	if (i < 0 || i >= st->ncols)
		return NULL;
	return st->db->drv->column_text(st, i);
}

int
db_column_is_null(struct db_stmt *st, int i)
{
	if (i < 0 || i >= st->ncols)
		return 1;
	return st->db->drv->column_is_null(st, i);
}

int64_t
db_column_int64(struct db_stmt *st, int i)
{
	if (i < 0 || i >= st->ncols)
		return 0;
	return st->db->drv->column_int64(st, i);
}

int64_t
db_changes(struct db_stmt *st)
{
	return st->changes;
}
