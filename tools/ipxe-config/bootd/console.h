/*
 * console.h - bootd's iPXE console settings (named configuration "bootd")
 *
 * iPXE writes to the firmware console by default (BIOS INT 10h, EFI text
 * output), which firmware with serial redirection (SeaBIOS without VGA,
 * most server BIOSes with serial-over-LAN) already mirrors to the serial
 * port.  On machines whose firmware does not, uncomment CONSOLE_SERIAL
 * (the port and speed are set in src/config/serial.h: COM1, 115200 8N1);
 * with firmware redirection active as well, every line then shows twice.
 */

/* #define CONSOLE_SERIAL */
