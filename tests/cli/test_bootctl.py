#!/usr/bin/env python3
"""test_bootctl.py - bootctl driven as a program on real inventories

Runs the built tools/bootctl on temporary databases and checks its output,
its exit status, its error lines, and the database itself (read directly,
with sqlite3 or psql, against the schema of sql/): the rows a change
writes, the audit rows it records, and that a refused change leaves every
row as it was.

With BOOTD_TEST_ENGINE=postgresql each test's inventory is a fresh
database on a throw-away PostgreSQL (tests/harness.py, tests/pg.py) and
bootctl gets its URI; the tests about SQLite files skip there.

Environment: BOOTD_BINARY_DIR (build tree), BOOTD_SOURCE_DIR,
BOOTD_TEST_ENGINE.
"""

import grp
import json
import os
import pwd
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import harness  # noqa: E402
from harness import sqlite_only  # noqa: E402

SRC = os.environ.get("BOOTD_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
BLD = os.environ.get("BOOTD_BINARY_DIR", os.path.join(SRC, "build"))
BOOTCTL = os.path.join(BLD, "tools", "bootctl")

BASE_URL = "http://127.0.0.1:8080"
MAC1 = "52:54:00:12:34:56"
MAC2 = "52:54:00:12:34:57"
MAC3 = "52:54:00:12:34:58"
UNKNOWN_MAC = "52:54:00:99:99:99"
FQDN1 = "web1.lab.example.org"
FQDN2 = "web2.lab.example.org"
CMDLINE = ("auto=true priority=critical url={{base_url}}/preseed/{{fqdn}}.cfg"
           " hostname={{hostname}} domain={{domain}} bootd.token={{token}}"
           " console=ttyS0")

# Every verb with arguments that pass the argument count, for --help and
# the hostile-argument sweep.
VERBS = [
    ("init", []),
    ("host add", ["web3.lab.example.org", "52:54:00:12:34:59"]),
    ("host remove", [FQDN1]),
    ("host rename", [FQDN1, "web9.lab.example.org"]),
    ("host show", [FQDN1]),
    ("host list", []),
    ("host set-env", [FQDN1, "lab"]),
    ("host set-dist", [FQDN1, "debian-12"]),
    ("nic add", [FQDN1, MAC3]),
    ("nic remove", [MAC1]),
    ("attr set", [FQDN1, "puppet_role", "web"]),
    ("attr unset", [FQDN1, "rack"]),
    ("env add", ["prod"]),
    ("env remove", ["lab"]),
    ("env list", []),
    ("dist add", ["rocky-9", "--kernel", BASE_URL + "/k",
                  "--initrd", BASE_URL + "/i", "--cmdline", "quiet"]),
    ("dist update", ["debian-12", "--cmdline", "quiet"]),
    ("dist list", []),
    ("dist show", ["debian-12"]),
    ("dist remove", ["debian-12"]),
    ("set-reinstall", [FQDN1]),
    ("set-local", [FQDN1]),
    ("status", []),
    ("render", [FQDN1]),
    ("discovered list", []),
    ("audit", []),
    ("discovered adopt", ["52:54:00:aa:00:01", "new.lab.example.org"]),
    ("discovered forget", ["52:54:00:aa:00:01"]),
    ("history", [FQDN1]),
    ("export", []),
    ("import", ["/nonexistent/inventory.json"]),
    ("help", []),
]

NOBODY = pwd.getpwnam("nobody")


def as_user(uid, gid, groups=()):
    """A preexec_fn that drops to uid/gid with the given groups."""
    def drop():
        os.setgroups(list(groups))
        os.setgid(gid)
        os.setuid(uid)
    return drop


class BootctlCase(unittest.TestCase):
    """A fresh directory, configuration and inventory per test."""

    def setUp(self):
        if not os.access(BOOTCTL, os.X_OK):
            self.fail("bootctl not built at %s" % BOOTCTL)
        self.dir = tempfile.mkdtemp(prefix="bootctl-test-")
        self.db = harness.new_inventory(self.dir)
        self.pg = harness.is_uri(self.db)
        # The events: beside the inventory, or in its schema "events".
        self.events_db = (self.db if self.pg else
                          os.path.join(self.dir, "bootd-events.db"))
        self.cfg = os.path.join(self.dir, "bootd.json")
        self.write_cfg({})

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_cfg(self, extra):
        cfg = {"database": self.db, "token_ttl": 3600,
               "menu": {"base_url": BASE_URL, "timeout": 5}}
        cfg.update(extra)
        with open(self.cfg, "w") as f:
            json.dump(cfg, f)
        os.chmod(self.cfg, 0o644)

    # Running bootctl -------------------------------------------------

    def run_ctl(self, *args, cfg=True, preexec=None, env=None, binary=None):
        cmd = [binary or BOOTCTL]
        if cfg:
            cmd += ["-c", self.cfg]
        cmd += list(args)
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        if env:
            e.update(env)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, preexec_fn=preexec, timeout=60)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def ok(self, *args, **kw):
        """Run bootctl, expect success and a silent stderr; return stdout."""
        rc, out, err = self.run_ctl(*args, **kw)
        self.assertEqual((rc, err), (0, ""),
                         "bootctl %s: stdout %r" % (" ".join(args), out))
        return out

    def statements(self, *args, **kw):
        """
        Run bootctl, expect success as ok() does, and return how many
        statements it ran (tests/count_statements.c, preloaded): to
        compare what two commands cost on one engine.
        """
        lib = os.path.join(BLD, "tests", "libcount_statements.so")
        count = os.path.join(self.dir, "statements")
        env = dict(kw.pop("env", None) or {})
        env["LD_PRELOAD"] = lib
        env["BOOTD_COUNT_FILE"] = count
        # An ASan build wants its runtime first; it still is in bootctl.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + \
            "verify_asan_link_order=0"
        if os.path.exists(count):
            os.unlink(count)        # a run that counts nothing fails
        self.ok(*args, env=env, **kw)
        with open(count) as f:
            n = int(f.read())
        self.assertGreater(n, 0, "no statement counted")
        return n

    def refused(self, code, pattern, *args, **kw):
        """
        Run bootctl, expect exit status code, empty stdout, one line on
        stderr "bootctl: ..." matching pattern, and the inventory unchanged.
        """
        before = self.dump()
        rc, out, err = self.run_ctl(*args, **kw)
        self.assertEqual(rc, code, "bootctl %r: %r %r" % (args, out, err))
        self.assertEqual(out, "", "bootctl %r wrote to stdout" % (args,))
        self.assert_one_error_line(err, pattern)
        self.assertEqual(self.dump(), before,
                         "bootctl %r changed the inventory" % (args,))
        return err

    def assert_one_error_line(self, err, pattern=None):
        self.assertTrue(err.endswith("\n"), repr(err))
        self.assertEqual(err.count("\n"), 1, "not one line: %r" % err)
        self.assertTrue(err.startswith("bootctl: "), repr(err))
        self.assertNotRegex(err[:-1], r"[\x00-\x1f\x7f]")
        if pattern is not None:
            self.assertRegex(err, pattern)

    # Reading the database directly ------------------------------------

    def sql(self, query, params=()):
        return harness.inv_rows(self.db, query, params)

    def dump(self):
        return harness.inv_dump(self.db)

    def db_exists(self):
        """Has the inventory a schema (a file, a PostgreSQL schema)?"""
        return harness.inv_exists(self.db)

    def events_exist(self):
        """Is there an events database (on PostgreSQL: any event row)?"""
        if self.pg:
            return bool(harness.events_rows(
                self.events_db, "SELECT 1 FROM boot_event UNION ALL "
                "SELECT 1 FROM discovered"))
        return os.path.exists(self.events_db)

    def events_db_with(self, *statements):
        """
        Create the events database (sql/events/, as bootd does) and run
        statements (sql, params) in it: what bootd records on boots.
        """
        harness.events_execute(self.events_db, statements)

    def audit_rows(self):
        return self.sql("SELECT actor, op, object, old, new FROM audit "
                        "ORDER BY id")

    # A populated inventory --------------------------------------------

    def populate(self):
        """init, env lab, dist debian-12, host web1 (lab, debian-12)."""
        self.ok("init")
        self.ok("env", "add", "lab", "--group", "nogroup")
        self.ok("dist", "add", "debian-12",
                "--kernel", "{{base_url}}/images/debian-12/vmlinuz",
                "--initrd", "{{base_url}}/images/debian-12/initrd.img",
                "--cmdline", CMDLINE)
        self.ok("host", "add", FQDN1, MAC1, "--env", "lab",
                "--dist", "debian-12")
        self.ok("attr", "set", FQDN1, "rack", "r12")


class TestInit(BootctlCase):

    def test_init_creates_schema_and_default_env(self):
        self.assertFalse(self.db_exists())
        out = self.ok("init")
        if not self.pg:
            self.assertIn(self.db, out)
        self.assertGreaterEqual(harness.schema_version(self.db), 1)
        self.assertEqual(self.sql("SELECT name, unix_group FROM env"),
                         [("default", "")])
        if self.pg:
            # The events schema too, at its latest version.
            self.assertGreaterEqual(harness.events_rows(
                self.db, "SELECT version FROM schema_version")[0][0], 1)
        else:
            # New database files are not world-readable.
            self.assertEqual(os.stat(self.db).st_mode & 0o007, 0)
        # Again: nothing lost, nothing duplicated.
        self.ok("env", "add", "lab")
        self.ok("init")
        self.assertEqual(sorted(self.sql("SELECT name FROM env")),
                         [("default",), ("lab",)])

    def test_db_option_overrides_config(self):
        other = harness.new_inventory(self.dir, "other.db")
        self.ok("--db", other, "init")
        self.assertTrue(harness.inv_exists(other))
        self.assertFalse(self.db_exists())

    def test_config_from_environment(self):
        rc, out, err = self.run_ctl("init", cfg=False,
                                    env={"BOOTD_CONFIG": self.cfg})
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(self.db_exists())

    def test_missing_database_is_an_error(self):
        rc, out, err = self.run_ctl("host", "list")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err)
        self.assertFalse(self.db_exists())

    def test_unreachable_server_is_one_line_without_password(self):
        # No server there: one line, exit 1, and the URI's password
        # (in its user information or as a parameter) is not in it.
        for uri in ("postgresql://u:sekrit@/bootd?host=/nonexistent",
                    "postgresql:///bootd?host=/nonexistent&password=sekrit"):
            for verb in (["status"], ["init"], ["set-local", FQDN1]):
                rc, out, err = self.run_ctl("--db", uri, *verb)
                self.assertEqual((rc, out), (1, ""), (uri, verb, err))
                self.assert_one_error_line(err)
                self.assertNotIn("sekrit", err)

    def test_bad_config_is_an_error(self):
        with open(self.cfg, "w") as f:
            f.write('{"token_ttl": "soon"}')
        rc, out, err = self.run_ctl("init")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "token_ttl")
        rc, out, err = self.run_ctl("-c", os.path.join(self.dir, "nope"),
                                    "init", cfg=False)
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err)


class TestHosts(BootctlCase):

    def test_add_show_list(self):
        self.populate()
        self.ok("host", "add", "Web2.Lab.Example.ORG", "52-54-00-12-34-57",
                "525400123458")
        out = self.ok("host", "show", FQDN2)
        self.assertRegex(out, r"(?m)^fqdn:\s+web2\.lab\.example\.org$")
        self.assertRegex(out, r"(?m)^environment:\s+default$")
        self.assertRegex(out, r"(?m)^action:\s+local$")
        self.assertRegex(out, r"(?m)^mac:\s+52:54:00:12:34:57$")
        self.assertRegex(out, r"(?m)^mac:\s+52:54:00:12:34:58$")
        self.assertNotRegex(out, r"(?m)^token:")
        self.assertEqual(
            self.sql("SELECT mac FROM nic JOIN host ON nic.host = host.id "
                     "WHERE fqdn = ? ORDER BY mac", (FQDN2,)),
            [(MAC2,), (MAC3,)])
        # By short name and by MAC in any spelling.
        self.assertEqual(self.ok("host", "show", "web2"), out)
        self.assertEqual(self.ok("host", "show", "5254.0012.3458"), out)

        out = self.ok("host", "show", "web1")
        self.assertRegex(out, r"(?m)^environment:\s+lab$")
        self.assertRegex(out, r"(?m)^distribution:\s+debian-12$")
        self.assertRegex(out, r"(?m)^attr:\s+rack=r12$")

        lines = self.ok("host", "list").splitlines()
        self.assertEqual(lines[0].split(),
                         ["HOST", "ENV", "ACTION", "DIST", "MACS"])
        self.assertEqual(lines[1].split(),
                         [FQDN1, "lab", "local", "debian-12", MAC1])
        self.assertEqual(lines[2].split(),
                         [FQDN2, "default", "local", "-",
                          MAC2 + "," + MAC3])
        # Aligned: each column starts at the same offset in every line.
        col = lines[0].index("ENV")
        self.assertTrue(all(l[col - 2:col] == "  " and l[col] != " "
                            for l in lines))
        lab = self.ok("host", "list", "--env", "lab").splitlines()
        self.assertEqual(len(lab), 2)
        self.assertIn(FQDN1, lab[1])
        self.refused(1, "lab2", "host", "list", "--env", "lab2")

    def test_add_records_audit(self):
        self.populate()
        rows = [r for r in self.audit_rows() if r[2] == FQDN1]
        self.assertTrue(rows, self.audit_rows())
        for actor, op, obj, old, new in rows:
            self.assertEqual(actor, "root (uid 0)")
        out = self.ok("audit", FQDN1)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["TIME", "ACTOR", "OP", "OBJECT", "CHANGE"])
        self.assertEqual(len(lines) - 1, len(rows))
        self.assertTrue(all("root (uid 0)" in l for l in lines[1:]))
        self.assertTrue(all(FQDN1 in l for l in lines[1:]))
        everything = self.ok("audit").splitlines()
        self.assertEqual(len(everything) - 1, len(self.audit_rows()))
        self.assertGreater(len(everything), len(lines))

    def test_rename_and_remove(self):
        self.populate()
        self.ok("host", "rename", "web1", "app1.lab.example.org")
        self.assertEqual(self.sql("SELECT fqdn FROM host"),
                         [("app1.lab.example.org",)])
        self.refused(1, "web1", "host", "show", FQDN1)
        self.ok("host", "show", MAC1)
        n = len(self.audit_rows())
        self.ok("host", "remove", "app1")
        self.assertEqual(self.sql("SELECT count(*) FROM host"), [(0,)])
        self.assertEqual(self.sql("SELECT count(*) FROM nic"), [(0,)])
        self.assertEqual(self.sql("SELECT count(*) FROM host_attr"), [(0,)])
        self.assertGreater(len(self.audit_rows()), n)
        # The audit log of a removed host is still there by name.
        self.assertIn("app1.lab.example.org",
                      self.ok("audit", "app1.lab.example.org"))

    def test_remove_many_is_all_or_nothing(self):
        self.populate()
        self.ok("host", "add", FQDN2, MAC2)
        self.refused(1, "nosuch", "host", "remove", FQDN1, "nosuch", FQDN2)
        self.ok("host", "remove", FQDN1, FQDN2)
        self.assertEqual(self.sql("SELECT count(*) FROM host"), [(0,)])

    def test_set_env_and_set_dist(self):
        self.populate()
        self.ok("host", "set-env", FQDN1, "default")
        self.assertEqual(self.sql("SELECT env FROM host"), [("default",)])
        self.refused(1, "nosuch", "host", "set-env", FQDN1, "nosuch")
        self.ok("host", "set-dist", FQDN1, "-")
        self.assertEqual(self.sql("SELECT dist FROM host"), [(None,)])
        self.refused(1, "nosuch", "host", "set-dist", FQDN1, "nosuch")
        self.ok("host", "set-dist", FQDN1, "debian-12")
        self.assertEqual(self.sql("SELECT dist FROM host"), [("debian-12",)])

    def test_add_with_unknown_dist_changes_nothing(self):
        self.populate()
        self.refused(1, "nosuch", "host", "add", FQDN2, MAC2,
                     "--dist", "nosuch")
        self.refused(1, "nosuch", "host", "add", FQDN2, MAC2,
                     "--env", "nosuch")

    def test_duplicate_mac_and_fqdn(self):
        self.populate()
        self.refused(1, "52:54:00:12:34:56", "host", "add", FQDN2,
                     "52-54-00-12-34-56")
        self.refused(1, "52:54:00:12:34:56", "host", "add", FQDN2, MAC2,
                     "5254.0012.3456")
        self.refused(1, FQDN1.replace(".", r"\."), "host", "add", FQDN1,
                     MAC2)

    def test_bad_fqdn_and_mac(self):
        self.populate()
        for bad in ["-web.example.org", "web_1.example.org", "a..b",
                    "x" * 64 + ".example.org", "a" * 300, "web1 .org", "",
                    "web-.example.org", "web1.example.org."]:
            self.refused(1, None, "host", "add", "--", bad, MAC2)
        self.refused(2, "unknown option '-w'", "host", "add",
                     "-web.example.org", MAC2)
        for bad in ["52:54:00:12:34", "52:54:00:12:34:5g", "zz",
                    "52:54-00:12:34:57", ""]:
            self.refused(1, None, "host", "add", FQDN2, bad)

    def test_unknown_host(self):
        self.populate()
        for verb in (["host", "show"], ["host", "remove"], ["status"],
                     ["set-local"], ["set-reinstall"], ["render"]):
            self.refused(1, "nosuch", *verb, "nosuch.example.org")
            self.refused(1, r'no host with the FQDN "nosuch\.example\.org"$',
                         *verb, "nosuch.example.org.")


class TestNicsAndAttrs(BootctlCase):

    def test_nic_add_remove(self):
        self.populate()
        self.ok("nic", "add", "web1", "52:54:00:12:34:57")
        self.assertEqual(
            self.sql("SELECT mac FROM nic ORDER BY mac"), [(MAC1,), (MAC2,)])
        self.ok("host", "show", MAC2)
        self.refused(1, "52:54:00:12:34:57", "nic", "add", "web1", MAC2)
        self.ok("nic", "remove", "52-54-00-12-34-56")
        self.assertEqual(self.sql("SELECT mac FROM nic"), [(MAC2,)])
        # A host keeps at least one NIC.
        self.refused(1, None, "nic", "remove", MAC2)
        self.refused(1, None, "nic", "remove", MAC3)
        self.refused(1, "MAC|mac", "nic", "remove", "web1")
        self.assertTrue(any(r[1] and "nic" in r[1] for r in
                            self.audit_rows()), self.audit_rows())

    def test_attr_set_unset(self):
        self.populate()
        self.ok("attr", "set", "web1", "puppet_role", "webserver")
        self.ok("attr", "set", "web1", "puppet_role", "database")
        self.assertEqual(
            self.sql("SELECT key, value FROM host_attr ORDER BY key"),
            [("puppet_role", "database"), ("rack", "r12")])
        self.assertRegex(self.ok("host", "show", "web1"),
                         r"(?m)^attr:\s+puppet_role=database$")
        self.ok("attr", "unset", "web1", "puppet_role")
        self.assertEqual(self.sql("SELECT key FROM host_attr"), [("rack",)])
        self.refused(1, "puppet_role", "attr", "unset", "web1",
                     "puppet_role")
        for key, value in [("Bad Key", "x"), ("k", "a b"), ("k", "${evil}"),
                           ("k", "x" * 300), ("", "x")]:
            self.refused(1, None, "attr", "set", "web1", key, value)
        audit = self.audit_rows()
        self.assertTrue(any("database" in (r[4] or "") for r in audit))

    def test_attr_used_by_template_cannot_be_unset(self):
        self.populate()
        self.ok("dist", "update", "debian-12", "--cmdline",
                "role={{attr.rack}}")
        self.refused(1, "rack", "attr", "unset", "web1", "rack")


class TestEnvsAndDists(BootctlCase):

    def test_env(self):
        self.populate()
        self.ok("env", "add", "prod")
        self.ok("env", "add", "stage", "--group", "staff")
        lines = self.ok("env", "list").splitlines()
        self.assertEqual(lines[0].split(), ["ENV", "GROUP"])
        table = {l.split()[0]: l.split(None, 1)[1] for l in lines[1:]}
        self.assertEqual(table["lab"], "nogroup")
        self.assertEqual(table["stage"], "staff")
        self.assertEqual(table["default"], "(admins only)")
        self.assertEqual(
            sorted(self.sql("SELECT name, unix_group FROM env")),
            [("default", ""), ("lab", "nogroup"), ("prod", ""),
             ("stage", "staff")])
        self.refused(1, "lab", "env", "add", "lab")
        self.refused(1, "lab", "env", "remove", "lab")    # in use
        self.refused(1, None, "env", "add", "x", "--group", "Bad Group")
        self.refused(2, "unknown option '-x'", "env", "add", "-x")
        self.refused(1, None, "env", "add", "--", "-x")
        self.ok("env", "remove", "prod")
        self.assertNotIn("prod", self.ok("env", "list"))
        self.assertTrue(any(r[1] and "env" in r[1] and r[2] == "prod"
                            for r in self.audit_rows()))

    def test_env_group_must_exist(self):
        """env add --group refuses a group this system does not have, as
        chgrp would; --force names it anyway."""
        self.populate()
        missing = "bootd-no-such-group"
        self.assertRaises(KeyError, grp.getgrnam, missing)
        before = self.dump()
        self.refused(1, r'^bootctl: env add: no group "bootd-no-such-group" '
                     r'on this system \(create it first, or name it anyway '
                     r'with --force\)$', "env", "add", "x", "--group", missing)
        self.assertEqual(self.dump(), before)
        self.refused(2, "--force goes with --group", "env", "add", "x",
                     "--force")
        self.ok("env", "add", "x", "--group", missing, "--force")
        self.assertIn(("x", missing),
                      self.sql("SELECT name, unix_group FROM env"))
        self.assertIn("--force", self.ok("env", "add", "--help"))

    def test_reserved_attributes(self):
        """bootd.* attributes are bootd's: bootd.menu_timeout takes whole
        seconds 0..3600 (what the renderer uses), other bootd.* keys do not
        exist.  A refused value changes nothing."""
        self.populate()
        before = self.dump()
        for value in ("10s", "3601", "", "+5", "99999", "1e3", "0x10"):
            self.refused(1, r'^bootctl: web1\S*: invalid value of '
                         r'bootd\.menu_timeout ".*": expected whole seconds '
                         r'from 0 to 3600, digits only$', "attr", "set", "web1",
                         "bootd.menu_timeout", value)
        self.refused(1, r'attribute key "bootd\.menu-timeout": keys '
                     r'starting with "bootd\." are bootd\'s own', "attr",
                     "set", "web1", "bootd.menu-timeout", "10")
        self.assertEqual(self.dump(), before)
        for value in ("10", "3600"):
            self.ok("attr", "set", "web1", "bootd.menu_timeout", value)
            self.assertIn("choose --default local --timeout %s000 " % value,
                          self.ok("render", "web1"))
        self.ok("attr", "set", "web1", "bootd.menu_timeout", "0")
        self.assertIn("\ngoto local\n", self.ok("render", "web1"))

    def test_dist(self):
        self.populate()
        out = self.ok("dist", "show", "debian-12")
        self.assertRegex(out, r"(?m)^name:\s+debian-12$")
        self.assertRegex(
            out, r"(?m)^kernel:\s+\{\{base_url\}\}/images/debian-12/vmlinuz$")
        self.assertRegex(out, r"(?m)^initrd:\s+\{\{base_url\}\}/images/"
                         r"debian-12/initrd\.img$")
        self.assertIn("cmdline:", out)
        self.assertIn(CMDLINE, out)
        self.ok("dist", "add", "rocky-9", "--kernel", BASE_URL + "/k",
                "--initrd", BASE_URL + "/i1", "--initrd", BASE_URL + "/i2",
                "--cmdline", "inst.ks={{base_url}}/ks/{{fqdn}}")
        self.assertEqual(
            self.sql("SELECT url FROM dist_initrd WHERE dist = 'rocky-9' "
                     "ORDER BY pos"),
            [(BASE_URL + "/i1",), (BASE_URL + "/i2",)])
        lines = self.ok("dist", "list").splitlines()
        self.assertEqual(lines[0].split(), ["DIST", "INITRDS", "KERNEL"])
        self.assertEqual(lines[2].split(), ["rocky-9", "2", BASE_URL + "/k"])

        self.ok("dist", "update", "rocky-9", "--initrd", BASE_URL + "/i3")
        self.assertEqual(
            self.sql("SELECT url FROM dist_initrd WHERE dist = 'rocky-9'"),
            [(BASE_URL + "/i3",)])
        self.assertEqual(self.sql("SELECT kernel, cmdline FROM dist WHERE "
                                  "name = 'rocky-9'"),
                         [(BASE_URL + "/k",
                           "inst.ks={{base_url}}/ks/{{fqdn}}")])
        self.ok("dist", "update", "rocky-9", "--kernel", BASE_URL + "/k2")
        self.assertEqual(self.sql("SELECT kernel FROM dist WHERE "
                                  "name = 'rocky-9'"), [(BASE_URL + "/k2",)])

        self.refused(1, "debian-12", "dist", "remove", "debian-12")  # in use
        self.refused(1, "rocky-9", "dist", "add", "rocky-9", "--kernel",
                     BASE_URL + "/k", "--initrd", BASE_URL + "/i",
                     "--cmdline", "x")
        self.refused(1, "nosuch", "dist", "show", "nosuch")
        self.refused(1, "nosuch", "dist", "update", "nosuch",
                     "--cmdline", "x")
        self.ok("dist", "remove", "rocky-9")
        self.assertEqual(self.sql("SELECT name FROM dist"), [("debian-12",)])
        self.assertEqual(self.sql("SELECT count(*) FROM dist_initrd WHERE "
                                  "dist = 'rocky-9'"), [(0,)])
        self.assertTrue(any(r[2] == "rocky-9" for r in self.audit_rows()))

    def test_bad_dists(self):
        self.populate()
        good = ["--kernel", BASE_URL + "/k", "--initrd", BASE_URL + "/i",
                "--cmdline", "quiet"]
        for name, opts in [
                ("x", ["--kernel", "ftp://h/k"] + good[2:]),
                ("x", ["--kernel", "{{nosuch}}/k"] + good[2:]),
                ("x", good[:4] + ["--cmdline", "quiet || shell"]),
                ("x", good[:4] + ["--cmdline", "quiet #comment"]),
                ("x", good[:4] + ["--cmdline", "quiet ; reboot"]),
                ("x", good[:4] + ["--cmdline", "quiet \\"]),
                ("x", good[:4] + ["--cmdline", "{{attr.}}"]),
                ("", good), ("a/b", good), (".x", good)]:
            self.refused(1, None, "dist", "add", name, *opts)
        self.refused(2, "unknown option", "dist", "add", "-x", *good)
        self.refused(1, None, "dist", "add", *good, "--", "-x")
        # Missing required options: usage errors.
        self.refused(2, "--kernel", "dist", "add", "x", *good[2:])
        self.refused(2, "--kernel", "dist", "add", "x", *good[:2])
        self.refused(2, "nothing to change", "dist", "update", "debian-12")
        self.refused(2, "twice", "dist", "add", "x", *good,
                     "--kernel", BASE_URL + "/k")


class TestReinstall(BootctlCase):

    def token_rows(self):
        return self.sql("SELECT token, expires, used_at, revoked FROM token "
                        "ORDER BY created, rowid")

    def test_set_reinstall_refused_when_the_script_would_be_unsafe(self):
        # An attribute that would stand alone as "#x" on the kernel command
        # line: bootd would serve local boot instead; bootctl says so now.
        self.ok("init")
        self.ok("dist", "add", "d1", "--kernel", "http://x/k", "--initrd",
                "http://x/i", "--cmdline", "a {{attr.x}} t={{token}}")
        self.ok("host", "add", FQDN1, MAC1)
        self.ok("attr", "set", FQDN1, "x", "#x")
        self.refused(1, r"^bootctl: %s: the install script for d1 cannot "
                     r"be made safely, so the host would boot locally: .*"
                     r"'#' would start a comment$" % re.escape(FQDN1),
                     "set-reinstall", FQDN1, "--dist", "d1")
        self.ok("attr", "set", FQDN1, "x", "ok")
        self.ok("set-reinstall", FQDN1, "--dist", "d1")
        self.assertEqual(self.sql("SELECT action FROM host"), [("install",)])

    def test_set_reinstall_status_set_local(self):
        self.populate()
        self.ok("host", "add", FQDN2, MAC2)
        before = int(time.time())
        out = self.ok("set-reinstall", "web1")
        after = int(time.time())
        self.assertIn(FQDN1, out)
        self.assertEqual(self.sql("SELECT action, dist FROM host WHERE "
                                  "fqdn = ?", (FQDN1,)),
                         [("install", "debian-12")])
        tokens = self.sql("SELECT token, expires FROM token WHERE used_at "
                          "IS NULL AND revoked = 0")
        self.assertEqual(len(tokens), 1)
        token, expires = tokens[0]
        self.assertTrue(before + 3600 <= expires <= after + 3600)

        status = self.ok("status")
        self.assertNotIn(token, status)
        lines = status.splitlines()
        self.assertEqual(lines[0].split(),
                         ["HOST", "ACTION", "DIST", "TOKEN-EXPIRES",
                          "LAST-SEEN", "LAST-SERVED"])
        row = lines[1].split()
        self.assertEqual(row[:3], [FQDN1, "install", "debian-12"])
        self.assertEqual(row[3], time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                               time.gmtime(expires)))
        self.assertEqual(row[4:], ["-", "-"])
        self.assertEqual(lines[2].split(),
                         [FQDN2, "local", "-", "-", "-", "-"])
        one = self.ok("status", MAC2).splitlines()
        self.assertEqual(len(one), 2)
        self.assertEqual(one[1].split()[0], FQDN2)

        # host show gives the token to the operator (root here).
        self.assertRegex(self.ok("host", "show", "web1"),
                         r"(?m)^token:\s+%s$" % token)
        self.assertTrue(any(r[1] and "reinstall" in r[1] and r[2] == FQDN1
                            for r in self.audit_rows()))
        audit_text = self.ok("audit", FQDN1)
        self.assertIn("reinstall", audit_text)

        # Again: a fresh token, the old one revoked.
        self.ok("set-reinstall", MAC1)
        live = self.sql("SELECT token FROM token WHERE used_at IS NULL AND "
                        "revoked = 0")
        self.assertEqual(len(live), 1)
        self.assertNotEqual(live[0][0], token)

        self.ok("set-local", "web1")
        self.assertEqual(self.sql("SELECT action FROM host WHERE fqdn = ?",
                                  (FQDN1,)), [("local",)])
        self.assertEqual(self.sql("SELECT count(*) FROM token WHERE used_at "
                                  "IS NULL AND revoked = 0"), [(0,)])
        self.assertNotRegex(self.ok("host", "show", "web1"), r"(?m)^token:")
        self.assertEqual(self.ok("status", "web1").splitlines()[1].split()[:4],
                         [FQDN1, "local", "debian-12", "-"])

    def test_status_shows_last_boot(self):
        self.populate()
        # Nothing recorded yet (no events database): never seen.
        self.assertFalse(self.events_exist())
        row = self.ok("status", "web1").splitlines()[1].split()
        self.assertEqual(row[4:], ["-", "-"])
        self.assertFalse(self.events_exist())
        # What bootd records on boots (written here as bootd would): the
        # host's last boot is the newest of its MACs'.
        self.ok("nic", "add", FQDN1, MAC2)
        self.events_db_with(
            ("INSERT INTO seen VALUES (?, ?, ?, ?)",
             (MAC1, FQDN1, 1700000000, "local")),
            ("INSERT INTO seen VALUES (?, ?, ?, ?)",
             (MAC2, FQDN1, 1600000000, "install")))
        row = self.ok("status", "web1").splitlines()[1].split()
        self.assertEqual(row, [FQDN1, "local", "debian-12", "-",
                               "2023-11-14T22:13:20Z", "local"])
        out = self.ok("host", "show", "web1")
        self.assertRegex(out, r"(?m)^last-seen:\s+2023-11-14T22:13:20Z$")
        self.assertRegex(out, r"(?m)^last-served:\s+local$")

    def test_output_error_is_reported(self):
        self.populate()
        with open("/dev/full", "w") as full:
            p = subprocess.run([BOOTCTL, "-c", self.cfg, "status"],
                               stdout=full, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 1)
        self.assert_one_error_line(p.stderr.decode(), "writing output")

    def test_reinstall_without_dist_refused(self):
        self.populate()
        self.ok("host", "add", FQDN2, MAC2)
        self.refused(1, FQDN2.replace(".", r"\."), "set-reinstall", FQDN2)
        # Several hosts: one without a distribution stops them all.
        self.refused(1, None, "set-reinstall", FQDN1, FQDN2)
        self.refused(1, "nosuch", "set-reinstall", FQDN1, "--dist", "nosuch")
        self.refused(1, "twice", "set-reinstall", FQDN1, "web1")
        self.ok("set-reinstall", FQDN2, "--dist", "debian-12")
        self.assertEqual(self.sql("SELECT action, dist FROM host WHERE "
                                  "fqdn = ?", (FQDN2,)),
                         [("install", "debian-12")])

    def test_reinstall_dist_stays_the_hosts(self):
        """set-reinstall --dist sets the host's distribution for good, as
        bootctl(8) says: after the install (or set-local) the host keeps
        it, and a later set-reinstall without --dist installs it again."""
        self.populate()
        self.ok("dist", "add", "debian-13",
                "--kernel", "{{base_url}}/images/debian-13/vmlinuz",
                "--initrd", "{{base_url}}/images/debian-13/initrd.img",
                "--cmdline", CMDLINE)
        self.ok("set-reinstall", FQDN1, "--dist", "debian-13")
        self.ok("set-local", FQDN1)
        self.assertEqual(self.sql("SELECT action, dist FROM host WHERE "
                                  "fqdn = ?", (FQDN1,)),
                         [("local", "debian-13")])
        self.ok("set-reinstall", FQDN1)
        self.assertIn("Install debian-13", self.ok("render", FQDN1))

    def test_reinstall_needs_template_attributes(self):
        self.populate()
        self.ok("dist", "add", "rocky-9", "--kernel", BASE_URL + "/k",
                "--initrd", BASE_URL + "/i",
                "--cmdline", "role={{attr.puppet_role}}")
        self.refused(1, "puppet_role", "set-reinstall", FQDN1,
                     "--dist", "rocky-9")
        self.ok("attr", "set", FQDN1, "puppet_role", "web")
        self.ok("set-reinstall", FQDN1, "--dist", "rocky-9")
        # A list is checked whole (a trial render per host) before any
        # host changes: one host that cannot install refuses them all.
        self.ok("set-local", FQDN1)
        self.ok("host", "add", FQDN2, MAC2)
        self.refused(1, r"^bootctl: web2\.lab\.example\.org: .*"
                     r"puppet_role.* is not set$",
                     "set-reinstall", FQDN1, FQDN2, "--dist", "rocky-9")
        self.assertEqual(self.sql("SELECT fqdn, action FROM host ORDER BY "
                                  "fqdn"),
                         [(FQDN1, "local"), (FQDN2, "local")])


class TestRender(BootctlCase):

    def test_render_install_local_unknown(self):
        self.populate()
        local = self.ok("render", FQDN1)
        self.assertTrue(local.startswith("#!ipxe\n"), local)
        self.assertNotRegex(local, r"(?m)^kernel .*vmlinuz")
        self.assertIn("sanboot", local)
        self.assertIn(FQDN1, local)

        self.ok("set-reinstall", FQDN1)
        token = self.sql("SELECT token FROM token WHERE used_at IS NULL AND "
                         "revoked = 0")[0][0]
        script = self.ok("render", "52-54-00-12-34-56")
        self.assertTrue(script.startswith("#!ipxe\n"), script)
        kernel = [l for l in script.splitlines() if l.startswith("kernel ")
                  and "vmlinuz" in l]
        self.assertEqual(len(kernel), 1, script)
        self.assertIn(BASE_URL + "/images/debian-12/vmlinuz", kernel[0])
        self.assertIn("bootd.token=" + token, kernel[0])
        self.assertIn("hostname=web1 domain=lab.example.org", kernel[0])
        self.assertIn("initrd " , script)
        self.assertIn(BASE_URL + "/images/debian-12/initrd.img", script)
        self.assertIn("sanboot", script)
        # Same script by name, short name and MAC.
        self.assertEqual(self.ok("render", "web1"), script)
        self.assertEqual(self.ok("render", MAC1), script)
        # render records nothing, and creates no events database.
        self.assertFalse(self.events_exist())

        unknown = self.ok("render", UNKNOWN_MAC)
        self.assertTrue(unknown.startswith("#!ipxe\n"))
        self.assertIn("unknown", unknown)
        self.assertIn(UNKNOWN_MAC, unknown)
        self.assertNotRegex(unknown, r"(?m)^kernel .*vmlinuz")
        self.assertIn("sanboot", unknown)
        self.assertEqual(self.ok("render", "52-54-00-99-99-99"), unknown)
        self.assertFalse(self.events_exist())

    def test_render_uses_config_menu(self):
        self.populate()
        self.write_cfg({"menu": {"base_url": "http://127.0.0.1:9999",
                                 "timeout": 0, "unknown": "shell"}})
        self.ok("set-reinstall", FQDN1)
        script = self.ok("render", FQDN1)
        self.assertIn("http://127.0.0.1:9999/images/debian-12/vmlinuz",
                      script)
        self.assertNotIn("choose ", script)
        unknown = self.ok("render", UNKNOWN_MAC)
        self.assertIn("shell", unknown)

    def test_render_failure_serves_failsafe(self):
        self.populate()
        self.ok("set-reinstall", FQDN1)
        # A value that slipped past validation (written behind bootctl's
        # back) must not reach the script: the fail-safe one is printed.
        if self.pg:
            harness.pg.execute(self.db, "UPDATE dist SET "
                               "cmdline = 'quiet || shell'")
        else:
            con = sqlite3.connect(self.db)
            con.execute("UPDATE dist SET cmdline = 'quiet || shell'")
            con.commit()
            con.close()
        rc, out, err = self.run_ctl("render", FQDN1)
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err)
        self.assertTrue(out.startswith("#!ipxe\n"), out)
        self.assertNotIn("vmlinuz", out)
        self.assertNotIn("|| shell", out)
        self.assertIn("sanboot", out)

    def test_render_without_database_serves_failsafe(self):
        rc, out, err = self.run_ctl("render", MAC1)
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err)
        self.assertTrue(out.startswith("#!ipxe\n"), out)
        self.assertIn("sanboot", out)
        self.assertNotIn("kernel http", out)

    def test_discovered_list(self):
        self.populate()
        lines = self.ok("discovered", "list").splitlines()
        self.assertEqual(lines[0].split(),
                         ["MAC", "FIRST-SEEN", "LAST-SEEN", "COUNT",
                          "PARAMS"])
        self.assertEqual(len(lines), 1)
        # Listing never creates the events database (bootd does).
        self.assertFalse(self.events_exist())
        ins = ("INSERT INTO discovered (mac, first_seen, last_seen, count, "
               "params) VALUES (?, ?, ?, ?, ?)")
        self.events_db_with(
            (ins, (UNKNOWN_MAC, 1700000000, 1700000100, 3,
                   "buildarch=x86_64 platform=efi")),
            # Given to a host since it booted: no longer listed.
            (ins, (MAC1, 1700000000, 1700000000, 1, None)),
            (ins, ("52:54:00:99:99:98", 1700000000, 1700000000, 1,
                   "serial=a\x1bb")))
        lines = self.ok("discovered", "list").splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(lines[1].split(),
                         ["52:54:00:99:99:98", "2023-11-14T22:13:20Z",
                          "2023-11-14T22:13:20Z", "1", "serial=a\\x1bb"])
        self.assertEqual(lines[2].split(),
                         [UNKNOWN_MAC, "2023-11-14T22:13:20Z",
                          "2023-11-14T22:15:00Z", "3",
                          "buildarch=x86_64", "platform=efi"])
        # --limit N: the first N rows (by MAC).
        lines = self.ok("discovered", "list", "--limit", "1").splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[1].startswith("52:54:00:99:99:98 "), lines)
        for bad in ("0", "-1", "x", "1x"):
            rc, out, err = self.run_ctl("discovered", "list", "--limit", bad)
            self.assertEqual(rc, 2, (bad, out, err))
            self.assert_one_error_line(err, "--limit")

    def test_events_database_newer_is_reported(self):
        self.populate()
        self.events_db_with(("UPDATE schema_version SET version = 999", ())
                            if self.pg else
                            ("PRAGMA user_version = 999", ()))
        rc, out, err = self.run_ctl("discovered", "list")
        self.assertEqual(rc, 0, (out, err))
        self.assert_one_error_line(err, "newer than this bootd")
        self.assertEqual(len(out.splitlines()), 1)


class TestUsage(BootctlCase):

    def test_help_for_every_verb(self):
        rc, out, err = self.run_ctl("--help", cfg=False)
        self.assertEqual((rc, err), (0, ""))
        for verb, _ in VERBS:
            self.assertIn("  " + verb, out)
            rc, vout, verr = self.run_ctl(*verb.split(), "--help")
            self.assertEqual((rc, verr), (0, ""), verb)
            self.assertTrue(vout.startswith("usage: bootctl"), vout)
            self.assertIn(verb, vout)
            self.assertIn("-h, --help", vout)
            rc, hout, herr = self.run_ctl("help", *verb.split())
            self.assertEqual((rc, hout, herr), (0, vout, ""), verb)
        self.assertIn("--kernel URL --initrd URL",
                      self.ok("dist", "add", "--help"))
        hadd = self.ok("host", "add", "--help")
        self.assertIn("FQDN MAC [MAC ...] [--env ENV] [--dist DIST]", hadd)
        self.assertRegex(hadd, r"(?m)^  --env ENV +\S")
        self.assertRegex(hadd, r"(?m)^  --dist DIST +\S")
        host = self.ok("host", "--help")
        self.assertIn("host add", host)
        self.assertIn("host set-dist", host)
        self.assertEqual(self.ok("help", "host"), host)
        self.assertEqual(self.ok("help"), out)
        # --help needs no database and changes nothing.
        self.assertFalse(self.db_exists())

    def test_version(self):
        rc, out, err = self.run_ctl("--version", cfg=False)
        self.assertEqual((rc, err), (0, ""))
        self.assertRegex(out, r"^bootctl \(bootd\) \d+\.\d+")

    def test_usage_errors(self):
        self.populate()
        cases = [
            ([], None),
            (["frobnicate"], "unknown verb 'frobnicate'"),
            (["host"], None),
            (["host", "frob"], "unknown verb 'host frob'"),
            (["host", "add", FQDN2], "missing arguments"),
            (["host", "show"], "missing arguments"),
            (["host", "show", FQDN1, FQDN2], "too many arguments"),
            (["host", "rename", FQDN1], "missing arguments"),
            (["attr", "set", FQDN1, "k"], "missing arguments"),
            (["init", "x"], "too many arguments"),
            (["host", "add", FQDN2, MAC2, "--bogus"], "unknown option"),
            (["host", "add", FQDN2, MAC2, "--group", "x"], "unknown option"),
            (["host", "add", FQDN2, MAC2, "--env"], "needs a value"),
            (["host", "add", FQDN2, MAC2, "-x"], "unknown option '-x'"),
            (["--bogus", "status"], "unknown option"),
            (["--db"], "needs a value"),
            (["host", "show", FQDN1, "--env", "lab"], "unknown option"),
            (["help", "frob"], "unknown verb"),
        ]
        for args, pattern in cases:
            before = self.dump()
            rc, out, err = self.run_ctl(*args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(self.dump(), before)
            if pattern is None:
                self.assertIn("usage", err)
            else:
                self.assertEqual(out, "", args)
                self.assert_one_error_line(err, re.escape(pattern))

    def test_hostile_arguments(self):
        """Control characters, overlong and non-ASCII values in every
        argument of every verb: a clean one-line error, exit 1 or 2, and
        the inventory unchanged.  Odd but printable values may be taken
        where they are valid (an attribute value "a;b"), never with a
        crash or a second error line."""
        self.populate()
        self.ok("attr", "set", FQDN1, "puppet_role", "web")
        strict = ["web1\n.example.org", "web1\x1b[2J", "\x01", "a\tb",
                  "x" * 5000, "\x7f", "caf\u00e9", "a\rb"]
        soft = ["", "${net0/mac}", "a;b", "a||b", "#x", "-", "--"]
        # Dumped again only after a change (a PostgreSQL dump is a psql
        # run): every refusal is still compared with the dump before it.
        before = self.dump()
        for verb, args in VERBS:
            if verb in ("help", "init", "host list", "env list",
                        "dist list", "status", "discovered list", "audit"):
                continue
            words = verb.split()
            for i in range(len(args)):
                for bad in strict + soft:
                    a = list(args)
                    a[i] = bad
                    rc, out, err = self.run_ctl(*words, *a)
                    if rc == 0:
                        self.assertIn(bad, soft, (verb, a, out, err))
                        self.assertEqual(err, "")
                        before = self.dump()
                        continue
                    self.assertIn(rc, (1, 2), (verb, a, err))
                    self.assert_one_error_line(err)
                    self.assertEqual(self.dump(), before, (verb, a))
                    if verb != "render":
                        self.assertEqual(out, "", (verb, a))
        # Hostile option values.
        for bad in strict:
            for opts in (["--env", bad], ["--dist", bad]):
                self.refused(1, None, "host", "add", "web3.example.org",
                             MAC3, *opts)
            self.refused(1, None, "env", "add", "x", "--group", bad)
            self.refused(1, None, "set-reinstall", FQDN1, "--dist", bad)
            self.refused(1, None, "host", "list", "--env", bad)
            for opt in ("--kernel", "--initrd", "--cmdline"):
                self.refused(1, None, "dist", "update", "debian-12", opt, bad)
            self.refused(1, None, "status", FQDN1, bad)
            self.refused(1, None, "render", bad)
        # Hostile global options.
        for bad in ["\x01", "", "x" * 5000, "/nonexistent/\x1b[2J"]:
            rc, out, err = self.run_ctl("--db", bad, "status")
            self.assertEqual(rc, 1)
            self.assert_one_error_line(err)
            rc, out, err = self.run_ctl("-c", bad, "status", cfg=False)
            self.assertEqual(rc, 1)
            self.assert_one_error_line(err)
        # A hostile verb name is echoed without its control characters.
        rc, out, err = self.run_ctl("\x1b[2Jverb\n")
        self.assertEqual(rc, 2)
        self.assert_one_error_line(err, r"\\x1b\[2Jverb\\x0a")


class TestPermissions(BootctlCase):
    """bootctl as an unprivileged user: nobody, with chosen groups."""

    def setUp(self):
        super().setUp()
        # The database's directory belongs to nobody, standing in for the
        # service user: bootctl run as root becomes nobody before it opens
        # the database, so every file in it is nobody's.
        self.store = os.path.join(self.dir, "db")
        os.mkdir(self.store)
        os.chown(self.store, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(self.store, 0o770)
        os.chmod(self.dir, 0o755)
        if not self.pg:
            self.db = os.path.join(self.store, "bootd.db")
        self.write_cfg({})
        self.populate()         # lab: group nogroup; default: admins only
        self.ok("host", "add", FQDN2, MAC2)                  # default env
        self.ok("env", "add", "stage", "--group", "staff")
        self.staff = grp.getgrnam("staff").gr_gid
        self.nogroup = grp.getgrnam("nogroup").gr_gid

    def as_nobody(self, *groups):
        return as_user(NOBODY.pw_uid, NOBODY.pw_gid, groups)

    @sqlite_only("permissions of the database file and its directory")
    def test_permission_errors_name_path_and_permission(self):
        """The file system says no: the message names the file or
        directory, the permission missing, its owner and mode, instead of
        SQLite's "unable to open database file" or "attempt to write a
        readonly database"."""
        drop = self.as_nobody()
        who = r" \(nobody:nogroup, mode %s\) for uid %d gid %d%s$"
        ids = (NOBODY.pw_uid, NOBODY.pw_gid)
        db, store = re.escape(self.db), re.escape(self.store)

        def refused(mode_of, mode, verb, pattern):
            old = os.stat(mode_of).st_mode & 0o7777
            os.chmod(mode_of, mode)
            try:
                self.refused(1, pattern, *verb, preexec=drop)
            finally:
                os.chmod(mode_of, old)
        refused(self.db, 0o000, ["host", "list"],
                r'^bootctl: cannot open database "%s": no read permission '
                r'on the file "%s"' % (db, db) +
                who % (("0000",) + ids + ("",)))
        refused(self.db, 0o440, ["set-reinstall", FQDN1],
                r'^bootctl: cannot change database "%s": no write '
                r'permission on the file "%s"' % (db, db) +
                who % (("0440",) + ids + ("",)))
        refused(self.store, 0o660, ["host", "list"],
                r'^bootctl: cannot open database "%s": no search permission '
                r'on the directory "%s"' % (db, store) +
                who % (("0660",) + ids + ("",)))
        refused(self.db + "-shm", 0o000, ["host", "list"],
                r'no read and write permission on the file "%s-shm"' % db)
        # Without -wal and -shm a change needs the directory writable, to
        # make them.  (Not through self.refused(): reading the database
        # to compare would make them.)
        for side in ("-wal", "-shm"):
            os.unlink(self.db + side)
        os.chmod(self.store, 0o550)
        try:
            rc, out, err = self.run_ctl("set-reinstall", FQDN1, preexec=drop)
        finally:
            os.chmod(self.store, 0o770)
        self.assertEqual((rc, out), (1, ""), err)
        self.assert_one_error_line(
            err, r'^bootctl: cannot open database "%s": no write permission '
            r'on the directory "%s"' % (db, store) +
            who % (("0550",) + ids + (": the -wal and -shm files are made "
                                      "there",)))

    def test_empty_database_says_bootctl_init(self):
        if self.pg:
            # A database without a schema; its URI is said without any
            # password, so match what follows it.
            empty = harness.new_inventory(self.store)
            self.refused(1, r'^bootctl: database ".*" has no bootd schema '
                         r'yet.*"bootctl init"$', "--db", empty, "host",
                         "list", cfg=False, preexec=self.as_nobody())
            return
        empty = os.path.join(self.store, "empty.db")
        with open(empty, "w"):
            pass
        os.chown(empty, NOBODY.pw_uid, NOBODY.pw_gid)
        self.refused(1, r'^bootctl: database "%s" has no bootd schema yet '
                     r'\(schema version 0\): create it with "bootctl '
                     r'init"$' % re.escape(empty), "--db", empty, "host",
                     "list", cfg=False, preexec=self.as_nobody())

    def test_environment_group_member_may_change_its_hosts(self):
        # nobody's primary group is nogroup, the group of environment lab.
        drop = self.as_nobody()
        self.ok("set-reinstall", FQDN1, preexec=drop)
        self.ok("attr", "set", FQDN1, "puppet_role", "web", preexec=drop)
        self.ok("host", "add", "web3.lab.example.org", MAC3, "--env", "lab",
                preexec=drop)
        out = self.ok("host", "show", FQDN1, preexec=drop)
        self.assertRegex(out, r"(?m)^token:\s+[0-9a-f]{32}$")
        actors = {r[0] for r in self.audit_rows() if r[2] == FQDN1}
        self.assertIn("nobody (uid %d)" % NOBODY.pw_uid, actors)
        self.assertIn("nobody (uid %d)" % NOBODY.pw_uid,
                      self.ok("audit", FQDN1))
        self.ok("set-local", FQDN1, preexec=drop)

    def test_refused_outside_own_environments(self):
        drop = self.as_nobody()
        msg = (r"^bootctl: permission denied: web2\.lab\.example\.org is in "
               r"environment default \(group ")
        self.refused(1, msg, "set-reinstall", FQDN2, "--dist", "debian-12",
                     preexec=drop)
        self.refused(1, msg, "host", "remove", FQDN2, preexec=drop)
        self.refused(1, msg, "attr", "set", FQDN2, "k", "v", preexec=drop)
        self.refused(1, msg, "nic", "add", FQDN2, MAC3, preexec=drop)
        self.refused(1, msg, "nic", "remove", MAC2, preexec=drop)
        self.refused(1, msg, "host", "rename", FQDN2, "x.example.org",
                     preexec=drop)
        self.refused(1, msg, "host", "set-dist", FQDN2, "debian-12",
                     preexec=drop)
        self.refused(1, msg, "set-local", FQDN2, preexec=drop)
        # A list with one forbidden host changes none.
        self.refused(1, msg, "set-reinstall", FQDN1, FQDN2, "--dist",
                     "debian-12", preexec=drop)
        # Moving a host out of, or into, a foreign environment.
        self.refused(1, msg, "host", "set-env", FQDN2, "lab", preexec=drop)
        self.refused(1, r"environment stage \(group staff\)", "host",
                     "set-env", FQDN1, "stage", preexec=drop)
        self.refused(1, r"environment default", "host", "add",
                     "web3.example.org", MAC3, preexec=drop)
        # Administration is for root and the admin group.
        for args in (["env", "add", "x"], ["env", "remove", "stage"],
                     ["dist", "remove", "debian-12"],
                     ["dist", "update", "debian-12", "--cmdline", "quiet"],
                     ["dist", "add", "x", "--kernel", BASE_URL + "/k",
                      "--initrd", BASE_URL + "/i", "--cmdline", "q"],
                     ["init"]):
            self.refused(1, r"permission denied: .*bootadm", *args,
                         preexec=drop)
        # Reading is allowed, but no token of a foreign host.
        self.ok("set-reinstall", FQDN2, "--dist", "debian-12")
        out = self.ok("host", "show", FQDN2, preexec=drop)
        self.assertNotRegex(out, r"(?m)^token:")
        self.assertRegex(out, r"(?m)^action:\s+install$")
        self.ok("status", preexec=drop)
        # render shows the script with a stand-in token, and says so.
        token = self.ok("host", "show", FQDN2).split("token:")[1].split()[0]
        rc, out, err = self.run_ctl("render", FQDN2, preexec=drop)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("#!ipxe"))
        self.assertIn("bootd.token=HIDDEN", out)
        self.assertNotIn(token, out)
        self.assertRegex(err, r"^bootctl: install token of %s hidden: "
                         r"you may not change it\n$" % re.escape(FQDN2))
        self.assertIn("bootd.token=" + token, self.ok("render", FQDN2))

    def test_supplementary_group(self):
        drop = self.as_nobody(self.staff)
        self.ok("host", "set-env", FQDN1, "stage", preexec=drop)
        self.assertEqual(self.sql("SELECT env FROM host WHERE fqdn = ?",
                                  (FQDN1,)), [("stage",)])
        self.refused(1, "permission denied", "env", "add", "x", preexec=drop)

    def test_admin_group(self):
        self.write_cfg({"admin_group": "staff"})
        drop = self.as_nobody(self.staff)
        self.ok("set-reinstall", FQDN2, "--dist", "debian-12", preexec=drop)
        self.ok("env", "add", "prod", preexec=drop)
        self.ok("dist", "update", "debian-12", "--cmdline", "quiet",
                preexec=drop)
        self.assertEqual(self.sql("SELECT cmdline FROM dist"), [("quiet",)])
        # Without the group, the same configuration gives nothing.
        self.refused(1, "permission denied", "env", "add", "prod2",
                     preexec=self.as_nobody())


@sqlite_only("the setgid checks of the database's files (-wal, -shm) "
             "and directory")
class TestSetgid(BootctlCase):
    """
    An installed setgid copy of bootctl on an inventory only its group
    may open, at the default place: in a private mount namespace, a
    directory of the test is mounted over /var/lib, so the default
    configuration's /var/lib/bootd/db/bootd.db is the test's database.
    As in production, /var/lib/bootd belongs to root and its db/ to the
    service user, mode 0770: the user "daemon" stands in for the service
    user bootd, the group "staff" for its group.
    """

    NS_SCRIPT = (
        'mount --bind "$0" /var/lib || exit 99; '
        'if [ -d /etc/bootd ]; then mount --bind "$1" /etc/bootd || exit 99; '
        'fi; shift; '
        'exec setpriv --reuid=%d --regid=%d --clear-groups "$@"'
        % (NOBODY.pw_uid, NOBODY.pw_gid))

    def setUp(self):
        super().setUp()
        if os.environ.get("BOOTD_SANITIZE") == "1":
            # LeakSanitizer dies in a setgid (non-dumpable) process and
            # cannot read ASAN_OPTIONS there; the plain build runs this.
            self.skipTest("setgid binaries do not run under LeakSanitizer")
        if shutil.which("unshare") is None or shutil.which("setpriv") is None:
            self.skipTest("unshare(1) and setpriv(1) are needed")
        self.populate()
        self.ok("host", "add", FQDN2, MAC2)
        self.service = pwd.getpwnam("daemon").pw_uid
        self.group = grp.getgrnam("staff").gr_gid
        os.chmod(self.dir, 0o755)
        self.varlib = os.path.join(self.dir, "varlib")
        self.empty = os.path.join(self.dir, "empty")
        os.mkdir(self.empty)
        store = os.path.join(self.varlib, "bootd", "db")
        os.makedirs(store)
        os.chmod(self.varlib, 0o755)
        os.chmod(os.path.dirname(store), 0o755)
        os.chown(store, self.service, self.group)
        os.chmod(store, 0o770)
        names = [n for n in os.listdir(self.dir) if n.startswith("bootd.db")]
        # bootctl keeps the -wal and -shm files (SQLITE_FCNTL_PERSIST_WAL).
        self.assertEqual(sorted(names),
                         ["bootd.db", "bootd.db-shm", "bootd.db-wal"])
        for name in names:
            path = os.path.join(self.dir, name)
            os.chown(path, self.service, self.group)
            os.chmod(path, 0o660)
            os.rename(path, os.path.join(store, name))
        self.db = os.path.join(store, "bootd.db")
        self.write_cfg({})
        self.bin = os.path.join(self.dir, "bootctl")
        shutil.copy(BOOTCTL, self.bin)
        os.chown(self.bin, 0, self.group)
        os.chmod(self.bin, 0o2755)
        rc, out, err = self.run_ns(BOOTCTL, "--version")
        if rc != 0:
            self.skipTest("no private mount namespace here: %r" % err)

    def owners(self):
        """{suffix: (uid, mode)} of the database's files that exist."""
        out = {}
        for suffix in ("", "-wal", "-shm"):
            try:
                st = os.lstat(self.db + suffix)
            except FileNotFoundError:
                continue
            out[suffix] = (st.st_uid, stat.S_IMODE(st.st_mode))
        return out

    def run_ns(self, binary, *args, env=None):
        """Run binary as nobody (no extra groups) in the namespace."""
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               self.NS_SCRIPT, self.varlib, self.empty, binary] + list(args)
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        if env:
            e.update(env)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=60)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def test_setgid_changes_own_environment_only(self):
        # Without the setgid bit nobody cannot even read the inventory.
        rc, out, err = self.run_ns(BOOTCTL, "status")
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err)
        # With it: hosts of environment lab (group nogroup) only.
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN1)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(self.sql("SELECT action FROM host WHERE fqdn = ?",
                                  (FQDN1,)), [("install",)])
        self.assertIn("nobody (uid %d)" % NOBODY.pw_uid,
                      {r[0] for r in self.audit_rows()})
        rc, out, err = self.run_ns(self.bin, "status")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(FQDN1, out)
        before = self.dump()
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN2,
                                   "--dist", "debian-12")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "permission denied")
        rc, out, err = self.run_ns(self.bin, "env", "add", "evil")
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "permission denied")
        self.assertEqual(self.dump(), before)
        # A configuration or database of the caller's choosing cannot make
        # it an administrator: bootctl gives up the privilege first.
        evil = os.path.join(self.dir, "evil.json")
        with open(evil, "w") as f:
            json.dump({"database": "/var/lib/bootd/db/bootd.db",
                       "admin_group": "nogroup"}, f)
        os.chmod(evil, 0o644)
        for args, env in ((["-c", evil, "env", "add", "evil"], None),
                          (["env", "add", "evil"], {"BOOTD_CONFIG": evil}),
                          (["--db", "/var/lib/bootd/db/bootd.db", "set-local",
                            FQDN1], None)):
            rc, out, err = self.run_ns(self.bin, *args, env=env)
            self.assertEqual(rc, 1, (args, out, err))
            # Refused by the file system, not by bootctl's own check.
            self.assert_one_error_line(err, "(?i)unable to open|denied|"
                                       "readonly|read-only|no (search|read|"
                                       "write) permission")
            self.assertNotIn("needs root", err)
        self.assertEqual(self.dump(), before)

    def test_import_reads_as_the_caller(self):
        # The inventory is the group's to read, not nobody's: import
        # must not read it for nobody (a syntax error would show bytes).
        rc, out, err = self.run_ns(self.bin, "import",
                                   "/var/lib/bootd/db/bootd.db")
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err, "Permission denied")
        self.assertNotIn("SQLite", err)
        # A document nobody may read is imported with the group's rights.
        rc, out, err = self.run_ns(self.bin, "export")
        self.assertEqual((rc, err), (0, ""))
        d = json.loads(out)
        for h in d["hosts"]:
            if h["fqdn"] == FQDN1:
                h["attributes"]["rack"] = "r99"
        path = os.path.join(self.dir, "inventory.json")
        with open(path, "w") as f:
            json.dump(d, f)
        os.chmod(path, 0o644)
        rc, out, err = self.run_ns(self.bin, "import", path)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(self.sql("SELECT value FROM host_attr WHERE "
                                  "key = 'rack'"), [("r99",)])

    def test_wal_and_shm_stay_the_service_users(self):
        """
        A group member's changes go through the -wal and -shm files the
        service user owns; bootctl never makes them the caller's.
        """
        want = {k: (self.service, 0o660) for k in ("", "-wal", "-shm")}
        self.assertEqual(self.owners(), want)
        for args in (["set-reinstall", FQDN1], ["status"],
                     ["attr", "set", FQDN1, "rack", "r1"], ["set-local",
                                                            FQDN1]):
            rc, out, err = self.run_ns(self.bin, *args)
            self.assertEqual((rc, err), (0, ""), (args, out))
            self.assertEqual(self.owners(), want, args)
        self.assertEqual(self.sql("SELECT value FROM host_attr"), [("r1",)])

    def test_missing_wal_refused_until_root_makes_it(self):
        """
        Without -wal and -shm, a setgid bootctl would create them for its
        caller: it refuses with one line saying what to run, and creates
        nothing.  bootctl as root then makes them, for the service user.
        """
        before = self.dump()    # (Python's sqlite3 would make them again)
        for suffix in ("-wal", "-shm"):
            os.unlink(self.db + suffix)
        for args in (["status"], ["set-reinstall", FQDN1]):
            rc, out, err = self.run_ns(self.bin, *args)
            self.assertEqual(rc, 1, (args, out, err))
            self.assert_one_error_line(
                err, r'bootd\.db-wal" does not exist: run bootctl as root')
            self.assertEqual(self.owners(), {"": (self.service, 0o660)})
        self.assertEqual(self.dump(), before)
        # Root's bootctl becomes the directory's owner before it opens.
        self.ok("status")
        want = {k: (self.service, 0o660) for k in ("", "-wal", "-shm")}
        self.assertEqual(self.owners(), want)
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN1)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(self.owners(), want)

    def test_rollback_mode_refused(self):
        """
        In rollback mode SQLite would create a -journal file for the
        caller: a setgid bootctl refuses until the database is in WAL
        mode again (bootctl init as root switches it).
        """
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA journal_mode = DELETE")
                         .fetchone(), ("delete",))
        con.close()
        for suffix in ("-wal", "-shm"):
            fd = os.open(self.db + suffix, os.O_WRONLY | os.O_CREAT |
                         os.O_EXCL, 0o660)
            os.fchown(fd, self.service, self.group)
            os.close(fd)
        before = self.dump()
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN1)
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err, r'bootd\.db" is not in WAL mode: '
                                   r'run bootctl init as root')
        self.assertEqual(self.dump(), before)
        self.assertFalse(os.path.exists(self.db + "-journal"))
        self.ok("init")
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN1)
        self.assertEqual((rc, err), (0, ""), out)
        want = {k: (self.service, 0o660) for k in ("", "-wal", "-shm")}
        self.assertEqual(self.owners(), want)

    def test_wal_of_another_owner_refused(self):
        for suffix in ("-wal", "-shm"):
            os.chown(self.db + suffix, NOBODY.pw_uid, self.group)
            rc, out, err = self.run_ns(self.bin, "status")
            self.assertEqual(rc, 1, (out, err))
            self.assert_one_error_line(
                err, r'bootd\.db%s" belongs to uid %d, not to the service '
                r'user' % (suffix, NOBODY.pw_uid))
            os.chown(self.db + suffix, self.service, self.group)
        # A link in its place is refused too (and never followed).
        os.unlink(self.db + "-shm")
        os.symlink(self.db + "-wal", self.db + "-shm")
        rc, out, err = self.run_ns(self.bin, "status")
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err, r'bootd\.db-shm" is not a plain '
                                   r'file with a single name')


@unittest.skipUnless(harness.on_postgresql(), "the PostgreSQL run has it "
                     "(BOOTD_TEST_ENGINE=postgresql)")
class TestSetgidPostgresql(BootctlCase):
    """
    An installed setgid copy of bootctl on PostgreSQL, as bootctl(8)
    POSTGRESQL says: the role's password is in the system's libpq service
    file, readable by bootctl's group only (here "staff"), and the default
    configuration names the service.  In a private mount namespace /etc is
    an overlay, so the test's bootd.json and pg_service.conf stand at
    their real places; bootctl then runs as nobody (group nogroup only).
    """

    ROLE = "bootd_writer"
    PASSWORD = "pw-only-for-group-staff"

    NS_SCRIPT = (
        'mount -t overlay overlay -o lowerdir=/etc,upperdir="$0/upper",'
        'workdir="$0/work" /etc || exit 99; '
        'mkdir -p /etc/bootd /etc/postgresql-common || exit 99; '
        'cp "$0/bootd.json" /etc/bootd/bootd.json || exit 99; '
        'install -o root -g staff -m 0640 "$0/pg_service.conf" '
        '/etc/postgresql-common/pg_service.conf || exit 99; '
        'exec setpriv --reuid=%d --regid=%d --clear-groups "$@"'
        % (NOBODY.pw_uid, NOBODY.pw_gid))

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (a setgid copy, a mount namespace)")
        if os.environ.get("BOOTD_SANITIZE") == "1":
            self.skipTest("setgid binaries do not run under LeakSanitizer")
        if shutil.which("unshare") is None or shutil.which("setpriv") is None:
            self.skipTest("unshare(1) and setpriv(1) are needed")
        server, dbname = harness.pg.server_of(self.db)
        # A role that logs in with its password only (pg_hba.conf).
        if not server.query("SELECT 1 FROM pg_roles WHERE rolname = '%s'"
                            % self.ROLE):
            server.psql("CREATE ROLE %s LOGIN PASSWORD '%s'" % (
                self.ROLE, self.PASSWORD))
            hba = os.path.join(server.data, "pg_hba.conf")
            with open(hba) as f:
                text = f.read()
            os.chmod(self.dir, 0o755)     # for the servers' owner
            new = os.path.join(self.dir, "pg_hba.conf")
            with open(new, "w") as f:
                f.write("local all %s scram-sha-256\n%s" % (self.ROLE, text))
            os.chmod(new, 0o644)
            harness.pg._run(["cp", new, hba], "cp pg_hba.conf")
            server.psql("SELECT pg_reload_conf()")
        server.psql('ALTER DATABASE "%s" OWNER TO %s' % (dbname, self.ROLE))
        # Root sets it up with the password in the URI.
        self.db = ("postgresql:///%s?host=%s&port=%d&user=%s&password=%s"
                   % (dbname, server.sock, server.port, self.ROLE,
                      self.PASSWORD))
        self.write_cfg({})
        self.populate()         # lab: group nogroup
        self.ok("host", "add", FQDN2, MAC2)            # default: admins
        self.ns = os.path.join(self.dir, "ns")
        for d in ("upper", "work"):
            os.makedirs(os.path.join(self.ns, d))
        self.service = "postgresql:///?service=bootd"
        with open(os.path.join(self.ns, "bootd.json"), "w") as f:
            json.dump({"database": self.service,
                       "menu": {"base_url": BASE_URL}}, f)
        with open(os.path.join(self.ns, "pg_service.conf"), "w") as f:
            f.write("[bootd]\nhost=%s\nport=%d\ndbname=%s\nuser=%s\n"
                    "password=%s\n" % (server.sock, server.port, dbname,
                                        self.ROLE, self.PASSWORD))
        os.chmod(self.dir, 0o755)
        self.bin = os.path.join(self.dir, "bootctl")
        shutil.copy(BOOTCTL, self.bin)
        os.chown(self.bin, 0, grp.getgrnam("staff").gr_gid)
        os.chmod(self.bin, 0o2755)
        rc, out, err = self.run_ns(BOOTCTL, "--version")
        if rc != 0:
            self.skipTest("no private mount namespace or overlay here: %r"
                          % err)

    def run_ns(self, binary, *args, env=None):
        """Run binary as nobody (no extra groups) in the namespace."""
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               self.NS_SCRIPT, self.ns, binary] + list(args)
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("PG") and k != "BOOTD_CONFIG"}
        if env:
            e.update(env)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=60)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def test_setgid_through_the_service_file_only(self):
        # Without the setgid bit nobody cannot read the password.
        rc, out, err = self.run_ns(BOOTCTL, "status")
        self.assertEqual(rc, 1, (out, err))
        self.assert_one_error_line(err)
        self.assertNotIn(self.PASSWORD, err)
        # With it: the configured inventory, hosts of lab (nogroup) only.
        rc, out, err = self.run_ns(self.bin, "set-reinstall", FQDN1)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(self.sql("SELECT action FROM host WHERE fqdn = ?",
                                  (FQDN1,)), [("install",)])
        self.assertIn("nobody (uid %d)" % NOBODY.pw_uid,
                      {r[0] for r in self.audit_rows()})
        before = self.dump()
        rc, out, err = self.run_ns(self.bin, "set-local", FQDN2)
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "permission denied")
        # The same URI given with --db (or any configuration of the
        # caller's) runs without the privilege: no password, no change.
        evil = os.path.join(self.dir, "evil.json")
        with open(evil, "w") as f:
            json.dump({"database": self.service, "admin_group": "nogroup"},
                      f)
        os.chmod(evil, 0o644)
        for args, env in ((["--db", self.service, "set-local", FQDN2], None),
                          (["-c", evil, "set-local", FQDN2], None),
                          (["set-local", FQDN2], {"BOOTD_CONFIG": evil})):
            rc, out, err = self.run_ns(self.bin, *args, env=env)
            self.assertEqual(rc, 1, (args, out, err))
            self.assert_one_error_line(err)
            self.assertNotIn("permission denied", err)
            self.assertNotIn(self.PASSWORD, err)
        self.assertEqual(self.dump(), before)
        # The caller's PG* variables play no part in a setgid run: here
        # every session read-only, another service file.
        other = os.path.join(self.dir, "other_service.conf")
        with open(other, "w") as f:
            f.write("[bootd]\nhost=/nonexistent\n")
        os.chmod(other, 0o644)
        rc, out, err = self.run_ns(self.bin, "set-local", FQDN1, env={
            "PGOPTIONS": "-c default_transaction_read_only=on",
            "PGSERVICEFILE": other})
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(self.sql("SELECT action FROM host WHERE fqdn = ?",
                                  (FQDN1,)), [("local",)])


@sqlite_only("tools/demo-inventory makes an SQLite file")
class TestDemoInventory(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bootctl-demo-")
        self.db = os.path.join(self.dir, "demo.db")
        self.script = os.path.join(SRC, "tools", "demo-inventory")
        self.env = dict(os.environ, BOOTCTL=BOOTCTL)
        cfg = os.path.join(self.dir, "bootd.json")
        with open(cfg, "w") as f:
            json.dump({"menu": {"base_url": BASE_URL}}, f)
        self.env["BOOTD_CONFIG"] = cfg

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_demo(self, *args):
        p = subprocess.run([self.script, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.env, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_demo(self):
        rc, out, err = self.run_demo(self.db)
        self.assertEqual((rc, err), (0, ""), out)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:3], ["HOST", "ACTION", "DIST"])
        rows = {l.split()[0]: l.split() for l in lines[1:]}
        self.assertEqual(sorted(rows), ["db1.lab.example.org",
                                        "web1.lab.example.org",
                                        "web2.lab.example.org"])
        self.assertEqual(rows["web1.lab.example.org"][1:3],
                         ["install", "debian-12"])
        self.assertEqual(rows["web2.lab.example.org"][1], "local")
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute(
            "SELECT value FROM host_attr JOIN host ON host.id = "
            "host_attr.host WHERE fqdn = 'db1.lab.example.org' AND "
            "key = 'puppet_role'").fetchall(), [("database",)])
        self.assertEqual(sorted(con.execute("SELECT name FROM dist")),
                         [("debian-12",), ("rocky-9",)])
        con.close()
        # The install host renders its installer.
        p = subprocess.run([BOOTCTL, "--db", self.db, "render", "web1"],
                           stdout=subprocess.PIPE, env=self.env)
        self.assertEqual(p.returncode, 0)
        self.assertIn(BASE_URL + "/images/debian-12/vmlinuz",
                      p.stdout.decode())

        # Existing database: refused, untouched.
        mtime = os.stat(self.db).st_mtime_ns
        rc, out, err = self.run_demo(self.db)
        self.assertEqual(rc, 1)
        self.assertIn("--force", err)
        self.assertEqual(os.stat(self.db).st_mtime_ns, mtime)
        # --force recreates it.
        rc, out, err = self.run_demo("--force", self.db)
        self.assertEqual((rc, err), (0, ""))
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("SELECT count(*) FROM host")
                         .fetchone()[0], 3)
        con.close()

    def test_demo_usage(self):
        rc, out, err = self.run_demo()
        self.assertEqual(rc, 2)
        self.assertIn("usage", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
