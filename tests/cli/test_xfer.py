#!/usr/bin/env python3
"""test_xfer.py - export, import, discovered adopt/forget and history

Runs the built bootctl on real SQLite files, as test_bootctl.py does (its
BootctlCase gives the temporary inventory, running bootctl and reading the
database directly), and a real bootd behind nginx (tests/harness.py) for
the boots that history shows.  JSON output is parsed, never matched as
text; every refused import is checked to leave a byte-identical dump of
the database.

Environment: BOOTD_BINARY_DIR (build tree), BOOTD_SOURCE_DIR.
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from test_bootctl import (BootctlCase, BOOTCTL, CMDLINE, FQDN1, FQDN2,  # noqa
                          MAC1, MAC2, MAC3, NOBODY, as_user)
import harness  # noqa: E402
from harness import sqlite_only  # noqa: E402

HEAD = {"format": "bootd-inventory", "version": 1}


def doc(**sections):
    d = dict(HEAD)
    d.update(sections)
    return d


class XferCase(BootctlCase):

    def write_doc(self, content, name="doc.json"):
        """Write content (a dict, or text as it is) readable by anyone."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str)
                    else json.dumps(content))
        os.chmod(path, 0o644)
        return path

    def import_refused(self, content, *paths, extra=(), preexec=None):
        """
        Import content, expect exit 1, nothing on stdout, one problem per
        line naming each of paths, and a byte-identical database.
        """
        before = self.dump()
        rc, out, err = self.run_ctl("import", self.write_doc(content),
                                    *extra, preexec=preexec)
        self.assertEqual(rc, 1, "import accepted: %r %r" % (out, err))
        self.assertEqual(out, "")
        lines = err.splitlines()
        self.assertRegex(lines[-1], r"^bootctl: import: (\d+ problems|.*); "
                         r"nothing was changed$")
        for line in lines:
            self.assertTrue(line.startswith("bootctl: import: "), line)
            self.assertNotRegex(line, r"[\x00-\x1f\x7f]")
        for path in paths:
            self.assertTrue(any(l.startswith("bootctl: import: %s: " % path)
                                or l.startswith("bootctl: import: %s" % path)
                                for l in lines),
                            "no problem at %s in %r" % (path, err))
        self.assertEqual(self.dump(), before, "a refused import changed "
                         "the inventory")
        return lines

    def export(self, *args, **kw):
        return self.ok("export", *args, **kw)

    def big_inventory(self):
        """populate() and more: two environments, install, attributes."""
        self.populate()
        self.ok("env", "add", "prod")
        self.ok("dist", "add", "rocky-9", "--kernel", "http://x/k",
                "--initrd", "http://x/i1", "--initrd", "http://x/i2",
                "--cmdline", "quiet")
        self.ok("host", "add", FQDN2, MAC2, "52:54:00:12:34:60",
                "--env", "prod", "--dist", "rocky-9")
        self.ok("attr", "set", FQDN2, "role", "db")
        self.ok("host", "add", "a.example.org", MAC3)
        self.ok("set-reinstall", FQDN1)


class TestExport(XferCase):

    def test_document(self):
        self.big_inventory()
        out = self.export()
        d = json.loads(out)
        self.assertEqual((d["format"], d["version"]), ("bootd-inventory", 1))
        self.assertEqual([e["name"] for e in d["environments"]],
                         ["default", "lab", "prod"])
        self.assertEqual([x["name"] for x in d["distributions"]],
                         ["debian-12", "rocky-9"])
        self.assertEqual(d["distributions"][1]["initrds"],
                         ["http://x/i1", "http://x/i2"])
        self.assertEqual([h["fqdn"] for h in d["hosts"]],
                         ["a.example.org", FQDN1, FQDN2])
        web1 = d["hosts"][1]
        self.assertEqual(web1, {
            "fqdn": FQDN1, "environment": "lab", "action": "install",
            "distribution": "debian-12", "macs": [MAC1],
            "attributes": {"rack": "r12"}})
        self.assertIsNone(d["hosts"][0]["distribution"])
        self.assertEqual(d["hosts"][2]["macs"],
                         [MAC2, "52:54:00:12:34:60"])
        # No token, anywhere.
        token = self.sql("SELECT token FROM token")[0][0]
        self.assertNotIn(token, out)
        for h in d["hosts"]:
            self.assertNotIn("token", h)
        # Again: the same bytes.
        self.assertEqual(self.export(), out)

    def test_export_env(self):
        self.big_inventory()
        d = json.loads(self.export("--env", "prod"))
        self.assertEqual(d["environments"], [{"name": "prod", "group": ""}])
        self.assertEqual([x["name"] for x in d["distributions"]],
                         ["rocky-9"])
        self.assertEqual([h["fqdn"] for h in d["hosts"]], [FQDN2])
        self.refused(1, r'no environment "nope"', "export", "--env", "nope")

    def test_round_trip_byte_for_byte(self):
        self.big_inventory()
        first = self.export()
        path = self.write_doc(first)
        other = harness.new_inventory(self.dir, "other.db")
        self.ok("--db", other, "init")
        self.ok("--db", other, "import", path)
        self.assertEqual(self.ok("--db", other, "export"), first)
        # The host marked install got a fresh token, not the old one.
        tok = self.sql("SELECT token FROM token WHERE revoked = 0")
        self.db = other
        new = self.sql("SELECT t.token FROM token t JOIN host h "
                       "ON h.id = t.host WHERE h.fqdn = ?", (FQDN1,))
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new, tok)
        # Importing it again changes nothing and writes no audit row.
        n = len(self.audit_rows())
        self.ok("import", path)
        self.assertEqual(len(self.audit_rows()), n)


@unittest.skipIf(harness.on_postgresql(), "run once, in the SQLite run: "
                 "its inventories are an SQLite file and a PostgreSQL "
                 "database whatever the engine")
class TestMoveToPostgresql(XferCase):
    """
    Moving an inventory from SQLite to PostgreSQL as doc/scale-out.md
    says: bootctl export from the file, bootctl init and import on a
    fresh database, then the same export from both.
    """

    def setUp(self):
        reason = harness.pg.missing()
        if reason is not None:
            self.skipTest(reason)
        super().setUp()
        self.db = os.path.join(self.dir, "bootd.db")
        self.write_cfg({})

    def test_export_import_same_export(self):
        self.big_inventory()
        path = self.write_doc(self.export())
        uri = harness.pg.new_database()
        self.ok("--db", uri, "init")
        self.ok("--db", uri, "import", path)
        self.assertEqual(self.ok("--db", uri, "export"), self.export())
        # Through the configuration, as bootd reads it, too.
        sqlite_db, self.db = self.db, uri
        self.write_cfg({})
        self.assertEqual(self.export(), self.ok("--db", sqlite_db,
                                                "export"))
        self.assertEqual(self.ok("render", FQDN2),
                         self.ok("--db", sqlite_db, "render", FQDN2))
        self.assertEqual(sorted(self.sql("SELECT fqdn, env, action, dist "
                                         "FROM host")),
                         sorted(harness.inv_rows(
                             sqlite_db, "SELECT fqdn, env, action, dist "
                             "FROM host")))
        # The host marked install has a token of its own there.
        self.assertEqual(len(self.sql(
            "SELECT t.token FROM token t JOIN host h ON h.id = t.host "
            "WHERE h.fqdn = ? AND t.revoked = 0 AND t.used_at IS NULL",
            (FQDN1,))), 1)
        # Importing it again changes nothing and writes no audit row.
        n = len(self.audit_rows())
        self.ok("import", path)
        self.assertEqual(len(self.audit_rows()), n)


class TestImport(XferCase):

    def setUp(self):
        super().setUp()
        self.populate()
        self.ok("host", "add", FQDN2, MAC2)

    def test_every_kind_of_invalid_document(self):
        web = {"fqdn": "new.example.org", "macs": [MAC3]}
        cases = [
            # Syntax: Jansson's line and column.
            ('{"format": "bootd-inventory", "version": 1, "hosts": [',
             ["line 1, column"]),
            ('{"format": "bootd-inventory", "version": 1, "version": 1}',
             ["line 1"]),
            ("[]", [""]),
            # Format and version.
            (dict(format="other", version=1), ["format"]),
            (dict(format="bootd-inventory", version=2,
                  hosts="whatever"), ["version"]),
            (dict(format="bootd-inventory", version="1"), ["version"]),
            # Wrong types.
            (doc(hosts={}), ["hosts"]),
            (doc(hosts=[17]), [r"hosts\[0\]"]),
            (doc(hosts=[dict(web, fqdn=5)]), [r"hosts\[0\]\.fqdn"]),
            (doc(hosts=[dict(web, macs=MAC3)]), [r"hosts\[0\]\.macs"]),
            (doc(hosts=[dict(web, attributes={"k": 1})]),
             [r"hosts\[0\]\.attributes\.k"]),
            (doc(distributions=[{"name": "d", "kernel": "http://k",
                                 "initrds": "http://i"}]),
             [r"distributions\[0\]\.initrds"]),
            # Unknown and missing keys.
            (doc(colour="red"), ["colour"]),
            (doc(hosts=[dict(web, colour="red")]),
             [r"hosts\[0\]\.colour"]),
            (doc(hosts=[{"macs": [MAC3]}]), [r"hosts\[0\]"]),
            # MACs: bad, twice in the document, a host that stays has it.
            (doc(hosts=[web, dict(web, fqdn="x.example.org",
                                   macs=["52:54:00:zz:00:01", "aa"])]),
             [r"hosts\[1\]\.macs\[0\]", r"hosts\[1\]\.macs\[1\]"]),
            (doc(hosts=[web, {"fqdn": "x.example.org",
                              "macs": ["52-54-00-12-34-58"]}]),
             [r"hosts\[1\]\.macs\[0\]"]),
            (doc(hosts=[dict(web, macs=[MAC2])]), [r"hosts\[0\]\.macs"]),
            # Unknown environment and distribution.
            (doc(hosts=[dict(web, environment="prod")]),
             [r"hosts\[0\]\.environment"]),
            (doc(hosts=[dict(web, distribution="rocky-9")]),
             [r"hosts\[0\]\.distribution"]),
            # Control characters and what the validators refuse.
            (doc(hosts=[dict(web, fqdn="new\u0001.example.org")]),
             [r"hosts\[0\]\.fqdn"]),
            (doc(hosts=[dict(web, attributes={"k": "a\nb"})]),
             [r"hosts\[0\]\.attributes\.k"]),
            (doc(hosts=[dict(web, attributes={"k": "${net0/mac}"})]),
             [r"hosts\[0\]\.attributes\.k"]),
            (doc(environments=[{"name": "x", "group": "Bad Group"}]),
             [r"environments\[0\]\.group"]),
            (doc(distributions=[{"name": "d", "kernel": "http://k",
                                 "initrds": ["http://i"],
                                 "cmdline": "quiet || reboot"}]),
             [r"distributions\[0\]\.cmdline"]),
            (doc(hosts=[dict(web, action="install")]),
             [r"hosts\[0\]\.action"]),
            # Names twice.
            (doc(hosts=[web, dict(web, fqdn="NEW.example.org",
                                   macs=["52:54:00:00:00:77"])]),
             [r"hosts\[1\]\.fqdn"]),
        ]
        for content, paths in cases:
            with self.subTest(content=content):
                import re as _re
                before = self.dump()
                rc, out, err = self.run_ctl(
                    "import", self.write_doc(content))
                self.assertEqual((rc, out), (1, ""), err)
                for p in paths:
                    self.assertTrue(
                        any(_re.match(r"bootctl: import: %s" % p, l)
                            for l in err.splitlines()),
                        "no problem at %s: %r" % (p, err))
                self.assertEqual(self.dump(), before)
                for line in err.splitlines():
                    self.assertNotRegex(line, r"[\x00-\x1f\x7f]")

    def test_every_problem_at_once(self):
        lines = self.import_refused(doc(
            hosts=[{"fqdn": "a.example.org", "macs": ["zz"]},
                   {"fqdn": "b.example.org", "macs": [MAC3],
                    "environment": "nope"},
                   {"fqdn": "c.example.org", "macs": [MAC3, MAC1]}]),
            r"hosts[0].macs[0]", r"hosts[1].environment",
            r"hosts[2].macs[0]", r"hosts[2].macs")
        self.assertEqual(lines[-1],
                         "bootctl: import: 4 problems; nothing was changed")

    def test_newer_version_alone(self):
        lines = self.import_refused(
            dict(format="bootd-inventory", version=99, hosts=5), "version")
        self.assertEqual(len(lines), 1)
        self.assertIn("newer than this bootctl reads", lines[0])

    def test_adds_and_updates_with_audit(self):
        d = json.loads(self.export())
        web1 = d["hosts"][0]
        self.assertEqual(web1["fqdn"], FQDN1)
        web1["attributes"] = {"rack": "r13", "role": "web"}
        web1["macs"] = [MAC1, MAC3]
        d["hosts"].append({"fqdn": "new.example.org", "environment": "lab",
                           "distribution": "debian-12",
                           "macs": ["52:54:00:00:00:77"],
                           "attributes": {"role": "db"}})
        before = len(self.audit_rows())
        self.ok("import", self.write_doc(d))
        rows = self.audit_rows()[before:]
        self.assertEqual(
            sorted((r[1], r[2]) for r in rows),
            sorted([("nic-add", FQDN1), ("attr-set", FQDN1),
                    ("attr-set", FQDN1), ("host-add", "new.example.org")]))
        add = [r for r in rows if r[1] == "host-add"][0]
        self.assertIn("attrs=role=db", add[4])
        self.assertIn("dist=debian-12", add[4])
        self.assertEqual(json.loads(self.export())["hosts"][1:3][0]["macs"],
                         [MAC1, MAC3])
        # Without --replace, web2 (not in the document... it was) and
        # everything else stays.
        self.assertEqual(len(json.loads(self.export())["hosts"]), 3)

    def test_replace(self):
        d = json.loads(self.export())
        d["hosts"] = [h for h in d["hosts"] if h["fqdn"] != FQDN2]
        d["distributions"] = d["distributions"]
        path = self.write_doc(d)
        out = self.ok("import", "--dry-run", "--replace", path)
        self.assertIn("remove host %s" % FQDN2, out)
        self.assertIn("1 change; nothing was changed (--dry-run)", out)
        self.assertEqual(len(self.sql("SELECT * FROM host")), 2)
        self.ok("import", "--replace", path)
        self.assertEqual(self.sql("SELECT fqdn FROM host"), [(FQDN1,)])
        self.assertEqual(self.audit_rows()[-1][1:3], ("host-remove", FQDN2))
        # --replace --env: the document holds that environment only.
        self.import_refused(json.loads(self.export()), r"hosts[0].environment",
                            extra=("--replace", "--env", "default"))

    def test_replace_keeps_default_unnamed(self):
        # "default" is never removed, so a document with an environments
        # list that leaves it out still has it for its hosts: it was
        # refused ("no environment default, neither in the document nor
        # in the inventory").
        d = json.loads(self.export())
        d["environments"] = [e for e in d.get("environments", [])
                             if e["name"] != "default"]
        self.assertIn("default", [h.get("environment", "default")
                                  for h in d["hosts"]])
        self.ok("import", "--replace", self.write_doc(d))
        self.assertIn(("default",), self.sql("SELECT name FROM env"))

    def test_replace_env_leaves_environments_and_distributions(self):
        # --replace --env lab replaces the hosts of lab.  Environments
        # and distributions are the whole inventory's, and an export of
        # lab holds only those of its hosts: run by an admin, it removed
        # environment prod and distribution rocky-9.
        self.ok("env", "add", "prod")
        self.ok("dist", "add", "rocky-9", "--kernel", "http://x/k",
                "--initrd", "http://x/i", "--cmdline", "quiet")
        self.ok("host", "add", "new.lab.example.org", MAC3, "--env", "lab")
        d = json.loads(self.export("--env", "lab"))
        d["hosts"] = [h for h in d["hosts"] if h["fqdn"] == FQDN1]
        self.ok("import", "--replace", "--env", "lab", self.write_doc(d))
        self.assertEqual(self.sql("SELECT name FROM env ORDER BY name"),
                         [("default",), ("lab",), ("prod",)])
        self.assertEqual(self.sql("SELECT name FROM dist ORDER BY name"),
                         [("debian-12",), ("rocky-9",)])
        self.assertEqual(self.sql("SELECT fqdn FROM host ORDER BY fqdn"),
                         [(FQDN1,), (FQDN2,)])

    def test_replace_frees_macs_and_moves_them(self):
        # web2's MAC goes to a new host; web2 is left out and removed.
        d = json.loads(self.export())
        d["hosts"] = [h for h in d["hosts"] if h["fqdn"] != FQDN2]
        d["hosts"].append({"fqdn": "new.example.org", "macs": [MAC2]})
        self.import_refused(d, r"hosts[1].macs")   # without --replace
        self.ok("import", "--replace", self.write_doc(d))
        self.assertEqual(self.sql("SELECT h.fqdn FROM nic n JOIN host h "
                                  "ON h.id = n.host WHERE n.mac = ?",
                                  (MAC2,)), [("new.example.org",)])

    def test_nics_move_between_hosts(self):
        d = json.loads(self.export())
        web1, web2 = d["hosts"]
        web1["macs"], web2["macs"] = [MAC2, MAC3], [MAC1]
        self.ok("import", self.write_doc(d))
        self.assertEqual(sorted(self.sql(
            "SELECT n.mac, h.fqdn FROM nic n JOIN host h ON h.id = n.host")),
            [(MAC1, FQDN2), (MAC2, FQDN1), (MAC3, FQDN1)])
        # Two hosts swapping their only NICs cannot: nothing changes.
        web1["macs"], web2["macs"] = [MAC1], [MAC2]
        self.ok("nic", "remove", MAC3)
        d = json.loads(self.export())
        d["hosts"][0]["macs"], d["hosts"][1]["macs"] = [MAC1], [MAC2]
        before = self.dump()
        rc, out, err = self.run_ctl("import", self.write_doc(d))
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, r"nothing was changed")
        self.assertEqual(self.dump(), before)

    def test_install_and_local(self):
        d = json.loads(self.export())
        d["hosts"][1].update(action="install", distribution="debian-12")
        self.ok("import", self.write_doc(d))
        tok = self.sql("SELECT t.token FROM token t JOIN host h "
                       "ON h.id = t.host WHERE h.fqdn = ? AND revoked = 0 "
                       "AND used_at IS NULL", (FQDN2,))
        self.assertEqual(len(tok), 1)
        self.assertEqual(self.audit_rows()[-1][1:3], ("set-reinstall", FQDN2))
        # Again: it keeps its token.
        self.ok("import", self.write_doc(d))
        self.assertEqual(self.sql("SELECT t.token FROM token t JOIN host h "
                                  "ON h.id = t.host WHERE h.fqdn = ? AND "
                                  "revoked = 0", (FQDN2,)), tok)
        d["hosts"][1]["action"] = "local"
        self.ok("import", self.write_doc(d))
        self.assertEqual(self.sql("SELECT action FROM host WHERE fqdn = ?",
                                  (FQDN2,)), [("local",)])

    def test_dist_update_checked_as_the_import_ends(self):
        # A distribution that comes to use an attribute, and the host
        # marked install with it given that attribute, in one document:
        # consistent in the end, it was refused, the update checked
        # before the attribute was set.
        self.ok("set-reinstall", FQDN1, "-q")
        tokens = "SELECT token FROM token WHERE revoked = 0"
        tok = self.sql(tokens)
        d = json.loads(self.export())
        d["distributions"][0]["cmdline"] += " foo={{attr.foo}}"
        web1, web2 = d["hosts"]
        web1["attributes"]["foo"] = "bar"
        self.ok("import", self.write_doc(d))
        self.assertTrue(self.sql("SELECT cmdline FROM dist")[0][0]
                        .endswith(" foo={{attr.foo}}"))
        self.assertEqual(self.sql("SELECT value FROM host_attr WHERE "
                                  "key = 'foo'"), [("bar",)])
        self.assertEqual(self.sql(tokens), tok)
        # Inconsistent in the end: web2, marked install with it too,
        # lacks what it comes to use.  Refused whole, web2 named.
        self.ok("attr", "set", FQDN2, "foo", "bar")
        self.ok("set-reinstall", FQDN2, "--dist", "debian-12", "-q")
        d = json.loads(self.export())
        d["distributions"][0]["cmdline"] += " baz={{attr.baz}}"
        web1, web2 = d["hosts"]
        web1["attributes"]["baz"] = "qux"
        lines = self.import_refused(d)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(FQDN2, lines[0])
        self.assertIn("baz", lines[0])
        # Set to local boot in the same document, web2 needs nothing.
        web2["action"] = "local"
        self.ok("import", self.write_doc(d))
        self.assertEqual(self.sql("SELECT fqdn, action FROM host ORDER BY "
                                  "fqdn"), [(FQDN1, "install"),
                                            (FQDN2, "local")])

    def test_stdin(self):
        d = json.loads(self.export())
        d["hosts"][0]["attributes"]["role"] = "web"
        p = subprocess.run([BOOTCTL, "-c", self.cfg, "import", "-"],
                           input=json.dumps(d).encode(),
                           capture_output=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertEqual(self.sql("SELECT value FROM host_attr WHERE key = "
                                  "'role'"), [("web",)])

    def test_no_lock_while_reading(self):
        # An import waiting for its document holds no lock: others change
        # the inventory meanwhile, and the import then applies on top.
        p = subprocess.Popen([BOOTCTL, "-c", self.cfg, "import", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            self.ok("host", "add", "other.example.org", MAC3)
            d = doc(hosts=[{"fqdn": "new.example.org",
                            "macs": ["52:54:00:00:00:77"]}])
            out, err = p.communicate(json.dumps(d).encode(), timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual((p.returncode, err), (0, b""))
        self.assertEqual(len(self.sql("SELECT * FROM host WHERE fqdn IN "
                                      "('other.example.org', "
                                      "'new.example.org')")), 2)

    def test_usage(self):
        path = self.write_doc(doc())
        rc, out, err = self.run_ctl("import", path, "--env", "lab")
        self.assertEqual(rc, 2)
        rc, out, err = self.run_ctl("import", os.path.join(self.dir, "no"))
        self.assertEqual(rc, 1)
        self.assert_one_error_line(err, "No such file")


class TestImportInstallScript(XferCase):
    """A document after which a host marked install would get an install
    script bootd cannot make safely (an attribute "$" before the
    template's "{net0/ip}" makes "${") is refused whole, the host named,
    as set-reinstall, attr set and host set-dist refuse such a change:
    import took it, and bootd then booted the host locally instead of
    installing it."""

    SPOIL = "a={{attr.p}}{net0/ip} tok={{token}}"

    def setUp(self):
        super().setUp()
        self.populate()                 # web1: lab, debian-12
        self.ok("dist", "add", "spoil", "--kernel", "{{base_url}}/k",
                "--initrd", "{{base_url}}/i", "--cmdline", self.SPOIL)
        self.ok("attr", "set", FQDN1, "p", "x")

    def refused_naming_web1(self, d, path):
        lines = self.import_refused(d, path)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("%s: the install script for spoil cannot be made "
                      "safely" % FQDN1, lines[0])

    def test_marked_install(self):
        d = json.loads(self.export())
        web1 = d["hosts"][0]
        web1.update(action="install", distribution="spoil")
        web1["attributes"]["p"] = "$"
        self.refused_naming_web1(d, "hosts[0]")
        web1["attributes"]["p"] = "y"
        self.ok("import", self.write_doc(d))
        self.assertEqual(self.sql("SELECT action, dist FROM host"),
                         [("install", "spoil")])

    def test_attribute_of_a_host_marked_install(self):
        self.ok("set-reinstall", FQDN1, "--dist", "spoil", "-q")
        d = json.loads(self.export())
        d["hosts"][0]["attributes"]["p"] = "$"
        self.refused_naming_web1(d, "hosts[0]")

    def test_distribution_update(self):
        # web1 is not in the document: the update alone spoils it.
        self.ok("dist", "update", "spoil", "--cmdline", "a={{attr.p}} "
                "tok={{token}}")
        self.ok("attr", "set", FQDN1, "p", "$")
        self.ok("set-reinstall", FQDN1, "--dist", "spoil", "-q")
        d = json.loads(self.export())
        spoil = [x for x in d["distributions"] if x["name"] == "spoil"]
        spoil[0]["cmdline"] = self.SPOIL
        self.refused_naming_web1(doc(distributions=spoil),
                                 "distributions[0]")


class TestImportPermissions(XferCase):
    """Import as nobody (group nogroup: environment lab) on a real store."""

    def setUp(self):
        super().setUp()
        self.store = os.path.join(self.dir, "db")
        os.mkdir(self.store)
        os.chown(self.store, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(self.store, 0o770)
        os.chmod(self.dir, 0o755)
        if not self.pg:
            self.db = os.path.join(self.store, "bootd.db")
        self.write_cfg({})
        self.populate()                 # lab: group nogroup
        self.ok("host", "add", FQDN2, MAC2)            # default: admins
        self.drop = as_user(NOBODY.pw_uid, NOBODY.pw_gid)

    def test_own_environment_only(self):
        d = json.loads(self.export())
        web1 = [h for h in d["hosts"] if h["fqdn"] == FQDN1][0]
        web1["attributes"]["role"] = "web"
        # The whole document: web1 changes, web2 does not: allowed.
        self.ok("import", self.write_doc(d), preexec=self.drop)
        self.assertIn(("nobody (uid %d)" % NOBODY.pw_uid, "attr-set", FQDN1),
                      [r[:3] for r in self.audit_rows()])
        # A change to web2 (environment default): nothing changes, and
        # the host and the group it needed are named.
        web2 = [h for h in d["hosts"] if h["fqdn"] == FQDN2][0]
        web2["attributes"]["role"] = "db"
        web1["attributes"]["role"] = "www"
        lines = self.import_refused(d, preexec=self.drop)
        self.assertTrue(any("permission denied" in l and FQDN2 in l and
                            "environment default" in l for l in lines),
                        lines)
        # A new host into lab: allowed; into default: refused.
        web2["attributes"] = {}
        web1["attributes"]["role"] = "web"
        d["hosts"].append({"fqdn": "new.example.org", "environment": "lab",
                           "macs": [MAC3]})
        self.ok("import", self.write_doc(d), preexec=self.drop)
        d["hosts"].append({"fqdn": "x.example.org",
                           "macs": ["52:54:00:00:00:77"]})
        self.import_refused(d, preexec=self.drop)

    def test_admin_objects(self):
        d = json.loads(self.export())
        d["distributions"][0]["cmdline"] = "quiet"
        lines = self.import_refused(d, r"distributions[0]",
                                    preexec=self.drop)
        self.assertIn("needs root or group", "\n".join(lines))
        d = json.loads(self.export())
        d["environments"].append({"name": "x", "group": "nogroup"})
        self.import_refused(d, r"environments[", preexec=self.drop)

    def test_replace_within_permissions(self):
        d = json.loads(self.export())
        d["hosts"] = [h for h in d["hosts"] if h["fqdn"] == FQDN1]
        # web2 would be removed: it is in default, admins only.
        lines = self.import_refused(d, extra=("--replace",),
                                    preexec=self.drop)
        self.assertTrue(any(FQDN2 in l and "remove host" in l
                            for l in lines), lines)
        # Narrowed to lab, the same document replaces what nobody may.
        d["hosts"] = []
        self.ok("import", "--replace", "--env", "lab", self.write_doc(d),
                preexec=self.drop)
        self.assertEqual(self.sql("SELECT fqdn FROM host"), [(FQDN2,)])


def hold_write_lock(db):
    """Take the inventory's write lock in this process (BEGIN IMMEDIATE,
    as bootctl's changes do); the caller rolls back or commits."""
    con = __import__("sqlite3").connect(db, isolation_level=None,
                                        timeout=0)
    con.execute("BEGIN IMMEDIATE")
    return con


def wait_sleeping(pid):
    """Until pid sleeps in (clock_)nanosleep: SQLite's busy handler
    waiting for the write lock (x86-64 syscalls 35 and 230)."""
    for _ in range(3000):
        with open("/proc/%d/syscall" % pid) as f:
            if f.read().split()[0] in ("35", "230"):
                return
        time.sleep(0.01)
    raise AssertionError("bootctl never waited for the lock")


class TestImportReview(XferCase):
    """What an import does with nothing to do, short options, hints, and an
    inventory that changes while the import waits for the lock."""

    def setUp(self):
        super().setUp()
        self.store = os.path.join(self.dir, "db")
        os.mkdir(self.store)
        os.chown(self.store, NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(self.store, 0o770)
        os.chmod(self.dir, 0o755)
        if not self.pg:
            self.db = os.path.join(self.store, "bootd.db")
        self.write_cfg({})
        self.populate()                 # lab: group nogroup
        self.ok("host", "add", FQDN2, MAC2)            # default: admins

    @sqlite_only("SQLite's write lock, held by the test")
    def test_nothing_to_change_takes_no_lock(self):
        # nobody, in no environment's group, may change nothing: a
        # re-import of the export is nothing to change, said so, and
        # never waits for (or takes) the write lock, held here.
        path = self.write_doc(self.export())
        before = self.dump()
        con = hold_write_lock(self.db)
        try:
            rc, out, err = self.run_ctl(
                "import", path, preexec=as_user(NOBODY.pw_uid, 1))
        finally:
            con.rollback()
            con.close()
        self.assertEqual((rc, out, err), (0, "nothing to change\n", ""))
        self.assertEqual(self.dump(), before)
        self.assertEqual(self.ok("-q", "import", path), "")

    def test_short_dry_run(self):
        d = json.loads(self.export())
        d["hosts"][0]["attributes"]["role"] = "web"
        before = self.dump()
        out = self.ok("import", "-n", self.write_doc(d))
        self.assertIn("1 change; nothing was changed (--dry-run)", out)
        self.assertEqual(self.dump(), before)
        # The help lists it, in the words every verb uses.
        help_ = self.ok("import", "--help")
        self.assertIn("-n, --dry-run      print what would change; change "
                      "nothing", help_)
        self.assertIn("-n, --dry-run      print what would change; change "
                      "nothing", self.ok("set-local", "--help"))

    def test_replace_env_hint_names_the_environment(self):
        # MAC2 belongs to web2, in default: outside --env lab, which
        # --replace leaves alone; "use --replace" would be no help.
        d = doc(hosts=[{"fqdn": "new.example.org", "environment": "lab",
                        "macs": [MAC2]}])
        lines = self.import_refused(d, "hosts[0].macs",
                                    extra=("--replace", "--env", "lab"))
        text = "\n".join(lines)
        self.assertIn("in environment default, which --replace --env lab "
                      "leaves as it is", text)
        self.assertNotIn("or use --replace", text)
        # Without --replace the hint still says to use it.
        lines = self.import_refused(d, "hosts[0].macs")
        self.assertIn("or use --replace", "\n".join(lines))

    @sqlite_only("SQLite's write lock, held by the test")
    def test_inventory_changed_while_waiting(self):
        d = json.loads(self.export())
        d["hosts"][0]["attributes"]["role"] = "web"
        path = self.write_doc(d)
        e = dict(os.environ)
        e.pop("BOOTD_CONFIG", None)
        con = hold_write_lock(self.db)
        try:
            p = subprocess.Popen([BOOTCTL, "-c", self.cfg, "import", path],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=e)
            # Planned on the inventory as it was; now it waits for the
            # lock, and the inventory changes under it.
            wait_sleeping(p.pid)
            con.execute("UPDATE host_attr SET value = 'r9' WHERE key = "
                        "'rack'")
            con.commit()
        finally:
            con.close()
        out, err = p.communicate(timeout=60)
        after = self.dump()
        self.assertEqual(p.returncode, 1)
        self.assert_one_error_line(
            err.decode(), "the inventory changed while this change "
            "waited; nothing was changed; run it again")
        self.assertEqual(self.dump(), after)
        self.assertEqual(self.sql("SELECT value FROM host_attr WHERE key = "
                                  "'role'"), [])


class TestDiscovered(XferCase):

    def setUp(self):
        super().setUp()
        self.populate()
        now = int(time.time())
        self.now = now
        ins = ("INSERT INTO discovered (mac, first_seen, last_seen, count, "
               "params, addr) VALUES (?, ?, ?, ?, ?, ?)")
        self.events_db_with(
            (ins, ("52:54:00:aa:00:01", now - 100, now - 50, 3,
                   "platform=efi buildarch=x86_64", "10.0.0.7")),
            (ins, ("52:54:00:aa:00:02", now - 10 * 86400, now - 9 * 86400,
                   1, None, None)),
            (ins, ("52:54:00:aa:00:03", now - 5, now - 5, 1, None, None)))

    def listed(self):
        return [l.split()[0] for l in
                self.ok("discovered", "list").splitlines()[1:]]

    def test_adopt(self):
        self.assertEqual(self.listed(), ["52:54:00:aa:00:01",
                                         "52:54:00:aa:00:02",
                                         "52:54:00:aa:00:03"])
        self.ok("discovered", "adopt", "52-54-00-AA-00-01", "new.example.org",
                "--env", "lab", "--dist", "debian-12",
                "--attr", "rack=r1", "--attr", "role=web")
        h = self.sql("SELECT fqdn, env, action, dist FROM host WHERE "
                     "fqdn = 'new.example.org'")
        self.assertEqual(h, [("new.example.org", "lab", "local",
                              "debian-12")])
        self.assertEqual(sorted(self.sql(
            "SELECT key, value FROM host_attr a JOIN host h ON h.id = a.host "
            "WHERE h.fqdn = 'new.example.org'")),
            [("rack", "r1"), ("role", "web")])
        self.assertNotIn("52:54:00:aa:00:01", self.listed())
        claim = [r for r in self.audit_rows() if r[1] == "discovered-adopt"]
        self.assertEqual(len(claim), 1)
        self.assertEqual(claim[0][2], "new.example.org")
        self.assertIn("mac=52:54:00:aa:00:01", claim[0][4])
        self.assertIn("addr=10.0.0.7", claim[0][4])
        self.assertIn("requests=3", claim[0][4])
        # Removing the host does not bring the old entry back.
        self.ok("host", "remove", "new.example.org")
        self.assertNotIn("52:54:00:aa:00:01", self.listed())

    def test_adopt_dotless_with_attrs(self):
        # "web1" is also web1.lab.example.org's short name: the
        # attributes go to the new host all the same.
        self.ok("discovered", "adopt", "52:54:00:aa:00:01", "web1",
                "--attr", "rack=r1")
        self.assertEqual(self.sql(
            "SELECT h.fqdn, a.key, a.value FROM host_attr a JOIN host h "
            "ON h.id = a.host WHERE a.key = 'rack' ORDER BY h.fqdn"),
            [("web1", "rack", "r1"), (FQDN1, "rack", "r12")])

    def test_adopt_refusals_change_nothing(self):
        self.refused(1, r"not in the discovered list", "discovered", "adopt",
                     "52:54:00:bb:00:01", "new.example.org")
        self.refused(1, r"MAC address", "discovered", "adopt", "zz",
                     "new.example.org")
        self.refused(1, r"no distribution", "discovered", "adopt",
                     "52:54:00:aa:00:01", "new.example.org", "--dist", "nope")
        self.refused(1, r"attribute", "discovered", "adopt",
                     "52:54:00:aa:00:01", "new.example.org",
                     "--attr", "BAD=x")
        self.refused(1, r"invalid FQDN", "discovered", "adopt",
                     "52:54:00:aa:00:01", "bad_.example.org")

    def test_who_may_adopt(self):
        store = os.path.join(self.dir, "db")
        os.mkdir(store)
        os.chmod(self.dir, 0o755)
        if not self.pg:
            # The files into a directory of the service user's.
            for name in os.listdir(self.dir):
                if name.startswith("bootd"):
                    os.rename(os.path.join(self.dir, name),
                              os.path.join(store, name))
            os.chown(store, NOBODY.pw_uid, NOBODY.pw_gid)
            os.chmod(store, 0o770)
            for name in os.listdir(store):
                os.chown(os.path.join(store, name), NOBODY.pw_uid,
                         NOBODY.pw_gid)
            self.db = os.path.join(store, "bootd.db")
            self.write_cfg({})
        self.ok("env", "add", "stage", "--group", "staff")
        drop = as_user(NOBODY.pw_uid, NOBODY.pw_gid)
        # Into default (admins only) and stage (staff): refused.
        self.refused(1, r"permission denied: environment default",
                     "discovered", "adopt", "52:54:00:aa:00:01",
                     "new.example.org", preexec=drop)
        self.refused(1, r"permission denied: environment stage \(group "
                     r"staff\)", "discovered", "adopt", "52:54:00:aa:00:01",
                     "new.example.org", "--env", "stage", preexec=drop)
        # Into lab, whose group nobody is in: allowed, and audited.
        self.ok("discovered", "adopt", "52:54:00:aa:00:01", "new.example.org",
                "--env", "lab", preexec=drop)
        self.assertIn(("nobody (uid %d)" % NOBODY.pw_uid, "discovered-adopt",
                       "new.example.org"),
                      [r[:3] for r in self.audit_rows()])
        # Forgetting is for admins.
        self.refused(1, r"permission denied: discovered forget needs",
                     "discovered", "forget", "52:54:00:aa:00:02",
                     preexec=drop)

    def test_forget(self):
        self.ok("discovered", "forget", "52:54:00:aa:00:03")
        self.assertEqual(self.listed(), ["52:54:00:aa:00:01",
                                         "52:54:00:aa:00:02"])
        self.assertEqual(self.audit_rows()[-1][1:3],
                         ("discovered-forget", "52:54:00:aa:00:03"))
        # It asks again: back on the list.
        self.events_db_with(("UPDATE discovered SET last_seen = ? WHERE "
                             "mac = ?", (self.now + 100,
                                         "52:54:00:aa:00:03")))
        self.assertIn("52:54:00:aa:00:03", self.listed())
        # --older-than 7: only the one last seen 9 days ago.
        self.ok("discovered", "forget", "--older-than", "7")
        self.assertEqual(self.listed(), ["52:54:00:aa:00:01",
                                         "52:54:00:aa:00:03"])
        self.refused(1, r"not in the discovered list", "discovered",
                     "forget", "52:54:00:bb:00:01")
        rc, out, err = self.run_ctl("discovered", "forget")
        self.assertEqual(rc, 2)
        rc, out, err = self.run_ctl("discovered", "forget", "--older-than",
                                    "x")
        self.assertEqual(rc, 2)


class TestAuditPolish(XferCase):

    def test_old_expiry_rows_print_rfc3339(self):
        self.populate()
        harness.inv_execute(
            self.db, "INSERT INTO audit (time, actor, op, object, old, new) "
            "VALUES (1, 'x', 'set-reinstall', ?, 'action=local', "
            "'action=install dist=d expires=1796206351')", (FQDN1,))
        out = self.ok("audit", FQDN1)
        self.assertIn("expires=2026-12-02T", out)
        self.assertNotIn("1796206351", out)

    def test_user_values_are_shown_as_typed(self):
        # Only set-reinstall's trailing expiry is a time to rewrite; a
        # value an operator typed is shown as typed.
        self.populate()
        self.ok("attr", "set", FQDN1, "note", "expires=1796206351")
        out = self.ok("audit", FQDN1)
        self.assertIn("note=expires=1796206351", out)
        self.assertNotIn("note=expires=2026", out)

    def test_audit_of_no_host_is_an_error(self):
        # As history: a name that is no host, now or in the audit log.
        self.populate()
        rc, out, err = self.run_ctl("audit", "nosuch.example.org")
        self.assertEqual((rc, out), (1, ""))
        self.assert_one_error_line(err, "no host \"nosuch.example.org\", "
                                   "now or in the audit log")
        rc, out, err = self.run_ctl("audit", "--json", "nosuch")
        self.assertEqual(rc, 1)
        # A host that is gone still has its rows, by its FQDN written
        # either way: a final dot makes it the whole FQDN, as anywhere.
        self.ok("host", "remove", FQDN1)
        out = self.ok("audit", FQDN1)
        self.assertIn("host-remove", out)
        self.assertEqual(self.ok("audit", FQDN1.upper() + "."), out)
        rc, out, err = self.run_ctl("audit", "nosuch.example.org.")
        self.assertEqual((rc, out), (1, ""))
        self.assert_one_error_line(err, "no host \"nosuch.example.org.\", "
                                   "now or in the audit log")

    def test_set_local_twice_one_row(self):
        self.populate()
        self.ok("set-local", FQDN1)
        self.assertNotIn("set-local", [r[1] for r in self.audit_rows()])
        self.ok("set-reinstall", FQDN1)
        self.ok("set-local", FQDN1)
        self.ok("set-local", FQDN1)
        self.assertEqual([r[1] for r in self.audit_rows()].count("set-local"),
                         1)

    def test_expiry_as_rfc3339_and_rename(self):
        self.populate()
        self.ok("set-reinstall", FQDN1)
        out = self.ok("audit", FQDN1)
        self.assertRegex(out, r"expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        self.assertNotRegex(out, r"expires=\d{6,}")
        self.ok("host", "rename", FQDN1, "web9.lab.example.org")
        out = self.ok("audit", "web9.lab.example.org")
        for op in ("host-add", "attr-set", "set-reinstall", "host-rename"):
            self.assertIn(op, out)


class TestAmbiguousName(XferCase):
    """audit and history refuse an ambiguous short name as every verb
    does, rather than reading it as the dotless FQDN it also spells; only
    a name that is no host falls back to that FQDN (a host that is gone),
    and a final dot names that FQDN alone."""

    AMBIGUOUS = (r'^bootctl: host name "db1" is ambiguous: '
                 r'db1\.example\.org, db1\.lab\.example\.org\n$')

    def setUp(self):
        super().setUp()
        self.ok("init")

    def history(self, *args):
        return json.loads(self.ok("history", "--json", *args))["hosts"]

    def ops(self, *args):
        return [(r["op"], r["object"]) for r in
                json.loads(self.ok("audit", "--json", *args))["audit"]]

    def test_two_hosts_one_short_name(self):
        self.ok("host", "add", "db1.example.org", MAC1)
        self.ok("host", "add", "db1.lab.example.org", MAC2)
        err = self.refused(1, self.AMBIGUOUS, "set-reinstall", "db1")
        for verb in (["audit"], ["audit", "--json"], ["history"],
                     ["history", "--json"]):
            self.assertEqual(self.refused(1, self.AMBIGUOUS, *verb, "db1"),
                             err, verb)
        self.assertEqual(self.ops("db1.example.org"),
                         [("host-add", "db1.example.org")])
        self.assertEqual(self.ops(MAC2), [("host-add",
                                           "db1.lab.example.org")])
        self.assertEqual([h["fqdn"] for h in self.history("db1.example.org")],
                         ["db1.example.org"])

    def test_a_gone_host_under_the_short_name(self):
        # db1 is gone; its name is the short name of two hosts.
        self.ok("host", "add", "db1", MAC3)
        self.ok("host", "remove", "db1")
        self.ok("host", "add", "db1.example.org", MAC1)
        self.ok("host", "add", "db1.lab.example.org", MAC2)
        self.refused(1, self.AMBIGUOUS, "audit", "db1")
        self.refused(1, self.AMBIGUOUS, "history", "db1")
        gone = [("host-add", "db1"), ("host-remove", "db1")]
        self.assertEqual(self.ops("db1."), gone)
        hosts = self.history("db1.")
        self.assertEqual([(h["fqdn"], h["exists"]) for h in hosts],
                         [("db1", False)])
        self.assertEqual([e["op"] for e in hosts[0]["entries"]],
                         ["host-add", "host-remove"])

    def test_a_gone_host_and_one_live_short_name(self):
        # "db1" is db1.example.org's short name; "db1." the gone host,
        # whose history holds its own rows, not db1.example.org's.
        self.ok("host", "add", "db1", MAC3)
        self.ok("host", "remove", "db1")
        self.ok("host", "add", "db1.example.org", MAC1)
        self.assertEqual(self.ops("db1"), [("host-add", "db1.example.org")])
        self.assertEqual(self.ops("db1."), [("host-add", "db1"),
                                            ("host-remove", "db1")])
        hosts = self.history("db1.")
        self.assertEqual([(h["fqdn"], h["exists"]) for h in hosts],
                         [("db1", False)])
        self.assertEqual([(e["op"], e["new"]) for e in hosts[0]["entries"]],
                         [("host-add", "env=default action=local dist=- "
                           "macs=" + MAC3), ("host-remove", None)])

    def test_a_dotless_host_beside_its_namesake(self):
        # Both live: "db1" is ambiguous, "db1." the dotless one.
        self.ok("host", "add", "db1", MAC3)
        self.ok("host", "add", "db1.example.org", MAC1)
        pattern = (r'^bootctl: host name "db1" is ambiguous: db1, '
                   r'db1\.example\.org\n$')
        for verb in ("set-reinstall", "audit", "history"):
            self.refused(1, pattern, verb, "db1")
        self.ok("attr", "set", "db1.", "rack", "r1")
        self.assertEqual(self.ops("db1."), [("host-add", "db1"),
                                            ("attr-set", "db1")])
        hosts = self.history("db1.", "db1.example.org")
        self.assertEqual([(h["fqdn"], [e["op"] for e in h["entries"]])
                          for h in hosts],
                         [("db1", ["host-add", "attr-set"]),
                          ("db1.example.org", ["host-add"])])


class TestHistory(unittest.TestCase):
    """history on a real bootd: its boots, and the audit log."""

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootd"):
            raise unittest.SkipTest("bootd not built")
        cls.srv = harness.BootServer()
        s = cls.srv
        s.bootctl("env", "add", "lab")
        s.bootctl("dist", "add", "debian-12", "--kernel", "http://x/k",
                  "--initrd", "http://x/i", "--cmdline", "quiet")
        s.bootctl("host", "add", FQDN1, MAC1, "--env", "lab",
                  "--dist", "debian-12")
        s.bootctl("host", "add", FQDN2, MAC2)
        s.bootctl("set-reinstall", FQDN1)
        # Times are whole seconds: the steps are a second apart so that
        # the timeline's order is the order they happened in.
        time.sleep(1.1)
        for mac, q in ((MAC1, "&platform=efi&buildarch=x86_64"),
                       (MAC2, "&platform=pcbios&buildarch=i386")):
            st, _, _ = s.get("/ipxe/v1/config?mac=%s%s" % (mac, q))
            assert st == 200, st
        harness.eventually(
            lambda: s.bootctl("history", "--json").stdout,
            lambda out: sum(e["kind"] == "boot" for h in
                            json.loads(out)["hosts"]
                            for e in h["entries"]) == 2)
        time.sleep(1.1)
        s.bootctl("set-local", FQDN1)
        s.bootctl("host", "rename", FQDN1, "web9.lab.example.org")

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def history(self, *args):
        r = self.srv.bootctl("history", *args, "--json")
        self.assertEqual(r.stderr, "")
        return json.loads(r.stdout)["hosts"]

    def test_timeline_merges_changes_and_boots(self):
        hosts = self.history("web9.lab.example.org")
        self.assertEqual(len(hosts), 1)
        h = hosts[0]
        self.assertEqual((h["fqdn"], h["exists"], h["environment"]),
                         ("web9.lab.example.org", True, "lab"))
        kinds = [(e["kind"], e.get("op") or e.get("served"))
                 for e in h["entries"]]
        # Rows from before the rename come along; the boot sits between
        # set-reinstall and set-local.
        self.assertEqual(kinds, [
            ("change", "host-add"), ("change", "host-set-dist"),
            ("change", "set-reinstall"), ("change", "install-fetch"),
            ("boot", "install"), ("change", "set-local"),
            ("change", "host-rename")])
        boot = h["entries"][4]
        self.assertEqual((boot["mac"], boot["platform"], boot["buildarch"]),
                         (MAC1, "efi", "x86_64"))
        self.assertEqual(boot["address"], "127.0.0.1")
        times = [e["time_unix"] for e in h["entries"]]
        self.assertEqual(times, sorted(times))
        self.assertRegex(boot["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_env_and_since(self):
        hosts = self.history("--env", "lab", "--since", "1h")
        self.assertEqual([h["fqdn"] for h in hosts], ["web9.lab.example.org"])
        self.assertTrue(hosts[0]["entries"])
        # --until an hour ago: nothing yet.
        hosts = self.history("--env", "lab", "--until", "1h")
        self.assertEqual(hosts[0]["entries"], [])
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                               time.gmtime(time.time() + 3600))
        self.assertEqual(self.history("--since", future)[0]["entries"], [])
        # All hosts, and --limit keeps the newest.
        hosts = self.history("--limit", "1")
        self.assertEqual([h["fqdn"] for h in hosts],
                         [FQDN2, "web9.lab.example.org"])
        self.assertEqual(hosts[0]["entries"][0]["kind"], "boot")
        self.assertEqual(hosts[0]["entries"][0]["platform"], "pcbios")
        self.assertEqual(hosts[1]["entries"][0]["op"], "host-rename")

    def test_a_host_that_is_gone(self):
        hosts = self.history(FQDN1)
        self.assertFalse(hosts[0]["exists"])
        ops = [e.get("op") for e in hosts[0]["entries"]]
        self.assertIn("host-add", ops)
        self.assertIn("boot", [e["kind"] for e in hosts[0]["entries"]])
        # Its FQDN written with the final dot, or in capitals: the same
        # timeline, with the boots recorded under that FQDN; named
        # twice, shown once.
        self.assertEqual(self.history(FQDN1 + "."), hosts)
        self.assertEqual(self.history(FQDN1.upper(), FQDN1 + "."), hosts)

    def test_text_and_usage(self):
        out = self.srv.bootctl("history", "web9").stdout
        self.assertIn("web9.lab.example.org (environment lab", out)
        self.assertIn("served install to %s, platform efi, buildarch x86_64"
                      % MAC1, out)
        for bad in (("--since", "yesterday"), ("--limit", "0"),
                    ("web9", "--env", "lab")):
            r = self.srv.bootctl("history", *bad, check=False)
            self.assertEqual(r.returncode, 2, bad)
        # Every spelling of a time: RFC 3339 with an offset, a date.
        for since in ("2026-01-02T05:04:05+02:00", "2026-01-02",
                      "2026-01-02T03:04:05.250Z", "30m", "2w"):
            self.assertEqual(self.srv.bootctl(
                "history", "--since", since, check=False).returncode, 0,
                since)
        hosts = self.history("--until", "2000-01-01T02:00:00+02:00")
        self.assertEqual([e for h in hosts for e in h["entries"]], [])
        r = self.srv.bootctl("history", "never.example.org", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no host", r.stderr)


class TestHistoryNameReused(unittest.TestCase):
    """history when a name or a NIC passes from one host to another:
    each host's timeline holds its own rows and boots only."""

    MAC_A = "52:54:00:aa:00:01"
    MAC_B = "52:54:00:aa:00:02"
    MAC_C = "52:54:00:aa:00:03"
    MAC_D = "52:54:00:aa:00:04"

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootd"):
            raise unittest.SkipTest("bootd not built")
        cls.srv = harness.BootServer()
        s = cls.srv
        s.bootctl("env", "add", "lab")
        s.bootctl("dist", "add", "debian-12", "--kernel", "http://x/k",
                  "--initrd", "http://x/i", "--cmdline", "quiet")
        # The first lab3 (NICs A and C) boots from both, then is renamed
        # prod9 and gives NIC C away; a second lab3 (NIC B) comes.
        s.bootctl("host", "add", "lab3.ex.org", cls.MAC_A, cls.MAC_C,
                  "--env", "lab", "--dist", "debian-12")
        s.bootctl("attr", "set", "lab3.ex.org", "rack", "r1")
        s.bootctl("set-reinstall", "lab3.ex.org")
        for mac in (cls.MAC_A, cls.MAC_C):
            st, _, _ = s.get("/ipxe/v1/config?mac=%s&platform=efi" % mac)
            assert st == 200, st
        cls.boots("lab3.ex.org", 2)
        # Whole seconds: what follows happens after those boots.
        time.sleep(1.1)
        s.bootctl("host", "rename", "lab3.ex.org", "prod9.ex.org")
        s.bootctl("nic", "remove", cls.MAC_C)
        s.bootctl("host", "add", "lab3.ex.org", cls.MAC_B, "--env", "lab")
        s.bootctl("nic", "add", "lab3.ex.org", cls.MAC_C)
        st, _, _ = s.get("/ipxe/v1/config?mac=%s&platform=pcbios" %
                         cls.MAC_B)
        assert st == 200, st
        cls.boots("lab3.ex.org", 1)
        # Removed, then added again under the same name.
        s.bootctl("host", "remove", "prod9.ex.org")
        s.bootctl("host", "add", "prod9.ex.org", cls.MAC_D)

    @classmethod
    def boots(cls, name, n):
        """Wait until the timeline of name shows n boots."""
        harness.eventually(
            lambda: cls.srv.bootctl("history", name, "--json").stdout,
            lambda out: sum(e["kind"] == "boot" for h in
                            json.loads(out)["hosts"]
                            for e in h["entries"]) >= n)

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def timeline(self, name):
        r = self.srv.bootctl("history", name, "--json")
        self.assertEqual(r.stderr, "")
        hosts = json.loads(r.stdout)["hosts"]
        self.assertEqual(len(hosts), 1)
        return [(e["kind"], e.get("op") or e.get("served"),
                 e.get("new") or e.get("mac")) for e in hosts[0]["entries"]]

    def test_new_host_under_a_used_name(self):
        self.assertEqual(self.timeline("lab3.ex.org"), [
            ("change", "host-add",
             "env=lab action=local dist=- macs=%s" % self.MAC_B),
            ("change", "nic-add", self.MAC_C),
            ("boot", "local", self.MAC_B)])
        out = self.srv.bootctl("audit", "lab3.ex.org").stdout
        self.assertNotIn(self.MAC_A, out)
        for op in ("set-reinstall", "attr-set", "host-set-dist"):
            self.assertNotIn(op, out)

    def test_renamed_host_keeps_its_own(self):
        # The renamed host, removed, leaves the name to a new one: the
        # new one has nothing of it.
        self.assertEqual(self.timeline("prod9.ex.org"), [
            ("change", "host-add",
             "env=default action=local dist=- macs=%s" % self.MAC_D)])
        # The old host's rows are still there in the whole log.
        rows = json.loads(self.srv.bootctl("audit", "--json").stdout)
        ops = [r["op"] for r in rows["audit"]]
        self.assertEqual(ops.count("host-rename"), 1)
        self.assertEqual(ops.count("host-remove"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
