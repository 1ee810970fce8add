/*
 * mac.h - parse and format Ethernet MAC addresses
 *
 * Accepted spellings (hex digits in either case):
 *   52:54:00:ab:cd:ef   52-54-00-ab-cd-ef   5254.00ab.cdef   525400abcdef
 * One separator style per address.  The canonical form is lowercase with
 * colons, which is how iPXE prints ${netX/mac}.
 */
#ifndef BOOTD_MAC_H
#define BOOTD_MAC_H

#include <stdint.h>

#include "err.h"

#define MAC_STRLEN	17	/* "aa:bb:cc:dd:ee:ff" without NUL */

struct mac {
	uint8_t	b[6];
};

/*
 * Parse s into mac.  Returns BOOTD_OK, or BOOTD_EINVAL with a reason in err.
 */
enum bootd_err	 mac_parse(const char *s, struct mac *mac, struct bootd_error *err);

/*
 * Write the canonical form of mac into out, which holds MAC_STRLEN + 1 bytes.
 * Returns out.  This function can't fail.
 */
char		*mac_format(const struct mac *mac, char out[MAC_STRLEN + 1]);

/*
 * Parse s and write its canonical form into out.  Convenience for callers
 * that only need the text.
 */
enum bootd_err	 mac_canon(const char *s, char out[MAC_STRLEN + 1],
		    struct bootd_error *err);

/*
 * The 48 bits of s, a MAC in canonical form, as a number whose order is
 * the text's: 0, or -1 (and *v untouched) when s is not canonical.
 */
int		 mac_canon_number(const char *s, uint64_t *v);

#endif /* BOOTD_MAC_H */
