"""
The install token through real nginx and bootd: the address that fetched
an install script is recorded, a done from another address is logged,
counted and audited (and with daemon.done_requires_fetch_address refused
with 403, changing nothing), and failed dones are rate-limited per client
address (429) without touching the inventory, even when several are in
flight at once.

Loopback accepts all of 127/8, so a client socket bound to 127.0.0.2 (or
.3, .4) reaches nginx listening on 127.0.0.1 and nginx's $remote_addr,
passed to bootd as REMOTE_ADDR, is that source address.
"""

import os
import re
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

FQDN = "inst.example.org"
MAC = "52:54:00:00:30:01"
WRONG = "0123456789abcdef0123456789abcdef"


def snapshot(db):
    """Everything a done may change: hosts, tokens, the audit log."""
    return [harness.inv_rows(db, q) for q in (
        "SELECT id, fqdn, action, dist FROM host ORDER BY id",
        "SELECT * FROM token ORDER BY token",
        "SELECT id, actor, op, object, old, new FROM audit ORDER BY id",
    )]


def fetched_from(db, fqdn):
    rows = harness.inv_rows(
        db, "SELECT t.fetched_from FROM token t JOIN host h ON h.id = t.host"
        " WHERE h.fqdn = ? AND t.used_at IS NULL AND t.revoked = 0",
        (fqdn,))
    return rows[0][0] if rows else None


class FetchAddress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.BootServer(
            config={"daemon": {"done_requires_fetch_address": True}})
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", FQDN, MAC, "--dist", "debian-12")
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def mark_and_fetch(self, source="127.0.0.1"):
        """set-reinstall, fetch the install script from source; token."""
        self.srv.bootctl("set-reinstall", FQDN)
        token = self.srv.token(FQDN)
        self.assertIsNotNone(token)
        st, body = self.srv.config_script(MAC, source=source)
        self.assertEqual(st, 200)
        self.assertIn("bootd.token=" + token, body)
        got = eventually(lambda: fetched_from(self.srv.db, FQDN),
                         lambda v: v == source)
        self.assertEqual(got, source)
        return token

    def set_bound(self, on):
        old = self.srv.worker_pids()
        self.srv.write_config(
            daemon={"done_requires_fetch_address": on})
        self.srv.reload()
        self.srv.wait_workers(len(old), exclude=old)

    def test_1_bound_other_address_refused(self):
        token = self.mark_and_fetch("127.0.0.1")
        mismatches = self.srv.metric(self.srv.metrics(),
                                     "bootd_done_address_mismatch_total")
        before = snapshot(self.srv.db)
        st, h, body = self.srv.get("/ipxe/v1/done?token=" + token,
                                   source="127.0.0.2")
        self.assertEqual(st, 403, body)
        self.assertEqual(body, b"done from another address than the one "
                               b"that fetched the install script\n")
        self.assertIn("another address", h.get("x-bootd-error", ""))
        # Nothing changed: still marked install, token unused.
        self.assertEqual(snapshot(self.srv.db), before)
        self.assertEqual(self.srv.host_field(FQDN, "action"), "install")
        self.assertEqual(self.srv.token(FQDN), token)
        m = eventually(self.srv.metrics, lambda m: self.srv.metric(
            m, "bootd_done_address_mismatch_total") == mismatches + 1)
        self.assertEqual(self.srv.metric(
            m, "bootd_done_address_mismatch_total"), mismatches + 1)
        self.assertEqual(self.srv.metric(
            m, "bootd_requests_total", route="done", code="403"), 1)
        log = eventually(self.srv.bootd_log, lambda t: "refused" in t)
        self.assertRegex(log, r"done for %s from 127\.0\.0\.2, but its "
                              r"install script was fetched from "
                              r"127\.0\.0\.1; refused" % re.escape(FQDN))
        self.assertNotIn(token, log)
        # The machine that fetched it may still report.
        st, _, body = self.srv.get("/ipxe/v1/done?token=" + token)
        self.assertEqual((st, body), (200, b"ok\n"))
        self.assertEqual(self.srv.host_field(FQDN, "action"), "local")

    def test_2_bound_never_fetched_refused(self):
        self.srv.bootctl("set-reinstall", FQDN)
        token = self.srv.token(FQDN)
        before = snapshot(self.srv.db)
        st, _, body = self.srv.get("/ipxe/v1/done?token=" + token)
        self.assertEqual(st, 403, body)
        self.assertEqual(snapshot(self.srv.db), before)
        log = eventually(self.srv.bootd_log,
                         lambda t: "install script was never fetched" in t)
        self.assertIn("from 127.0.0.1, but its install script was never "
                      "fetched", log)
        self.srv.bootctl("set-local", FQDN)

    def notes(self):
        return self.srv.metric(self.srv.metrics(), "bootd_fetch_notes_total")

    def test_3_a_new_fetch_address_replaces_the_old(self):
        self.mark_and_fetch("127.0.0.1")
        # Within a minute of the last change the address stays, and no
        # audit row is written: alternating fetches cannot grow the
        # inventory.  The recorder notes fetches a second together:
        # wait until it has noted both.
        before = self.notes()
        st, _ = self.srv.config_script(MAC, source="127.0.0.7")
        self.assertEqual(st, 200)
        st, _ = self.srv.config_script(MAC, source="127.0.0.1")
        self.assertEqual(st, 200)
        self.assertEqual(eventually(self.notes, lambda n: n >= before + 2),
                         before + 2)
        self.assertEqual(fetched_from(self.srv.db, FQDN), "127.0.0.1")
        self.assertNotIn("127.0.0.7", self.srv.bootctl("audit").stdout)
        # A minute on, a fetch from a new address replaces it.
        harness.inv_execute(self.srv.db, "UPDATE token SET fetched_at = "
                            "fetched_at - 120 WHERE fetched_at IS NOT NULL")
        st, _ = self.srv.config_script(MAC, source="127.0.0.5")
        self.assertEqual(st, 200)
        got = eventually(lambda: fetched_from(self.srv.db, FQDN),
                         lambda v: v == "127.0.0.5")
        self.assertEqual(got, "127.0.0.5")
        out = self.srv.bootctl("audit", FQDN).stdout
        self.assertIn("fetched_from=127.0.0.1 -> fetched_from=127.0.0.5",
                      out)
        # HEAD serves no script and records nothing.
        st, _, _ = self.srv.request("HEAD", "/ipxe/v1/config?mac=" + MAC,
                                    source="127.0.0.6")
        self.assertEqual(st, 200)
        self.srv.bootctl("set-local", FQDN)
        self.assertNotIn("127.0.0.6", self.srv.bootctl("audit").stdout)

    def test_4_unbound_other_address_accepted_and_audited(self):
        self.set_bound(False)
        try:
            token = self.mark_and_fetch("127.0.0.1")
            mismatches = self.srv.metric(self.srv.metrics(),
                                         "bootd_done_address_mismatch_total")
            st, _, body = self.srv.get("/ipxe/v1/done?token=" + token,
                                       source="127.0.0.2")
            self.assertEqual((st, body), (200, b"ok\n"))
            self.assertEqual(self.srv.host_field(FQDN, "action"), "local")
            out = self.srv.bootctl("audit", FQDN).stdout
            self.assertRegex(out, r"install-done .*action=local "
                                  r"done_from=127\.0\.0\.2 "
                                  r"fetched_from=127\.0\.0\.1")
            m = eventually(self.srv.metrics, lambda m: self.srv.metric(
                m, "bootd_done_address_mismatch_total") == mismatches + 1)
            self.assertEqual(self.srv.metric(
                m, "bootd_done_address_mismatch_total"), mismatches + 1)
            log = eventually(self.srv.bootd_log, lambda t: re.search(
                r"from 127\.0\.0\.2, but its install script was fetched "
                r"from 127\.0\.0\.1\n", t))
            self.assertRegex(log, r"warning done for %s from 127\.0\.0\.2, "
                                  r"but its install script was fetched from "
                                  r"127\.0\.0\.1\n" % re.escape(FQDN))
            # The same address: no mismatch counted.
            token = self.mark_and_fetch("127.0.0.1")
            st, _, _ = self.srv.get("/ipxe/v1/done?token=" + token)
            self.assertEqual(st, 200)
            self.assertEqual(self.srv.metric(
                self.srv.metrics(), "bootd_done_address_mismatch_total"),
                mismatches + 1)
        finally:
            self.set_bound(True)

    def test_5_notes_held_are_written_at_stop(self):
        # The recorder holds fetch notes up to a second; SIGTERM writes
        # them before bootd exits.
        self.srv.bootctl("set-reinstall", FQDN)
        st, _ = self.srv.config_script(MAC, source="127.0.0.3")
        self.assertEqual(st, 200)
        self.assertEqual(self.srv.stop_bootd(), 0)
        try:
            self.assertEqual(fetched_from(self.srv.db, FQDN), "127.0.0.3")
        finally:
            self.srv.start_bootd()
            self.srv.wait_ready()
        self.srv.bootctl("set-local", FQDN)


class DoneRateLimit(unittest.TestCase):
    BURST = 5

    @classmethod
    def setUpClass(cls):
        # One attempt a minute after the burst: no refill within the test.
        # bootd's own limiter is under test: nginx's per-address limits
        # (test_nginx_limits.py) are lifted for the loopback range.
        cls.srv = harness.BootServer(
            config={"daemon": {"done_rate": 1, "done_burst": cls.BURST}},
            nginx_unlimited="127.0.0.0/8")
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", FQDN, MAC, "--dist", "debian-12")
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_flood_of_wrong_tokens(self):
        srv = self.srv
        srv.bootctl("set-reinstall", FQDN)
        token = srv.token(FQDN)
        before = snapshot(srv.db)
        start = time.monotonic()
        codes = []
        for i in range(40):
            st, _, body = srv.get("/ipxe/v1/done?token=%032x" % i,
                                  source="127.0.0.3")
            codes.append(st)
        # Malformed and missing tokens count too.
        for q in ("token=nothex", "", "token=" + WRONG.upper()):
            codes.append(srv.get("/ipxe/v1/done?" + q,
                                 source="127.0.0.3")[0])
        elapsed = time.monotonic() - start
        self.assertEqual(codes[:self.BURST], [404] * self.BURST, codes)
        if elapsed < 50:        # else a refill may have let one through
            self.assertEqual(codes[self.BURST:],
                             [429] * (len(codes) - self.BURST), codes)
        st, h, body = srv.get("/ipxe/v1/done?token=" + WRONG,
                              source="127.0.0.3")
        self.assertEqual(st, 429)
        self.assertEqual(body, b"too many failed install reports from this "
                               b"address; try again later\n")
        self.assertIn("too many", h.get("x-bootd-error", ""))
        # Another address is not held back...
        st, _, _ = srv.get("/ipxe/v1/done?token=" + WRONG,
                           source="127.0.0.4")
        self.assertEqual(st, 404)
        # ...and nothing changed in the inventory.
        self.assertEqual(snapshot(srv.db), before)
        m = srv.metrics()
        limited = srv.metric(m, "bootd_done_rate_limited_total")
        self.assertEqual(limited, srv.metric(
            m, "bootd_requests_total", route="done", code="429"))
        self.assertGreaterEqual(limited, 1)
        if elapsed < 50:
            self.assertEqual(limited, len(codes) - self.BURST + 1)
        # The real token from the limited address waits too (429: the
        # installer retries), and works from any other address.
        st, _, _ = srv.get("/ipxe/v1/done?token=" + token,
                           source="127.0.0.3")
        self.assertEqual(st, 429)
        self.assertEqual(srv.host_field(FQDN, "action"), "install")
        st, _, body = srv.get("/ipxe/v1/done?token=" + token,
                              source="127.0.0.4")
        self.assertEqual((st, body), (200, b"ok\n"))

    def test_successes_are_never_limited(self):
        srv = self.srv
        # More valid reports from one address than the burst: each host
        # installed behind the same address (NAT) is let through.
        for i in range(self.BURST + 3):
            fqdn = "nat%d.example.org" % i
            srv.bootctl("host", "add", fqdn, "52:54:00:00:31:%02x" % i,
                        "--dist", "debian-12")
            srv.bootctl("set-reinstall", fqdn)
            st, _, body = srv.get("/ipxe/v1/done?token=" + srv.token(fqdn),
                                  source="127.0.0.7")
            self.assertEqual((st, body), (200, b"ok\n"), fqdn)


@harness.sqlite_only("holds the inventory's write lock with sqlite3")
class DoneRateLimitInFlight(unittest.TestCase):
    def test_reports_in_flight_share_the_last_attempt(self):
        """
        Failed reports from one address in flight at once, in several
        workers, with one attempt left: the check and the charge were two
        steps, so every report passed the check before any was charged,
        and each was looked up in the inventory.  A write lock on the
        inventory holds inside bootd each report that passes (it waits
        for the lock); once each is answered or held, the lock goes.
        Exactly one may have passed: the others got 429 at once.
        """
        n = 3
        with harness.BootServer(
                workers=n, nginx_unlimited="127.0.0.0/8",
                config={"daemon": {"done_rate": 1, "done_burst": 1}}) as s:
            workers = s.wait_workers(n)
            lock = sqlite3.connect(s.db, timeout=10, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            codes = []

            def done():
                codes.append(s.get("/ipxe/v1/done?token=" + WRONG,
                                   source="127.0.0.5", timeout=60)[0])

            threads = [threading.Thread(target=done) for _ in range(n)]
            for t in threads:
                t.start()
            eventually(lambda: len(codes) + sum(
                harness.sleeping(p) for p in workers), lambda k: k >= n)
            lock.execute("COMMIT")
            lock.close()
            for t in threads:
                t.join(90)
            self.assertEqual(sorted(codes), [404] + [429] * (n - 1))


if __name__ == "__main__":
    unittest.main()
