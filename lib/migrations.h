/*
 * migrations.h - the schema migrations compiled in from sql/NNN-*.sql
 *
 * Migration N brings a database from user_version N-1 to N.  The table is
 * generated at build time (cmake/embed_sql.cmake); inv_open() applies it.
 * The events database has its own schema and versions, from
 * sql/events/NNN-*.sql, applied by events_open().
 */
#ifndef BOOTD_MIGRATIONS_H
#define BOOTD_MIGRATIONS_H

struct migration {
	int		 version;	/* user_version after applying it */
	const char	*name;		/* file name, for messages */
	const char	*sql;		/* the statements */
};

extern const struct migration	inv_migrations[];
extern const int		inv_nmigrations;
extern const struct migration	events_migrations[];
extern const int		events_nmigrations;
/*
 * The same for PostgreSQL, from sql/postgresql/ and sql/postgresql/events/.
 * The inventory's start at version 3 (a PostgreSQL inventory starts
 * there); each file records its version in the table schema_version.
 */
extern const struct migration	pg_inv_migrations[];
extern const int		pg_inv_nmigrations;
extern const struct migration	pg_events_migrations[];
extern const int		pg_events_nmigrations;

#endif /* BOOTD_MIGRATIONS_H */
