"""
Root never follows a name that a less privileged user can change (issue 14
section 1), each reproduction done by that user (nobody, through setpriv):

- tools/up as root: links planted by nobody (a bootd.db-x next to the
  database, ca.pem, images, bootd.log) leave their victims, root-only
  files and a root-only directory, byte for byte and mode for mode as
  they were; a run/ that nobody may write is refused; the socket belongs
  to nginx's group (www-data), and bootd's own user cannot connect to it;
  from a tree below a directory of mode 0700 (a clone in /root), which
  nobody and www-data cannot reach, it runs in /run/bootd-up and says so;
  python3 missing is said as such, not as a busy port;
- bootd started as root with its socket in a directory nobody may write:
  a racer swapping the socket for a link to a root-only file, through many
  starts, never gets that file chowned or chmodded;
- the database directory check (dbdir_check, bootd(8)): bootd -t, bootd
  and bootctl refuse a database whose directory is open to others, whose
  parent others may write, or that root owns with a group that may write
  it, with one line naming the directory, and change nothing.

The WAL/shm ownership under a setgid bootctl is in tests/cli/test_bootctl.py
(TestSetgid).  Most of this needs root (setpriv, chown); run as another user
only the directory checks run.
"""

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

IS_ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody")
NOGROUP = grp.getgrnam("nogroup").gr_gid
SETPRIV = ["setpriv", "--reuid", str(NOBODY.pw_uid), "--regid",
           str(NOGROUP), "--clear-groups"]
UP = os.path.join(harness.SOURCE_DIR, "tools", "up")
RACE_STARTS = 40            # daemon starts the socket racer gets


def as_nobody(code, *args, check=False):
    """Run Python code as nobody; returns the CompletedProcess."""
    return subprocess.run(SETPRIV + [sys.executable, "-c", code] +
                          [str(a) for a in args], capture_output=True,
                          text=True, timeout=120, check=check)


def fingerprint(path):
    """What must not change about a victim: bytes, mode, owner, group."""
    st = os.lstat(path)
    data = None
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            data = f.read()
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
            st.st_gid, data)


def make_victims(top):
    """Root-only files and a root-only directory holding a private key."""
    v = os.path.join(top, "victims")
    os.mkdir(v, 0o700)
    os.chmod(v, 0o755)          # reachable, as /etc is; its files are not
    out = {}
    for name in ("shadow", "cert", "log"):
        p = os.path.join(v, name)
        with open(p, "w") as f:
            f.write("root only: %s\n" % name)
        os.chmod(p, 0o600)
        out[name] = p
    d = os.path.join(v, "private")
    os.mkdir(d)
    os.chmod(d, 0o700)
    with open(os.path.join(d, "key.pem"), "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nsecret\n")
    os.chmod(os.path.join(d, "key.pem"), 0o600)
    out["dir"] = d
    out["key"] = os.path.join(d, "key.pem")
    return out


@unittest.skipUnless(IS_ROOT, "needs root (tools/up as root, setpriv)")
@unittest.skipUnless(shutil.which("setpriv") and shutil.which("nginx"),
                     "needs setpriv and nginx")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class ToolsUp(unittest.TestCase):
    """
    tools/up --once (start, check health through nginx, stop) as root in a
    directory of its own (BOOTD_RUN_DIR), run twice around the attacks.
    """

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-up-test-")
        os.chmod(self.tmp, 0o755)
        self.run_dir = os.path.join(self.tmp, "run")
        self.victims = make_victims(self.tmp)
        self.before = {k: fingerprint(p) for k, p in self.victims.items()}

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def up(self, *args, run_dir=None, cmd=(UP,), **env):
        """tools/up --once ARGS in BOOTD_RUN_DIR run_dir (None: the test's;
        "": unset, tools/up's own choice), through cmd, with env added."""
        env = dict(harness.run_env(), BOOTD_BINARY_DIR=harness.BINARY_DIR,
                   BOOTD_HTTP_PORT=str(harness.free_port()),
                   BOOTD_HTTPS_PORT=str(harness.free_port()), **env)
        env["BOOTD_RUN_DIR"] = self.run_dir if run_dir is None else run_dir
        if not env["BOOTD_RUN_DIR"]:
            del env["BOOTD_RUN_DIR"]
        return subprocess.run([*cmd, "--once", *args], capture_output=True,
                              text=True, env=env, timeout=300,
                              stdin=subprocess.DEVNULL)

    def assert_victims_unchanged(self):
        after = {k: fingerprint(p) for k, p in self.victims.items()}
        self.assertEqual(after, self.before)

    def test_links_planted_by_nobody_are_never_followed(self):
        r = self.up()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        run = self.run_dir
        # The layout: root's everywhere but db/; the socket nginx's group's.
        for d in ("", "images", "tls", "nginx"):
            st = os.lstat(os.path.join(run, d))
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                             (0, 0o755), d)
        st = os.lstat(os.path.join(run, "db"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (NOBODY.pw_uid, NOGROUP, 0o770))
        for name in os.listdir(os.path.join(run, "db")):
            st = os.lstat(os.path.join(run, "db", name))
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                             (NOBODY.pw_uid, 0o660), name)
        st = os.lstat(os.path.join(run, "bootd.sock"))
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, grp.getgrnam("www-data").gr_gid, 0o660))

        # The attacks of the issue, as nobody.  Only db/ is nobody's.
        v = self.victims
        r = as_nobody(
            "import os, socket, sys\n"
            "def connect(p):\n"
            "    socket.socket(socket.AF_UNIX).connect(p)\n"
            "run, v_shadow, v_cert, v_dir, v_log = sys.argv[1:]\n"
            "os.symlink(v_shadow, os.path.join(run, 'db', 'bootd.db-x'))\n"
            "refused = []\n"
            "for what, fn in (\n"
            "    ('ca.pem', lambda: (os.unlink(run + '/ca.pem'),\n"
            "                        os.symlink(v_cert, run + '/ca.pem'))),\n"
            "    ('images', lambda: (os.rename(run + '/images',\n"
            "                                  run + '/images.old'),\n"
            "                        os.symlink(v_dir, run + '/images'))),\n"
            "    ('bootd.log', lambda: (os.unlink(run + '/bootd.log'),\n"
            "                           os.symlink(v_log,\n"
            "                                      run + '/bootd.log'))),\n"
            "    ('socket', lambda: connect(run + '/bootd.sock'))):\n"
            "    try:\n"
            "        fn()\n"
            "    except PermissionError:\n"
            "        refused.append(what)\n"
            "print(' '.join(refused))\n",
            run, v["shadow"], v["cert"], v["dir"], v["log"])
        self.assertEqual(r.returncode, 0, r.stderr)
        # nobody may change nothing in run/, nor reach bootd's socket.
        self.assertEqual(r.stdout.split(),
                         ["ca.pem", "images", "bootd.log", "socket"])

        r = self.up()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_victims_unchanged()
        self.assertTrue(os.path.islink(os.path.join(run, "db",
                                                    "bootd.db-x")))

    def test_run_dir_others_may_write_is_refused(self):
        """
        A run/ of the old layout (handed to nobody), with nobody's links in
        it: refused with one line before anything is written; --reset
        removes it (never following a link) and starts over.
        """
        run = self.run_dir
        os.mkdir(run)
        os.chown(run, NOBODY.pw_uid, NOGROUP)
        v = self.victims
        as_nobody("import os, sys\n"
                  "run, v_shadow, v_cert, v_dir, v_log = sys.argv[1:]\n"
                  "os.symlink(v_shadow, run + '/bootd.db-x')\n"
                  "os.symlink(v_cert, run + '/ca.pem')\n"
                  "os.symlink(v_dir, run + '/images')\n"
                  "os.symlink(v_log, run + '/bootd.log')\n",
                  run, v["shadow"], v["cert"], v["dir"], v["log"],
                  check=True)
        r = self.up()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"^up: .*/run belongs to uid %d, mode 755"
                         % NOBODY.pw_uid)
        self.assert_victims_unchanged()
        r = self.up("--reset")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assert_victims_unchanged()
        self.assertEqual(os.lstat(run).st_uid, 0)

    @unittest.skipUnless(shutil.which("unshare"), "needs unshare")
    def test_tree_closed_to_the_service_users(self):
        """
        A tree below a directory of mode 0700, as a clone in /root: nobody
        (bootd's workers) and www-data (nginx's) cannot reach its run/, so
        up runs in /run/bootd-up, says so, and serves (in a mount namespace
        of its own whose /run is an overlay: the machine's stays as it
        is).  A BOOTD_RUN_DIR in that tree is refused with one line.
        """
        home = os.path.join(self.tmp, "home")
        os.mkdir(home, 0o700)
        tree = os.path.join(home, "bootd")
        os.mkdir(tree)
        for name in os.listdir(harness.SOURCE_DIR):
            if name not in ("build", "run", ".git"):
                os.symlink(os.path.join(harness.SOURCE_DIR, name),
                           os.path.join(tree, name))
        ov = {d: os.path.join(self.tmp, d) for d in ("upper", "work")}
        for d in ov.values():
            os.mkdir(d)
        r = self.up(run_dir="", cmd=(
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t overlay overlay -o "lowerdir=/run,upperdir=$1,'
            'workdir=$2" /run && shift 2 && exec "$@"', "sh", ov["upper"],
            ov["work"], os.path.join(tree, "tools", "up")))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("up: nobody cannot reach %s/run (%s is mode 700): "
                      "using /run/bootd-up instead" % (tree, home), r.stdout)
        self.assertIn("(CA: /run/bootd-up/ca.pem)", r.stdout)
        self.assertFalse(os.path.lexists(os.path.join(tree, "run")))
        self.assertTrue(os.path.isfile(os.path.join(
            ov["upper"], "bootd-up", "db", "bootd.db")))

        r = self.up(run_dir=os.path.join(tree, "run"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "up: nobody cannot reach %s/run (%s is "
                         "mode 700); choose another BOOTD_RUN_DIR\n"
                         % (tree, home))
        self.assertFalse(os.path.lexists(os.path.join(tree, "run")))

    def test_python3_missing_is_said(self):
        """
        On a machine without python3 (tools/setup installs it; skipped
        here with BOOTD_BINARY_DIR), up says that, not that a port is
        busy: only bash and dirname on PATH.
        """
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        for prog in ("bash", "dirname"):
            os.symlink(shutil.which(prog), os.path.join(bindir, prog))
        r = self.up(PATH=bindir)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "up: python3 is not installed (tools/setup "
                         "installs it: tools/packages.txt)\n")


@unittest.skipUnless(IS_ROOT, "needs root (bootd as root, setpriv)")
@unittest.skipUnless(shutil.which("setpriv"), "needs setpriv")
@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class SocketRace(unittest.TestCase):
    """
    bootd as root binds its socket in a directory nobody may write, while
    nobody swaps the socket for a link to a root-only file as fast as it
    can (lstat + rename), through RACE_STARTS starts.  With chown()/chmod()
    on the path after bind(), the file became root:www-data 0660 at the
    first start; now nothing may happen to it.
    """

    RACER = (
        "import os, signal, stat, sys\n"
        "sock, victim = sys.argv[1:]\n"
        "tmp = sock + '.link'\n"
        "n = 0\n"
        "def done(*a):\n"
        "    print(n)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, done)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    try:\n"
        "        st = os.lstat(sock)\n"
        "    except FileNotFoundError:\n"
        "        continue\n"
        "    if not stat.S_ISSOCK(st.st_mode):\n"
        "        continue\n"
        "    try:\n"
        "        if os.path.lexists(tmp):\n"
        "            os.unlink(tmp)\n"
        "        os.symlink(victim, tmp)\n"
        "        os.rename(tmp, sock)\n"
        "        n += 1\n"
        "    except OSError:\n"
        "        pass            # the test cleared the names meanwhile\n")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-race-test-")
        os.chmod(self.tmp, 0o755)
        self.victims = make_victims(self.tmp)
        self.before = fingerprint(self.victims["shadow"])
        self.sockdir = os.path.join(self.tmp, "sock")
        os.mkdir(self.sockdir)
        os.chown(self.sockdir, NOBODY.pw_uid, NOGROUP)
        self.socket = os.path.join(self.sockdir, "bootd.sock")
        dbdir = os.path.join(self.tmp, "db")
        os.mkdir(dbdir)
        os.chown(dbdir, NOBODY.pw_uid, NOGROUP)
        os.chmod(dbdir, 0o770)
        self.db = os.path.join(dbdir, "bootd.db")
        self.conf = os.path.join(self.tmp, "bootd.json")
        with open(self.conf, "w") as f:
            json.dump({"database": self.db,
                       "menu": {"base_url": "http://127.0.0.1"},
                       "daemon": {"listen": "unix:" + self.socket,
                                  "socket_owner": "",
                                  "socket_group": "www-data",
                                  "socket_mode": "0660",
                                  "user": "nobody", "group": "nogroup",
                                  "workers": 1, "log": "stderr",
                                  "log_level": "info"}}, f)
        subprocess.run([harness.binary("bootctl"), "-c", self.conf, "init"],
                       check=True, capture_output=True, env=harness.run_env())

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_stop(self):
        """One start of bootd as root: until it listens or gives up."""
        p = subprocess.Popen([harness.binary("bootd"), "-c", self.conf],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env=harness.run_env())
        line = p.stdout.readline()
        while line and "listening on" not in line and " error " not in line:
            line = p.stdout.readline()
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=60)
        return ("listening on" in line, line + out)

    def test_racer_never_wins(self):
        racer = subprocess.Popen(
            SETPRIV + [sys.executable, "-c", self.RACER, self.socket,
                       self.victims["shadow"]],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(racer.stdout.readline().strip(), "ready")
            for _ in range(RACE_STARTS):
                # What the racer left (a link) would only stop the next
                # start ("not a socket"): clear the names, never following.
                # The racer may move a name between two calls: a name
                # already gone is what we wanted.
                for name in (self.socket, self.socket + ".link"):
                    try:
                        os.unlink(name)
                    except FileNotFoundError:
                        pass
                ok, log = self.start_stop()
                self.assertEqual(fingerprint(self.victims["shadow"]),
                                 self.before, log)
        finally:
            racer.send_signal(signal.SIGTERM)
            out, err = racer.communicate(timeout=60)
        swaps = int(out.split()[-1]) if out.split() else 0
        # The race was run: the racer swapped sockets bootd had bound.
        self.assertGreater(swaps, 0, err)
        self.assertEqual(fingerprint(self.victims["shadow"]), self.before)


class DbDir(unittest.TestCase):
    """The database directory check, by bootd -t, bootd and bootctl."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-dbdir-test-")
        os.chmod(self.tmp, 0o755)
        self.dbdir = os.path.join(self.tmp, "state", "db")
        os.makedirs(self.dbdir)
        os.chmod(os.path.dirname(self.dbdir), 0o755)
        if IS_ROOT:
            os.chown(self.dbdir, NOBODY.pw_uid, NOGROUP)
        os.chmod(self.dbdir, 0o770)
        self.db = os.path.join(self.dbdir, "bootd.db")
        self.conf = os.path.join(self.tmp, "bootd.json")
        self.socket = os.path.join(self.tmp, "bootd.sock")
        daemon = {"listen": "unix:" + self.socket, "socket_owner": "",
                  "socket_group": "", "socket_mode": "0600", "workers": 1,
                  "log": "stderr"}
        if IS_ROOT:
            daemon.update(user="nobody", group="nogroup")
        with open(self.conf, "w") as f:
            json.dump({"database": self.db, "daemon": daemon,
                       "admin_group": grp.getgrgid(os.getegid()).gr_name,
                       "menu": {"base_url": "http://127.0.0.1"}}, f)
        r = self.bootctl("init")
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def bootctl(self, *args):
        return subprocess.run([harness.binary("bootctl"), "-c", self.conf,
                               *args], capture_output=True, text=True,
                              env=harness.run_env(), timeout=60)

    def bootd(self, *args):
        return subprocess.run([harness.binary("bootd"), "-c", self.conf,
                               *args], capture_output=True, text=True,
                              env=harness.run_env(), timeout=60,
                              stdin=subprocess.DEVNULL)

    def files(self):
        return {n: fingerprint(os.path.join(self.dbdir, n))
                for n in sorted(os.listdir(self.dbdir))}

    def assert_refused(self, where, what):
        """bootd -t, bootd and bootctl each refuse with one line."""
        before = self.files()
        pattern = r'"%s"[^\n]*%s' % (where, what)
        r = self.bootd("-t")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"^bootd: [^\n]*" + pattern)
        r = self.bootd()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, pattern)
        self.assertNotIn("listening", r.stderr)
        self.assertFalse(os.path.exists(self.socket))
        for args in (["status"], ["host", "add", "web1.example.org",
                                  "52:54:00:12:34:56"]):
            r = self.bootctl(*args)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertRegex(r.stderr, r"^bootctl: [^\n]*" + pattern)
        self.assertEqual(self.files(), before)

    def test_layout_accepted(self):
        r = self.bootd("-t")
        self.assertEqual((r.returncode, r.stdout), (0,
                         "bootd: configuration ok\n"), r.stderr)
        r = self.bootctl("status")
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_directory_open_to_others(self):
        os.chmod(self.dbdir, 0o775)
        self.assert_refused(self.dbdir, r"is open to others \(mode 0775\)")
        os.chmod(self.dbdir, 0o771)
        self.assert_refused(self.dbdir, r"is open to others \(mode 0771\)")

    def test_parent_others_may_write(self):
        state = os.path.dirname(self.dbdir)
        os.chmod(state, 0o777)
        self.assert_refused(state, r"above the database directory .* may be "
                            r"written by anyone \(mode 0777\)")
        os.chmod(state, 0o775)
        self.assert_refused(state, r"may be written by its group")
        # Sticky and root's, as /tmp: nobody may rename what is in it.
        os.chmod(state, 0o1777)
        if IS_ROOT:
            r = self.bootd("-t")
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assert_refused(state, r"may be written by anyone")

    def test_link_to_a_directory_others_may_write(self):
        """The check follows links in the path, then checks what it found."""
        other = os.path.join(self.tmp, "other")
        os.mkdir(other, 0o777)
        os.chmod(other, 0o777)
        real = os.path.join(other, "db")
        os.rename(self.dbdir, real)
        os.symlink(real, self.dbdir)
        self.assert_refused(other, r"may be written by anyone")

    @unittest.skipUnless(IS_ROOT, "needs root (chown)")
    def test_parent_of_another_user(self):
        state = os.path.dirname(self.dbdir)
        os.chown(state, pwd.getpwnam("daemon").pw_uid, 0)
        self.assert_refused(state, r"belongs to uid %d, not root" %
                            pwd.getpwnam("daemon").pw_uid)

    @unittest.skipUnless(IS_ROOT, "needs root (chown)")
    def test_parent_of_the_service_user_refused_to_root(self):
        # The state directory of an old layout, the service user's: it
        # could swap db/ for a link between root's check and root's open.
        state = os.path.dirname(self.dbdir)
        os.chown(state, os.stat(self.dbdir).st_uid, 0)
        self.assert_refused(state, r"belongs to uid %d, not root" %
                            os.stat(self.dbdir).st_uid)

    @unittest.skipUnless(IS_ROOT, "needs root (chown)")
    def test_root_directory_its_group_may_write(self):
        os.chown(self.dbdir, 0, NOGROUP)
        self.assert_refused(self.dbdir, r"belongs to root and its group may "
                            r"write it")

    def test_reload_keeps_the_running_configuration(self):
        log_path = os.path.join(self.tmp, "bootd.log")
        with open(log_path, "w") as log:
            p = subprocess.Popen([harness.binary("bootd"), "-c", self.conf],
                                 stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=log, env=harness.run_env())

        def log_text():
            with open(log_path) as f:
                return f.read()
        try:
            self.assertIn("listening on", harness.eventually(
                log_text, lambda t: "listening on" in t))
            os.chmod(self.dbdir, 0o775)
            p.send_signal(signal.SIGHUP)
            text = harness.eventually(log_text,
                                      lambda t: "reload failed" in t)
            self.assertRegex(text, r'reload failed, keeping the running '
                             r'configuration: database directory "%s" is '
                             r'open to others' % self.dbdir)
            self.assertIsNone(p.poll())
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(60), 0, log_text())

    def test_missing_directory(self):
        shutil.rmtree(self.dbdir)
        r = self.bootd("-t")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r'^bootd: database directory "%s" does '
                         r'not exist\n$' % self.dbdir)
        r = self.bootctl("init")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r'^bootctl: database directory "%s" does '
                         r'not exist\n$' % self.dbdir)
        self.assertFalse(os.path.exists(self.dbdir))


if __name__ == "__main__":
    unittest.main(verbosity=2)
