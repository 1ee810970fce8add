"""
Restarts and kills under load, through real nginx and bootd.  The load is
a fixed number of boots, one after another on a thread, each checked for
its status and decision; what happens to the servers is triggered when the
load has made a given number of boots, never after a time:

- the event recorder killed (SIGKILL) three times: the master restarts it,
  every boot is answered, every event is recorded or counted as dropped,
  and no more are lost than bootd(8) bounds (a batch and one read of the
  pipe a kill);
- nginx reloaded (SIGHUP) three times: no boot fails, and nginx keeps a
  few FastCGI connections to bootd for all the boots;
- bootd's workers recycled every few requests and replaced by reloads,
  with four clients at once: the connections nginx keeps to them close
  under it, and no boot fails;
- nginx restarted (stopped, started) twice: a boot that finds nothing
  listening retries, as iPXE does, and none gets another answer than its
  own;
- bootd restarted three times through socket activation: the listening
  socket made once and passed to each bootd (LISTEN_FDS), as systemd does
  from bootd.socket, so that connections wait in its backlog while no
  bootd runs: no boot fails and nginx never finds the socket refusing.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

INSTALL_MAC = "52:54:00:50:00:01"
LOCAL_MAC = "52:54:00:50:00:02"
CONFIG = "/ipxe/v1/config?mac="


def decision(body):
    text = body.decode("ascii", "replace")
    if "menu unknown host" in text:
        return "unknown"
    m = re.search(r"(?m)^choose --default (\w+) ", text)
    if m:
        return m.group(1)
    return "failsafe" if "sanboot" in text else "?"


class Load(threading.Thread):
    """
    count boots on a thread, one after another, each on a new connection:
    boot i asks for macs[i % len(macs)].  A boot that cannot connect is
    retried up to retries times (as iPXE's script retries), with a short
    pause; results[i] is (status, decision) or the last error's name.
    """

    def __init__(self, port, macs, count, marks=(), retries=0):
        super().__init__(daemon=True)
        self.port, self.macs, self.count = port, macs, count
        self.retries = retries
        self.results = []
        self.refused = 0
        # marks: numbers of boots done at which wait_mark() returns.
        self.marks = {m: threading.Event() for m in marks}

    def boot(self, mac):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            c.request("GET", CONFIG + mac)
            r = c.getresponse()
            return r.status, decision(r.read())
        finally:
            c.close()

    def run(self):
        for i in range(self.count):
            mac = self.macs[i % len(self.macs)]
            for attempt in range(self.retries + 1):
                try:
                    self.results.append(self.boot(mac))
                    break
                except (ConnectionRefusedError, ConnectionResetError,
                        http.client.RemoteDisconnected) as e:
                    self.refused += 1
                    if attempt == self.retries:
                        self.results.append(type(e).__name__)
                    else:
                        time.sleep(0.05)
            if len(self.results) in self.marks:
                self.marks[len(self.results)].set()

    def wait_mark(self, n):
        """Wait (bounded) until n boots are done; the load goes on."""
        if not self.marks[n].wait(300):
            raise harness.HarnessError("the load never reached %d" % n)

    def want(self, i):
        mac = self.macs[i % len(self.macs)]
        return (200, {INSTALL_MAC: "install", LOCAL_MAC: "local"}.get(
            mac, "unknown"))


def setup_hosts(srv):
    srv.add_dist("debian-12")
    srv.bootctl("host", "add", "r1.example.org", INSTALL_MAC, "--dist",
                "debian-12")
    srv.bootctl("host", "add", "r2.example.org", LOCAL_MAC)
    srv.bootctl("set-reinstall", "r1.example.org")


class Restarts(unittest.TestCase):
    def setUp(self):
        if not harness.have_binary("bootd"):
            self.skipTest("bootd is not built")

    def check(self, load):
        load.join(600)
        self.assertFalse(load.is_alive())
        self.assertEqual(len(load.results), load.count)
        bad = [(i, r, load.want(i)) for i, r in enumerate(load.results)
               if r != load.want(i)]
        self.assertEqual(bad, [])

    def test_recorder_killed_under_load(self):
        batch = 64
        srv = harness.BootServer(config={"daemon": {
            "log_level": "warning", "event_batch_max": batch}})
        self.addCleanup(srv.close)
        setup_hosts(srv)
        before = srv.metrics()
        n, kills = 600, 3
        macs = [INSTALL_MAC, LOCAL_MAC] + ["52:54:00:51:%02x:%02x" % (
            i // 256, i % 256) for i in range(n)]
        marks = [(k + 1) * n // (kills + 1) for k in range(kills)]
        load = Load(srv.http_port, macs, n, marks)
        load.start()
        for mark in marks:
            load.wait_mark(mark)
            rec = srv.wait_recorder()
            os.kill(rec, 9)
            srv.wait_recorder(exclude=[rec])
        self.check(load)
        m = eventually(srv.metrics, lambda m: srv.metric(
            m, "bootd_events_queued") == 0 and srv.metric(
            m, "bootd_events_recorded_total") + srv.metric(
            m, "bootd_events_dropped_total") - srv.metric(
            before, "bootd_events_recorded_total") - srv.metric(
            before, "bootd_events_dropped_total") >= n)

        def delta(name):
            return srv.metric(m, name) - srv.metric(before, name)
        self.assertEqual(delta("bootd_recorder_restarts_total"), kills)
        self.assertEqual(delta("bootd_worker_restarts_total"), 0)
        # Every boot recorded or counted as dropped.  A kill loses at most
        # the batch and one read of the pipe not yet put in a batch
        # (bootd(8): 64 KiB; a record here is 48 bytes or more).
        self.assertEqual(delta("bootd_events_recorded_total") +
                         delta("bootd_events_dropped_total"), n)
        self.assertLessEqual(delta("bootd_events_dropped_total"),
                             kills * (batch + 65536 // 48))
        # Stored: every boot counted recorded, and at most those a kill
        # caught between a batch's commit and its count (bootd(8): such a
        # batch is stored and counted as dropped), never one more.
        stored = srv.events("SELECT count(*) FROM boot_event")[0][0]
        self.assertGreaterEqual(stored, srv.metric(
            m, "bootd_events_recorded_total"))
        self.assertLessEqual(stored, srv.metric(
            m, "bootd_events_recorded_total") + delta(
            "bootd_events_dropped_total"))
        print("recorder killed %d times under %d boots: %d recorded, %d "
              "dropped" % (kills, n, delta("bootd_events_recorded_total"),
                           delta("bootd_events_dropped_total")),
              file=sys.stderr)

    def test_nginx_reloaded_under_load(self):
        srv = harness.BootServer(config={"daemon": {"log_level": "warning"}})
        self.addCleanup(srv.close)
        setup_hosts(srv)
        n = 400
        marks = [100, 200, 300]
        load = Load(srv.http_port, [INSTALL_MAC, LOCAL_MAC, "52:54:00:52:"
                                    "00:01"], n, marks)
        load.start()
        for mark in marks:
            load.wait_mark(mark)
            srv.nginx.send_signal(1)        # SIGHUP: reload
        self.check(load)
        self.assertEqual(load.refused, 0)
        self.assertIsNone(srv.nginx.poll())
        # nginx keeps its connections to bootd for the boots
        # (fastcgi_keep_conn): a few for the whole load, each nginx
        # worker's, not one a boot.
        conns = srv.metric(srv.metrics(), "bootd_fastcgi_connections_total")
        self.assertGreater(conns, 0)
        self.assertLess(conns, n // 4)

    def test_bootd_workers_replaced_under_load(self):
        # Workers that exit close the FastCGI connections nginx keeps to
        # them: recycled after daemon.max_requests (every 5 requests
        # here, so hundreds of times), and replaced by three reloads.
        # nginx sends a boot that meets a kept connection closed under it
        # again on another: no boot fails or gets the fail-safe script,
        # with four clients at once.
        srv = harness.BootServer(workers=2, config={"daemon": {
            "log_level": "info", "max_requests": 5}})
        self.addCleanup(srv.close)
        setup_hosts(srv)
        n, marks = 300, [75, 150, 225]
        macs = [INSTALL_MAC, LOCAL_MAC, "52:54:00:52:00:01"]
        loads = [Load(srv.http_port, macs[i:] + macs[:i], n,
                      marks if i == 0 else ()) for i in range(3)]
        loads.append(Load(srv.http_port, macs, n))
        for load in loads:
            load.start()
        for mark in marks:
            loads[0].wait_mark(mark)
            srv.reload()
        for load in loads:
            self.check(load)
            self.assertEqual(load.refused, 0)
        self.assertEqual(srv.metric(srv.metrics(),
                                    "bootd_worker_restarts_total"), 0)
        recycled = srv.bootd_log().count("requests; recycling")
        self.assertGreater(recycled, len(loads) * n // 5 // 2)
        print("workers recycled %d times under %d boots, reloaded 3 "
              "times: none failed" % (recycled, len(loads) * n),
              file=sys.stderr)

    def test_nginx_restarted_under_load(self):
        srv = harness.BootServer(config={"daemon": {"log_level": "warning"}})
        self.addCleanup(srv.close)
        setup_hosts(srv)
        n = 300
        marks = [100, 200]
        load = Load(srv.http_port, [INSTALL_MAC, LOCAL_MAC], n, marks,
                    retries=400)
        load.start()
        for mark in marks:
            load.wait_mark(mark)
            srv.stop_nginx()
            srv.start_nginx()
        self.check(load)
        print("nginx restarted twice under %d boots: %d connections "
              "refused and retried" % (n, load.refused), file=sys.stderr)


class HeldSocketServer(harness.BootServer):
    """
    bootd started as systemd starts it from bootd.socket: the listening
    socket is made once, by this process, and passed to each bootd as fd 3
    (LISTEN_FDS=1, LISTEN_PID its pid), so that it outlives bootd.
    """

    def start_bootd(self):
        if getattr(self, "held", None) is None:
            if os.path.exists(self.socket):
                os.unlink(self.socket)
            self.held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.held.bind(self.socket)
            self.held.listen(128)
            os.chmod(self.socket, 0o660)    # SocketMode=0660
            if self.is_root:
                import grp
                os.chown(self.socket, 0,
                         grp.getgrnam(harness.NGINX_GROUP).gr_gid)
        fd = self.held.fileno()
        log = open(self.bootd_log_path, "ab")
        self.bootd = subprocess.Popen(
            ["/bin/sh", "-c", "export LISTEN_PID=$$ LISTEN_FDS=1; "
             "exec \"$0\" \"$@\" 3<&%d" % fd, harness.binary("bootd"), "-c",
             self.conf_path], pass_fds=(fd,), stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, env=harness.run_env(), cwd=self.tmp)
        log.close()

    def close(self, check=True):
        try:
            super().close(check)
        finally:
            if getattr(self, "held", None) is not None:
                self.held.close()


class SocketActivation(unittest.TestCase):
    def test_bootd_restarted_under_load(self):
        if not harness.have_binary("bootd"):
            self.skipTest("bootd is not built")
        srv = HeldSocketServer(config={"daemon": {"log_level": "info"}})
        self.addCleanup(srv.close)
        setup_hosts(srv)
        n, restarts = 400, 3
        # A hundred boots between two restarts: served by the new bootd,
        # so it runs, its signal handling set up, when it is stopped.
        marks = [100, 200, 300]
        load = Load(srv.http_port, [INSTALL_MAC, LOCAL_MAC], n, marks)
        load.start()
        masters = [srv.bootd.pid]
        for mark in marks:
            load.wait_mark(mark)
            self.assertEqual(srv.stop_bootd(), 0)
            srv.start_bootd()
            masters.append(srv.bootd.pid)
        load.join(600)
        self.assertEqual(len(load.results), n)
        bad = [(i, r) for i, r in enumerate(load.results)
               if r != load.want(i)]
        self.assertEqual(bad, [])
        self.assertEqual(load.refused, 0)
        self.assertEqual(len(set(masters)), restarts + 1)
        self.assertEqual(srv.bootd_log().count(
            "using the socket passed by systemd"), restarts + 1)
        # nginx never found the socket refusing or missing.
        self.assertNotRegex(srv.nginx_log() + harness.tail(os.path.join(
            srv.prefix, "error.log")), r"connect\(\) to unix:.* failed")


if __name__ == "__main__":
    unittest.main()
