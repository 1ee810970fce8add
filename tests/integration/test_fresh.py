"""
No stale answer: after every kind of inventory change, the next config
request for the same MAC gets the new script, from every worker.  Also
when the only change is time (an install token expiring between two
requests, with no write in between) and while another process holds a
read transaction open on the inventory.

Each request is made several times so that both workers answer; a worker
that kept an old answer, or an old snapshot of the database, fails.
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

HOST = ("fresh1.example.org", "52:54:00:00:20:01")
NIC2 = "52:54:00:00:20:02"
TRIES = 4           # requests per check: both workers answer
INSTALLER = r"(?m)^(kernel|initrd) \S*/images/debian-12/"


def default_entry(body):
    m = re.search(r"^choose .*--default (\S+)", body, re.M)
    if m:
        return m.group(1)
    m = re.search(r"^goto (\S+)$", body, re.M)      # timeout 0: no menu
    return m.group(1) if m else None


class Fresh(unittest.TestCase):
    def setUp(self):
        self.srv = harness.BootServer(workers=2)
        s = self.srv
        try:
            s.add_dist("debian-12", cmdline="env={{env}} role={{attr.role}} "
                       "bootd.token={{token}}")
            s.bootctl("host", "add", *HOST, "--dist", "debian-12")
            s.bootctl("attr", "set", HOST[0], "role", "web")
        except BaseException:
            s.close(check=False)
            raise

    def tearDown(self):
        self.srv.close()

    def scripts(self, mac):
        """The script for mac, asked TRIES times; all must be equal."""
        bodies = []
        for _ in range(TRIES):
            st, body = self.srv.config_script(mac)
            self.assertEqual(st, 200, body)
            bodies.append(body)
        self.assertEqual(len(set(bodies)), 1, bodies)
        return bodies[0]

    def test_every_change_is_seen(self):
        s = self.srv
        self.assertEqual(default_entry(self.scripts(HOST[1])), "local")

        s.bootctl("set-reinstall", HOST[0])
        body = self.scripts(HOST[1])
        self.assertEqual(default_entry(body), "install")
        self.assertIn("env=default role=web bootd.token=%s"
                      % s.token(HOST[0]), body)

        s.bootctl("attr", "set", HOST[0], "role", "db")
        self.assertIn("role=db", self.scripts(HOST[1]))

        s.bootctl("env", "add", "lab")
        s.bootctl("host", "set-env", HOST[0], "lab")
        self.assertIn("env=lab", self.scripts(HOST[1]))

        base = s.base_url + "/images/debian-12"
        s.bootctl("dist", "update", "debian-12", "--kernel",
                  base + "/vmlinuz-new")
        self.assertRegex(self.scripts(HOST[1]),
                         r"(?m)^kernel %s/vmlinuz-new " % re.escape(base))

        s.bootctl("attr", "set", HOST[0], "bootd.menu_timeout", "0")
        body = self.scripts(HOST[1])
        self.assertNotIn("choose ", body)
        self.assertEqual(default_entry(body), "install")
        s.bootctl("attr", "unset", HOST[0], "bootd.menu_timeout")
        self.assertIn("choose ", self.scripts(HOST[1]))

        old = s.token(HOST[0])
        s.bootctl("set-reinstall", HOST[0])     # a fresh token
        new = s.token(HOST[0])
        self.assertNotEqual(old, new)
        body = self.scripts(HOST[1])
        self.assertIn("bootd.token=" + new, body)
        self.assertNotIn(old, body)

        s.bootctl("set-local", HOST[0])
        body = self.scripts(HOST[1])
        self.assertEqual(default_entry(body), "local")
        self.assertNotRegex(body, INSTALLER)

        self.assertIn("unknown host", self.scripts(NIC2))
        s.bootctl("nic", "add", HOST[0], NIC2)
        self.assertIn(HOST[0], self.scripts(NIC2))
        s.bootctl("nic", "remove", NIC2)
        self.assertIn("unknown host", self.scripts(NIC2))

        s.bootctl("host", "remove", HOST[0])
        self.assertIn("unknown host", self.scripts(HOST[1]))

    def test_token_expires_between_requests(self):
        """The answer changes with time alone, with no write between."""
        s = self.srv
        s.bootctl("set-reinstall", HOST[0])
        expires = int(time.time()) + 3
        db = sqlite3.connect(s.db)
        with db:
            db.execute("UPDATE token SET expires = ? WHERE used_at IS NULL "
                       "AND revoked = 0", (expires,))
        db.close()
        self.assertEqual(default_entry(self.scripts(HOST[1])), "install")
        while time.time() < expires + 1:    # the token is now expired
            time.sleep(0.2)
        body = self.scripts(HOST[1])
        self.assertEqual(default_entry(body), "local")
        self.assertNotRegex(body, INSTALLER)

    def test_change_seen_while_a_reader_holds_a_snapshot(self):
        """A read transaction open elsewhere does not hide a change."""
        s = self.srv
        self.assertEqual(default_entry(self.scripts(HOST[1])), "local")
        reader = sqlite3.connect(s.db, isolation_level=None)
        try:
            reader.execute("BEGIN")
            self.assertEqual(reader.execute(
                "SELECT action FROM host WHERE fqdn = ?",
                (HOST[0],)).fetchone()[0], "local")
            s.bootctl("set-reinstall", HOST[0])
            self.assertEqual(default_entry(self.scripts(HOST[1])), "install")
            # The reader still sees its snapshot: it really held one.
            self.assertEqual(reader.execute(
                "SELECT action FROM host WHERE fqdn = ?",
                (HOST[0],)).fetchone()[0], "local")
            s.bootctl("set-local", HOST[0])
            self.assertEqual(default_entry(self.scripts(HOST[1])), "local")
            reader.execute("COMMIT")
        finally:
            reader.close()


if __name__ == "__main__":
    unittest.main()
