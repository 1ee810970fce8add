/*
 * pgcompat.c - stand-ins for lib/cfg.c's URI helpers until they are on main
 *
 * cfg_uri_set_attrs() and cfg_db_print() belong to lib/cfg.c (the
 * configuration's "database_write"); bootctl needs them for --db URI.
 * This file goes away when main has them (same names and contracts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "db.h"

char *
cfg_uri_set_attrs(const char *uri, const char *value)
{
	static const char key[] = "target_session_attrs=";
	const char *q, *p, *end;
	size_t len = strlen(uri) + sizeof(key) + strlen(value) + 2;
	char *out, *o;
	int first = 1;

	if ((out = malloc(len)) == NULL)
		return NULL;
	q = strchr(uri, '?');
	o = out;
	memcpy(o, uri, q != NULL ? (size_t)(q - uri) : strlen(uri));
	o += q != NULL ? (size_t)(q - uri) : strlen(uri);
	*o++ = '?';
	for (p = q != NULL ? q + 1 : NULL; p != NULL && *p != '\0'; p = end) {
		end = strchr(p, '&');
		end = end != NULL ? end + 1 : p + strlen(p);
		if (strncmp(p, key, sizeof(key) - 1) == 0 || *p == '&')
			continue;
		memcpy(o, p, (size_t)(end - p));
		o += end - p;
		first = 0;
	}
	if (!first && o[-1] != '&')
		*o++ = '&';
	snprintf(o, len - (size_t)(o - out), "%s%s", key, value);
	return out;
}

const char *
cfg_db_print(const char *where, char *out, size_t size)
{
	const char *s, *at, *colon, *pw;
	size_t n = 0;

	if (!db_is_uri(where)) {
		snprintf(out, size, "%s", where);
		return out;
	}
	out[0] = '\0';
	s = strstr(where, "://") + 3;
	at = strchr(s, '@');
	colon = strchr(s, ':');
	if (at != NULL && colon != NULL && colon < at &&
	    strcspn(s, "/?") > (size_t)(at - s)) {
		n = (size_t)snprintf(out, size, "%.*s:***%s",
		    (int)(colon - where), where, at);
	} else
		n = (size_t)snprintf(out, size, "%s", where);
	if (n >= size)
		return out;
	if ((pw = strstr(out, "password=")) != NULL) {
		char *v = (char *)pw + 9, *tail;

		if ((tail = strdup(v + strcspn(v, "&"))) == NULL) {
			snprintf(out, size, "(a PostgreSQL URI)");
			return out;
		}
		snprintf(v, size - (size_t)(v - out), "***%s", tail);
		free(tail);
	}
	return out;
}
