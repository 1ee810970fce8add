"""
Boot requests through real nginx to a real bootd on 127.0.0.1: install,
local and unknown hosts, every MAC spelling, reinstall and install-done
with tokens, health, exact metric deltas, 404/405 and HTTPS with TLS 1.2.
"""

import os
import re
import ssl
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually, ipxe_lines  # noqa: E402

INSTALL = ("install1.example.org", "52:54:00:00:10:01")
LOCAL = ("local1.example.org", "52:54:00:ab:cd:ef")
FLIP = ("flip1.example.org", "52:54:00:00:10:03")
DONE = ("done1.example.org", "52:54:00:00:10:04")
DONE2 = ("done2.example.org", "52:54:00:00:10:05")
EXPIRE = ("expire1.example.org", "52:54:00:00:10:06")


def installs(body):
    """Does the script's default path fetch an installer?"""
    return bool(re.search(r"^\s*kernel \S*/images/debian-12/vmlinuz", body,
                          re.M)) or "initrd " in body


def default_entry(body):
    m = re.search(r"^choose .*--default (\S+)", body, re.M)
    return m.group(1) if m else None


class Boot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.BootServer()
        s = cls.srv
        try:
            s.add_dist("debian-12")
            for fqdn, mac in (INSTALL, LOCAL, FLIP, DONE, DONE2, EXPIRE):
                s.bootctl("host", "add", fqdn, mac, "--dist", "debian-12")
            s.bootctl("set-reinstall", INSTALL[0], "--dist", "debian-12")
        except BaseException:
            s.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def script(self, mac, **kw):
        st, body = self.srv.config_script(mac, **kw)
        self.assertEqual(st, 200, body)
        self.assertTrue(body.startswith("#!ipxe\n"), body)
        return body

    def test_install_host(self):
        body = self.script(INSTALL[1])
        token = self.srv.token(INSTALL[0])
        self.assertRegex(token, r"^[0-9a-f]{32}$")
        self.assertEqual(default_entry(body), "install")
        base = self.srv.base_url + "/images/debian-12/"
        self.assertRegex(body, r"(?m)^kernel %svmlinuz .*bootd\.token=%s"
                         % (re.escape(base), token))
        self.assertRegex(body, r"(?m)^initrd .*%sinitrd\.img"
                         % re.escape(base))
        self.assertIn("hostname=%s" % INSTALL[0], body)
        self.assertIn("sanboot --no-describe --drive 0x80", body)

    def test_local_host(self):
        body = self.script(LOCAL[1])
        self.assertEqual(default_entry(body), "local")
        self.assertFalse(installs(body), body)
        self.assertIn("sanboot --no-describe --drive 0x80", body)
        self.assertIn(LOCAL[0], body)

    def test_unknown_mac_local_and_recorded(self):
        body = self.script("52-54-00-77-66-55&platform=efi&buildarch=x86_64"
                           "&product=Standard%20PC")
        self.assertEqual(default_entry(body), "local")
        self.assertFalse(installs(body), body)
        out = eventually(
            lambda: self.srv.bootctl("discovered", "list").stdout,
            lambda o: "52:54:00:77:66:55" in o)
        line = [l for l in out.splitlines() if "52:54:00:77:66:55" in l]
        self.assertTrue(line, out)
        self.assertIn("platform=efi", line[0])

    def test_every_mac_spelling(self):
        canonical = self.script(LOCAL[1])
        spellings = [
            "52:54:00:ab:cd:ef", "52-54-00-ab-cd-ef", "5254.00ab.cdef",
            "525400abcdef", "52:54:00:AB:CD:EF", "52-54-00-Ab-cD-eF",
            "525400ABCDEF", "5254.00AB.CDEF", "52%3A54%3A00%3Aab%3Acd%3Aef",
            "52%3a54%3a00%3AAB%3aCD%3Aef", "%35%32-54-00-ab-cd-ef",
        ]
        for mac in spellings:
            with self.subTest(mac=mac):
                self.assertEqual(self.script(mac), canonical)
        # And through the install host: same token, same script.
        a = self.script("52:54:00:00:10:01")
        b = self.script("52%3A54%3A00%3A00%3A10%3A01")
        c = self.script("525400001001")
        self.assertEqual(a, b)
        self.assertEqual(a, c)
        self.assertEqual(default_entry(a), "install")

    def test_set_reinstall_changes_the_very_next_answer(self):
        s = self.srv
        self.assertEqual(default_entry(self.script(FLIP[1])), "local")
        s.bootctl("set-reinstall", FLIP[0], "--dist", "debian-12")
        body = self.script(FLIP[1])
        self.assertEqual(default_entry(body), "install")
        self.assertIn("bootd.token=%s" % s.token(FLIP[0]), body)
        s.bootctl("set-local", FLIP[0])
        body = self.script(FLIP[1])
        self.assertEqual(default_entry(body), "local")
        self.assertFalse(installs(body), body)

    def test_done_good_reused_bad_tokens(self):
        s = self.srv
        s.bootctl("set-reinstall", DONE[0], "--dist", "debian-12")
        token = s.token(DONE[0])
        self.assertIn(token, self.script(DONE[1]))
        st, _, body = s.get("/ipxe/v1/done?token=" + token)
        self.assertEqual((st, body), (200, b"ok\n"))
        st, _, _ = s.get("/ipxe/v1/done?token=" + token)
        self.assertEqual(st, 403)             # used
        st, _, _ = s.post("/ipxe/v1/done", body=("token=" + token).encode())
        self.assertEqual(st, 403)             # used, as a form
        st, _, _ = s.get("/ipxe/v1/done?token=" + "0" * 32)
        self.assertEqual(st, 404)             # unknown
        st, _, _ = s.get("/ipxe/v1/done?token=not-a-token")
        self.assertEqual(st, 404)             # malformed
        st, _, _ = s.get("/ipxe/v1/done")
        self.assertEqual(st, 400)             # missing: bootd(8)
        # The host is back to local boot, and says so.
        body = self.script(DONE[1])
        self.assertEqual(default_entry(body), "local")
        self.assertFalse(installs(body), body)
        self.assertEqual(s.host_field(DONE[0], "action"), "local")
        self.assertNotIn(token, s.access_log())
        self.assertNotIn(token, s.bootd_log())

    def test_done_as_form_post(self):
        s = self.srv
        s.bootctl("set-reinstall", DONE2[0], "--dist", "debian-12")
        token = s.token(DONE2[0])
        st, _, body = s.post("/ipxe/v1/done", body=("token=" + token).encode())
        self.assertEqual((st, body), (200, b"ok\n"))
        self.assertEqual(default_entry(self.script(DONE2[1])), "local")

    def test_expired_token(self):
        """
        Time passing is simulated by moving the token's expiry into the
        past in the database (token_ttl is at least 60 s): the host boots
        locally and the token is refused with 403.
        """
        s = self.srv
        s.bootctl("set-reinstall", EXPIRE[0], "--dist", "debian-12")
        token = s.token(EXPIRE[0])
        self.assertEqual(default_entry(self.script(EXPIRE[1])), "install")
        q = "SELECT expires FROM token WHERE token = ?"
        (expires,), = s.inv(q, (token,))
        harness.inv_execute(s.db, "UPDATE token SET expires = expires - "
                            "86400 WHERE token = ?", (token,))
        self.assertEqual(s.inv(q, (token,)), [(expires - 86400,)])
        body = self.script(EXPIRE[1])
        self.assertEqual(default_entry(body), "local")
        self.assertFalse(installs(body), body)
        self.assertNotIn(token, body)
        st, _, _ = s.get("/ipxe/v1/done?token=" + token)
        self.assertEqual(st, 403)

    def test_health(self):
        st, h, body = self.srv.get("/ipxe/v1/health")
        self.assertEqual(st, 200)
        self.assertRegex(body.decode(), r"^ok schema=[1-9]\d*\n$")
        self.assertTrue(h["content-type"].startswith("text/plain"))

    def test_not_found_and_method_not_allowed(self):
        s = self.srv
        for path in ("/ipxe/v1/nothing", "/ipxe/v2/config?mac=525400001001",
                     "/ipxe/v1/config/extra", "/ipxe/v1/"):
            with self.subTest(path=path):
                st, _, body = s.get(path)
                self.assertEqual(st, 404)
                self.assertNotIn(b"kernel", body)
        # bootd's own 405, with Allow:
        st, h, _ = s.post("/ipxe/v1/health")
        self.assertEqual(st, 405)
        self.assertEqual(h.get("allow"), "GET, HEAD")
        # nginx refuses other methods before bootd, with 405 and Allow.
        for method, path, allow in (
                ("POST", "/ipxe/v1/config?mac=525400001001", "GET, HEAD"),
                ("POST", "/ipxe/v1/metrics", "GET, HEAD"),
                ("PUT", "/ipxe/v1/config?mac=1", "GET, HEAD"),
                ("DELETE", "/ipxe/v1/done", "GET, HEAD, POST")):
            st, h, _ = s.request(method, path)
            self.assertEqual((st, h.get("allow")), (405, allow), path)

    def test_head_is_no_boot(self):
        s = self.srv
        m = s.metric
        before = s.metrics()
        st, h, body = s.request("HEAD", "/ipxe/v1/config?mac=52:54:00:99:00:01")
        self.assertEqual((st, body), (200, b""))
        self.assertTrue(h["content-type"].startswith("text/plain"))
        self.assertEqual(s.request("HEAD", "/ipxe/v1/health")[:1], (200,))
        # A HEAD never touches a token.
        st, h, _ = s.request("HEAD", "/ipxe/v1/done?token=" + "a" * 32)
        self.assertEqual((st, h.get("allow")), (405, "GET, POST"))
        after = s.metrics()
        for action in ("install", "local", "unknown", "failsafe"):
            self.assertEqual(m(after, "bootd_scripts_total", action=action),
                             m(before, "bootd_scripts_total", action=action))
        # Not recorded: a later GET's MAC shows up, the HEAD's never does.
        self.script("52:54:00:99:00:02")
        out = eventually(
            lambda: s.bootctl("discovered", "list").stdout,
            lambda o: "52:54:00:99:00:02" in o)
        self.assertNotIn("52:54:00:99:00:01", out)

    def test_https_tls12(self):
        info = {}
        body = self.script(INSTALL[1], https=True,
                           tls_max=ssl.TLSVersion.TLSv1_2, info=info)
        self.assertEqual(info["tls_version"], "TLSv1.2")
        self.assertEqual(default_entry(body), "install")
        self.assertEqual(body, self.script(INSTALL[1]))
        st, _, b = self.srv.get("/ipxe/v1/health", https=True,
                                tls_max=ssl.TLSVersion.TLSv1_2)
        self.assertEqual(st, 200)

    def test_access_log_has_mac_and_times(self):
        self.script("52-54-00-00-10-99")
        log = eventually(self.srv.access_log,
                         lambda l: 'mac="52-54-00-00-10-99"' in l)
        line = [l for l in log.splitlines() if 'mac="52-54-00-00-10-99"' in l]
        self.assertTrue(line, log)
        self.assertRegex(line[0], r'"GET /ipxe/v1/config" 200 \d+ '
                                  r'mac="52-54-00-00-10-99" '
                                  r'rt=\d+\.\d{3} urt=\d+\.\d{3} us=200 ')

    def test_bootd_logs_each_boot_on_one_line(self):
        # The line route.c puts together (log_config()), as blog_line()
        # writes it: prefix, level, fields, one newline; the known host's
        # name and decision, and an unknown MAC's.
        self.script(LOCAL[1].replace(":", "-"))
        self.script("52:54:00:00:10:98")
        log = eventually(self.srv.bootd_log,
                         lambda l: "mac=52:54:00:00:10:98 " in l)
        lines = [l for l in log.split("\n")
                 if "mac=%s " % LOCAL[1] in l or "mac=52:54:00:00:10:98 " in l]
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r"^bootd\[\d+\]: info mac=%s host=%s "
                         r"action=local status=200 us=\d+$"
                         % (LOCAL[1], re.escape(LOCAL[0])))
        self.assertRegex(lines[1], r"^bootd\[\d+\]: info "
                         r"mac=52:54:00:00:10:98 host=- action=unknown "
                         r"status=200 us=\d+$")

    def test_boot_lines_whole_under_load(self):
        # Workers hold the lines of boots and write several at once
        # (log.c): with 8 clients at once against 2 workers, every boot
        # has its line, whole, once; none is torn or lost.
        macs = ["52:54:00:00:2a:%02x" % i for i in range(240)]
        todo = list(macs)
        lock = threading.Lock()

        def client():
            while True:
                with lock:
                    if not todo:
                        return
                    mac = todo.pop()
                status, _ = self.srv.config_script(mac)
                self.assertEqual(status, 200)
        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mine = re.compile(r"mac=52:54:00:00:2a:")

        def lines():
            return [l for l in self.srv.bootd_log().split("\n")
                    if mine.search(l)]
        got = eventually(lines, lambda ls: len(ls) >= len(macs))
        self.assertEqual(len(got), len(macs), got[:5])
        for l in got:
            self.assertRegex(l, r"^bootd\[\d+\]: info mac=52:54:00:00:"
                             r"2a:[0-9a-f]{2} host=- action=unknown "
                             r"status=200 us=\d+$")
        self.assertEqual(sorted(l.split()[2][4:] for l in got), macs)


class Metrics(unittest.TestCase):
    """Exact counter deltas after known traffic, on a server of its own."""

    def test_counter_deltas(self):
        with harness.BootServer() as s:
            s.add_dist("debian-12")
            s.bootctl("host", "add", *INSTALL, "--dist", "debian-12")
            s.bootctl("host", "add", *LOCAL, "--dist", "debian-12")
            s.bootctl("set-reinstall", INSTALL[0], "--dist", "debian-12")
            m = s.metric
            before = s.metrics()
            traffic = [
                ("/ipxe/v1/config?mac=" + INSTALL[1], 200),
                ("/ipxe/v1/config?mac=" + INSTALL[1], 200),
                ("/ipxe/v1/config?mac=" + LOCAL[1], 200),
                ("/ipxe/v1/config?mac=52:54:00:99:99:01", 200),
                ("/ipxe/v1/config?mac=52:54:00:99:99:02", 200),
                ("/ipxe/v1/config?mac=nonsense", 400),
                ("/ipxe/v1/config", 400),
                ("/ipxe/v1/health", 200),
                ("/ipxe/v1/nothing", 404),
                ("/ipxe/v1/done?token=" + "a" * 32, 404),
            ]
            for path, want in traffic:
                self.assertEqual(s.get(path)[0], want, path)
            self.assertEqual(s.post("/ipxe/v1/health")[0], 405)
            expect = {
                ("bootd_requests_total", (("code", "200"), ("route",
                                                            "config"))): 5,
                ("bootd_requests_total", (("code", "400"), ("route",
                                                            "config"))): 2,
                ("bootd_requests_total", (("code", "200"), ("route",
                                                            "health"))): 1,
                ("bootd_requests_total", (("code", "405"), ("route",
                                                            "health"))): 1,
                ("bootd_requests_total", (("code", "404"), ("route",
                                                            "other"))): 1,
                ("bootd_requests_total", (("code", "404"), ("route",
                                                            "done"))): 1,
                ("bootd_scripts_total", (("action", "install"),)): 2,
                ("bootd_scripts_total", (("action", "local"),)): 1,
                ("bootd_scripts_total", (("action", "unknown"),)): 2,
                ("bootd_scripts_total", (("action", "failsafe"),)): 2,
                ("bootd_errors_total", ()): 0,
                ("bootd_events_dropped_total", ()): 0,
                ("bootd_worker_restarts_total", ()): 0,
            }

            def deltas():
                now = s.metrics()
                return {k: now.get(k, 0) - before.get(k, 0) for k in expect}
            got = eventually(deltas, lambda d: d == expect)
            self.assertEqual(got, expect)
            # Boots are recorded after the answer has left: the
            # discovered gauge follows the last unknown MAC shortly.
            now = eventually(
                s.metrics, lambda n: m(n, "bootd_inventory_discovered") == 2)
            self.assertEqual(m(now, "bootd_inventory_hosts"), 2)
            self.assertEqual(m(now, "bootd_inventory_installing"), 1)
            self.assertEqual(m(now, "bootd_inventory_discovered"), 2)
            self.assertEqual(m(now, "bootd_workers"), 2)
            # Every answered request is in the histogram once.
            self.assertEqual(
                sum(v for k, v in now.items()
                    if k[0] == "bootd_requests_total"),
                m(now, "bootd_request_duration_seconds_count"))
            # Histogram buckets are cumulative and end at the count.
            buckets = sorted(
                (float(dict(k[1])["le"].replace("+Inf", "inf")), v)
                for k, v in now.items()
                if k[0] == "bootd_request_duration_seconds_bucket")
            self.assertTrue(buckets)
            vals = [v for _, v in buckets]
            self.assertEqual(vals, sorted(vals))
            self.assertEqual(vals[-1],
                             m(now, "bootd_request_duration_seconds_count"))


if __name__ == "__main__":
    unittest.main()
