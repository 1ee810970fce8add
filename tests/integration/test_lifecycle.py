"""
The daemon's life through nginx: a killed worker is replaced and counted
while requests keep succeeding; SIGHUP applies a changed bootd.json (and
keeps the old one when the new one is broken); SIGTERM lets requests in
flight finish with 200 and exits 0; socket activation (LISTEN_FDS) as
bootd.socket does it.
"""

import json
import os
import re
import signal
import sqlite3
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

HOST = ("life1.example.org", "52:54:00:00:30:01")


def timeout_ms(body):
    m = re.search(r"^choose .*--timeout (\d+)", body, re.M)
    return int(m.group(1)) if m else None


class Workers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.BootServer(workers=2)
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", *HOST, "--dist", "debian-12")
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_killed_worker_is_replaced(self):
        s = self.srv
        pids = s.wait_workers(2)
        before = s.metric(s.metrics(), "bootd_worker_restarts_total")
        self.assertEqual(s.config_script(HOST[1])[0], 200)
        os.kill(pids[0], signal.SIGKILL)
        # Requests right after the kill are answered by the survivor and
        # the replacement: none fails.
        for _ in range(30):
            st, body = s.config_script(HOST[1])
            self.assertEqual(st, 200, body)
        new = s.wait_workers(2, exclude=[pids[0]])
        self.assertIn(pids[1], new)
        self.assertEqual(len(set(new) - set(pids)), 1)
        got = eventually(
            lambda: s.metric(s.metrics(), "bootd_worker_restarts_total"),
            lambda v: v == before + 1)
        self.assertEqual(got, before + 1)
        self.assertEqual(s.metric(s.metrics(), "bootd_workers"), 2)
        self.assertIsNone(s.bootd.poll())

    def test_sighup_applies_changed_config(self):
        s = self.srv
        self.assertEqual(timeout_ms(s.config_script(HOST[1])[1]), 5000)
        old = s.wait_workers(2)
        s.write_config(menu={"timeout": 17})
        s.reload()
        # The old generation finishes and leaves; the new one has 17 s.
        s.wait_workers(2, exclude=old)
        for _ in range(10):
            st, body = s.config_script(HOST[1])
            self.assertEqual(st, 200)
            self.assertEqual(timeout_ms(body), 17000)
        self.assertEqual(s.bootd.poll(), None)

        # A broken file on reload: logged, the running config is kept.
        cur = s.wait_workers(2)
        broken = harness.deep_merge(s.config, {"menu": {"timeout": "soon"}})
        with open(s.conf_path, "w") as f:
            json.dump(broken, f)
        s.reload()
        log = eventually(s.bootd_log,
                         lambda l: "keeping the running configuration" in l)
        self.assertRegex(log, r"reload failed, keeping the running "
                              r"configuration: .*menu\.timeout")
        for _ in range(10):
            st, body = s.config_script(HOST[1])
            self.assertEqual(st, 200)
            self.assertEqual(timeout_ms(body), 17000)
        self.assertEqual(s.worker_pids(), cur)
        s.write_config(menu={"timeout": 5})
        s.reload()
        s.wait_workers(2, exclude=cur)
        self.assertEqual(timeout_ms(s.config_script(HOST[1])[1]), 5000)


class Drain(unittest.TestCase):
    def test_sigterm_with_requests_in_flight(self):
        """
        Requests are held inside bootd by a write lock on the inventory
        (install-done waits up to event_wait_ms for it); SIGTERM arrives
        while they wait; the lock is released; every one completes with
        200 and bootd exits 0.
        """
        n = 2
        with harness.BootServer(workers=n,
                                config={"daemon": {"event_wait_ms": 8000,
                                                   "drain_timeout": 30}}) as s:
            s.add_dist("debian-12")
            tokens = []
            for i in range(n):
                fqdn = "drain%d.example.org" % i
                s.bootctl("host", "add", fqdn, "52:54:00:00:31:%02x" % i,
                          "--dist", "debian-12")
                s.bootctl("set-reinstall", fqdn, "--dist", "debian-12")
                tokens.append(s.token(fqdn))
            workers = s.wait_workers(n)

            lock = sqlite3.connect(s.db, timeout=10, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            results = [None] * n

            def done(i):
                try:
                    results[i] = s.get("/ipxe/v1/done?token=" + tokens[i],
                                       timeout=60)[:3:2]
                except Exception as e:  # noqa: BLE001
                    results[i] = ("error", repr(e))

            threads = [threading.Thread(target=done, args=(i,))
                       for i in range(n)]
            for t in threads:
                t.start()
            # Ready when every worker sleeps in SQLite's busy handler.
            busy = eventually(
                lambda: [harness.sleeping(p) for p in workers],
                all, tries=400)
            self.assertTrue(all(busy), "workers not waiting on the lock")
            s.bootd.send_signal(signal.SIGTERM)
            eventually(s.bootd_log, lambda l: "stopping" in l)
            lock.execute("COMMIT")
            lock.close()
            for t in threads:
                t.join(90)
            self.assertEqual(results, [(200, b"ok\n")] * n)
            self.assertEqual(s.bootd.wait(60), 0)
            s.exit_codes["bootd"] = 0
            for i in range(n):
                self.assertEqual(
                    s.host_field("drain%d.example.org" % i, "action"),
                    "local")
            self.assertNotRegex(s.nginx_log(), r"prematurely closed|"
                                               r"reset by peer")

    def test_sigterm_idle_exits_zero(self):
        with harness.BootServer(workers=3) as s:
            self.assertEqual(s.get("/ipxe/v1/health")[0], 200)
            workers = s.wait_workers(3)
            self.assertEqual(s.stop_bootd(), 0)
            for p in workers:
                self.assertFalse(os.path.exists("/proc/%d/status" % p) and
                                 "zombie" not in open(
                                     "/proc/%d/status" % p).read(),
                                 "worker %d outlived the master" % p)


class SocketActivation(unittest.TestCase):
    def test_listen_fds(self):
        with harness.BootServer(socket_activation=True) as s:
            s.add_dist("debian-12")
            s.bootctl("host", "add", *HOST, "--dist", "debian-12")
            s.bootctl("set-reinstall", HOST[0], "--dist", "debian-12")
            st, body = s.config_script(HOST[1])
            self.assertEqual(st, 200)
            self.assertRegex(body, r"(?m)^choose .*--default install")
            self.assertEqual(len(s.wait_workers(2)), 2)
            self.assertEqual(s.stop_bootd(), 0)


if __name__ == "__main__":
    unittest.main()
