"""
The inventory going wrong under a running daemon, through nginx: deleted,
unreadable, locked by another process, replaced by garbage.  A machine
marked for reinstall must then get a runnable local-boot script (never an
installer), health must say 503 when lookups cannot be made, boot events
that cannot be recorded are counted as dropped, and everything recovers
when the database comes back.

Unreadable: bootd's workers never run as root (the harness, as root, has
bootd drop to nobody:nogroup, as production drops to bootd), so chmod 000
on the file and its directory is a real permission failure for them even
when the test itself runs as root.  Handles already open keep working (that
is how files behave), so the test restarts the workers with SIGHUP after
the change: new workers must open the file and fail.
"""

import os
import re
import sqlite3
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually  # noqa: E402

HOST = ("inst1.example.org", "52:54:00:00:40:01")
LOCAL = ("loc1.example.org", "52:54:00:00:40:02")


def default_entry(body):
    m = re.search(r"^choose .*--default (\S+)", body, re.M)
    return m.group(1) if m else None


class DbFaults(unittest.TestCase):
    def setUp(self):
        self.srv = harness.BootServer(workers=2)
        s = self.srv
        try:
            s.add_dist("debian-12")
            s.bootctl("host", "add", *HOST, "--dist", "debian-12")
            s.bootctl("host", "add", *LOCAL, "--dist", "debian-12")
            s.bootctl("set-reinstall", HOST[0], "--dist", "debian-12")
            self.saved = os.path.join(s.tmp, "saved.db")
            s.copy_db(self.saved)
            self.assert_healthy()
        except BaseException:
            s.close(check=False)
            raise

    def tearDown(self):
        self.srv.close()

    # -- checks -----------------------------------------------------------

    def assert_healthy(self):
        s = self.srv
        st = eventually(lambda: s.get("/ipxe/v1/health")[0],
                        lambda x: x == 200)
        self.assertEqual(st, 200)
        st, body = s.config_script(HOST[1])
        self.assertEqual(st, 200)
        self.assertEqual(default_entry(body), "install")
        self.assertRegex(body, r"(?m)^kernel ")

    def assert_never_installs(self, n=6, macs=(HOST[1], LOCAL[1],
                                              "52:54:00:00:40:99")):
        """Requests for the reinstall host get local boot, nothing else."""
        for _ in range(n):
            for mac in macs:
                st, body = self.srv.config_script(mac)
                self.assertIn(st, (200, 503), body)
                self.assertTrue(body.startswith("#!ipxe\n"), body)
                self.assertNotRegex(body, r"(?m)^\s*(kernel|initrd|chain "
                                          r"\S*vmlinuz)")
                self.assertIn("sanboot --no-describe --drive 0x80", body)

    def assert_unhealthy(self, n=6):
        st, hdrs, body = self.srv.get("/ipxe/v1/health")
        self.assertEqual(st, 503, body)
        self.assertTrue(body.startswith(b"unavailable"), body)
        # A short generic reason; paths and SQLite's words stay in the log.
        self.assertIn(body, (b"unavailable: inventory unavailable\n",
                             b"unavailable: inventory unreadable\n"))
        self.assertIn(hdrs.get("x-bootd-error"), ("inventory unavailable",
                                                  "inventory unreadable"))
        self.assertIn(self.srv.db, self.srv.bootd_log())
        # Every worker says so, not just the one asked first.
        for _ in range(n):
            self.assertEqual(self.srv.get("/ipxe/v1/health")[0], 503)

    def metric(self, name):
        return self.srv.metric(self.srv.metrics(), name)

    def restore(self):
        s = self.srv
        os.rename(self.saved, s.db + ".new")
        os.rename(s.db + ".new", s.db)

    def restart_workers(self):
        old = self.srv.wait_workers(2)
        self.srv.reload()
        self.srv.wait_workers(2, exclude=old)

    def remove_db(self):
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(self.srv.db + suffix)
            except FileNotFoundError:
                pass

    # -- faults -------------------------------------------------------------

    def test_deleted(self):
        errors = self.metric("bootd_errors_total")
        self.remove_db()
        self.assert_never_installs()
        self.assert_unhealthy()
        self.assertGreater(self.metric("bootd_errors_total"), errors)
        self.assertFalse(os.path.exists(self.srv.db),
                         "bootd must not create a missing inventory")
        self.restore()
        self.assert_healthy()

    def test_unreadable(self):
        s = self.srv
        dbdir = os.path.dirname(s.db)
        self.assertNotEqual(s.config.get("daemon", {}).get("user"), "root")
        mode = stat.S_IMODE(os.stat(dbdir).st_mode)
        os.chmod(s.db, 0)
        os.chmod(dbdir, 0)
        try:
            self.restart_workers()
            self.assert_never_installs()
            self.assert_unhealthy()
        finally:
            os.chmod(dbdir, mode)
            os.chmod(s.db, 0o644)
        self.assert_healthy()

    def test_locked_by_writer(self):
        """
        Another process holds a write transaction open on the inventory.
        WAL lets lookups go on (answers stay right); boot events go to the
        events database, so they are still recorded; install done cannot
        complete (503, the token stays usable).
        """
        s = self.srv
        token = s.token(HOST[0])
        # The events file exists once a worker recorded a boot.
        s.config_script("52:54:00:00:40:76")
        eventually(lambda: s.bootctl("discovered", "list").stdout,
                   lambda o: "52:54:00:00:40:76" in o)
        dropped = self.metric("bootd_events_dropped_total")
        lock = sqlite3.connect(s.db, timeout=10, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            lock.execute("UPDATE host SET fqdn = fqdn")  # hold the writer
        except sqlite3.OperationalError:
            lock.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(2):
                st, body = s.config_script(HOST[1])
                self.assertEqual(st, 200)
                self.assertEqual(default_entry(body), "install")
            st, body = s.config_script("52:54:00:00:40:77")
            self.assertEqual(st, 200)
            self.assertEqual(default_entry(body), "local")
            st, _, _ = s.get("/ipxe/v1/done?token=" + token)
            self.assertEqual(st, 503)
            # Recorded while the inventory is locked.
            out = eventually(lambda: s.bootctl("discovered", "list").stdout,
                             lambda o: "52:54:00:00:40:77" in o)
            self.assertIn("52:54:00:00:40:77", out)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.assertEqual(self.metric("bootd_events_dropped_total"), dropped)
        st, _, body = s.get("/ipxe/v1/done?token=" + token)
        self.assertEqual((st, body), (200, b"ok\n"))
        self.assertEqual(s.host_field(HOST[0], "action"), "local")

    def test_events_locked_by_writer(self):
        """
        Another process holds a write transaction open on the events
        database: boot events are dropped and counted, never delaying the
        answer; the inventory is untouched, so install done completes.
        """
        s = self.srv
        token = s.token(HOST[0])
        s.config_script("52:54:00:00:40:75")
        eventually(lambda: s.bootctl("discovered", "list").stdout,
                   lambda o: "52:54:00:00:40:75" in o)
        dropped = self.metric("bootd_events_dropped_total")
        lock = sqlite3.connect(s.events_db, timeout=10,
                               isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            for _ in range(2):
                st, body = s.config_script(HOST[1])
                self.assertEqual(st, 200)
                self.assertEqual(default_entry(body), "install")
            st, body = s.config_script("52:54:00:00:40:77")
            self.assertEqual(st, 200)
            self.assertEqual(default_entry(body), "local")
            got = eventually(
                lambda: self.metric("bootd_events_dropped_total"),
                lambda v: v >= dropped + 3)
            self.assertGreaterEqual(got, dropped + 3)
            st, _, body = s.get("/ipxe/v1/done?token=" + token)
            self.assertEqual((st, body), (200, b"ok\n"))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        # The unknown MAC's boot was dropped, not recorded late.
        self.assertNotIn("52:54:00:00:40:77",
                         s.bootctl("discovered", "list").stdout)
        # Released: events are recorded again.
        s.config_script("52:54:00:00:40:77")
        out = eventually(lambda: s.bootctl("discovered", "list").stdout,
                         lambda o: "52:54:00:00:40:77" in o)
        self.assertIn("52:54:00:00:40:77", out)
        self.assertEqual(s.host_field(HOST[0], "action"), "local")

    def test_locked_exclusively(self):
        """
        Another process holds an exclusive lock (locking_mode=EXCLUSIVE:
        no reader gets in) when bootd starts: lookups cannot be made, so
        the fail-safe answer and 503 health; recovery when it lets go.
        """
        s = self.srv
        self.assertEqual(s.stop_bootd(), 0)
        lock = sqlite3.connect(s.db, timeout=10, isolation_level=None)
        try:
            lock.execute("PRAGMA locking_mode = EXCLUSIVE")
            lock.execute("BEGIN EXCLUSIVE")
            lock.execute("UPDATE host SET fqdn = fqdn")
            s.start_bootd()
            s.wait_ready()
            # Each answer waits out SQLite's busy timeout: few requests.
            self.assert_never_installs(n=1, macs=(HOST[1],))
            self.assert_unhealthy(n=0)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.assert_healthy()

    def test_replaced_by_garbage(self):
        s = self.srv
        garbage = os.path.join(os.path.dirname(s.db), "garbage")
        with open(garbage, "wb") as f:
            f.write(b"this is not an SQLite database\n" * 4096)
        if s.is_root:
            st = os.stat(s.db)
            os.chown(garbage, st.st_uid, st.st_gid)
        os.rename(garbage, s.db)
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(s.db + suffix)
            except FileNotFoundError:
                pass
        self.assert_never_installs()
        self.assert_unhealthy()
        self.restore()
        self.assert_healthy()

    def test_overwritten_in_place(self):
        """The same file (same inode) overwritten with garbage."""
        s = self.srv
        # Every page in the file first: the -wal files are kept (bootd(8)),
        # and pages still in the WAL (bootd's first start drops the tables
        # an upgrade set aside) would be written back over the garbage by
        # the last connection to close.
        con = sqlite3.connect(s.db)
        try:
            self.assertEqual(con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                             .fetchone()[0], 0)
        finally:
            con.close()
        with open(s.db, "r+b") as f:
            f.write(os.urandom(8192))
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(s.db + suffix)
            except FileNotFoundError:
                pass
        self.restart_workers()
        self.assert_never_installs()
        self.assert_unhealthy()
        self.restore()
        self.assert_healthy()


class NoInventory(unittest.TestCase):
    def test_starts_without_inventory_and_picks_it_up(self):
        """
        bootd starts with no database file at all (before `bootctl init`):
        it serves local boot with 503 health, creates nothing, and answers
        from the inventory as soon as it exists.
        """
        tmp = harness.tempfile.mkdtemp(prefix="bootd-nodb-")
        os.chmod(tmp, 0o755)          # bootd's workers run as nobody
        db = os.path.join(tmp, "db", "bootd.db")
        try:
            with harness.BootServer(db=db) as s:
                self.assertFalse(os.path.exists(db))
                st, body = s.config_script(HOST[1])
                self.assertEqual(st, 200)
                self.assertNotRegex(body, r"(?m)^\s*(kernel|initrd)")
                self.assertIn("sanboot --no-describe --drive 0x80", body)
                self.assertEqual(s.get("/ipxe/v1/health")[0], 503)
                self.assertFalse(os.path.exists(db))
                s.bootctl("init")
                s.add_dist("debian-12")
                s.bootctl("host", "add", *HOST, "--dist", "debian-12")
                s.bootctl("set-reinstall", HOST[0], "--dist", "debian-12")
                st = eventually(lambda: s.get("/ipxe/v1/health")[0],
                                lambda x: x == 200)
                self.assertEqual(st, 200)
                st, body = s.config_script(HOST[1])
                self.assertEqual(default_entry(body), "install")
        finally:
            harness.shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
