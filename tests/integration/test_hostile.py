"""
Malformed and hostile queries through nginx to bootd: each gets 400 with a
runnable iPXE script that boots the local disk and never fetches a kernel
or an initrd, even when the MAC belongs to a host marked for reinstall; the
daemon keeps answering normally afterwards.  A hostile informational
parameter (platform, SMBIOS strings) beside a good MAC is dropped and the
machine gets its normal answer.
"""

import os
import re
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

MAC = "52:54:00:00:20:01"         # a host marked for reinstall
FQDN = "victim.example.org"

# Commands a fail-safe script may contain (first word of each line).
SAFE = {"#!ipxe", "echo", "iseq", "sanboot", "exit", "goto", "sleep",
        "shell"}

HOSTILE = [
    "",                                     # no query at all
    "mac=",                                 # empty mac
    "foo=bar",                              # no mac
    "mac",                                  # no '='
    "mac=nonsense",
    "mac=52:54:00:00:20",                   # too short
    "mac=52:54:00:00:20:01:02",             # too long
    "mac=52:54:00:00:20:0g",                # not hex
    "mac=52:54-00:00:20:01",                # mixed separators
    "mac=" + "A" * 129,                     # overlong value
    "mac=" + "5" * 1000,                    # overlong, under nginx's limit
    "mac=%00",                              # NUL
    "mac=52:54:00:00:20:01%00",             # NUL after a good MAC
    "mac=52%00:54:00:00:20:01",
    "mac=%ZZ",                              # bad escape
    "mac=%",                                # truncated escape
    "mac=%4",
    "mac=52:54:00:00:20:01%",
    "mac=52:54:00:00:20:01&mac=52:54:00:00:20:01",   # repeated
    "mac=52:54:00:00:20:01&mac=52:54:00:00:20:02",
    "mac=52:54:00:00:20:01%0a",             # control characters
    "mac=52:54:00:00:20:01%0d%0akernel%20http://x/evil",
    "mac=%1b[2J",
    "mac=52:54:00:00:20:01%09",
    "mac=%7f",
    "mac=${net0/mac}",                      # iPXE settings syntax
    "mac=%24%7Bnet0/mac%7D",
    "mac=52:54:00:00:20:01%20||%20shell",
    "mac=52:54:00:00:20:01;chain%20http://x/",
    "mac=%C3%A9%C3%A9",                     # non-ASCII
    "mac=%FF%FE",
    "mac=+52:54:00:00:20:01",
    "mac=52:54:00:00:20:01&mac=%ZZ",
    "ma%63=52:54:00:00:20:01",              # escaped names (nginx logs
    "%6Dac=52:54:00:00:20:01",              # mac="-" for these)
    "m%61c=52:54:00:00:20:01",
    "mac=52:54:00:00:20:01&ma%63=52:54:00:00:20:01",
    "mac+=52:54:00:00:20:01",
]

# A good MAC with a hostile informational parameter: the parameter is left
# out (logged as dropped, not recorded) and the machine gets its answer,
# so an odd SMBIOS string cannot keep a host from its install.
INFORMATIONAL = [
    ("platform=efi%0akernel%20http://x/evil", "platform"),
    ("hostname=${root}", "hostname"),
    ("serial=%00", "serial"),
    ("platform=" + "x" * 200, "platform"),
    ("uuid=%ZZ", "uuid"),
    ("platform=efi&platform=pcbios", "platform"),
    ("product=Caf%C3%A9", "product"),
    ("manufacturer=%1b[2J", "manufacturer"),
]


def check_failsafe(test, body, what):
    """body (bytes) is a runnable local-boot script, nothing more."""
    test.assertTrue(body.startswith(b"#!ipxe\n"), (what, body))
    text = body.decode("ascii")            # raises on non-ASCII
    test.assertNotIn("\r", text)
    test.assertNotIn("\0", text)
    for c in text:
        test.assertTrue(c == "\n" or 0x20 <= ord(c) < 0x7f, (what, text))
    lines = harness.ipxe_lines(text)
    for line in lines:
        word = line.split()[0]
        if word.startswith(":"):
            continue
        test.assertIn(word, SAFE, (what, line))
        if word == "echo":
            # Free text: no iPXE operators or settings from the request.
            toks = line.split()[1:]
            test.assertFalse({"&&", "||", ";"} & set(toks), (what, line))
            test.assertFalse(any(t.startswith("#") for t in toks),
                             (what, line))
            test.assertNotIn("${", line, what)
    test.assertNotRegex(text, r"(?m)^\s*(kernel|initrd|chain|imgfetch|"
                              r"imgexec|boot|login|set)\b")
    test.assertIn("sanboot --no-describe --drive 0x80", text)
    test.assertIn("exit", text)


class Hostile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.BootServer()
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", FQDN, MAC, "--dist", "debian-12")
            cls.srv.bootctl("set-reinstall", FQDN, "--dist", "debian-12")
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_hostile_queries_get_failsafe(self):
        for q in HOSTILE:
            with self.subTest(query=q):
                st, h, body = self.srv.get("/ipxe/v1/config?" + q)
                self.assertEqual(st, 400, body)
                self.assertTrue(h["content-type"].startswith("text/plain"))
                check_failsafe(self, body, q)

    def test_hostile_informational_parameter_is_dropped(self):
        dropped_seen = {}
        for extra, name in INFORMATIONAL:
            with self.subTest(query=extra):
                st, h, body = self.srv.get(
                    "/ipxe/v1/config?mac=%s&buildarch=x86_64&%s"
                    % (MAC, extra))
                self.assertEqual(st, 200, body)
                text = body.decode("ascii")
                # The host's own answer: its install, nothing injected.
                self.assertRegex(text, r"(?m)^choose .*--default install")
                self.assertNotIn("evil", text)
                self.assertNotIn("root", text)
                # Logged after the answer has left: wait (bounded).
                want = re.compile(r"mac=%s .*status=200.* dropped=%s\n"
                                  % (MAC, name))
                for _ in range(harness.READY_TRIES):
                    seen = len(want.findall(self.srv.bootd_log()))
                    if seen >= dropped_seen.get(name, 0) + 1:
                        break
                    time.sleep(harness.READY_PAUSE)
                self.assertEqual(seen, dropped_seen.get(name, 0) + 1)
                dropped_seen[name] = seen
        # Recorded: the good parameter, never a dropped one.  Boot events
        # are written after the answer has left, so wait (bounded) for the
        # last one.
        for _ in range(harness.READY_TRIES):
            rows = [p or "" for (p,) in self.srv.events(
                "SELECT params FROM boot_event WHERE mac = ?", (MAC,))]
            if sum("buildarch=x86_64" in p for p in rows) >= len(
                    INFORMATIONAL):
                break
            time.sleep(harness.READY_PAUSE)
        self.assertEqual(sum("buildarch=x86_64" in p for p in rows),
                         len(INFORMATIONAL))
        for params in rows:
            self.assertNotRegex(params, r"platform|hostname|serial|uuid|"
                                r"product|manufacturer")

    def test_escaped_name_refused_and_logged(self):
        # nginx logs the literal name (mac="-"), so bootd must not serve
        # the host's install script for it.
        st, h, body = self.srv.get("/ipxe/v1/config?ma%63=" + MAC)
        self.assertEqual(st, 400, body)
        self.assertNotIn(b"vmlinuz", body)
        self.assertIn("literally", h.get("x-bootd-error", ""))
        log = harness.eventually(
            self.srv.bootd_log,
            lambda t: re.search(r"mac=- .*status=400 .*reason=parameter "
                                r"name \"ma%63\"", t))
        self.assertRegex(log, r"mac=- .*status=400 .*reason=parameter name "
                              r"\"ma%63\" is escaped")
        self.assertRegex(self.srv.access_log(),
                         r'"GET /ipxe/v1/config" 400 \d+ mac="-"')

    def test_reason_is_one_line_and_not_the_input(self):
        st, _, body = self.srv.get("/ipxe/v1/config?mac=%24%7Bshell%7D")
        self.assertEqual(st, 400)
        echoes = [l for l in body.decode().splitlines()
                  if l.startswith("echo")]
        self.assertTrue(echoes)
        self.assertNotIn("shell}", "".join(echoes))

    def test_daemon_unharmed(self):
        for q in HOSTILE:
            self.srv.get("/ipxe/v1/config?" + q)
        st, body = self.srv.config_script(MAC)
        self.assertEqual(st, 200)
        self.assertRegex(body, r"(?m)^choose .*--default install")
        self.assertEqual(self.srv.get("/ipxe/v1/health")[0], 200)
        self.assertEqual(self.srv.bootd.poll(), None)
        m = self.srv.metrics()
        self.assertEqual(self.srv.metric(m, "bootd_worker_restarts_total"),
                         0)
        self.assertEqual(self.srv.metric(m, "bootd_errors_total"), 0)
        # Refused requests are not recorded as discovered machines.
        out = self.srv.bootctl("discovered", "list").stdout
        self.assertNotRegex(out, r"(?m)^52:54:00:00:20:02")
        # Nor do their bytes reach the log: every line printable ASCII.
        with open(self.srv.bootd_log_path, "rb") as f:
            self.assertEqual([l for l in f.read().splitlines()
                              if not all(0x20 <= b < 0x7f for b in l)], [])

    def test_hostile_done_queries(self):
        for q in ("token=%00", "token=%ZZ", "token=" + "a" * 500,
                  "token=${x}", "token=a&token=b", "token=%0a"):
            with self.subTest(query=q):
                st, _, body = self.srv.get("/ipxe/v1/done?" + q)
                self.assertIn(st, (400, 404))
                self.assertNotEqual(body, b"ok\n")
        # The real token still works afterwards: nothing was consumed.
        self.assertIsNotNone(self.srv.token(FQDN))

    def test_raw_requests_never_reach_an_installer(self):
        # Bytes no HTTP library would send: nginx refuses or bootd does.
        for raw in (b"GET /ipxe/v1/config?mac=52:54:00:00:20:01\x00 "
                    b"HTTP/1.0\r\n\r\n",
                    b"GET /ipxe/v1/config?mac=52:54:00:00:20:01\x1b "
                    b"HTTP/1.0\r\n\r\n",
                    b"GET /ipxe/v1/config?mac=52:54:00:00:20:01 "
                    b"HTTP/1.0\r\nHost: \x00\r\n\r\n"):
            with self.subTest(raw=raw):
                resp = self.srv.raw(raw)
                status = int(resp.split(b" ", 2)[1])
                self.assertIn(status, (400,))
                self.assertNotIn(b"vmlinuz", resp)
                self.assertNotIn(b"initrd", resp)


if __name__ == "__main__":
    unittest.main()
