"""
The bootd process itself, spoken to over FastCGI without nginx: startup
checks (stale, live and foreign socket files, a busy TCP port, a root
worker user, -t), log lines of printable ASCII only, a request in flight
across SIGTERM, the drain timeout, max_requests recycling, a SIGHUP while
bootd starts, a reload at the largest daemon.workers, children whose master
died before they were set up, back-off when workers die in a loop, the done
form body limits, kept FastCGI connections served side by side and at a
stop, the shape of the metrics exposition and the scheduling
policy (SCHED_BATCH, or the one bootd was started with) and the workers'
nice value, above the recorder's.
"""

import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from harness import eventually, running  # noqa: E402

IS_ROOT = os.geteuid() == 0
MAC = "52:54:00:12:34:56"

# sched_getscheduler()'s flag of a policy chrt --reset-on-fork set.
RESET_ON_FORK = 0x40000000

# FastCGI record types.
BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def nv(name, value):
    def length(b):
        return bytes([len(b)]) if len(b) < 128 else \
            struct.pack("!I", len(b) | 0x80000000)
    n, v = name.encode(), value.encode()
    return length(n) + length(v) + n + v


def request_bytes(method, path, query="", body=b"", ctype=None):
    """The records of one FastCGI request (params, then stdin)."""
    params = nv("REQUEST_METHOD", method) + nv("DOCUMENT_URI", path) + \
        nv("SCRIPT_NAME", path) + nv("QUERY_STRING", query)
    if body or method == "POST":
        params += nv("CONTENT_LENGTH", str(len(body)))
    if ctype:
        params += nv("CONTENT_TYPE", ctype)
    out = record(BEGIN, struct.pack("!HB5x", 1, 0)) + record(PARAMS, params) \
        + record(PARAMS, b"")
    for i in range(0, len(body), 8000):
        out += record(STDIN, body[i:i + 8000])
    return out + record(STDIN, b"")


def read_response(sock):
    """(status, headers dict, body) of the answer on sock."""
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            break
        data += b
    out, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, ln, pad = struct.unpack("!BBHHBx", data[i:i + 8])
        i += 8
        if rtype == STDOUT:
            out += data[i:i + ln]
        i += ln + pad
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "0").split()[0])
    return status, headers, body.decode()



def kept_request(method="GET", path="/ipxe/v1/config", query="mac=" + MAC):
    """request_bytes() of a request asking to keep the connection."""
    return request_bytes(method, path, query).replace(
        record(BEGIN, struct.pack("!HB5x", 1, 0)),
        record(BEGIN, struct.pack("!HB5x", 1, 1)), 1)


def end_of_request(test, sock):
    """What sock reads up to the END_REQUEST record of request 1; the
    connection must stay open until then."""
    data = b""
    while struct.pack("!BBH", 1, END, 1) not in data:
        chunk = sock.recv(65536)
        test.assertTrue(chunk, data)    # not closed before it
        data += chunk
    return data

def children(pid):
    """The children of pid."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                         text=True).stdout
    return sorted(int(p) for p in out.split())


class Daemon:
    """bootd on a unix socket in a temporary directory."""

    def __init__(self, **daemon):
        self.tmp = tempfile.mkdtemp(prefix="bootd-daemon-test-")
        os.chmod(self.tmp, 0o755)
        self.socket = os.path.join(self.tmp, "bootd.sock")
        # The database's own directory, as in production (bootd(8)):
        # the service user's (nobody as root), mode 0770; the rest root's.
        dbdir = os.path.join(self.tmp, "db")
        os.mkdir(dbdir)
        if IS_ROOT:
            os.chown(dbdir, pwd.getpwnam("nobody").pw_uid,
                     grp.getgrnam("nogroup").gr_gid)
        os.chmod(dbdir, 0o770)
        self.db = os.path.join(dbdir, "bootd.db")
        self.conf = os.path.join(self.tmp, "bootd.json")
        self.log_path = os.path.join(self.tmp, "bootd.log")
        self.proc = None
        d = {"listen": "unix:" + self.socket, "socket_owner": "",
             "socket_group": "", "socket_mode": "0600", "workers": 2,
             "drain_timeout": 10, "log": "stderr", "log_level": "debug"}
        if IS_ROOT:
            d.update(user="nobody", group="nogroup")
        d.update(daemon)
        self.config = {"database": self.db, "daemon": d,
                       "menu": {"base_url": "http://127.0.0.1"}}
        self.write_config()
        bootctl = harness.binary("bootctl")
        subprocess.run([bootctl, "--db", self.db, "init"], check=True,
                       capture_output=True, env=harness.run_env())
        subprocess.run([bootctl, "--db", self.db, "host", "add",
                        "web1.example.org", MAC], check=True,
                       capture_output=True, env=harness.run_env())

    def write_config(self):
        with open(self.conf, "w") as f:
            json.dump(self.config, f)

    def run(self, *args):
        """Run bootd to completion (for failing starts and -t)."""
        return subprocess.run([harness.binary("bootd"), "-c", self.conf]
                              + list(args), capture_output=True, text=True,
                              env=harness.run_env(), timeout=60)

    def start(self, wait=True, wrapper=()):
        """wrapper: a command that execs bootd (its pid is bootd's)."""
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            list(wrapper) + [harness.binary("bootd"), "-c", self.conf],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            env=harness.run_env())
        if wait:
            eventually(lambda: self.workers() if os.path.exists(self.socket)
                       else [], lambda w: len(w) >= 1)
        return self

    def children(self):
        """The master's children."""
        return children(self.proc.pid)

    def workers(self):
        """The master's children but the recorder."""
        return [p for p in self.children() if not harness.is_recorder(p)]

    def recorders(self):
        """The master's recorder (a list: none, or one)."""
        return [p for p in self.children() if harness.is_recorder(p)]

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(self.socket)
        return s

    def call(self, method, path, query="", body=b"", ctype=None):
        with self.connect() as s:
            s.sendall(request_bytes(method, path, query, body, ctype))
            return read_response(s)

    def metrics(self):
        st, _, body = self.call("GET", "/ipxe/v1/metrics")
        assert st == 200, body
        return body

    def metric(self, name):
        m = re.search(r"(?m)^%s (\S+)$" % re.escape(name), self.metrics())
        return float(m.group(1)) if m else None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        if self.proc is not None and not self.log.closed:
            self.log.close()
        return self.proc.returncode if self.proc is not None else None

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(60)
        if self.proc is not None and not self.log.closed:
            self.log.close()
        text = self.log_text() if os.path.exists(self.log_path) else ""
        shutil.rmtree(self.tmp, ignore_errors=True)
        return text


@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class Startup(unittest.TestCase):
    def setUp(self):
        self.d = Daemon()

    def tearDown(self):
        log = self.d.close()
        self.assertIsNone(harness.SANITIZER_RE.search(log), log)

    def test_check_mode(self):
        r = self.d.run("-t")
        self.assertEqual((r.returncode, r.stdout), (0,
                         "bootd: configuration ok\n"), r.stderr)
        self.d.config["database"] = os.path.join(
            os.path.dirname(self.d.db), "missing.db")
        self.d.write_config()
        r = self.d.run("-t")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("missing.db", r.stderr)
        self.assertFalse(os.path.exists(self.d.config["database"]))

    def test_manual_dists(self):
        """menu.manual_dists: -t refuses a name the inventory does not
        have; a running bootd logs it and leaves it out.  An entry whose
        template names an attribute the host lacks is left out of that
        host's menu (logged), not traded for the fail-safe script; unknown
        MACs get no manual entries."""
        bootctl = harness.binary("bootctl")

        def ctl(*args):
            subprocess.run([bootctl, "--db", self.d.db] + list(args),
                           check=True, capture_output=True,
                           env=harness.run_env())
        ctl("dist", "add", "rhel-9.4", "--kernel", "{{base_url}}/k",
            "--initrd", "{{base_url}}/i",
            "--cmdline", "inst.ks={{base_url}}/ks/{{attr.ks}}.cfg")
        ctl("dist", "add", "debian-12", "--kernel", "{{base_url}}/k",
            "--initrd", "{{base_url}}/i", "--cmdline", "auto=true")
        self.d.config["menu"]["manual_dists"] = ["rhel-9.4", "nope",
                                                 "debian-12"]
        self.d.write_config()
        r = self.d.run("-t")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "",
                         'bootd: menu.manual_dists: no distribution "nope" '
                         'in %s\n' % self.d.db))
        self.d.start()
        st, _, body = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200, body)
        text = body
        self.assertIn("\nmenu web1.example.org (%s)\n" % MAC, text)
        self.assertIn("\nitem manual_2 Install debian-12 (manual)\n", text)
        self.assertNotIn("rhel-9.4", text)
        self.assertNotIn("nope", text)
        st, _, body = self.d.call("GET", "/ipxe/v1/config",
                                  "mac=52:54:00:99:99:99")
        self.assertEqual(st, 200, body)
        self.assertNotIn("manual", body)
        ctl("attr", "set", "web1", "ks", "web")
        st, _, body = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertIn("\nitem manual_1 Install rhel-9.4 (manual)\n", body)
        self.assertEqual(self.d.stop(), 0)
        log = self.d.log_text()
        self.assertIn('warning menu.manual_dists: no distribution "nope" '
                      'in %s: left out of every menu' % self.d.db, log)
        self.assertRegex(log, r"warning ipxe_render_host\(web1\.example\."
                         r"org, %s\): 1 manual entry left out of the menu: "
                         r".*rhel-9\.4.*ks" % MAC)
        self.assertNotIn("failsafe", log)

    @unittest.skipUnless(harness.with_postgresql(),
                         "built without BOOTD_WITH_POSTGRESQL")
    def test_log_lines_are_printable_ascii(self):
        # A log line holds what it names: here the error libpq gives for
        # a server it cannot reach, naming the socket directory the URI
        # spells with escapes, bytes 0xc3 0xa9 ("\u00e9" in UTF-8), 0xff
        # (no UTF-8 at all) and ESC.  Each is logged as '?', as control
        # characters always were: neither invalid UTF-8 nor any other
        # non-ASCII text reaches the log.  (What a request sends is
        # refused or replaced before it is logged: test_hostile.)
        self.d.config["database"] = ("postgresql:///bootd?host="
                                     "%2Fnonexistent%2Fcaf%C3%A9%FF%1B")
        self.d.write_config()
        self.d.start()
        st, _, body = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200, body)         # the fail-safe script
        eventually(self.d.log_text, lambda l: "inv_open" in l)
        self.assertEqual(self.d.stop(), 0)
        with open(self.d.log_path, "rb") as f:
            log = f.read()
        self.assertEqual([l for l in log.splitlines()
                          if not all(0x20 <= b < 0x7f for b in l)], [])
        self.assertIn(b'socket "/nonexistent/caf????/.s.PGSQL.5432"', log)

    def test_usage(self):
        r = self.d.run("-h")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: bootd", r.stdout)
        r = self.d.run("-x")
        self.assertEqual(r.returncode, 2)

    def test_stale_socket_replaced(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.d.socket)
        s.close()                   # the file stays, nobody listens
        self.d.start()
        st, _, body = self.d.call("GET", "/ipxe/v1/health")
        self.assertEqual(st, 200, body)
        self.assertIn("replaced stale socket", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)
        # Started as root, bootd ends as nobody, who may not write the
        # socket's (root's) directory: the file stays until the next start
        # replaces it.  Otherwise bootd removes it.
        self.assertEqual(os.path.exists(self.d.socket), IS_ROOT)

    def test_live_socket_refused(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.d.socket)
        s.listen(1)
        try:
            r = self.d.run()
        finally:
            s.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("in use by a running server", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

    def test_foreign_file_refused(self):
        with open(self.d.socket, "w") as f:
            f.write("not a socket\n")
        r = self.d.run()
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a socket", r.stderr)
        with open(self.d.socket) as f:
            self.assertEqual(f.read(), "not a socket\n")

    def test_busy_tcp_port(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            self.d.config["daemon"]["listen"] = "127.0.0.1:%d" % port
            self.d.write_config()
            r = self.d.run()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"bind\(127\.0\.0\.1:%d\): " % port)

    @unittest.skipUnless(IS_ROOT, "needs root")
    def test_root_workers_refused(self):
        self.d.config["daemon"]["user"] = "root"
        self.d.write_config()
        r = self.d.run()
        self.assertEqual(r.returncode, 1)
        self.assertIn("refusing to run workers as root", r.stderr)
        self.assertFalse(os.path.exists(self.d.socket))
        r = self.d.run("-t")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "",
                         "bootd: daemon.user: root has uid 0; refusing to "
                         "run workers as root\n"))

    @unittest.skipUnless(IS_ROOT, "needs root")
    def test_check_mode_checks_accounts(self):
        """-t refuses what the start refuses, in the same words: every
        account the configuration names must exist."""
        missing = "bootd-no-such-account"
        self.assertRaises(KeyError, pwd.getpwnam, missing)
        self.assertRaises(KeyError, grp.getgrnam, missing)
        daemon = dict(self.d.config["daemon"])
        for key in ("user", "group", "socket_owner", "socket_group"):
            with self.subTest(key=key):
                self.d.config["daemon"] = dict(daemon, **{key: missing})
                self.d.write_config()
                t = self.d.run("-t")
                start = self.d.run()
                why = "daemon.%s: no such %s: %s" % (
                    key, "group" if key.endswith("group") else "user",
                    missing)
                self.assertEqual((t.returncode, t.stdout, t.stderr),
                                 (1, "", "bootd: %s\n" % why))
                self.assertEqual(start.returncode, 1)
                self.assertIn("error " + why, start.stderr)


@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class Process(unittest.TestCase):
    def tearDown(self):
        log = self.d.close()
        self.assertIsNone(harness.SANITIZER_RE.search(log), log)

    def taken(self, worker, fds):
        """Wait until worker, which had fds open, accepted a connection."""
        eventually(lambda: len(os.listdir("/proc/%d/fd" % worker)),
                   lambda n: n > fds)

    def assert_serves_then_stops(self):
        """The daemon answers, no worker died, and it stops cleanly."""
        st, _, body = self.d.call("GET", "/ipxe/v1/health")
        self.assertEqual(st, 200, body)
        self.assertEqual(self.d.metric("bootd_worker_restarts_total"), 0)
        self.assertEqual(self.d.stop(), 0)

    def test_request_in_flight_across_sigterm(self):
        self.d = Daemon(workers=1).start()
        data = request_bytes("GET", "/ipxe/v1/config", "mac=" + MAC)
        worker = self.d.workers()[0]
        fds = len(os.listdir("/proc/%d/fd" % worker))
        with self.d.connect() as s:
            s.sendall(data[:20])
            # The worker accepted (one more fd) and waits for the rest.
            self.taken(worker, fds)
            self.d.proc.send_signal(signal.SIGTERM)
            eventually(self.d.log_text, lambda l: "stopping" in l)
            s.sendall(data[20:])
            st, h, body = read_response(s)
        self.assertEqual(st, 200, body)
        self.assertIn("menu web1.example.org", body)
        self.assertEqual(self.d.proc.wait(60), 0)
        self.assertNotIn("killing", self.d.log_text())

    def test_drain_timeout_kills_stuck_request(self):
        self.d = Daemon(workers=1, drain_timeout=1).start()
        worker = self.d.workers()[0]
        fds = len(os.listdir("/proc/%d/fd" % worker))
        with self.d.connect() as s:
            s.sendall(record(BEGIN, struct.pack("!HB5x", 1, 0)))
            self.taken(worker, fds)
            self.d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.d.proc.wait(60), 0)
        self.assertIn("still busy", self.d.log_text())
        self.assertFalse(os.path.exists("/proc/%d" % worker))

    def test_stalled_connection_does_not_hold_a_worker(self):
        # A peer that opens a request and goes quiet is dropped after the
        # connection timeout; the only worker then answers the next one.
        self.d = Daemon(workers=1).start()
        with self.d.connect() as stalled:
            stalled.sendall(record(BEGIN, struct.pack("!HB5x", 1, 0)))
            st, _, body = self.d.call("GET", "/ipxe/v1/config",
                                      "mac=" + MAC)
            self.assertEqual(st, 200, body)
            # The stalled request itself ends: refused or closed, never
            # answered with a script.
            rest = b""
            while True:
                chunk = stalled.recv(4096)
                if not chunk:
                    break
                rest += chunk
            self.assertNotIn(b"Status: 200", rest)
            self.assertNotIn(b"#!ipxe", rest)
        self.assertEqual(self.d.metric("bootd_worker_restarts_total"), 0)
        self.assertEqual(self.d.stop(), 0)

    def test_broken_connection_then_the_next_one_checked(self):
        # A connection that breaks before its request is read (closed
        # inside a record header) is closed by libfcgi, which then
        # accepted the next connection itself when it held the listening
        # socket: no peer check, no read timeout, so a peer that sent one
        # byte held the only worker for good.  Now the next connection
        # comes through the worker's own accept, and is dropped at the
        # read timeout.
        self.d = Daemon(workers=1).start()
        worker = self.d.workers()[0]
        fds = len(os.listdir("/proc/%d/fd" % worker))
        with self.d.connect() as broken, self.d.connect() as slow:
            broken.sendall(b"\x01\x01\x00")      # 3 bytes of 8
            self.taken(worker, fds)
            slow.sendall(b"\x01")                # waits in the backlog
            broken.close()
            try:
                rest = slow.recv(4096)          # 60 s at most
            except ConnectionResetError:
                rest = b""
            self.assertEqual(rest, b"")
        self.assert_serves_then_stops()

    def test_stop_noticed_with_connections_waiting(self):
        # SIGTERM while the only worker has a request in hand stays
        # pending, and epoll_pwait(2) did not deliver it while more
        # connections waited: the worker served every one of them first
        # (in a boot storm, for ever: after a reload the old workers kept
        # the old configuration).  Now it ends after the request in hand.
        self.d = Daemon(workers=1).start()
        worker = self.d.workers()[0]
        fds = len(os.listdir("/proc/%d/fd" % worker))
        data = request_bytes("GET", "/ipxe/v1/config", "mac=" + MAC)
        waiting = []
        try:
            with self.d.connect() as s:
                s.sendall(data[:20])
                self.taken(worker, fds)
                for _ in range(5):
                    w = self.d.connect()
                    waiting.append(w)
                    w.sendall(data)
                os.kill(worker, signal.SIGTERM)     # pending: it is busy
                s.sendall(data[20:])
                st, _, body = read_response(s)
                self.assertEqual(st, 200, body)
            eventually(lambda: os.path.exists("/proc/%d" % worker),
                       lambda alive: not alive)
            self.assertFalse(os.path.exists("/proc/%d" % worker))
            self.assertRegex(self.d.log_text(), r"\[%d\].*worker exiting "
                             r"after 1 requests" % worker)
        finally:
            for w in waiting:
                w.close()
        self.assertEqual(self.d.stop(), 0)

    def test_silent_connection_dropped(self):
        # A peer that connects and sends nothing is dropped after a short
        # bound (FIRST_BYTE_MS, 2 s) instead of holding the only worker for
        # the 10 s read timeout; the request behind it is served.
        self.d = Daemon(workers=1).start()
        with self.d.connect() as silent:
            eventually(self.d.log_text, lambda l: "worker started" in l)
            st, _, body = self.d.call("GET", "/ipxe/v1/config",
                                      "mac=" + MAC)
            self.assertEqual(st, 200, body)
            self.assertEqual(silent.recv(4096), b"")    # closed, no answer
        self.assertIn("sent nothing for 2000 ms", self.d.log_text())
        # Silent past the bound (5 s, well short of the 10 s read timeout
        # that held a worker before), then a whole request: not served.
        with self.d.connect() as late:
            time.sleep(5)
            data = b""
            try:
                late.sendall(request_bytes("GET", "/ipxe/v1/config",
                                           "mac=" + MAC))
                while True:
                    chunk = late.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assertNotIn(b"Status: 200", data)
        self.assert_serves_then_stops()

    def test_kept_connection_serves_the_next_request(self):
        # A web server asking to keep the connection (FCGI_KEEP_CONN) gets
        # its next request answered on it, by the same worker; one it does
        # not keep is closed after its answer.
        self.d = Daemon(workers=1).start()
        with self.d.connect() as s:
            for _ in range(2):
                s.sendall(kept_request())
                data = end_of_request(self, s)
                self.assertIn(b"Status: 200", data)
                self.assertIn(b"menu web1.example.org", data)
            s.sendall(request_bytes("GET", "/ipxe/v1/health"))
            st, _, body = read_response(s)      # not kept: closed after
        self.assertEqual((st, body.split()[0]), (200, "ok"))
        self.assertEqual(self.d.metric("bootd_fastcgi_connections_total"),
                         2)     # that one, and the metrics' own
        self.assertEqual(self.d.stop(), 0)

    def test_kept_connections_served_side_by_side(self):
        # The only worker holds several kept connections and answers
        # each request as it comes, on whichever connection: an idle kept
        # connection does not stand in the way of the others.  (A worker
        # that read a kept connection until it closed served the second
        # connection only once the first had been idle for ten seconds,
        # and closed it then: its next request got no answer.)
        self.d = Daemon(workers=1).start()
        with self.d.connect() as a, self.d.connect() as b:
            a.sendall(kept_request())
            self.assertIn(b"Status: 200", end_of_request(self, a))
            b.sendall(kept_request())
            self.assertIn(b"Status: 200", end_of_request(self, b))
            for _ in range(3):
                # Both requests written before either answer is read.
                b.sendall(kept_request())
                a.sendall(kept_request())
                self.assertIn(b"menu web1.example.org",
                              end_of_request(self, a))
                self.assertIn(b"menu web1.example.org",
                              end_of_request(self, b))
            st, _, body = self.d.call("GET", "/ipxe/v1/config",
                                      "mac=" + MAC)
            self.assertEqual(st, 200, body)
            a.sendall(kept_request())
            self.assertIn(b"Status: 200", end_of_request(self, a))
        self.assertEqual(self.d.metric("bootd_fastcgi_connections_total"),
                         4)
        self.assert_serves_then_stops()

    def test_stop_answers_what_waits_on_kept_connections(self):
        # SIGTERM while the only worker is busy: the request already
        # written on one of its kept connections is answered before it
        # exits, and its idle kept connections are closed, not waited on.
        self.d = Daemon(workers=1).start()
        worker = self.d.workers()[0]
        with self.d.connect() as kept, self.d.connect() as idle:
            for s in (kept, idle):
                s.sendall(kept_request())
                self.assertIn(b"Status: 200", end_of_request(self, s))
            fds = len(os.listdir("/proc/%d/fd" % worker))
            data = request_bytes("GET", "/ipxe/v1/config", "mac=" + MAC)
            slow = self.d.connect()
            self.addCleanup(slow.close)
            slow.sendall(data[:20])
            self.taken(worker, fds)
            kept.sendall(kept_request())        # waits for the worker
            os.kill(worker, signal.SIGTERM)     # pending: it is busy
            slow.sendall(data[20:])
            st, _, body = read_response(slow)
            self.assertEqual(st, 200, body)
            self.assertIn(b"menu web1.example.org", end_of_request(self, kept))
            self.assertEqual(idle.recv(4096), b"")    # closed unanswered
            self.assertEqual(kept.recv(4096), b"")
            eventually(lambda: running(worker), lambda alive: not alive)
        self.assertRegex(self.d.log_text(), r"\[%d\].*worker exiting "
                         r"after 4 requests" % worker)
        self.assertNotIn("still busy", self.d.log_text())
        self.assert_serves_then_stops()

    def test_usr_signals_are_harmless(self):
        # Log rotation hooks send SIGUSR1; libfcgi's own handler would
        # stop a worker accepting for good, the default would kill.
        self.d = Daemon(workers=1).start()
        worker = self.d.workers()
        os.kill(worker[0], signal.SIGUSR1)
        os.kill(worker[0], signal.SIGUSR2)
        self.d.proc.send_signal(signal.SIGUSR1)
        self.d.proc.send_signal(signal.SIGUSR2)
        for _ in range(3):
            st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
            self.assertEqual(st, 200)
        self.assertIsNone(self.d.proc.poll())
        self.assertEqual(self.d.workers(), worker)
        self.assertEqual(self.d.stop(), 0)

    def policies(self, children):
        """The scheduling policy of the master and its children, once
        all of them are there, without the reset-on-fork flag."""
        pids = eventually(self.d.children, lambda c: len(c) == children)
        return {os.sched_getscheduler(p) & ~RESET_ON_FORK
                for p in [self.d.proc.pid] + pids}

    @unittest.skipUnless(os.sched_getscheduler(0) == os.SCHED_OTHER,
                         "this test runs under another scheduling policy")
    def test_runs_as_batch(self):
        # master.c run_as_batch(): a worker woken by a connection must
        # not take the core from nginx.  The children inherit it.
        self.d = Daemon(workers=2).start()
        self.assertEqual(self.policies(3), {os.SCHED_BATCH})
        st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200)
        self.assertNotIn("sched_", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_workers_yield_to_the_recorder(self):
        # worker.c yield_to_recorder(): each worker, and one that replaces
        # it, runs at a nice value 3 above the master's and the
        # recorder's, so that the recorder keeps up with them.
        self.d = Daemon(workers=2, max_requests=1).start(
            wrapper=["nice", "-n", "2"])
        self.policies(3)
        self.assertEqual(os.getpriority(os.PRIO_PROCESS, self.d.proc.pid), 2)
        self.assertEqual(os.getpriority(os.PRIO_PROCESS,
                                        self.d.recorders()[0]), 2)
        first = self.d.workers()
        self.assertEqual([os.getpriority(os.PRIO_PROCESS, p) for p in first],
                         [5, 5])
        st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200)
        again = eventually(self.d.workers, lambda w: len(w) == 2 and
                           set(w) != set(first))
        self.assertEqual([os.getpriority(os.PRIO_PROCESS, p) for p in again],
                         [5, 5])
        self.assertNotIn("nice(", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_runs_as_batch_with_reset_on_fork(self):
        # A reset-on-fork flag makes sched_getscheduler() return the
        # policy with the flag ORed in: SCHED_OTHER all the same.
        self.d = Daemon(workers=2).start(
            wrapper=["chrt", "--reset-on-fork", "--other", "0"])
        self.assertEqual(self.policies(3), {os.SCHED_BATCH})
        self.assertNotIn("sched_", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_policy_chosen_before_is_kept(self):
        # As bootd.service's CPUSchedulingPolicy= or an operator's chrt:
        # bootd does not override a policy it was started with.
        self.d = Daemon(workers=2).start(wrapper=["chrt", "--idle", "0"])
        self.assertEqual(self.policies(3), {os.SCHED_IDLE})
        st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200)
        self.assertIn("scheduling policy SCHED_IDLE kept", self.d.log_text())
        self.assertNotIn("sched_", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_max_requests_recycles_workers(self):
        self.d = Daemon(workers=1, max_requests=3).start()
        first = self.d.workers()
        for _ in range(3):
            st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
            self.assertEqual(st, 200)
        new = eventually(self.d.workers,
                         lambda w: len(w) == 1 and w != first)
        self.assertNotEqual(new, first)
        st, _, _ = self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        self.assertEqual(st, 200)
        self.assertEqual(self.d.metric("bootd_worker_restarts_total"), 0)
        self.assertIn("recycling", self.d.log_text())
        self.assertEqual(self.d.stop(), 0)

    def test_sighup_while_starting_is_a_reload(self):
        # A SIGHUP (systemctl reload) that came before the master blocked
        # it killed bootd: its default action.  Here bootd reads its
        # configuration from a FIFO, so it is held at the start of main()
        # until the test writes it, and the SIGHUP comes then.  The start
        # goes on, and the master reloads (reading the FIFO again).
        self.d = Daemon(workers=1)
        with open(self.d.conf) as f:
            text = f.read().encode()
        os.unlink(self.d.conf)
        os.mkfifo(self.d.conf, 0o644)

        def writer():
            """The FIFO opened for writing once bootd reads it, or None."""
            try:
                return os.open(self.d.conf, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                return None

        def feed(sig=None, then="starting 1 workers"):
            """
            Wait for bootd to open the FIFO, send sig, write the
            configuration, wait until bootd logs then.
            """
            fd = eventually(writer, lambda fd: fd is not None or
                            self.d.proc.poll() is not None)
            if fd is not None:
                if sig is not None:
                    self.d.proc.send_signal(sig)    # bootd is in main()
                os.write(fd, text)
                os.close(fd)
            eventually(lambda: self.d.proc.poll() is not None or
                       then in self.d.log_text())
            self.assertIsNone(self.d.proc.poll(), self.d.log_text())
            self.assertIn(then, self.d.log_text())

        self.d.start(wait=False)
        feed(signal.SIGHUP)
        feed(then="configuration reloaded; 1 workers started")
        self.assert_serves_then_stops()

    def test_reload_at_the_largest_worker_count(self):
        # A reload starts the new generation while every worker of the
        # old one still runs, beside the recorder: at daemon.workers 256,
        # 513 children.  The master had room for 512, so the last new
        # worker was refused ("not starting more") until an old one left.
        n = 256
        self.d = Daemon(workers=n).start()
        old = eventually(self.d.workers, lambda w: len(w) == n)
        self.assertEqual(len(old), n)
        self.assertEqual(len(eventually(self.d.recorders, bool)), 1)
        self.d.proc.send_signal(signal.SIGHUP)
        log = eventually(self.d.log_text,
                         lambda l: "configuration reloaded" in l)
        self.assertEqual(re.findall(r"configuration reloaded; \d+ workers "
                                    r"started|.*not starting more", log),
                         ["configuration reloaded; %d workers started" % n])
        new = eventually(self.d.workers,
                         lambda w: len(w) == n and not set(w) & set(old))
        self.assertEqual(len(new), n)
        self.assertFalse(set(new) & set(old))
        self.assert_serves_then_stops()

    @unittest.skipUnless(shutil.which("gdb"), "needs gdb")
    def test_children_of_a_master_dead_before_they_are_set_up_exit(self):
        # A worker or the recorder asks to be sent SIGTERM when the
        # master dies (PR_SET_PDEATHSIG); a master that died between the
        # fork and that request sends nothing, and the child lived on,
        # serving with nobody watching.  gdb holds each child at its fork
        # (detach-on-fork off) while the master runs on; the master is
        # killed, then gdb lets the children go: each must see that its
        # parent is no longer the master, and exit.
        self.d = Daemon(workers=2)
        self.d.log = open(self.d.log_path, "ab")
        self.d.proc = subprocess.Popen(
            ["gdb", "-nx", "-batch", "-ex", "set detach-on-fork off",
             "-ex", "set follow-fork-mode parent", "-ex", "run",
             "-ex", "python [gdb.execute('detach inferiors %d' % i.num) "
                    "for i in gdb.inferiors() if i.pid]",
             "--args", harness.binary("bootd"), "-c", self.d.conf],
            stdin=subprocess.DEVNULL, stdout=self.d.log, stderr=self.d.log,
            env=harness.run_env())
        master = eventually(lambda: children(self.d.proc.pid),
                            lambda c: len(c) == 1)
        self.assertEqual(len(master), 1, self.d.log_text())
        held = eventually(lambda: children(master[0]),
                          lambda c: len(c) == 3)     # 2 workers, recorder
        self.assertEqual(len(held), 3, self.d.log_text())
        os.kill(master[0], signal.SIGKILL)
        self.d.proc.wait(60)
        left = eventually(lambda: [p for p in held if running(p)],
                          lambda p: not p)
        for p in left:
            os.kill(p, signal.SIGKILL)
        self.assertEqual(left, [])

    def test_crash_loop_backs_off_then_recovers(self):
        self.d = Daemon(workers=1).start()
        killed = set()
        while "waiting" not in self.d.log_text():
            self.assertLess(len(killed), 50, self.d.log_text())
            w = eventually(self.d.workers, lambda w: len(w) == 1 and
                           w[0] not in killed)
            os.kill(w[0], signal.SIGKILL)
            killed.add(w[0])
        self.assertRegex(self.d.log_text(),
                         r"more than 5 workers died within 10 s; waiting")
        # Backing off never means no worker at all.
        log = eventually(self.d.log_text,
                         lambda l: "keeping one worker" in l)
        self.assertIn("backing off, but keeping one worker", log)
        eventually(self.d.workers, lambda w: len(w) == 1 and
                   w[0] not in killed)
        st, _, _ = self.d.call("GET", "/ipxe/v1/health")
        self.assertEqual(st, 200)
        self.assertEqual(self.d.metric("bootd_worker_restarts_total"),
                         len(killed))
        self.assertEqual(self.d.stop(), 0)


@unittest.skipUnless(harness.have_binary("bootd") and
                     harness.have_binary("bootctl"), "bootd not built")
class Requests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        log = cls.d.close()
        assert harness.SANITIZER_RE.search(log) is None, log
        assert "token=" not in log.replace("missing parameter token", "")

    def test_done_form_limits(self):
        big = b"token=" + b"a" * 2000
        st, _, _ = self.d.call("POST", "/ipxe/v1/done", body=big,
                               ctype="application/x-www-form-urlencoded")
        self.assertEqual(st, 413)
        st, _, _ = self.d.call("POST", "/ipxe/v1/done",
                               body=b'{"token": "x"}',
                               ctype="application/json")
        self.assertEqual(st, 415)
        st, _, body = self.d.call("POST", "/ipxe/v1/done",
                                  body=b"token=" + b"f" * 32,
                                  ctype="application/x-www-form-urlencoded")
        self.assertEqual((st, body), (404, "unknown token\n"))
        # The statuses bootd(8) lists: no token at all is the installer's
        # mistake (400), a malformed one is no token (404).
        for method, query, form, want in (
                ("GET", "", None, (400, "missing parameter token\n")),
                ("POST", "", b"", (400, "missing parameter token\n")),
                ("POST", "", b"other=1", (400, "missing parameter token\n")),
                ("GET", "token=xyz", None, (404, "unknown token\n")),
                ("GET", "token=%s" % ("F" * 32), None,
                 (404, "unknown token\n"))):
            st, h, body = self.d.call(
                method, "/ipxe/v1/done", query, body=form or b"",
                ctype="application/x-www-form-urlencoded" if form is not None
                else None)
            self.assertEqual((st, body), want, (method, query, form))
            self.assertIn("x-bootd-error", h)

    def test_scripts_and_headers(self):
        st, h, body = self.d.call("GET", "/ipxe/v1/config",
                                  "mac=52%3A54%3A00%3A12%3A34%3A56")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(h["cache-control"], "no-store")
        self.assertEqual(int(h["content-length"]), len(body.encode()))
        st, h, body = self.d.call("GET", "/ipxe/v1/config",
                                  "mac=%s&mac=%s" % (MAC, MAC))
        self.assertEqual(st, 400)
        self.assertIn("more than once", h["x-bootd-error"])
        self.assertTrue(body.startswith("#!ipxe\n"))
        self.assertNotIn("kernel", body)
        st, h, _ = self.d.call("DELETE", "/ipxe/v1/health")
        self.assertEqual((st, h.get("allow")), (405, "GET, HEAD"))
        # SCRIPT_NAME alone routes too (no DOCUMENT_URI).
        with self.d.connect() as s:
            params = nv("REQUEST_METHOD", "GET") + \
                nv("SCRIPT_NAME", "/ipxe/v1/health")
            s.sendall(record(BEGIN, struct.pack("!HB5x", 1, 0)) +
                      record(PARAMS, params) + record(PARAMS, b"") +
                      record(STDIN, b""))
            self.assertEqual(read_response(s)[0], 200)

    def test_metrics_exposition(self):
        self.d.call("GET", "/ipxe/v1/config", "mac=" + MAC)
        text = self.d.metrics()
        sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?'
                            r' [0-9.e+-]+$')
        for line in text.splitlines():
            if not line.startswith("#"):
                self.assertRegex(line, sample)
        buckets = [float(v) for v in re.findall(
            r'(?m)^bootd_request_duration_seconds_bucket\{le="[^"]+"\} (\S+)$',
            text)]
        self.assertEqual(buckets, sorted(buckets))
        count = re.search(r"(?m)^bootd_request_duration_seconds_count (\S+)$",
                          text).group(1)
        self.assertEqual(buckets[-1], float(count))
        self.assertGreaterEqual(float(count), 1)
        for name in ("bootd_inventory_hosts", "bootd_workers",
                     "bootd_events_dropped_total", "bootd_errors_total"):
            self.assertRegex(text, r"(?m)^# TYPE %s " % name)
        self.assertRegex(text, r'(?m)^bootd_scripts_total\{action="local"\} '
                         r'[1-9]')


if __name__ == "__main__":
    unittest.main()
