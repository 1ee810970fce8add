"""
nginx's request limits on the boot routes (nginx/bootd.conf, the same in
nginx/test.conf.in): per client address, a flood of config requests, of
`done` reports or of concurrent requests is refused by nginx with 503 before
it reaches bootd, while other addresses, a fleet at distinct addresses and
127.0.0.1 keep being answered.  Real nginx and bootd (tests/harness.py);
Linux routes all of 127.0.0.0/8 to loopback, so each address below is a
different client.  And none of it writes an install token sent in a
query (GET done?token=...) into a log: not a refusal, not bootd down.
"""

import http.client
import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

BURST = 50          # limit_req zone=bootd_req burst=50 (10 r/s)
DONE_BURST = 5      # limit_req zone=bootd_done burst=5 (1 r/s)
CONNS = 8           # limit_conn bootd_conn 8
KNOWN = "52:54:00:12:34:56"
CONFIG = "/ipxe/v1/config?mac=" + KNOWN.replace(":", "%3A")


def statuses(srv, method, path, count, source, body=None):
    """count requests on one keep-alive connection from source."""
    out = []
    c = srv.connection(source=source)
    try:
        for _ in range(count):
            hdrs = {"Content-Type": "application/x-www-form-urlencoded"} \
                if body is not None else {}
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            r.read()
            out.append(r.status)
            if r.getheader("connection", "").lower() == "close":
                c.close()
                c = srv.connection(source=source)
    finally:
        c.close()
    return out


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootd"):
            print("skipped: bootd is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(
            config={"daemon": {"log_level": "warning"}})
        cls.srv.add_dist()
        cls.srv.bootctl("host", "add", "web1.example.org", KNOWN)
        cls.srv.bootctl("host", "add", "web2.example.org",
                        "52:54:00:12:34:57", "--dist", "debian-12")
        cls.srv.bootctl("set-reinstall", "web2.example.org")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def refused_by_nginx(self, source, path):
        """Access log lines of 503s to path from source, none from bootd."""
        lines = [l for l in self.srv.access_log().splitlines()
                 if l.startswith(source + " ") and '"%s" 503 ' % path in l]
        for l in lines:
            self.assertIn(" us=- ", l)
        return lines

    def test_config_flood_from_one_address_is_refused(self):
        got = statuses(self.srv, "GET", CONFIG, 4 * BURST, "127.0.0.2")
        self.assertEqual(set(got), {200, 503}, got)
        # The burst is served whole, then the rate holds the rest back.
        self.assertEqual(got[:BURST], [200] * BURST)
        self.assertTrue(self.refused_by_nginx("127.0.0.2",
                                              "GET /ipxe/v1/config"))
        # Another address, and the unlimited 127.0.0.1, are still served.
        self.assertEqual(statuses(self.srv, "GET", CONFIG, 3, "127.0.0.3"),
                         [200] * 3)
        self.assertEqual(statuses(self.srv, "GET", CONFIG, 4 * BURST,
                                  "127.0.0.1"), [200] * (4 * BURST))

    def test_fleet_at_distinct_addresses_is_never_refused(self):
        got = []
        for i in range(1, 201):
            got += statuses(self.srv, "GET", CONFIG, 2,
                            "127.1.%d.%d" % (i // 250, i % 250 + 1))
        self.assertEqual(got, [200] * 400)

    def test_done_flood_is_refused_and_changes_nothing(self):
        token = self.srv.token("web2.example.org")
        self.assertIsNotNone(token)
        wrong = "0" * 32 if token != "0" * 32 else "1" * 32
        got = statuses(self.srv, "POST", "/ipxe/v1/done", 10 * DONE_BURST,
                       "127.0.0.4", body="token=" + wrong)
        self.assertNotIn(200, got)
        # bootd's own answer for the burst, then nginx refuses.
        self.assertNotIn(503, got[:DONE_BURST + 1])
        self.assertIn(503, got)
        self.assertTrue(self.refused_by_nginx("127.0.0.4",
                                              "POST /ipxe/v1/done"))
        self.assertEqual(self.srv.token("web2.example.org"), token)
        self.assertEqual(self.srv.host_field("web2.example.org", "action"),
                         "install")
        # The real installer, from its own address, is not held back.
        st, _, _ = self.srv.post("/ipxe/v1/done", body="token=" + token,
                                 source="127.0.0.5")
        self.assertEqual(st, 200)
        self.assertEqual(self.srv.host_field("web2.example.org", "action"),
                         "local")

    def hold(self, n):
        """n requests in progress from 127.0.0.6: headers sent, their
        bodies never come (nginx waits client_body_timeout)."""
        holders = []
        for _ in range(n):
            s = socket.create_connection(
                ("127.0.0.1", self.srv.http_port), timeout=30,
                source_address=("127.0.0.6", 0))
            s.sendall(b"POST /ipxe/v1/health HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
            holders.append(s)
        return holders

    def test_concurrent_requests_per_address_are_bounded(self):
        # CONNS requests in progress from one address, then one more is
        # refused.  nginx counts a holder once it has read its headers, and
        # lets it go after client_body_timeout (10 s): on a loaded machine
        # a round can miss that window, so up to three rounds of fresh
        # holders.  Probes at 5 a second stay under the request rate limit
        # (10 r/s), so the 503 awaited is the connection limit's (its log
        # line is checked below).
        def probe():
            return self.srv.get("/ipxe/v1/health", source="127.0.0.6")[0]
        for _ in range(3):
            holders = self.hold(CONNS)
            try:
                st = harness.eventually(probe, lambda st: st == 503,
                                        tries=40, pause=0.2)
                if st == 503:
                    # Others are not counted against that address.
                    self.assertEqual(self.srv.get(
                        "/ipxe/v1/health", source="127.0.0.7")[0], 200)
            finally:
                for s in holders:
                    s.close()
            if st == 503:
                break
        self.assertEqual(st, 503, "nginx log:\n" +
                         self.srv.nginx_log()[-3000:])
        self.assertEqual(harness.eventually(
            probe, lambda st: st == 200, tries=150, pause=0.2), 200)
        self.assertTrue(re.search(r"limiting connections by zone "
                                  r'"bootd_conn"', self.srv.nginx_log()))


class TokensStayOutOfLogs(unittest.TestCase):
    """nginx writes a request's whole request line into every error it
    logs for it; for done, whose token may be in the query, nothing."""

    TOKEN = "deadbeef" * 4

    def setUp(self):
        if not harness.have_binary("bootd"):
            self.skipTest("bootd is not built")
        self.srv = harness.BootServer(
            config={"daemon": {"log_level": "warning"}})
        self.addCleanup(self.srv.close)

    def test_refused_failed_and_malformed_dones(self):
        srv, done = self.srv, "/ipxe/v1/done?token=" + self.TOKEN
        # The rate limit (1 r/s, burst 5) refuses the rest.
        got = statuses(srv, "GET", done, 12, "127.0.0.2")
        self.assertIn(503, got)
        self.assertEqual(srv.post(done, body=b"a" * 8192)[0], 413)
        # Malformed requests: nginx notes them before it knows the location.
        for extra in (b"Bad Header\r\n", b"Host: b\r\n"):
            reply = srv.raw(b"GET " + done.encode() + b" HTTP/1.1\r\n"
                            b"Host: a\r\n" + extra + b"\r\n")
            self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply)
        with socket.create_connection(("127.0.0.1", srv.http_port),
                                      timeout=30) as s:
            s.sendall(b"GET " + done.encode() + b" HTTP/1.1\r\n")
        # bootd down: nginx cannot reach its socket.
        srv.stop_bootd()
        self.assertEqual(srv.get(done)[0], 502)
        # The same failure elsewhere is logged with its query: the error
        # log would show a token if done's errors went there.
        self.assertEqual(srv.get("/ipxe/v1/health?probe=p1b2")[0], 502)
        harness.eventually(lambda: "probe=p1b2" in srv.nginx_log())
        self.assertIn("probe=p1b2", srv.nginx_log())
        srv.stop_nginx()
        for name, text in (("nginx error log", srv.nginx_log()),
                           ("access log", srv.access_log()),
                           ("bootd's log", srv.bootd_log())):
            self.assertNotIn(self.TOKEN, text, name)
        # Each answer is still in the access log, by status.
        for answer in ('"GET /ipxe/v1/done" 503 ', '"POST /ipxe/v1/done" 413 ',
                       '"GET /ipxe/v1/done" 502 '):
            self.assertIn(answer, srv.access_log())


if __name__ == "__main__":
    unittest.main()
