"""
The Debian package, built, checked, installed and purged as an operator
would (issue: "Install it like a Debian service").

1. tools/package builds bootd_VERSION_ARCH.deb once (Check unit tests run
   inside the build); the previous commit's package is built too (see
   "Upgrade" below).
2. lintian on the .changes: no error and no warning.
3. dpkg-deb -c: every file we ship is there with its mode and owner, the
   conffiles are the three in /etc, nothing is setuid/setgid in the archive
   (bootctl's setgid comes from dpkg-statoverride), nothing in /var; the
   programs are PIE with full RELRO and BIND_NOW.
4. A throw-away Debian 12 root made with mmdebstrap from this machine's apt
   sources, in its own mount and network namespaces (its loopback is its
   own, so nginx listens on 80 and 443 as packaged, no port is changed).
   There the README's "Installing on a server" section is followed as
   written: each command of its blocks, `#` as root, `$` as alice in a
   login of hers (`su -`: a user's PATH, no sbin directory), in a
   directory holding what the section says the operator brings
   (fullchain.pem, privkey.pem, ca.pem for boot.lab.example.net, made as
   doc/tls.md shows, by tests/harness.py) and with boot.lab.example.net in
   /etc/hosts (the network's DNS, here).  Two of its commands need systemd,
   which a chroot has not: `systemctl reload nginx` starts the root's nginx
   (`nginx`, its packaged nginx.conf), `systemctl start bootd.socket`
   makes the socket bootd.socket describes (path, owner, group, mode, read
   from the packaged unit) and starts ExecStart of bootd.service as its
   User= and Group= with that socket (LISTEN_FDS), as systemd would on
   nginx's first request.  Any other systemctl command fails the test.
   Then: the script over HTTPS says "Install debian-12"; bob, a member of
   environment lab's group and not an admin, marks web2 for reinstall and
   its script changes from local boot to the installer, and bootctl
   refuses him web1; bootd runs as bootd; build-ipxe finds its iPXE
   configuration; the user and groups postinst made are those the
   sysusers entry declares (home, shell, description, primary group).
   `apt remove bootd` keeps the inventory, users and configuration (and
   nginx -t still passes); `apt purge bootd` then leaves no file, user or
   group behind: the root's paths, users and groups are compared with a
   snapshot taken before the install; it says how to find files the
   removed user and groups may still own elsewhere.
5. Upgrade: the previous commit's package (HEAD~1, or the commit
   BOOTD_PREV_REV names, when it has debian/; otherwise this tree;
   labelled VERSION~prev either way so the install is an upgrade) is
   installed, alice adds hosts, the new package is installed over it: the
   hosts are still there, the inventory file is the same, bootctl's
   statoverride survives, moved to /usr/bin/bootctl with none left for
   /usr/sbin/bootctl (BOOTD_PREV_REV=<a commit before the move> checks
   the upgrade from a package that had it there), and a mode the
   administrator gave /var/lib/bootd stays.  Then the previous package again with an
   inventory of schema version 1 (tests/data/inv-v1.sql, as an older bootd
   wrote it), and the upgrade's postinst migrates it, with bootd.service
   stopped: there the root gets a /run/systemd/system and stand-ins for
   systemctl (saying bootd.service is active) and deb-systemd-invoke that
   log each call with a copy of the inventory as it is then; postinst must
   stop bootd.service while the schema is still 1 and start it again once
   migrated (an old bootd left running would fork workers that cannot
   read the new schema).
   Purge again: nothing left.

Prints each step's duration.  Needs root, dpkg-buildpackage, debhelper,
lintian, mmdebstrap, unshare and nsenter; skipped (77) with the reason when
one is missing.  Run: BOOTD_BINARY_DIR=$PWD/build python3
tests/package/test_package.py (BOOTD_KEEP_TMP=1 keeps the scratch directory).
"""

import glob
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

SRC = harness.SOURCE_DIR
NAME = "boot.lab.example.net"     # the README's server name
OPERATOR_DIR = "/tmp/operator"    # the operator's current directory
MAC1 = "52:54:00:12:34:56"        # web1, the README's host
MAC2 = "52:54:00:ab:cd:02"        # web2, environment lab
TIMES = []


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def skip(reason):
    print("SKIP: %s" % reason)
    sys.exit(77)


def run(cmd, check_rc=True, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise Failure("%s exited %d:\n%s%s" % (
            " ".join(cmd) if isinstance(cmd, list) else cmd, r.returncode,
            r.stdout[-4000:], r.stderr[-4000:]))
    return r


class step:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("== %s" % self.name, flush=True)
        self.t = time.monotonic()

    def __exit__(self, *exc):
        took = time.monotonic() - self.t
        TIMES.append((self.name, took))
        print("   %s: %.1f s" % (self.name, took), flush=True)


# --- building ------------------------------------------------------------

def build_package(src, out, nocheck=False):
    env = dict(os.environ)
    if nocheck:
        env["DEB_BUILD_OPTIONS"] = "nocheck"
    r = run([os.path.join(src, "tools", "package"), out], env=env,
            timeout=1800)
    deb = r.stdout.strip().splitlines()[-1]
    check(os.path.isfile(deb), "tools/package printed no .deb: %r" % deb)
    return deb


def export_tree(commit, dest):
    """The tree of commit (None: the work tree, as tools/package copies)."""
    os.makedirs(dest)
    if commit:
        run(["sh", "-c", "git -C \"$1\" archive \"$2\" | tar -xf - -C \"$3\"",
             "sh", SRC, commit, dest])
    else:
        files = run(["git", "-C", SRC, "ls-files", "-z", "-co",
                     "--exclude-standard"]).stdout.split("\0")
        files = [f for f in files if f and os.path.lexists(
            os.path.join(SRC, f))]
        tar = subprocess.Popen(["tar", "-C", SRC, "--null", "-T", "-", "-cf",
                                "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        untar = subprocess.Popen(["tar", "-xf", "-", "-C", dest],
                                 stdin=tar.stdout)
        tar.stdout.close()
        tar.stdin.write("\0".join(files).encode())
        tar.stdin.close()
        check(tar.wait() == 0 and untar.wait() == 0, "cannot copy the tree")


def previous_source(tmp):
    """Source of the package to upgrade from, and how it was chosen."""
    dest = os.path.join(tmp, "prev")
    rev = os.environ.get("BOOTD_PREV_REV") or "HEAD~1"
    git = run(["git", "-C", SRC, "rev-parse", "--verify", "-q",
               rev + "^{commit}"], check_rc=False)
    has = git.returncode == 0 and run(
        ["git", "-C", SRC, "cat-file", "-e", rev + ":debian/control"],
        check_rc=False).returncode == 0
    if has:
        export_tree(rev, dest)
        how = "%s (%s)" % (rev, git.stdout.strip()[:10])
    else:
        export_tree(None, dest)
        how = "this tree (no earlier commit has debian/)"
    # Lower the version, so that installing this tree's package over it is
    # an upgrade even when the commits carry the same version.
    cl = os.path.join(dest, "debian", "changelog")
    with open(cl) as f:
        text = f.read()
    first, rest = text.split("\n", 1)
    m = re.match(r"^bootd \(([^)]+)\)(.*)$", first)
    check(m, "debian/changelog: unexpected first line %r" % first)
    with open(cl, "w") as f:
        f.write("bootd (%s~prev)%s\n%s" % (m.group(1), m.group(2), rest))
    return dest, how


# --- the archive ---------------------------------------------------------

def check_lintian(changes):
    r = run(["lintian", "--fail-on", "none", "--tag-display-limit", "0",
             changes], timeout=600)
    out = r.stdout.strip()
    print("   lintian: %s" % (out.replace("\n", "\n            ") or
                              "(no tags)"))
    bad = [l for l in out.splitlines() if re.match(r"^[EW]: ", l)]
    check(not bad, "lintian reports errors or warnings:\n" + "\n".join(bad))


def check_contents(deb):
    r = run(["dpkg-deb", "-c", deb])
    entries = {}
    for line in r.stdout.splitlines():
        f = line.split(None, 5)
        path = f[5].split(" -> ")[0]
        entries[path[1:].rstrip("/") or "/"] = (f[0], f[1])
    want = {
        "/usr/sbin/bootd": "-rwxr-xr-x",
        "/usr/bin/bootctl": "-rwxr-xr-x",
        "/usr/sbin/build-ipxe": "-rwxr-xr-x",
        "/usr/share/bootd/ipxe-config/general.h": "-rw-r--r--",
        "/usr/share/bootd/ipxe-config/crypto.h": "-rw-r--r--",
        "/usr/share/bootd/ipxe-config/console.h": "-rw-r--r--",
        "/usr/share/man/man8/bootd.8.gz": "-rw-r--r--",
        "/usr/share/man/man8/bootctl.8.gz": "-rw-r--r--",
        "/usr/share/man/man8/build-ipxe.8.gz": "-rw-r--r--",
        "/usr/share/man/man5/bootd.json.5.gz": "-rw-r--r--",
        "/lib/systemd/system/bootd.service": "-rw-r--r--",
        "/lib/systemd/system/bootd.socket": "-rw-r--r--",
        "/usr/lib/sysusers.d/bootd.conf": "-rw-r--r--",
        "/etc/bootd/bootd.json": "-rw-r--r--",
        "/etc/nginx/sites-available/bootd": "-rw-r--r--",
        "/etc/nginx/ffdhe2048.pem": "-rw-r--r--",
        "/usr/share/doc/bootd/copyright": "-rw-r--r--",
    }
    if os.path.exists(os.path.join(SRC, "tools", "completion", "bootctl")):
        want["/usr/share/bash-completion/completions/bootctl"] = "-rw-r--r--"
    for path, mode in want.items():
        check(path in entries, "%s is not in the package" % path)
        check(entries[path][0] == mode, "%s has mode %s, want %s" % (
            path, entries[path][0], mode))
    for path, (mode, owner) in entries.items():
        check(owner == "root/root", "%s belongs to %s" % (path, owner))
        check(not re.search(r"[sStT]", mode), "%s is %s in the archive "
              "(setgid comes from dpkg-statoverride)" % (path, mode))
        check(mode[5] != "w" and mode[8] != "w",
              "%s is writable by group or others: %s" % (path, mode))
        check(not path.startswith(("/var/", "/run/", "/etc/nginx/sites-enabled")),
              "%s must be made by postinst or the administrator" % path)
    conff = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    check(sorted(conff) == ["/etc/bootd/bootd.json", "/etc/nginx/ffdhe2048.pem",
                            "/etc/nginx/sites-available/bootd"],
          "conffiles: %s" % conff)
    # Hardening (DEB_BUILD_MAINT_OPTIONS=hardening=+all).
    tmp = tempfile.mkdtemp(prefix="bootd-deb-x-")
    try:
        run(["dpkg-deb", "-x", deb, tmp])
        for prog in ("sbin/bootd", "bin/bootctl"):
            p = os.path.join(tmp, "usr", prog)
            h = run(["readelf", "-W", "-h", "-l", "-d", "--dyn-syms", p]).stdout
            check(re.search(r"Type:\s+DYN", h), "%s is not PIE" % prog)
            check("GNU_RELRO" in h, "%s has no RELRO" % prog)
            check(re.search(r"FLAGS.*\bNOW\b", h), "%s is not BIND_NOW" % prog)
            check("__stack_chk_fail" in h, "%s: no stack protector" % prog)
            check(re.search(r"__\w+_chk@", h), "%s: no _FORTIFY_SOURCE" % prog)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("   %d entries, %d checked by mode" % (len(entries), len(want)))


# --- the throw-away root -------------------------------------------------

class Root:
    """A Debian 12 root with its own mount and network namespaces."""

    def __init__(self, path):
        self.path = path
        self.holder = None
        self.bootd = None
        self.sock = None

    def make(self):
        sources = "/etc/apt/sources.list.d/debian.sources"
        mirrors = [sources] if os.path.exists(sources) else []
        if not mirrors and os.path.exists("/etc/apt/sources.list"):
            mirrors = ["/etc/apt/sources.list"]
        # Debian 12 with what the package depends on and recommends, and
        # curl for the operator; apt installs the .deb itself later, in a
        # namespace without the network, so every library bootd links
        # (${shlibs:Depends}: libpq5 too, for the PostgreSQL driver) must
        # be here already.
        run(["mmdebstrap", "--mode=root", "--variant=apt",
             "--include=nginx-light,openssl,curl,adduser,libsqlite3-0,"
             "libjansson4,libfcgi0ldbl,libpq5", "bookworm", self.path] +
            mirrors,
            timeout=1800)

    def enter(self):
        """Start the namespace holder: its own /proc and loopback."""
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private",
             "sh", "-c", 'mount -t proc proc "$1/proc" && '
             'ip link set lo up && echo ready && exec sleep 3600',
             "sh", self.path], stdout=subprocess.PIPE, text=True)
        check(self.holder.stdout.readline().strip() == "ready",
              "cannot set up the namespaces for the root")

    def ns(self):
        return ["nsenter", "--target", str(self.holder.pid), "--mount",
                "--net", "chroot", self.path]

    def sh(self, command, user=None, check_rc=True, cwd=OPERATOR_DIR):
        """Run a shell command in the root as root, or as user in a login
        of theirs (`su -`: the PATH, HOME and groups a new login gets from
        /etc/login.defs and /etc/profile, without /usr/sbin)."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                       "/sbin:/bin", "LANG": "C.UTF-8",
               "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        script = ['cd "$0" && eval "$1"', cwd, command]
        if user:
            cmd = self.ns() + ["su", "-", user, "-c"] + script
        else:
            cmd = self.ns() + ["sh", "-c"] + script
        return run(cmd, check_rc=check_rc, env=env, timeout=600)

    def file(self, path):
        return os.path.join(self.path, path.lstrip("/"))

    def ids(self, user=None, group=None):
        if user:
            with open(self.file("/etc/passwd")) as f:
                for line in f:
                    p = line.split(":")
                    if p[0] == user:
                        return int(p[2]), int(p[3])
            raise Failure("no user %s in the root" % user)
        with open(self.file("/etc/group")) as f:
            for line in f:
                p = line.split(":")
                if p[0] == group:
                    return int(p[2])
        raise Failure("no group %s in the root" % group)

    def unit(self, name):
        keys = {}
        with open(self.file("/lib/systemd/system/" + name)) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith(("#", ";", "[")):
                    k, _, v = line.partition("=")
                    keys[k] = v
        return keys

    # What systemd would do for `systemctl start bootd.socket` and the
    # first connection: the socket as bootd.socket says, bootd.service's
    # ExecStart as its User= and Group= with that socket.
    def start_bootd_socket(self):
        sock, svc = self.unit("bootd.socket"), self.unit("bootd.service")
        path = sock["ListenStream"]
        d = self.file(os.path.dirname(path))
        os.makedirs(d, exist_ok=True)
        os.chmod(d, int(sock["DirectoryMode"], 8))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound from inside the root, as systemd there would: the socket's
        # own name is then /run/bootd/bootd.sock, the name bootd (also
        # inside) finds its owner and group by (peer credentials).
        pid = os.fork()
        if pid == 0:
            try:
                os.chroot(self.file("/"))
                os.chdir("/")
                self.sock.bind(path)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        check(status == 0, "binding %s inside the root failed" % path)
        os.chown(self.file(path), self.ids(user=sock["SocketUser"])[0],
                 self.ids(group=sock["SocketGroup"]))
        os.chmod(self.file(path), int(sock["SocketMode"], 8))
        self.sock.listen(int(sock.get("Backlog", "128")))
        fd = self.sock.fileno()
        umask = int(svc.get("UMask", "0022"), 8)

        def child():
            os.dup2(fd, 3)
            os.umask(umask)
        self.bootd_log = open(self.file("/tmp/bootd.log"), "w")
        self.bootd = subprocess.Popen(
            self.ns() + ["setpriv", "--reuid=" + svc["User"],
                         "--regid=" + svc["Group"], "--init-groups",
                         "sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=1; '
                         'exec ' + svc["ExecStart"]],
            preexec_fn=child, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=self.bootd_log, stderr=subprocess.STDOUT,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})

    def nginx_pid(self):
        try:
            with open(self.file("/run/nginx.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start_nginx(self):
        if self.nginx_pid():
            self.sh("nginx -s reload")
        else:
            self.sh("nginx")

    def stop(self):
        pid = self.nginx_pid()
        if pid:
            os.kill(pid, signal.SIGQUIT)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
        if self.bootd:
            self.bootd.send_signal(signal.SIGTERM)
            try:
                self.bootd.wait(60)
            except subprocess.TimeoutExpired:
                self.bootd.kill()
                self.bootd.wait()
            self.bootd = None
            self.bootd_log.close()
        if self.sock:
            self.sock.close()
            self.sock = None

    def leave(self):
        self.stop()
        if self.holder:
            self.holder.kill()
            self.holder.wait()
            self.holder = None

    def snapshot(self):
        """Every path in the root but the kernel's and the scratch ones,
        the users and the groups."""
        paths = set()
        for top, dirs, files in os.walk(self.path):
            rel = "/" + os.path.relpath(top, self.path)
            if rel in ("/proc", "/sys", "/dev", "/run", "/tmp"):
                dirs[:] = []
                continue
            for n in dirs + files:
                paths.add(os.path.normpath(os.path.join(rel, n)))
        users = {l.split(":")[0] for l in open(self.file("/etc/passwd"))}
        groups = {l.split(":")[0] for l in open(self.file("/etc/group"))}
        return paths, users, groups


# --- following the README ------------------------------------------------

def readme_commands():
    """The `# ` and `$ ` commands of the README's "Installing on a server"
    section, in order: (prompt, command)."""
    with open(os.path.join(SRC, "README.md")) as f:
        text = f.read()
    m = re.search(r"^## Installing on a server\n(.*?)^### ", text,
                  re.M | re.S)
    check(m, "README.md has no \"## Installing on a server\" section")
    cmds = []
    for line in m.group(1).splitlines():
        mm = re.match(r"^    ([#$]) (.*)$", line)
        if mm:
            cmds.append((mm.group(1), mm.group(2)))
    check(len(cmds) >= 8, "too few commands in the README section: %r" % cmds)
    return cmds


def follow_readme(root, deb):
    outputs = []
    for prompt, command in readme_commands():
        print("   %s %s" % (prompt, command), flush=True)
        if prompt == "$":
            outputs.append(root.sh(command, user="alice").stdout)
            continue
        for part in command.split(" && "):
            part = part.strip()
            if part == "systemctl reload nginx":
                root.start_nginx()
            elif part == "systemctl start bootd.socket":
                root.start_bootd_socket()
            elif part.startswith("systemctl"):
                raise Failure("the test does not know how to do %r in a "
                              "root without systemd" % part)
            else:
                outputs.append(root.sh(part).stdout)
    return outputs


def fetch(root, mac, user="alice"):
    return root.sh("curl -sS --fail --cacert ca.pem "
                   "'https://%s/ipxe/v1/config?mac=%s'" % (NAME, mac),
                   user=user).stdout


def wait_bootd(root):
    for _ in range(100):
        r = root.sh("curl -sS --cacert ca.pem https://%s/ipxe/v1/health" % NAME,
                    check_rc=False)
        if r.returncode == 0 and r.stdout.startswith("ok"):
            return
        time.sleep(0.2)
    raise Failure("bootd never answered /ipxe/v1/health through nginx: %s"
                  % open(root.file("/tmp/bootd.log")).read()[-2000:])


def install_and_operate(root, deb):
    opdir = root.file(OPERATOR_DIR)
    os.makedirs(opdir)
    certs = harness.make_certs(opdir, name=NAME)
    shutil.copy(certs["chain"], os.path.join(opdir, "fullchain.pem"))
    shutil.copy(certs["key"], os.path.join(opdir, "privkey.pem"))
    os.chmod(os.path.join(opdir, "privkey.pem"), 0o600)
    shutil.copy(deb, opdir)
    with open(root.file("/etc/hosts"), "a") as f:
        f.write("127.0.0.1 %s\n" % NAME)
    # alice and bob have logins on the server before bootd comes.
    root.sh("adduser --disabled-password --gecos '' --quiet alice && "
            "adduser --disabled-password --gecos '' --quiet bob")

    out = follow_readme(root, deb)
    script = out[-1]
    check("Install debian-12" in script and "choose --default install" in
          script, "web1's script is not the installer's menu:\n" + script)
    check("https://%s/images/debian-12/linux" % NAME in script,
          "kernel URL does not start with the configured base_url:\n"
          + script)
    wait_bootd(root)

    # Who runs what: bootd as bootd, the socket as bootd.socket says, the
    # directories as bootd(8) says, bootctl setgid bootd.
    pid = root.bootd.pid
    status = open("/proc/%d/status" % pid).read()
    uid, gid = root.ids(user="bootd")
    check(re.search(r"^Uid:\s+%d\s" % uid, status, re.M),
          "bootd does not run as bootd")
    st = os.lstat(root.file("/run/bootd/bootd.sock"))
    check((st.st_uid, st.st_gid, st.st_mode & 0o7777) ==
          (uid, root.ids(group="www-data"), 0o660),
          "socket owner/mode %s" % ((st.st_uid, st.st_gid, oct(st.st_mode)),))
    for path, want in (("/var/lib/bootd", (0, 0, 0o755)),
                       ("/var/lib/bootd/db", (uid, gid, 0o770)),
                       ("/var/lib/bootd/db/bootd.db", (uid, gid, 0o660)),
                       ("/usr/bin/bootctl", (0, gid, 0o2755))):
        st = os.lstat(root.file(path))
        check((st.st_uid, st.st_gid, st.st_mode & 0o7777) == want,
              "%s: %s, want %s" % (path, (st.st_uid, st.st_gid,
                                          oct(st.st_mode & 0o7777)), want))
    check(os.path.islink(root.file(
        "/etc/systemd/system/sockets.target.wants/bootd.socket")),
        "bootd.socket is not enabled")
    check(not glob.glob(root.file("/etc/systemd/system/*/bootd.service")),
          "bootd.service is enabled; only the socket should be")

    # An environment member who is not an admin: bob, in group labops.
    root.sh("addgroup --quiet labops && adduser --quiet bob labops")
    root.sh("bootctl env add lab --group labops", user="alice")
    root.sh("bootctl host add web2.lab.example.net %s --env lab "
            "--dist debian-12" % MAC2, user="alice")
    before = fetch(root, MAC2, user="bob")
    check("choose --default local" in before,
          "web2 should boot locally first:\n" + before)
    r = root.sh("bootctl set-reinstall web2", user="bob")
    after = fetch(root, MAC2, user="bob")
    check("Install debian-12" in after and "choose --default install" in
          after, "web2's script did not change to the installer:\n" + after)
    r = root.sh("bootctl set-local web1", user="bob", check_rc=False)
    check(r.returncode == 1 and "web1" in r.stderr,
          "bob (not an admin, not in web1's environment) changed web1: "
          "%d %s" % (r.returncode, r.stderr))
    # build-ipxe as packaged finds bootd's iPXE configuration (a stand-in
    # checkout: the files it checks for, no iPXE code; nothing is built).
    for f in ("src/Makefile", "src/Makefile.housekeeping", "src/core/exec.c",
              "src/config/general.h", "src/config/named.h"):
        p = root.file("/tmp/ipxe/" + f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        open(p, "w").close()
    dry = root.sh("build-ipxe --dry-run --src /tmp/ipxe --url https://%s"
                  % NAME).stdout
    check(dry.count("# config header, to be copied") == 3 and
          "chain https://%s/ipxe/v1/config?" % NAME in dry,
          "build-ipxe --dry-run as packaged:\n" + dry)
    audit = root.sh("bootctl audit web2", user="alice").stdout
    check("bob" in audit, "the audit log does not name bob:\n" + audit)
    check_sysusers(root)
    print("   web2 local -> install by bob; bob refused web1: %s"
          % r.stderr.strip())


def check_sysusers(root):
    """The user and groups postinst made (adduser) are those the sysusers
    entry, their source of truth, declares."""
    with open(root.file("/usr/lib/sysusers.d/bootd.conf")) as f:
        lines = [l.strip() for l in f if l.strip() and
                 not l.lstrip().startswith("#")]
    passwd = {l.split(":")[0]: l.rstrip("\n").split(":")
              for l in open(root.file("/etc/passwd"))}
    groups = {l.split(":")[0]: l.split(":")
              for l in open(root.file("/etc/group"))}
    seen = []
    for line in lines:
        m = re.match(r'^u\s+(\S+)\s+-\s+"([^"]*)"\s+(\S+)\s+(\S+)$', line)
        if m:
            name, gecos, home, shell = m.groups()
            check(name in passwd, "sysusers user %s: not created" % name)
            p = passwd[name]
            # adduser writes the description as the GECOS full name,
            # followed by the empty room and phone fields (",,,").
            check((p[4].split(",")[0], p[5], p[6]) == (gecos, home, shell),
                  "user %s: %s, sysusers says %s" % (
                      name, p[4:7], (gecos, home, shell)))
            check(name in groups and int(groups[name][2]) == int(p[3]),
                  "user %s: primary group is not %s" % (name, name))
            seen.append(name)
            continue
        m = re.match(r"^g\s+(\S+)\s+-$", line)
        check(m, "sysusers line the test does not know: %r" % line)
        check(m.group(1) in groups, "sysusers group %s: not created"
              % m.group(1))
        seen.append(m.group(1))
    check(sorted(seen) == ["bootadm", "bootd"],
          "sysusers declares %s, postinst makes bootd and bootadm" % seen)
    print("   user and groups as sysusers.d/bootd.conf declares: %s"
          % ", ".join(seen))


def remove_keeps(root):
    """apt remove: the inventory, users, groups and configuration stay."""
    root.stop()
    root.sh("apt-get remove -y bootd")
    for path in ("/var/lib/bootd/db/bootd.db", "/etc/bootd/bootd.json",
                 "/etc/nginx/sites-available/bootd"):
        check(os.path.exists(root.file(path)), "remove took %s" % path)
    check(not os.path.exists(root.file("/usr/sbin/bootd")),
          "remove left /usr/sbin/bootd")
    root.ids(user="bootd")
    root.ids(group="bootadm")
    r = root.sh("nginx -t", check_rc=False)
    check(r.returncode == 0, "nginx -t fails after remove: " + r.stderr)


def purge_and_compare(root, before, allowed):
    root.stop()
    uid = root.ids(user="bootd")[0]
    r = root.sh("apt-get purge -y bootd")
    check(re.search(r"find / -xdev \\\( -uid %d -o -gid \d+ -o -gid \d+ "
                    r"\\\)" % uid, r.stdout + r.stderr),
          "purge does not say how to find what the removed user and "
          "groups still own:\n" + (r.stdout + r.stderr)[-2000:])
    print("   purge says: %s" % re.search(r"bootd: removed .*",
                                        r.stdout + r.stderr).group(0))
    paths, users, groups = root.snapshot()
    left = sorted(p for p in paths - before[0]
                  if not any(re.match(a, p) for a in allowed))
    check(not left, "left behind after purge: %s" % left)
    check(not (users - before[1]) - {"alice", "bob"},
          "users left: %s" % ((users - before[1]) - {"alice", "bob"}))
    check(not (groups - before[2]) - {"alice", "bob", "labops"},
          "groups left: %s" % ((groups - before[2]) -
                               {"alice", "bob", "labops"}))
    r = root.sh("dpkg-statoverride --list; dpkg-query -W -f='${db:Status-Abbrev}' "
                "bootd 2>&1 || true")
    check("bootctl" not in r.stdout, "statoverride left: %s" % r.stdout)
    check(not glob.glob(root.file("/run/bootd")), "/run/bootd left")


# What may appear between the snapshot before the install and the one after
# the purge, and why: nothing of bootd's.
ALLOWED = [
    r"^/tmp(/|$)", r"^/var/tmp/",
    r"^/etc/hosts$",                               # the test's DNS
    r"^/home/(alice|bob)(/|$)",                    # the operator's logins
    r"^/etc/ssl/bootd(/|$)",                       # the operator's certificate
    r"^/var/log/(apt|dpkg\.log|alternatives\.log)",  # apt's and dpkg's logs
    r"^/var/cache/(apt|debconf|ldconfig)/", r"^/var/lib/(apt|dpkg)/",
    r"^/var/log/nginx/(access|error)\.log",        # nginx's own logs
    r"^/var/lib/nginx/",                           # nginx's temp directories
    r"^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$",
    r"^/var/lib/systemd/deb-systemd-helper-(enabled|masked)$",
]


def upgrade(root, prev_deb, deb):
    d = root.file("/tmp/prev")
    os.makedirs(d)
    shutil.copy(prev_deb, d)
    name = os.path.basename(prev_deb)
    root.sh("apt-get install -y /tmp/prev/%s" % name)
    check(schema_version(root.file("/var/lib/bootd/db/bootd.db")) > 0,
          "postinst made no inventory (bootctl init)")
    root.sh("adduser --quiet alice bootadm")
    # By the name the previous package gave it: packages before bootctl
    # moved to /usr/bin had it in /usr/sbin, off alice's PATH.
    old = installed_bootctl(root)
    root.sh("%s dist add debian-12 --kernel '{{base_url}}/linux' "
            "--initrd '{{base_url}}/initrd.gz' --cmdline 'auto=true'" % old,
            user="alice")
    for i in range(3):
        root.sh("%s host add old%d.lab.example.net 52:54:00:00:00:%02x "
                "--dist debian-12" % (old, i, i), user="alice")
    root.sh("%s set-reinstall old1" % old, user="alice")
    ino = os.stat(root.file("/var/lib/bootd/db/bootd.db")).st_ino
    hosts_before = root.sh("%s host list" % old, user="alice").stdout
    # The administrator's choice for the state directory (no listing
    # for others) survives the upgrade.
    os.chmod(root.file("/var/lib/bootd"), 0o711)
    out = root.sh("apt-get install -y ./%s" % os.path.basename(deb)).stdout
    check("Unpacking bootd (%s) over (" % deb_version(deb) in out,
          "not an upgrade:\n" + out[-2000:])
    hosts_after = root.sh("bootctl host list", user="alice").stdout
    check(hosts_before == hosts_after, "hosts changed by the upgrade:\n%s\n"
          "---\n%s" % (hosts_before, hosts_after))
    for i in range(3):
        check("old%d.lab.example.net" % i in hosts_after, "old%d lost" % i)
    check(os.stat(root.file("/var/lib/bootd/db/bootd.db")).st_ino == ino,
          "the inventory was replaced, not kept")
    check_bootctl_override(root)
    st = os.lstat(root.file("/var/lib/bootd"))
    check((st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o711),
          "/var/lib/bootd reset by the upgrade: %s" % (
              (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)),))
    print("   %s -> %s: 3 hosts kept, inventory kept"
          % (deb_version(prev_deb), deb_version(deb)))

    # The schema migration: the previous package again, its inventory
    # replaced by one an older bootd wrote (tests/data/inv-v1.sql, schema
    # version 1, frozen), then the upgrade: its postinst migrates it.
    root.sh("apt-get install -y --allow-downgrades /tmp/prev/%s" % name)
    db = root.file("/var/lib/bootd/db/bootd.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(os.path.join(SRC, "tests", "data", "inv-v1.sql")) as f:
        con = sqlite3.connect(db)
        con.executescript(f.read())
        con.close()
    os.chown(db, *root.ids(user="bootd"))
    os.chmod(db, 0o660)
    old_version = schema_version(db)
    calls = fake_systemd(root)
    try:
        # apt gives dpkg its own PATH (DPkg::Path), without /usr/local.
        out = root.sh("apt-get -o DPkg::Path=/usr/local/sbin:/usr/sbin:"
                      "/usr/bin:/sbin:/bin install -y ./%s"
                      % os.path.basename(deb)).stdout
    finally:
        fake_systemd(root, remove=True)
    check("Unpacking bootd (%s) over (" % deb_version(deb) in out,
          "not an upgrade:\n" + out[-2000:])
    new_version = schema_version(db)
    check(old_version == 1 and new_version > 1,
          "schema %d -> %d" % (old_version, new_version))
    # bootd.service stopped before the migration, started after it.
    log = open(calls).read().splitlines() if os.path.exists(calls) else []
    acts = [l.split(" ", 1)[1] for l in log
            if l.startswith("deb-systemd-invoke ")]
    check(acts == ["stop bootd.service", "start bootd.service"],
          "bootd.service around the migration: %s, want stop then start "
          "(every call: %s); apt said:\n%s" % (acts, log, out[-3000:]))
    at_stop = schema_version(root.file("/tmp/systemd/stop.db"), copy=True)
    at_start = schema_version(root.file("/tmp/systemd/start.db"), copy=True)
    check((at_stop, at_start) == (1, new_version),
          "schema when bootd.service was stopped %d, when started %d; "
          "want 1 then %d" % (at_stop, at_start, new_version))
    print("   bootd.service stopped at schema %d, started at schema %d"
          % (at_stop, at_start))
    hosts = root.sh("bootctl host list", user="alice").stdout
    check("web1.example.org" in hosts and "db1.example.org" in hosts,
          "the version-1 hosts are gone:\n" + hosts)
    check_bootctl_override(root)
    print("   inventory of schema %d migrated to %d by the upgrade, hosts "
          "kept" % (old_version, new_version))


def installed_bootctl(root):
    """Where the installed package has bootctl."""
    files = root.sh("dpkg -L bootd").stdout.split()
    found = [f for f in files if re.match(r"^/usr/s?bin/bootctl$", f)]
    check(len(found) == 1, "the package has bootctl as %s" % found)
    return found[0]


def check_bootctl_override(root):
    """After an upgrade: bootctl is /usr/bin/bootctl, setgid bootd by the
    one statoverride there is for it; none is left for /usr/sbin/bootctl,
    where packages before the move had it."""
    st = os.lstat(root.file("/usr/bin/bootctl"))
    check((st.st_uid, st.st_gid, st.st_mode & 0o7777) ==
          (0, root.ids(group="bootd"), 0o2755),
          "/usr/bin/bootctl lost its group or setgid bit: %s" % (
              (st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)),))
    check(not os.path.lexists(root.file("/usr/sbin/bootctl")),
          "/usr/sbin/bootctl is still there")
    listed = [l for l in root.sh("dpkg-statoverride --list").stdout
              .splitlines() if "bootctl" in l]
    check(listed == ["root bootd 2755 /usr/bin/bootctl"],
          "statoverrides for bootctl: %s" % listed)


# Stand-ins for systemd in the root: /run/systemd/system (what maintainer
# scripts test for), systemctl saying bootd.service is active, and
# deb-systemd-invoke; both log each call to /tmp/systemd/calls, and
# deb-systemd-invoke keeps a copy of the inventory as it is at each
# stop and start.  Returns the log's path (outside the root).
FAKE = {
    "systemctl": """#!/bin/sh
echo "systemctl $*" >>/tmp/systemd/calls
exit 0
""",
    "deb-systemd-invoke": """#!/bin/sh
echo "deb-systemd-invoke $*" >>/tmp/systemd/calls
for f in "" -wal; do
    if [ -f /var/lib/bootd/db/bootd.db$f ]; then
        cp /var/lib/bootd/db/bootd.db$f /tmp/systemd/$1.db$f
    fi
done
exit 0
""",
}


def fake_systemd(root, remove=False):
    d = root.file("/tmp/systemd")
    for name, text in FAKE.items():
        path = root.file("/usr/local/sbin/" + name)
        if remove:
            if os.path.exists(path):
                os.unlink(path)
            continue
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    if remove:
        shutil.rmtree(root.file("/run/systemd"), ignore_errors=True)
        return None
    os.makedirs(root.file("/run/systemd/system"))
    os.makedirs(d)
    return os.path.join(d, "calls")


def schema_version(db, copy=False):
    if copy:
        # A copy, with its WAL when it had one: read it as it is.
        if not os.path.exists(db):
            return -1
        con = sqlite3.connect(db)
        try:
            return con.execute("PRAGMA user_version").fetchone()[0]
        finally:
            con.close()
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


def deb_version(deb):
    return run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()


def main():
    if os.geteuid() != 0:
        skip("needs root (mmdebstrap --mode=root, chroot, namespaces)")
    for tool, pkg in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper"),
                      ("lintian", "lintian"), ("mmdebstrap", "mmdebstrap"),
                      ("unshare", "util-linux"), ("nsenter", "util-linux"),
                      ("readelf", "binutils"), ("git", "git")):
        if not shutil.which(tool):
            skip("%s not found (apt-get install %s; tools/packages.txt)"
                 % (tool, pkg))
    if not os.path.isfile(os.path.join(SRC, "debian", "control")):
        skip("no debian/ in %s" % SRC)

    tmp = tempfile.mkdtemp(prefix="bootd-package-", dir="/var/tmp")
    root = Root(os.path.join(tmp, "root"))
    ok = False
    try:
        with step("build the package (tools/package)"):
            deb = build_package(SRC, os.path.join(tmp, "out"))
            print("   %s" % deb)
        with step("build the previous package"):
            prev_src, how = previous_source(tmp)
            prev_deb = build_package(prev_src, os.path.join(tmp, "prev-out"),
                                     nocheck=True)
            print("   from %s: %s" % (how, os.path.basename(prev_deb)))
        with step("lintian"):
            check_lintian(glob.glob(os.path.join(tmp, "out", "*.changes"))[0])
        with step("contents and modes (dpkg-deb -c)"):
            check_contents(deb)
        with step("Debian 12 root (mmdebstrap)"):
            root.make()
            root.enter()
            before = root.snapshot()
        with step("install and follow README \"Installing on a server\""):
            install_and_operate(root, deb)
        with step("apt remove keeps the inventory, apt purge leaves nothing"):
            remove_keeps(root)
            purge_and_compare(root, before, ALLOWED)
        with step("upgrade from the previous package"):
            upgrade(root, prev_deb, deb)
        with step("apt purge after the upgrade"):
            purge_and_compare(root, before, ALLOWED)
        ok = True
    except Failure as e:
        print("FAIL: %s" % e)
    finally:
        root.leave()
        if os.environ.get("BOOTD_KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            # --one-file-system: never into a mount left behind.
            subprocess.run(["rm", "-rf", "--one-file-system", tmp])
    total = sum(t for _, t in TIMES)
    print("timings: %s; total %.0f s" % (
        ", ".join("%s %.0f s" % (n.split(" (")[0], t) for n, t in TIMES),
        total))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
