"""
bootd on PostgreSQL, through real nginx, with a throw-away primary and hot
standby (tests/pg.py), and every fault of doc/scale-out.md's table:

- reads come from the standby: its pg_stat_activity lists the workers'
  connections; a done written on the primary is read back from it;
  bootd -t and a reload (SIGHUP) take the same configuration;
- primary down: lookups go on from the standby (a host marked for
  reinstall boots its disk: an installer is served only as the primary
  has it), done answers 503 with Retry-After,
  health answers 200 "degraded"; the primary back, done works again;
- a standby that lags (replay paused) never serves the installer of a
  host whose done the primary has, and once a worker finds its replay
  standing still, that worker reads from the primary;
- standby down: every lookup is answered from the primary, none with the
  fail-safe script (a worker whose connection died connects again at
  once);
- every server down: the fail-safe local-boot script, health 503, done
  503; the servers back, bootd answers again without a restart;
- a server that takes every packet and never answers (stopped with
  SIGSTOP: the backends of bootd's connections, or the standby's
  postmaster and every process of it; a COMMIT waiting for a synchronous
  standby that does not exist): every boot is answered by bootd itself
  (the fail-safe script, or the script read on another server of the
  URI), never nginx's page for a bootd that did not answer, a done with
  bootd's 503; the processes continued, boots are served as before, and
  the COMMIT left waiting was cancelled;
- a bootctl stopped (SIGSTOP) in the middle of its change, holding the
  writers' lock: the server ends its session once it has been idle in
  its transaction for 30 s, and a done that waited meanwhile then
  succeeds; bootctl, continued, fails with one line, its change undone;
- failover (the primary stopped, the standby promoted with pg_ctl
  promote): done writes again, on the promoted server, without a restart
  of bootd; the write connection was in use on the old primary before, so
  its statements are prepared again on the new one.

bootd is configured as doc/scale-out.md says: "database" names the standby
first, then the primary, with target_session_attrs=prefer-standby;
"database_write" both with read-write.  Everything is polled a bounded
number of times, never timed.

Paced: with a "server" that takes every connection and closes it at once,
a worker tries each connection at most once a second, not once per
request: the connections counted stay under that bound for however long
the requests took.
"""

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import pg  # noqa: E402
from harness import eventually  # noqa: E402


LOCAL = ("web1.example.org", "52:54:00:00:50:01")
INST1 = ("inst1.example.org", "52:54:00:00:50:02")
INST2 = ("inst2.example.org", "52:54:00:00:50:03")
TOKEN1 = "a1" * 16
TOKEN2 = "b2" * 16


def default_entry(body):
    m = re.search(r"^choose .*--default (\S+)", body, re.M)
    return m.group(1) if m else None


def inventory_sql(now):
    """A distribution, a host booting locally, two marked for reinstall."""
    sql = ["INSERT INTO dist (name, kernel, cmdline) VALUES ('debian-12', "
           "'http://127.0.0.1/images/debian-12/vmlinuz', "
           "'auto=true hostname={{fqdn}} bootd.token={{token}}');",
           "INSERT INTO dist_initrd (dist, pos, url) VALUES ('debian-12', 0, "
           "'http://127.0.0.1/images/debian-12/initrd.img');"]
    for (fqdn, mac), token in ((LOCAL, None), (INST1, TOKEN1),
                               (INST2, TOKEN2)):
        action = "install" if token else "local"
        sql.append("INSERT INTO host (fqdn, action, dist) VALUES "
                   "('%s', '%s', 'debian-12');" % (fqdn, action))
        sql.append("INSERT INTO nic (mac, host) SELECT '%s', id FROM host "
                   "WHERE fqdn = '%s';" % (mac, fqdn))
        if token:
            sql.append("INSERT INTO token (token, host, created, expires) "
                       "SELECT '%s', id, %d, %d FROM host WHERE fqdn = '%s';"
                       % (token, now, now + 3600, fqdn))
    return "\n".join(sql)


class PgFaults(unittest.TestCase):
    def setUp(self):
        self.c = pg.Cluster()
        self.addCleanup(self.c.close)
        p = self.c.primary
        p.apply_schema()
        p.psql("BEGIN;\n" + inventory_sql(int(time.time())) + "\nCOMMIT;\n")
        self.sb = self.c.add_standby()
        self.c.wait_replayed(self.sb)
        self.read_uri = self.c.uri(self.sb, p,
                                   target_session_attrs="prefer-standby")
        self.write_uri = self.c.uri(self.sb, p,
                                    target_session_attrs="read-write")
        self.srv = harness.BootServer(workers=2, config={
            "database": self.read_uri,
            "database_write": self.write_uri,
        })
        self.addCleanup(self.srv.close)

    # -- helpers ------------------------------------------------------

    def config(self, host):
        status, body = self.srv.config_script(host[1])
        self.assertEqual(status, 200, body)
        return body

    def done(self, token):
        return self.srv.post("/ipxe/v1/done", body=("token=" +
                                                     token).encode())

    def health(self):
        status, _, body = self.srv.get("/ipxe/v1/health")
        return status, body.decode()

    def bootd_backends(self, server):
        """Client connections of bootd on server (application_name)."""
        (n,), = server.query("SELECT count(*) FROM pg_stat_activity WHERE "
                             "application_name = 'bootd' AND "
                             "backend_type = 'client backend'")
        return int(n)

    def assert_failsafe(self, body):
        self.assertIn("booting from the local disk", body)
        self.assertIsNone(default_entry(body), body)
        self.assertNotIn("vmlinuz", body)

    def assert_same_bootd(self, pid):
        self.assertIsNone(self.srv.bootd.poll(), self.srv.bootd_log())
        self.assertEqual(self.srv.master_pid, pid)

    # -- the faults ---------------------------------------------------

    def test_reads_from_standby_writes_to_primary(self):
        p, sb = self.c.primary, self.sb
        # Each worker opens its read connection when it starts: on the
        # standby, the first server of "database".
        n = eventually(lambda: self.bootd_backends(sb), lambda n: n >= 2)
        self.assertGreaterEqual(n, 2)
        self.assertEqual(default_entry(self.config(LOCAL)), "local")
        body = self.config(INST1)
        self.assertEqual(default_entry(body), "install")
        self.assertIn("bootd.token=" + TOKEN1, body)
        status, body = self.health()
        self.assertEqual((status, body), (200, "ok schema=4\n"))
        m = self.srv.metrics()
        self.assertEqual(self.srv.metric(m, "bootd_inventory_hosts"), 3)
        self.assertEqual(self.srv.metric(m, "bootd_inventory_installing"), 2)
        # The recorder writes the two boots on the primary; the workers
        # count them where they read, on the standby, once replayed.
        m = eventually(self.srv.metrics, lambda m: self.srv.metric(
            m, "bootd_events_stored") >= 2)
        self.assertGreaterEqual(self.srv.metric(m, "bootd_events_stored"), 2)
        (n,), = p.query("SELECT count(*) FROM events.boot_event")
        self.assertGreaterEqual(int(n), 2)
        # A done is written on the primary (the standby would refuse
        # it), and the standby's replay reaches the lookups.
        status, _, body = self.done(TOKEN1)
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(p.query("SELECT action FROM host WHERE fqdn = "
                                 "'%s'" % INST1[0]), [("local",)])
        self.c.wait_replayed(sb)
        self.assertEqual(default_entry(self.config(INST1)), "local")
        # bootd -t connects to both as the workers do.
        r = subprocess.run([harness.binary("bootd"), "-t", "-c",
                            self.srv.conf_path], capture_output=True,
                           text=True, env=harness.run_env())
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "bootd: configuration ok\n", ""))
        # A reload (SIGHUP) takes the URIs as a start does: new workers,
        # connected to the standby again.
        old = self.srv.worker_pids()
        self.srv.reload()
        self.srv.wait_workers(2, exclude=old)
        self.assertEqual(default_entry(self.config(INST2)), "install")
        self.assertNotIn("reload failed", self.srv.bootd_log())
        n = eventually(lambda: self.bootd_backends(sb), lambda n: n >= 2)
        self.assertGreaterEqual(n, 2)

    def test_primary_down(self):
        p = self.c.primary
        pid = self.srv.master_pid
        p.stop(mode="immediate")
        # Lookups go on from the standby; an installer is served only as
        # the primary has it, so with none a host marked for reinstall
        # boots its disk (the fail-safe script) meanwhile.
        for _ in range(6):
            self.assert_failsafe(self.config(INST1))
            self.assertEqual(default_entry(self.config(LOCAL)), "local")
        # done cannot be written: 503 and Retry-After, token kept.
        status, headers, body = self.done(TOKEN2)
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("retry-after"), "10")
        # health: reads work, writes do not: degraded, not down.
        status, body = self.health()
        self.assertEqual(status, 200, body)
        self.assertTrue(body.startswith("degraded schema=4: no server takes "
                                        "writes"), body)
        # bootd -t says why, and still passes: bootd serves like this.
        r = subprocess.run([harness.binary("bootd"), "-t", "-c",
                            self.srv.conf_path], capture_output=True,
                           text=True, env=harness.run_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: database_write", r.stderr)
        self.assertNotIn("\n", r.stderr.rstrip("\n"))
        # The primary back: the installer's retry succeeds.
        p.start()
        got = eventually(lambda: self.done(TOKEN2)[0], lambda s: s != 503)
        self.assertEqual(got, 200, self.srv.bootd_log()[-3000:])
        # Each worker tries its write connection again at most once a
        # second: the other one may still say degraded for that long.
        got = eventually(lambda: self.health(),
                         lambda r: r == (200, "ok schema=4\n"))
        self.assertEqual(got, (200, "ok schema=4\n"))
        self.assert_same_bootd(pid)

    def test_lagging_standby_never_serves_a_done_installer(self):
        p, sb = self.c.primary, self.sb
        self.assertEqual(default_entry(self.config(INST1)), "install")
        # The standby stops replaying: it still says "install" when the
        # primary has the install done.
        sb.psql("SELECT pg_wal_replay_pause()")
        status, _, body = self.done(TOKEN1)
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(sb.query("SELECT action FROM host WHERE fqdn = "
                                  "'%s'" % INST1[0]), [("install",)])
        # The lookup reads "install" on the standby and asks the
        # primary: the machine boots its disk, not its installer.
        for _ in range(4):
            body = self.config(INST1)
            self.assertEqual(default_entry(body), "local", body)
            self.assertNotIn("vmlinuz", body)
        # A host still marked is served its installer, as the primary
        # has it, and a host booting locally is read on the standby.
        body = self.config(INST2)
        self.assertEqual(default_entry(body), "install", body)
        self.assertIn("bootd.token=" + TOKEN2, body)
        self.assertEqual(default_entry(self.config(LOCAL)), "local")
        sb.psql("SELECT pg_wal_replay_resume()")

    def test_lagging_standby_reads_move_to_primary(self):
        p, sb = self.c.primary, self.sb
        new = ("new1.example.org", "52:54:00:00:50:09")
        self.assertNotIn(new[0], self.config(new))
        # The standby stops replaying; a host is added on the primary:
        # the standby receives it, and does not replay it.
        sb.psql("SELECT pg_wal_replay_pause()")
        p.psql("INSERT INTO host (fqdn) VALUES ('%s'); INSERT INTO nic "
               "(mac, host) SELECT '%s', id FROM host WHERE fqdn = '%s'"
               % (new[0], new[1], new[0]))
        self.assertEqual(sb.query("SELECT count(*) FROM host WHERE fqdn "
                                  "= '%s'" % new[0]), [("0",)])
        # A worker that finds the replay standing still between two
        # checks reads from the primary: the host is known there.
        body = eventually(lambda: self.config(new),
                          lambda b: new[0] in b, tries=2400)
        self.assertIn(new[0], body)
        self.assertIn("the standby's replay stands still",
                      self.srv.bootd_log())
        sb.psql("SELECT pg_wal_replay_resume()")

    def test_standby_down(self):
        pid = self.srv.master_pid
        eventually(lambda: self.bootd_backends(self.sb), lambda n: n >= 2)
        self.sb.stop()
        # Every lookup answered from the primary, none fail-safe: a
        # worker whose connection died connects again within the request.
        for _ in range(8):
            body = self.config(INST1)
            self.assertEqual(default_entry(body), "install", body)
        self.assertGreaterEqual(self.bootd_backends(self.c.primary), 2)
        status, body = self.health()
        self.assertEqual((status, body), (200, "ok schema=4\n"))
        status, _, _ = self.done(TOKEN1)
        self.assertEqual(status, 200)
        self.assertEqual(default_entry(self.config(INST1)), "local")
        self.assert_same_bootd(pid)

    def test_every_server_down(self):
        p, sb = self.c.primary, self.sb
        pid = self.srv.master_pid
        before = self.srv.metric(self.srv.metrics(), "bootd_scripts_total",
                                 action="failsafe")
        sb.stop()
        p.stop()
        # A machine marked for reinstall boots its disk, as with a
        # missing SQLite file.
        for _ in range(4):
            self.assert_failsafe(self.config(INST1))
        self.assertGreaterEqual(
            self.srv.metric(self.srv.metrics(), "bootd_scripts_total",
                            action="failsafe"), before + 4)
        status, body = self.health()
        self.assertEqual(status, 503, body)
        status, headers, _ = self.done(TOKEN1)
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("retry-after"), "10")
        r = subprocess.run([harness.binary("bootd"), "-t", "-c",
                            self.srv.conf_path], capture_output=True,
                           text=True, env=harness.run_env())
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("bootd: inv_open("), r.stderr)
        # The servers back: answers again, no restart.
        p.start()
        sb.start()
        body = eventually(lambda: self.srv.config_script(INST1[1])[1],
                          lambda b: default_entry(b) == "install")
        self.assertEqual(default_entry(body), "install", body)
        got = eventually(lambda: self.health(),
                         lambda r: r == (200, "ok schema=4\n"))
        self.assertEqual(got, (200, "ok schema=4\n"))
        self.assert_same_bootd(pid)

    # -- servers that take every packet and never answer --------------

    def sigstop(self, pids):
        """SIGSTOP pids (this test's servers'), SIGCONT them at cleanup."""
        self.addCleanup(self.sigcont, pids)
        for p in pids:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass        # a child that has just exited

    def sigcont(self, pids):
        for p in pids:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass

    @staticmethod
    def processes_of(server):
        """The postmaster of server (by its data directory) and children."""
        with open(os.path.join(server.data, "postmaster.pid")) as f:
            pm = int(f.readline())
        pids = [pm]
        for d in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except (OSError, ValueError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pm:
                pids.append(int(d))
        return pids

    def answered_by_bootd(self, host):
        """A boot of host, answered by bootd: not nginx's page for none."""
        status, body = self.srv.config_script(host[1], timeout=60)
        self.assertEqual(status, 200, body)
        self.assertNotIn("boot server unavailable", body)
        self.assertTrue(body.startswith("#!ipxe\n"), body)
        return body

    def test_backends_stopped(self):
        sb = self.sb
        pid = self.srv.master_pid
        eventually(lambda: self.bootd_backends(sb), lambda n: n >= 2)
        backends = [int(p) for p, in sb.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = "
            "'bootd' AND backend_type = 'client backend'")]
        self.sigstop(backends)
        # Each worker gives its connection up and boots fail safe, or
        # connects again (a new backend) and reads: never no answer.
        for _ in range(6):
            self.answered_by_bootd(LOCAL)
            self.answered_by_bootd(INST1)
        self.assertIn("no answer from the server", self.srv.bootd_log())
        self.sigcont(backends)
        body = eventually(lambda: self.config(INST1),
                          lambda b: default_entry(b) == "install")
        self.assertEqual(default_entry(body), "install", body)
        self.assertEqual(default_entry(self.config(LOCAL)), "local")
        self.assert_same_bootd(pid)

    def test_standby_stopped(self):
        pid = self.srv.master_pid
        eventually(lambda: self.bootd_backends(self.sb), lambda n: n >= 2)
        stopped = self.processes_of(self.sb)
        self.sigstop(stopped)
        # libpq tries the next server of the URI once a worker has given
        # its connection up: the installer, as the primary has it.
        for _ in range(4):
            self.answered_by_bootd(LOCAL)
        body = eventually(lambda: self.answered_by_bootd(INST1),
                          lambda b: default_entry(b) == "install")
        self.assertEqual(default_entry(body), "install", body)
        self.assertGreaterEqual(self.bootd_backends(self.c.primary), 1)
        self.sigcont(stopped)
        for _ in range(4):
            self.assertEqual(default_entry(self.config(LOCAL)), "local")
        self.assert_same_bootd(pid)

    def test_commit_waits_for_a_missing_standby(self):
        p = self.c.primary
        p.psql("ALTER SYSTEM SET synchronous_standby_names = 'gone'; "
               "SELECT pg_reload_conf()")
        self.addCleanup(p.psql, "ALTER SYSTEM RESET synchronous_standby_names"
                        "; SELECT pg_reload_conf()")
        # A new session has it once the postmaster has reloaded, and
        # passed the reload on to bootd's sessions, before done asks.
        self.assertEqual(eventually(lambda: p.query(
            "SHOW synchronous_standby_names"), lambda r: r == [("gone",)]),
            [("gone",)])
        # The COMMIT of a done waits for a standby that never comes:
        # bootd gives up, 503, and cancels it (its locks go with it, the
        # writers' among them).
        status, headers, body = self.done(TOKEN1)
        self.assertEqual((status, body), (503, b"unavailable\n"))
        self.assertEqual(headers.get("retry-after"), "10")
        waiting = lambda: p.query("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE wait_event = 'SyncRep'")
        self.assertEqual(eventually(waiting, lambda r: r == [("0",)]),
                         [("0",)])
        p.psql("ALTER SYSTEM RESET synchronous_standby_names; "
               "SELECT pg_reload_conf()")
        got = eventually(lambda: self.done(TOKEN2)[0], lambda s: s != 503)
        self.assertEqual(got, 200, self.srv.bootd_log()[-3000:])

    def test_stopped_bootctl_lets_go(self):
        p = self.c.primary
        # bootctl's UPDATE waits, holding the writers' lock ("boot", 2),
        # for an advisory lock this test holds (a trigger, without
        # bootctl's lock_timeout); stopped then, bootctl leaves its
        # session idle in the transaction once the lock is let go.
        p.psql("CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql "
               "SET lock_timeout = 0 AS $$BEGIN PERFORM "
               "pg_advisory_xact_lock(42); RETURN NEW; END$$; "
               "CREATE TRIGGER hold BEFORE UPDATE ON host FOR EACH ROW "
               "EXECUTE FUNCTION hold()")
        holder = subprocess.Popen(
            [os.path.join(pg.PG_BIN, "psql"), "-X", "-q", "-d", p.uri()],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.stdin.close)
        holder.stdin.write("BEGIN; SELECT pg_advisory_xact_lock(42);\n")
        holder.stdin.flush()
        locks = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                 "AND objid = %d AND granted = %s")
        eventually(lambda: p.query(locks % (42, "true")),
                   lambda r: r == [("1",)])
        bootctl = subprocess.Popen(
            [harness.binary("bootctl"), "-c", self.srv.conf_path, "--db",
             self.write_uri, "set-reinstall", LOCAL[0]],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=harness.run_env())
        self.addCleanup(bootctl.kill)
        got = eventually(lambda: (p.query(locks % (2, "true")),
                                  p.query(locks % (42, "false"))),
                         lambda r: r == ([("1",)], [("1",)]))
        self.assertEqual(got, ([("1",)], [("1",)]))
        self.sigstop([bootctl.pid])
        holder.stdin.write("COMMIT;\n")
        holder.stdin.flush()
        # The change made, bootctl stopped before its COMMIT: idle in
        # its transaction, the writers' lock held.
        idle = ("SELECT count(*) FROM pg_stat_activity WHERE state = "
                "'idle in transaction'")
        self.assertEqual(eventually(lambda: p.query(idle),
                                    lambda r: r == [("1",)]), [("1",)])
        # Each done waits 5 s on the lock, then 503, until the server
        # ends the idle session: then one succeeds.
        got = eventually(lambda: self.done(TOKEN1)[0], lambda s: s == 200,
                         tries=40)
        self.assertEqual(got, 200, self.srv.bootd_log()[-3000:])
        self.assertIn("idle-in-transaction timeout", p.log_text())
        self.sigcont([bootctl.pid])
        out, err = bootctl.communicate(timeout=60)
        self.assertNotEqual(bootctl.returncode, 0, out)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(p.query("SELECT action FROM host WHERE fqdn = "
                                 "'%s'" % LOCAL[0]), [("local",)])

    def test_failover(self):
        p, sb = self.c.primary, self.sb
        pid = self.srv.master_pid
        # The write connections are in use on the primary...
        status, _, _ = self.done(TOKEN2)
        self.assertEqual(status, 200)
        # ...when it goes away and the standby is promoted.
        p.stop()
        sb.promote()
        got = eventually(lambda: self.done(TOKEN1), lambda r: r[0] != 503)
        self.assertEqual((got[0], got[2]), (200, b"ok\n"),
                         self.srv.bootd_log()[-3000:])
        self.assertEqual(sb.query("SELECT action FROM host WHERE fqdn = "
                                  "'%s'" % INST1[0]), [("local",)])
        self.assertEqual(default_entry(self.config(INST1)), "local")
        # The other worker's write connection may have failed to open
        # less than a second ago: it tries again once that has passed.
        got = eventually(lambda: self.health(),
                         lambda r: r == (200, "ok schema=4\n"))
        self.assertEqual(got, (200, "ok schema=4\n"))
        self.assert_same_bootd(pid)


class Paced(unittest.TestCase):
    """Connection attempts to a server that fails are paced."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bootd-pg-fake-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.chmod(self.dir, 0o755)
        port = pg.free_port()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = os.path.join(self.dir, ".s.PGSQL.%d" % port)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.listen(64)
        self.addCleanup(self.sock.close)
        self.accepted = 0
        threading.Thread(target=self.serve, daemon=True).start()
        uri = "postgresql:///bootd?host=%s&port=%d&user=bootd" % (self.dir,
                                                                  port)
        self.srv = harness.BootServer(workers=2, config={"database": uri})
        self.addCleanup(self.srv.close)
        self.srv.stop_bootd()

    def serve(self):
        # Take each connection and close it: libpq sees the server gone.
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.close()

    def test_one_attempt_a_second(self):
        start = self.accepted
        t0 = time.monotonic()
        self.srv.start_bootd()
        self.srv.wait_ready()
        for _ in range(40):
            status, body = self.srv.config_script(INST1[1])
            self.assertEqual(status, 200)
            self.assertIn("booting from the local disk", body)
        elapsed = time.monotonic() - t0
        attempts = self.accepted - start
        # Per worker, its read connection at most once a second: 2
        # workers x (seconds + 1); the recorder's for the boot events
        # after 0.1 s, then doubling up to every 2 s: at most 5 + the
        # seconds.
        s = math.ceil(elapsed)
        bound = 2 * (s + 1) + 5 + s
        self.assertGreaterEqual(attempts, 2)    # each worker at its start
        self.assertLessEqual(attempts, bound, "%d connections in %.1f s" % (
            attempts, elapsed))


if __name__ == "__main__":
    pg.skip_unless_available()
    unittest.main(verbosity=2)
