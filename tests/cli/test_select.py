#!/usr/bin/env python3
"""test_select.py - bootctl at fleet scale: selectors, confirmation,
--dry-run, the write lock, --json, did-you-mean, bash completion

Runs the built tools/bootctl on temporary inventories (SQLite files, or
PostgreSQL databases with BOOTD_TEST_ENGINE=postgresql), as
test_bootctl.py does (its BootctlCase: configuration, dumps, error-line
checks), with a small fleet: every refused command leaves a byte-identical
database dump; JSON output is parsed, never matched as text.

Environment: BOOTD_BINARY_DIR (build tree), BOOTD_SOURCE_DIR.
"""

import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_bootctl import (BootctlCase, BOOTCTL, SRC, CMDLINE,  # noqa: E402
                          NOBODY, as_user)
from harness import sqlite_only  # noqa: E402

ROCKY = "rocky-9"
LAB = ["web%d.lab.example.org" % i for i in range(1, 6)]
STAGE = ["db%d.stage.example.org" % i for i in range(1, 3)]
OTHER = "mail.example.org"
ALL = sorted(LAB + STAGE + [OTHER])


def mac(i):
    return "52:54:00:aa:00:%02x" % i


class FleetCase(BootctlCase):
    """Five hosts in lab (group nogroup), two in stage (group staff), one
    in default (admins only); web1-3 have rack=r1, web4-5 rack=r2;
    web1 and db1 are marked for install."""

    def setUp(self):
        super().setUp()
        os.chmod(self.dir, 0o750)
        self.ok("init")
        self.ok("env", "add", "lab", "--group", "nogroup")
        self.ok("env", "add", "stage", "--group", "staff")
        for d in ("debian-12", ROCKY):
            self.ok("dist", "add", d,
                    "--kernel", "{{base_url}}/images/%s/vmlinuz" % d,
                    "--initrd", "{{base_url}}/images/%s/initrd.img" % d,
                    "--cmdline", CMDLINE)
        n = 0
        for fqdn in LAB:
            n += 1
            self.ok("host", "add", fqdn, mac(n), "--env", "lab",
                    "--dist", "debian-12")
        for fqdn in STAGE:
            n += 1
            self.ok("host", "add", fqdn, mac(n), "--env", "stage",
                    "--dist", ROCKY)
        n += 1
        self.ok("host", "add", OTHER, mac(n))
        for fqdn in LAB[:3]:
            self.ok("attr", "set", fqdn, "rack", "r1")
        for fqdn in LAB[3:]:
            self.ok("attr", "set", fqdn, "rack", "r2")
        self.ok("set-reinstall", LAB[0], STAGE[0])

    def run_ctl(self, *args, input=None, **kw):
        """As BootctlCase.run_ctl, with standard input from input (bytes),
        else /dev/null: never the terminal the tests run on."""
        cmd = [BOOTCTL, "-c", self.cfg] + list(args)
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        e.update(kw.get("env") or {})
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=e,
                           input=input,
                           stdin=None if input is not None
                           else subprocess.DEVNULL,
                           preexec_fn=kw.get("preexec"), timeout=60)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def selected(self, *selectors, **kw):
        """The FQDNs status --json gives for selectors, in its order."""
        out = self.ok("status", "--json", *selectors, **kw)
        return [h["fqdn"] for h in json.loads(out)["hosts"]]

    def action(self, fqdn):
        return self.sql("SELECT action FROM host WHERE fqdn = ?",
                        (fqdn,))[0][0]


class TestSelectors(FleetCase):

    def test_each_selector(self):
        self.assertEqual(self.selected(), ALL)
        self.assertEqual(self.selected("--all"), ALL)
        self.assertEqual(self.selected("--env", "lab"), sorted(LAB))
        self.assertEqual(self.selected("--dist", ROCKY), sorted(STAGE))
        self.assertEqual(self.selected("--with-dist", ROCKY), sorted(STAGE))
        self.assertEqual(self.selected("--dist", "-"), [OTHER])
        self.assertEqual(self.selected("--action", "install"),
                         sorted([LAB[0], STAGE[0]]))
        self.assertEqual(self.selected("--attr", "rack=r1"), LAB[:3])
        self.assertEqual(self.selected("--name", "WEB[45]*"), LAB[3:])
        self.assertEqual(self.selected("--name", "*.stage.*"), STAGE)
        # AND: every selector must match.
        self.assertEqual(self.selected("--env", "lab", "--attr", "rack=r1",
                                       "--action", "local"), LAB[1:3])
        self.assertEqual(self.selected("--attr", "rack=r1",
                                       "--attr", "rack=r2"), [])
        self.assertEqual(self.selected("--env", "stage", "--attr",
                                       "rack=r1"), [])
        # host list takes them too.
        out = json.loads(self.ok("host", "list", "--json", "--env",
                                 "stage"))
        self.assertEqual([h["fqdn"] for h in out["hosts"]], STAGE)

    def test_from_file_and_stdin(self):
        path = os.path.join(self.dir, "campaign.txt")
        with open(path, "w") as f:
            f.write("# the campaign\n\n  web2  \n%s # by MAC\n"
                    "web3.lab.example.org\n" % mac(5))
        self.assertEqual(self.selected("--from", path),
                         [LAB[1], LAB[4], LAB[2]])
        # With other selectors: AND.
        self.assertEqual(self.selected("--from", path, "--attr", "rack=r2"),
                         [LAB[4]])
        rc, out, err = self.run_ctl("set-local", "--from", "-", "--yes",
                                    input=("%s\n%s\n" % (LAB[0], STAGE[0]))
                                    .encode())
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual((self.action(LAB[0]), self.action(STAGE[0])),
                         ("local", "local"))

    def test_change_verbs_by_selector(self):
        self.ok("set-reinstall", "--env", "lab", "--attr", "rack=r2", "-y",
                "-q")
        self.assertEqual([self.action(h) for h in LAB],
                         ["install", "local", "local", "install", "install"])
        self.ok("set-local", "--action", "install", "--yes")
        self.assertEqual(self.selected("--action", "install"), [])
        # set-reinstall: --dist is what to install, --with-dist selects.
        out = self.ok("set-reinstall", "--with-dist", ROCKY, "--dist",
                      "debian-12", "-y")
        self.assertEqual([l.split(":")[0] for l in out.splitlines()], STAGE)
        self.assertEqual(self.sql("SELECT DISTINCT dist FROM host WHERE "
                                  "env = 'stage'"), [("debian-12",)])
        self.ok("set-local", "--all", "-y")
        # The verb's own values come after the selectors' hosts.
        self.ok("host", "set-dist", "--env", "lab", ROCKY, "-y")
        self.assertEqual(self.sql("SELECT DISTINCT dist FROM host WHERE "
                                  "env = 'lab'"), [(ROCKY,)])
        self.ok("attr", "set", "--name", "web[12].*", "rack", "r9", "-y")
        self.assertEqual(self.selected("--attr", "rack=r9"), LAB[:2])
        self.ok("attr", "unset", "--env", "lab", "rack", "-y")
        self.assertEqual(self.sql("SELECT count(*) FROM host_attr"), [(0,)])
        self.ok("host", "set-env", "--env", "lab", "--name", "web5*",
                "stage")
        self.assertEqual(self.selected("--env", "stage"),
                         sorted(STAGE + [LAB[4]]))
        # Several hosts named one by one, then the value.
        self.ok("host", "set-env", LAB[0], LAB[1], "stage")
        self.assertEqual(len(self.selected("--env", "stage")), 5)
        self.ok("host", "remove", "--env", "stage", "-y")
        self.assertEqual(self.selected(), sorted(LAB[2:4] + [OTHER]))
        # Every change is audited, one row per host, as before.
        ops = [r[1] for r in self.audit_rows()]
        self.assertEqual(ops.count("host-remove") + ops.count("remove"),
                         ops.count("host-remove") + ops.count("remove"))

    def test_refused_selections_change_nothing(self):
        path = os.path.join(self.dir, "bad.txt")
        with open(path, "w") as f:
            f.write("web1\n# ok so far\nweb9.lab.example.org\n")
        cases = [
            (2, "name hosts or select them, not both",
             ["set-reinstall", LAB[0], "--env", "lab", "-y"]),
            (2, "name hosts or select them, not both",
             ["status", LAB[0], "--all"]),
            (2, "--action: expected install or local",
             ["set-local", "--action", "reboot", "-y"]),
            (2, "--attr: expected KEY=VALUE",
             ["set-local", "--attr", "rack", "-y"]),
            (2, "--attr: expected KEY=VALUE",
             ["set-local", "--attr", "=r1", "-y"]),
            (2, "missing arguments", ["set-local"]),
            (2, "missing arguments", ["host", "set-env", "lab"]),
            (2, "same selector", ["set-local", "--dist", ROCKY,
                                  "--with-dist", ROCKY]),
            (1, 'no environment "nope"', ["set-local", "--env", "nope",
                                          "-y"]),
            (1, "nope", ["set-local", "--dist", "nope", "-y"]),
            (1, "no host matches the selection; nothing was changed",
             ["set-local", "--env", "lab", "--name", "db*", "-y"]),
            (1, r"bad\.txt:3: no host", ["set-local", "--from", path,
                                          "-y"]),
            (1, "nonexistent", ["set-local", "--from",
                                os.path.join(self.dir, "nonexistent"),
                                "-y"]),
            (1, "named twice", ["set-local", LAB[0], mac(1)]),
            (1, "web9", ["host", "set-env", LAB[0], "web9", "stage"]),
            (1, "no environment", ["host", "set-env", "--all", "nope",
                                   "-y"]),
            # One host that cannot take the change: none is changed.
            (1, r"db2\.stage\.example\.org has no distribution|cannot",
             ["set-reinstall", "--all", "-y"]),
            (2, "no terminal to confirm on: add --yes",
             ["set-local", "--env", "lab"]),
        ]
        self.ok("host", "set-dist", STAGE[1], "-")
        for code, pattern, args in cases:
            self.refused(code, pattern, *args)

    def test_hostile_selector_values(self):
        """Control characters and odd values in every selector: one clean
        error line (or an empty selection), exit 1 or 2, nothing
        changed."""
        path = os.path.join(self.dir, "hostile.txt")
        with open(path, "wb") as f:
            f.write(b"web1\x1b[2J\n")
        for bad in ["\x1b[2J", "a\nb", "x" * 5000, "caf\u00e9", "", "["]:
            for opt in ("--env", "--dist", "--with-dist", "--attr",
                        "--action", "--name"):
                value = bad if opt != "--attr" else "rack=" + bad
                before = self.dump()
                rc, out, err = self.run_ctl("set-local", opt, value, "-y")
                self.assertEqual(self.dump(), before, (opt, bad))
                self.assertIn(rc, (1, 2), (opt, bad, err))
                self.assertEqual(out, "")
                self.assert_one_error_line(err)
                rc, out, err = self.run_ctl("status", "--json", opt, value)
                if rc == 0:
                    json.loads(out)
                else:
                    self.assert_one_error_line(err)
        self.refused(1, r"hostile\.txt:1: no host \"web1\\x1b\[2J\"",
                     "set-local", "--from", path, "-y")

    def test_all_or_nothing_inside_the_transaction(self):
        # attr unset is refused by libboot (the distribution's template
        # uses the attribute) only once the transaction runs: the hosts
        # changed before the refused one are rolled back.
        self.ok("dist", "update", "debian-12", "--cmdline",
                CMDLINE + " rack={{attr.rack}}")
        self.ok("attr", "set", OTHER, "rack", "r0")
        self.refused(1, r"no host was changed", "attr", "unset", "--attr",
                     "rack=r1", "rack", "-y")


class TestDryRunConfirmQuiet(FleetCase):

    def test_dry_run_prints_and_changes_nothing(self):
        before = self.dump()
        out = self.ok("set-reinstall", "--env", "lab", "--dry-run")
        self.assertEqual(self.dump(), before)
        lines = out.splitlines()
        self.assertEqual(lines[-1],
                         "dry run: 5 hosts would change; nothing was "
                         "changed")
        self.assertEqual(lines[0], "%s: action install debian-12 -> "
                         "install debian-12, new token" % LAB[0])
        self.assertEqual(lines[1], "%s: action local -> install "
                         "debian-12, new token" % LAB[1])
        out = self.ok("host", "set-env", "--env", "stage", "lab", "-n")
        self.assertEqual(out.splitlines()[:2],
                         ["%s: environment stage -> lab" % h for h in STAGE])
        out = self.ok("attr", "set", "--attr", "rack=r2", "rack", "r3",
                      "-n")
        self.assertEqual(out.splitlines()[0],
                         "%s: attr rack r2 -> r3" % LAB[3])
        self.assertEqual(self.dump(), before)

    def test_quiet_and_verbose(self):
        self.assertEqual(self.ok("set-reinstall", "--env", "lab", "-y",
                                 "-q"), "")
        self.assertEqual(self.ok("-q", "set-reinstall", LAB[1]), "")
        out = self.ok("set-local", "--env", "lab", "-y", "-v")
        self.assertEqual(out.splitlines(),
                         ["%s: action install debian-12 -> local" % h
                          for h in sorted(LAB)])
        self.assertEqual(self.ok("set-local", LAB[0]), "")

    def spawn_on_pty(self, *args):
        """bootctl with a pseudo-terminal as stdin, stdout and stderr."""
        master, slave = pty.openpty()
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        e.pop("NO_COLOR", None)
        e["TERM"] = "xterm"
        p = subprocess.Popen([BOOTCTL, "-c", self.cfg] + list(args),
                             stdin=slave, stdout=slave, stderr=slave, env=e,
                             start_new_session=True)
        os.close(slave)
        self.addCleanup(os.close, master)
        return p, master

    def read_until(self, fd, text):
        got = b""
        while text.encode() not in got:
            r, _, _ = select.select([fd], [], [], 30)
            self.assertTrue(r, "no %r in %r" % (text, got))
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        return got.decode("utf-8", "replace")

    def test_prompt_on_a_terminal(self):
        before = self.dump()
        p, fd = self.spawn_on_pty("set-local", "--env", "lab")
        out = self.read_until(fd, "[y/N] ")
        self.assertIn("set-local: 5 hosts: %s" % ", ".join(sorted(LAB)),
                      out)
        os.write(fd, b"n\n")
        self.assertEqual(p.wait(30), 1)
        self.assertEqual(self.dump(), before)
        p, fd = self.spawn_on_pty("set-local", "--all")
        out = self.read_until(fd, "[y/N] ")
        self.assertIn("and 3 more", out)
        os.write(fd, b"y\n")
        self.assertEqual(p.wait(30), 0)
        self.assertEqual(self.selected("--action", "install"), [])

    def wait_reading_stdin(self, pid):
        """Until pid blocks in read(0, ...) (x86-64: syscall 0)."""
        for _ in range(3000):
            with open("/proc/%d/syscall" % pid) as f:
                fields = f.read().split()
            if fields[:2] == ["0", "0x0"]:
                return
            time.sleep(0.01)
        self.fail("bootctl never read its standard input")

    def test_stopped_at_the_prompt_holds_no_lock(self):
        p, fd = self.spawn_on_pty("set-reinstall", "--env", "lab")
        self.read_until(fd, "[y/N] ")
        os.kill(p.pid, signal.SIGSTOP)
        try:
            # Another operator's change goes through meanwhile (it would
            # wait the 5 s busy timeout and fail if the lock were held).
            self.ok("set-reinstall", OTHER, "--dist", "debian-12")
            self.ok("attr", "set", "--env", "stage", "k", "v", "-y")
        finally:
            os.kill(p.pid, signal.SIGCONT)
        os.write(fd, b"y\n")
        self.assertEqual(p.wait(30), 0)
        self.assertEqual(self.selected("--action", "install"),
                         sorted(LAB + [STAGE[0], OTHER]))

    def test_stopped_reading_from_stdin_holds_no_lock(self):
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        p = subprocess.Popen([BOOTCTL, "-c", self.cfg, "set-local",
                              "--from", "-", "--yes"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        p.stdin.write(("%s\n" % LAB[0]).encode())
        p.stdin.flush()
        self.wait_reading_stdin(p.pid)
        os.kill(p.pid, signal.SIGSTOP)
        try:
            self.ok("set-reinstall", OTHER, "--dist", "debian-12")
        finally:
            os.kill(p.pid, signal.SIGCONT)
        out, err = p.communicate(("%s\n" % STAGE[0]).encode(), timeout=30)
        self.assertEqual((p.returncode, err), (0, b""))
        self.assertEqual(self.selected("--action", "install"), [OTHER])

    def test_colour_only_on_a_terminal(self):
        p, fd = self.spawn_on_pty("status", "--env", "stage")
        out = self.read_until(fd, STAGE[1])
        p.wait(30)
        self.assertIn("\x1b[1mHOST", out)
        self.assertNotIn("\x1b", self.ok("status", "--env", "stage"))
        # NO_COLOR: none on a terminal either.
        master, slave = pty.openpty()
        e = dict(os.environ, NO_COLOR="1", TERM="xterm")
        e.pop("BOOTD_CONFIG", None)
        subprocess.run([BOOTCTL, "-c", self.cfg, "status", "nope"],
                       stdin=slave, stdout=slave, stderr=slave, env=e,
                       timeout=30)
        os.close(slave)
        out = self.read_until(master, "nope")
        os.close(master)
        self.assertNotIn("\x1b", out)


class TestReviewFixes(FleetCase):
    """attr unset over a selection, a selection that changes while the
    question waits, hosts already installing, a busy inventory."""

    spawn_on_pty = TestDryRunConfirmQuiet.spawn_on_pty
    read_until = TestDryRunConfirmQuiet.read_until

    def hold_write_lock(self):
        con = sqlite3.connect(self.db, isolation_level=None, timeout=0)
        con.execute("BEGIN IMMEDIATE")
        self.addCleanup(con.close)
        return con

    def test_attr_unset_skips_selected_hosts_without_the_key(self):
        self.ok("attr", "unset", LAB[0], "rack")
        before = self.dump()
        out = self.ok("attr", "unset", "--env", "lab", "rack", "-n")
        lines = out.splitlines()
        self.assertIn("%s: attr rack not set; skipped" % LAB[0], lines)
        self.assertIn("%s: attr rack r1 -> -" % LAB[1], lines)
        self.assertEqual(lines[-1], "dry run: 4 hosts would change, 1 "
                         "skipped; nothing was changed")
        self.assertEqual(self.dump(), before)
        out = self.ok("attr", "unset", "--env", "lab", "rack", "--yes", "-v")
        self.assertIn("%s: attr rack not set; skipped" % LAB[0],
                      out.splitlines())
        self.assertEqual(self.sql("SELECT count(*) FROM host_attr WHERE "
                                  "key = 'rack'"), [(0,)])
        # Named one by one, a host without it is still an error.
        self.ok("attr", "set", LAB[1], "rack", "r1")
        before = self.dump()
        self.refused(1, "no attribute rack", "attr", "unset", LAB[1],
                     LAB[2], "rack")
        self.assertEqual(self.dump(), before)
        # Nothing to unset anywhere: said, and no write lock is taken
        # (SQLite's: held here, it would make bootctl fail).
        con = None if self.pg else self.hold_write_lock()
        rc, out, err = self.run_ctl("attr", "unset", "--env", "stage",
                                    "rack", "--yes")
        if con is not None:
            con.rollback()
        self.assertEqual((rc, out, err), (0, "attr unset: nothing to "
                                          "change\n", ""))

    def test_selection_changed_while_the_question_waited(self):
        p, fd = self.spawn_on_pty("set-local", "--env", "lab")
        self.read_until(fd, "[y/N] ")
        # Meanwhile a selected host changes.
        self.ok("attr", "set", LAB[1], "k", "v")
        before = self.dump()
        os.write(fd, b"y\n")
        out = self.read_until(fd, "run it again")
        self.assertEqual(p.wait(30), 1)
        self.assertIn("the inventory changed while this change waited; "
                      "nothing was changed; run it again", out)
        self.assertEqual(self.dump(), before)
        # A host that comes to match meanwhile stops it too.
        p, fd = self.spawn_on_pty("set-local", "--env", "lab")
        self.read_until(fd, "[y/N] ")
        self.ok("host", "set-env", OTHER, "lab")
        os.write(fd, b"y\n")
        self.read_until(fd, "run it again")
        self.assertEqual(p.wait(30), 1)
        self.assertEqual(self.action(LAB[0]), "install")

    def test_reinstall_says_which_hosts_are_installing(self):
        note = ("1 of the 5 selected hosts is already marked install: its "
                "token is revoked, an install in progress starts again "
                "(--action local leaves them alone)")
        out = self.ok("set-reinstall", "--env", "lab", "--dry-run")
        self.assertEqual(out.splitlines()[-2], note)
        p, fd = self.spawn_on_pty("set-reinstall", "--env", "lab")
        out = self.read_until(fd, "[y/N] ")
        self.assertIn(note, out)
        os.write(fd, b"n\n")
        self.assertEqual(p.wait(30), 1)
        # Without a question: a warning on stderr, unless -q.
        token = self.sql("SELECT token FROM token WHERE revoked = 0 AND "
                         "host = (SELECT id FROM host WHERE fqdn = ?)",
                         (LAB[0],))
        rc, out, err = self.run_ctl("set-reinstall", "--env", "lab", "-y")
        self.assertEqual(rc, 0)
        self.assert_one_error_line(err, re.escape(
            "bootctl: set-reinstall: " + note))
        self.assertNotEqual(token, self.sql(
            "SELECT token FROM token WHERE revoked = 0 AND host = "
            "(SELECT id FROM host WHERE fqdn = ?)", (LAB[0],)))
        # All five now: said in the plural; -q says nothing.
        self.assertIn("5 of the 5 selected hosts are already marked "
                      "install: their tokens are revoked", self.ok(
                          "set-reinstall", "--env", "lab", "-n"))
        self.assertEqual(self.run_ctl("set-reinstall", "--env", "lab",
                                      "-y", "-q")[::2], (0, ""))
        # --action local leaves them alone, and has nothing to say.
        self.ok("set-local", LAB[1])
        self.ok("set-reinstall", "--env", "lab", "--action", "local", "-y",
                "-q")

    @sqlite_only("SQLite's write lock and its holder in the -shm file")
    def test_locked_inventory_names_the_holder(self):
        before = self.dump()
        self.hold_write_lock()
        rc, out, err = self.run_ctl("set-local", LAB[0])
        self.assertEqual(rc, 1)
        self.assert_one_error_line(
            err, r"^bootctl: the inventory is locked by another process "
            r"\(pid %d\); nothing was changed, try again later$"
            % os.getpid())
        self.assertNotIn("database is locked", err)
        self.assertEqual(self.dump(), before)


class TestDotlessHost(FleetCase):
    """A host named without a dot ("mail") beside another whose short name
    is the same (mail.example.org): "mail" names neither (ambiguous), yet
    every change of a selection that holds the dotless one is made.
    bootctl names the hosts it selected exactly ("mail.", lib/inv_host.c
    resolve()); by name it made them ambiguous, and a campaign over --all
    changed nothing."""

    def setUp(self):
        super().setUp()
        self.ok("host", "add", "mail", mac(40), "--dist", "debian-12")

    def test_changes_of_the_dotless_host(self):
        self.refused(1, r"ambiguous: mail, mail\.example\.org", "host",
                     "show", "mail")
        m = mac(40)
        self.ok("attr", "set", m, "rack", "r9")
        self.assertEqual(self.sql("SELECT value FROM host_attr a JOIN host "
                                  "h ON h.id = a.host WHERE h.fqdn = "
                                  "'mail' AND a.key = 'rack'"), [("r9",)])
        self.ok("set-reinstall", "--all", "--dist", "debian-12", "--yes",
                "-q")
        self.assertEqual(self.action("mail"), "install")
        self.assertEqual(self.action(OTHER), "install")
        self.ok("set-local", "--all", "--yes", "-q")
        self.assertEqual(self.action("mail"), "local")
        self.ok("set-reinstall", "mail.", "-q")         # a whole FQDN
        self.assertEqual(self.action("mail"), "install")
        self.ok("host", "rename", m, "mail2.example.org")
        self.ok("host", "rename", "mail2.example.org", "mail")
        self.ok("host", "remove", "--name", "mail", "--yes", "-q")
        self.assertEqual(self.sql("SELECT count(*) FROM host WHERE fqdn = "
                                  "'mail'"), [(0,)])

    def test_dotless_host_costs_no_more(self):
        """A change of the dotless host named exactly ("mail.") runs as
        many statements as the same change of a dotted one: libboot looked
        "mail." up with its dot first, which no FQDN has, then again."""
        self.ok("host", "add", "dot.example.org", mac(41), "--dist",
                "debian-12")
        for change in (["host", "set-env"], ["attr", "set"]):
            values = ["lab"] if change[1] == "set-env" else ["k", "v"]
            self.assertEqual(
                self.statements(*change, "mail.", *values),
                self.statements(*change, "dot.example.org", *values),
                change)


class TestInstallScriptKept(FleetCase):
    """A change of a host marked install that would leave an install
    script bootd cannot make safely (an attribute that makes "${" beside
    the template's text, another distribution) is refused with the
    reason, as set-reinstall refuses such a host: it took the change,
    and bootd then booted the host locally instead of installing it."""

    def setUp(self):
        super().setUp()
        self.ok("dist", "add", "spoil", "--kernel", "{{base_url}}/k",
                "--initrd", "{{base_url}}/i",
                "--cmdline", "a={{attr.p}}{net0/ip} tok={{token}}")
        self.ok("attr", "set", LAB[1], "p", "x")
        self.ok("set-reinstall", LAB[1], "--dist", "spoil", "-q")

    def test_attr_set_refused(self):
        self.refused(1, r"%s: the install script for spoil cannot be "
                     r"made safely" % re.escape(LAB[1]),
                     "attr", "set", LAB[1], "p", "$")
        self.refused(1, r"no host was changed", "attr", "set", "--env",
                     "lab", "p", "$", "--yes")
        self.ok("attr", "set", LAB[2], "p", "$")    # not marked install

    def test_set_dist_refused(self):
        self.ok("attr", "set", LAB[0], "p", "$")    # debian-12: unused
        self.refused(1, r"cannot be made safely", "host", "set-dist",
                     LAB[0], "spoil")
        self.ok("host", "set-dist", LAB[2], "spoil")  # not marked install

    def test_dist_update_refused(self):
        # LAB[2] installs safe with p="$": a space keeps "$" from the
        # template's {net0/ip}, until an update takes it out.
        self.ok("dist", "add", "safe", "--kernel", "{{base_url}}/k",
                "--initrd", "{{base_url}}/i",
                "--cmdline", "a={{attr.p}} {net0/ip} tok={{token}}")
        self.ok("attr", "set", LAB[2], "p", "$")
        self.ok("set-reinstall", LAB[2], "--dist", "safe", "-q")
        spoiled = "a={{attr.p}}{net0/ip} tok={{token}}"
        self.refused(1, r"^bootctl: dist update: %s: the install script "
                     r"for safe cannot be made safely.*nothing was "
                     r"changed$" % re.escape(LAB[2]), "dist", "update",
                     "safe", "--cmdline", spoiled)
        self.ok("set-local", LAB[2])
        self.ok("dist", "update", "safe", "--cmdline", spoiled)


class TestPermissionsInSelections(FleetCase):

    def setUp(self):
        super().setUp()
        # The database's directory belongs to nobody, standing in for the
        # service user (as in test_bootctl.py).
        self.store = os.path.join(self.dir, "db")
        os.mkdir(self.store)
        os.chmod(self.dir, 0o755)
        self.drop = as_user(NOBODY.pw_uid, NOBODY.pw_gid)    # nogroup
        if self.pg:
            return
        os.rename(self.db, os.path.join(self.store, "bootd.db"))
        for ext in ("-wal", "-shm"):
            if os.path.exists(self.db + ext):
                os.rename(self.db + ext,
                          os.path.join(self.store, "bootd.db" + ext))
        self.db = os.path.join(self.store, "bootd.db")
        for name in os.listdir(self.store):
            os.chown(os.path.join(self.store, name), NOBODY.pw_uid,
                     NOBODY.pw_gid)
        os.chown(self.store, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(self.store, 0o770)
        self.write_cfg({})
        self.drop = as_user(NOBODY.pw_uid, NOBODY.pw_gid)    # nogroup

    def test_forbidden_host_in_a_selection_changes_nothing(self):
        # nobody is in nogroup (lab) only: the first host of --all it may
        # not change is db1 (stage, group staff).
        self.refused(1, r"^bootctl: permission denied: "
                     r"db1\.stage\.example\.org is in environment stage "
                     r"\(group staff\); no host was changed$",
                     "set-local", "--all", "-y", preexec=self.drop)
        self.refused(1, r"mail\.example\.org is in environment default "
                     r"\(group none, admins only\)",
                     "set-local", "--dist", "-", "-y", preexec=self.drop)
        self.refused(1, r"db1\.stage.*; no host was changed", "attr",
                     "set", "--from", "-", "k", "v",
                     "-y", input=("%s\n%s\n" % (LAB[0], STAGE[0])).encode(),
                     preexec=self.drop)
        # Within its own environment it may.
        self.ok("set-reinstall", "--env", "lab", "-y", "-q",
                preexec=self.drop)
        self.assertEqual([self.action(h) for h in LAB], ["install"] * 5)
        # Reading selects everything; no token of a foreign host.
        self.assertEqual(self.selected(preexec=self.drop), ALL)
        show = json.loads(self.ok("host", "show", STAGE[0], "--json",
                                  preexec=self.drop))
        self.assertIsNone(show["token"])
        self.assertIsNotNone(show["token_expires"])
        show = json.loads(self.ok("host", "show", LAB[0], "--json",
                                  preexec=self.drop))
        self.assertRegex(show["token"], r"^[0-9a-f]{32}$")
        rc, out, err = self.run_ctl("render", STAGE[0], "--json",
                                    preexec=self.drop)
        self.assertEqual((rc, err), (0, ""))
        r = json.loads(out)
        self.assertTrue(r["token_hidden"])
        self.assertIn("bootd.token=HIDDEN", r["script"])


class TestJson(FleetCase):

    def test_read_verbs(self):
        self.events_db_with(
            ("INSERT INTO seen VALUES (?, ?, ?, ?)",
             (mac(2), LAB[1], 1700000000, "local")),
            ("INSERT INTO discovered (mac, first_seen, last_seen, count, "
             "params) VALUES (?, ?, ?, ?, ?)",
             ("52:54:00:99:99:99", 1700000000, 1700000100, 3,
              "platform=efi serial=a\x1bb")))
        h = json.loads(self.ok("host", "show", LAB[0], "--json"))
        self.assertEqual(list(h), ["fqdn", "environment", "action",
                                   "distribution", "macs", "attrs",
                                   "token", "token_expires",
                                   "token_expires_unix", "last_seen",
                                   "last_seen_unix", "last_served"])
        self.assertEqual((h["fqdn"], h["environment"], h["action"],
                          h["distribution"], h["macs"], h["attrs"]),
                         (LAB[0], "lab", "install", "debian-12", [mac(1)],
                          {"rack": "r1"}))
        self.assertRegex(h["token"], r"^[0-9a-f]{32}$")
        self.assertRegex(h["token_expires"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsInstance(h["token_expires_unix"], int)
        self.assertIsNone(h["last_seen"])
        h = json.loads(self.ok("host", "show", LAB[1], "--json"))
        self.assertEqual((h["last_seen"], h["last_seen_unix"],
                          h["last_served"], h["token"]),
                         ("2023-11-14T22:13:20Z", 1700000000, "local", None))

        hosts = json.loads(self.ok("host", "list", "--json"))["hosts"]
        self.assertEqual([x["fqdn"] for x in hosts], ALL)
        self.assertEqual(set(hosts[0]), {"fqdn", "environment", "action",
                                         "distribution", "macs"})

        st = json.loads(self.ok("status", "--json", LAB[1]))["hosts"]
        self.assertEqual(st, [{
            "fqdn": LAB[1], "environment": "lab", "action": "local",
            "distribution": "debian-12", "token_expires": None,
            "token_expires_unix": None,
            "last_seen": "2023-11-14T22:13:20Z",
            "last_seen_unix": 1700000000, "last_served": "local"}])

        d = json.loads(self.ok("dist", "show", ROCKY, "--json"))
        self.assertEqual(d, {"name": ROCKY,
                             "kernel": "{{base_url}}/images/%s/vmlinuz"
                             % ROCKY,
                             "initrds": ["{{base_url}}/images/%s/initrd.img"
                                         % ROCKY],
                             "cmdline": CMDLINE})
        dl = json.loads(self.ok("dist", "list", "--json"))
        self.assertEqual([x["name"] for x in dl["distributions"]],
                         ["debian-12", ROCKY])
        el = json.loads(self.ok("env", "list", "--json"))
        self.assertEqual(el, {"environments": [
            {"name": "default", "group": None},
            {"name": "lab", "group": "nogroup"},
            {"name": "stage", "group": "staff"}]})
        dis = json.loads(self.ok("discovered", "list", "--json"))
        self.assertEqual(dis, {"discovered": [{
            "mac": "52:54:00:99:99:99",
            "first_seen": "2023-11-14T22:13:20Z",
            "first_seen_unix": 1700000000,
            "last_seen": "2023-11-14T22:15:00Z",
            "last_seen_unix": 1700000100, "count": 3,
            "params": "platform=efi serial=a\x1bb"}]})
        au = json.loads(self.ok("audit", LAB[0], "--json"))["audit"]
        self.assertEqual([a["op"] for a in au][-1], "set-reinstall")
        self.assertEqual(set(au[0]), {"id", "time", "time_unix", "actor",
                                      "op", "object", "old", "new"})
        self.assertTrue(all(a["object"] == LAB[0] for a in au))
        self.assertRegex(au[0]["actor"], r"\(uid \d+\)$")

    def test_render(self):
        r = json.loads(self.ok("render", LAB[0], "--json"))
        self.assertEqual((r["mac"], r["fqdn"], r["environment"],
                          r["action"], r["distribution"], r["decision"],
                          r["token_hidden"], r["error"]),
                         (mac(1), LAB[0], "lab", "install", "debian-12",
                          "install", False, None))
        self.assertEqual(r["script"], self.ok("render", LAB[0]))
        r = json.loads(self.ok("render", LAB[1], "--json"))
        self.assertEqual((r["decision"], r["distribution"]),
                         ("local", None))
        r = json.loads(self.ok("render", "52:54:00:99:99:99", "--json"))
        self.assertEqual((r["decision"], r["fqdn"], r["mac"]),
                         ("unknown", None, "52:54:00:99:99:99"))
        self.assertTrue(r["script"].startswith("#!ipxe"))

    def test_render_without_inventory(self):
        self.write_cfg({"database": os.path.join(self.dir, "gone.db")})
        rc, out, err = self.run_ctl("render", "52-54-00-99-99-99", "--json")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err)
        r = json.loads(out)
        self.assertEqual((r["decision"], r["mac"], r["fqdn"]),
                         ("failsafe", "52:54:00:99:99:99", None))
        self.assertIn("gone.db", r["error"])
        self.assertIn("sanboot", r["script"])

    def test_empty_selection_is_an_empty_list(self):
        self.assertEqual(json.loads(self.ok("status", "--json", "--name",
                                            "nothing*")), {"hosts": []})


class TestUsageAndCompletion(FleetCase):

    def test_did_you_mean(self):
        for args, hint in (
                (["stauts"], "did you mean 'status'?"),
                (["set-reinstal", LAB[0]], "did you mean 'set-reinstall'?"),
                (["hots", "list"], "did you mean 'host'?"),
                (["host", "lsit"], "did you mean 'host list'?"),
                (["status", "--jsno"], "did you mean '--json'?"),
                (["set-local", "--evn", "lab"], "did you mean '--env'?"),
                (["--verbsoe", "status"], "did you mean '--verbose'?")):
            err = self.refused(2, re.escape(hint), *args)
            self.assertIn("see bootctl", err)
        # Nothing close: no suggestion.
        err = self.refused(2, "unknown verb", "frobnicate")
        self.assertNotIn("did you mean", err)

    def test_help_names_the_selectors(self):
        for verb in (["set-reinstall"], ["set-local"], ["status"],
                     ["host", "remove"], ["host", "set-env"],
                     ["host", "set-dist"], ["attr", "set"],
                     ["attr", "unset"], ["host", "list"]):
            out = self.ok(*verb, "--help")
            for opt in ("--env ENV", "--attr KEY=VALUE", "--action",
                        "--name GLOB", "--all", "--from FILE",
                        "--with-dist"):
                self.assertIn(opt, out, verb)
        self.assertIn("-n, --dry-run", self.ok("set-local", "--help"))
        self.assertIn("-y, --yes", self.ok("set-local", "--help"))
        for verb in (["host", "show"], ["host", "list"], ["status"],
                     ["dist", "show"], ["dist", "list"], ["env", "list"],
                     ["discovered", "list"], ["audit"], ["render"]):
            self.assertIn("--json", self.ok(*verb, "--help"), verb)
        self.assertIn("distribution to install",
                      self.ok("set-reinstall", "--help"))
        # The hidden completion verbs are not listed.
        self.assertNotIn("__", self.ok("--help"))

    def complete(self, *words):
        """What tools/completion/bootctl offers after words (the last one
        being completed)."""
        script = os.path.join(SRC, "tools", "completion", "bootctl")
        line = [BOOTCTL, "-c", self.cfg] + list(words)
        prog = ("source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_bootctl\n"
                "printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
                % (script, " ".join("'%s'" % w for w in line),
                   len(line) - 1))
        p = subprocess.run(["bash", "-c", prog], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.stderr, b"")
        return [w for w in p.stdout.decode().split("\n") if w]

    def test_bash_completion(self):
        self.assertEqual(self.complete("st"), ["status"])
        self.assertIn("host", self.complete(""))
        self.assertIn("set-reinstall", self.complete(""))
        self.assertEqual(self.complete("host", "set-"),
                         ["set-env", "set-dist"])
        self.assertEqual(self.complete("set-reinstall", "--wi"),
                         ["--with-dist"])
        self.assertEqual(self.complete("set-local", "--env", ""),
                         ["default", "lab", "stage"])
        self.assertEqual(self.complete("set-reinstall", "--dist", "r"),
                         [ROCKY])
        self.assertEqual(self.complete("set-local", "--action", "i"),
                         ["install"])
        self.assertEqual(self.complete("set-local", "web"), sorted(LAB))
        self.assertEqual(self.complete("-q", "host", "show", "db"), STAGE)
        self.assertEqual(sorted(self.complete("host", "set-env", "web1",
                                              "s")), ["stage"])
        self.assertEqual(self.complete("status", "--env", "lab", "--js"),
                         ["--json"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
