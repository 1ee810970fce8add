/*
 * general.h - bootd's iPXE feature switches (named configuration "bootd")
 *
 * build-ipxe copies this directory to src/config/local/bootd/ in an iPXE
 * checkout and builds with CONFIG=bootd; iPXE includes these headers after
 * its own src/config/general.h, so the lines below win.  Upstream iPXE
 * turns several of them off for legacy BIOS builds (bin/ipxe.lkrn,
 * bin/undionly.kpxe); bootd needs the same features on BIOS and UEFI.
 */

/* Fetch the boot script and images over TLS (BIOS builds lack it). */
#undef DOWNLOAD_PROTO_HTTPS
#define DOWNLOAD_PROTO_HTTPS

/* Commands used by bootd scripts and by operators at the iPXE shell. */
#undef PARAM_CMD
#define PARAM_CMD		/* params/param: POST request parameters */
#undef CONSOLE_CMD
#define CONSOLE_CMD		/* console: resolution, keymap */
#undef CERT_CMD
#define CERT_CMD		/* certstat/certstore/certfree */
#undef PING_CMD
#define PING_CMD		/* ping: network debugging from the shell */
#undef NSLOOKUP_CMD
#define NSLOOKUP_CMD		/* nslookup: DNS debugging from the shell */
#undef IMAGE_TRUST_CMD
#define IMAGE_TRUST_CMD		/* imgtrust/imgverify: signed images */
#undef NTP_CMD
#define NTP_CMD			/* ntp: set the clock before TLS checks */

/* On by default in iPXE; bootd's menus depend on them. */
#undef MENU_CMD
#define MENU_CMD		/* menu/item/choose */
#undef SANBOOT_CMD
#define SANBOOT_CMD		/* sanboot --drive 0x80: local boot (BIOS) */
#undef SHELL_CMD
#define SHELL_CMD		/* the iPXE shell menu entry */
#undef NVO_CMD
#define NVO_CMD			/* set/inc: the retry counters */
