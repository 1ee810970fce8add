/*
 * mac.c - parse and format Ethernet MAC addresses
 */
#include <string.h>

#include "mac.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read 12 hex digits from s, which has a separator sep after every group
 * of width digits (or none when sep is 0).  The length was checked by the
 * caller.
 */
static enum bootd_err
parse_groups(const char *s, char sep, int width, struct mac *mac,
    struct bootd_error *err)
{
	int digit, hi, v;
	size_t i;

	hi = -1;
	digit = 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (sep != 0 && digit > 0 && digit % width == 0 &&
		    (size_t)(digit / width) * (width + 1) - 1 == i) {
			if (s[i] != sep)
				return bootd_error_set(err, BOOTD_EINVAL,
				    "MAC address mixes separators or misplaces "
				    "them at position %zu", i + 1);
			continue;
		}
		if ((v = hexval(s[i])) < 0)
			return bootd_error_set(err, BOOTD_EINVAL,
			    "MAC address has a non-hex character at "
			    "position %zu", i + 1);
		if (hi < 0)
			hi = v;
		else {
			mac->b[digit / 2] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
		digit++;
	}
	return BOOTD_OK;
}

enum bootd_err
mac_parse(const char *s, struct mac *mac, struct bootd_error *err)
{
	size_t len;

	if (s == NULL || *s == '\0')
		return bootd_error_set(err, BOOTD_EINVAL, "MAC address is empty");
	len = strnlen(s, 64);
	switch (len) {
	case 12:
		return parse_groups(s, 0, 2, mac, err);
	case 14:
		if (s[4] != '.')
			break;
		return parse_groups(s, '.', 4, mac, err);
	case 17:
		if (s[2] != ':' && s[2] != '-')
			break;
		return parse_groups(s, s[2], 2, mac, err);
	default:
		break;
	}
	return bootd_error_set(err, BOOTD_EINVAL,
	    "MAC address must be 12 hex digits, optionally separated as "
	    "aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff");
}

char *
mac_format(const struct mac *mac, char out[MAC_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 6; i++) {
		out[i * 3] = hex[mac->b[i] >> 4];
		out[i * 3 + 1] = hex[mac->b[i] & 0xf];
		out[i * 3 + 2] = i < 5 ? ':' : '\0';
	}
	return out;
}

/*
 * Is s already canonical, "aa:bb:cc:dd:ee:ff" in lowercase?  The usual
 * case: the daemon canonicalises the request's MAC before the lookup
 * does.  Stops at the NUL of a shorter string.
 */
static int
is_canon(const char *s)
{
	int i;

	for (i = 0; i < MAC_STRLEN; i++)
		if (i % 3 == 2 ? s[i] != ':' : !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[MAC_STRLEN] == '\0';
}

int
mac_canon_number(const char *s, uint64_t *v)
{
	uint64_t n = 0;
	int i;

	if (s == NULL || !is_canon(s))
		return -1;
	for (i = 0; i < MAC_STRLEN; i++)
		if (i % 3 != 2)
			n = n << 4 | (uint64_t)hexval(s[i]);
	*v = n;
	return 0;
}

enum bootd_err
mac_canon(const char *s, char out[MAC_STRLEN + 1], struct bootd_error *err)
{
	struct mac mac;
	enum bootd_err rc;

	if (s != NULL && is_canon(s)) {
		memcpy(out, s, MAC_STRLEN + 1);
		return BOOTD_OK;
	}
	if ((rc = mac_parse(s, &mac, err)) != BOOTD_OK)
		return rc;
	mac_format(&mac, out);
	return BOOTD_OK;
}
