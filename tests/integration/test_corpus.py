"""
A hostile corpus through real nginx and bootd, table-driven: several
hundred requests, each with the answer it must get (the status, and for a
boot script the decision: install, local, unknown or failsafe), checked
one by one, with bootd still serving the host marked for reinstall its
install script after every case.  Every script answered is read the way
iPXE reads it (the ipxe_check program, tests/ipxe_check.c): only the
commands and settings a bootd script may use, and a script that answers a
hostile request for a known host has exactly the structure of the answer
to the plain request, so nothing a client sends can add a command.

The corpus: overlong URLs, query strings and headers; MAC-like strings that
must fail; percent-encoding tricks (%00, %0a, %25, double encoding,
overlong UTF-8); duplicate, empty and repeated parameters; every method on
every route; bodies on config; HTTP/1.0, HTTP/0.9 and pipelining over raw
sockets; invalid UTF-8; iPXE's special characters (${, ||, &&, #, :,
newlines, tabs...) in every request parameter and in every inventory field
that reaches a script, set through bootctl and, where bootctl refuses,
written into the inventory directly (its CHECK constraints switched off)
to prove that what the renderer does with them holds on its own.  Slow
clients (slowloris: headers or a done body trickling in) against the
nginx limits of both shipped configurations, nginx/bootd.conf and
nginx/test.conf.in, in a bounded number of connections: nginx cuts them
off by its own timeouts, and meanwhile everyone else is answered.
"""

import http.client
import os
import re
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402

INSTALL_MAC = "52:54:00:30:00:01"     # install.example.org, marked install
LOCAL_MAC = "52:54:00:30:00:02"       # local.example.org
UNKNOWN_MAC = "52:54:00:30:00:99"     # not in the inventory
CONFIG = "/ipxe/v1/config"

# iPXE's special characters and sequences, raw and as sent in a URL.
SPECIALS = [
    ("setting", "${net0/mac}", "%24%7Bnet0/mac%7D"),
    ("or", " || shell", "%20%7C%7C%20shell"),
    ("and", " && shell", "%20%26%26%20shell"),
    ("comment", "#x", "%23x"),
    ("colon", ":label", "%3Alabel"),
    ("newline", "\nshell", "%0Ashell"),
    ("crlf", "\r\nshell", "%0D%0Ashell"),
    ("tab", "\tshell", "%09shell"),
    ("semicolon", ";shell", "%3Bshell"),
    ("backslash", "\\", "%5C"),
]

PARAMS = ["mac", "platform", "buildarch", "uuid", "serial", "asset",
          "manufacturer", "product", "hostname", "token", "other"]


def http_responses(data, heads=()):
    """
    Split raw bytes read from nginx into responses: a list of (status,
    headers dict with lower-case names, body).  heads[i] is true when the
    i-th request was a HEAD (its answer has no body).  HTTP/0.9 answers
    (no status line) come back as [(None, {}, data)].
    """
    out = []
    if data and not data.startswith(b"HTTP/"):
        return [(None, {}, data)]
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            raise harness.HarnessError("truncated headers: %r" % data[:200])
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        data = data[end + 4:]
        head = len(out) < len(heads) and heads[len(out)]
        if head or status in (204, 304) or status < 200:
            body = b""
        elif "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body, data = data[:n], data[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                nl = data.index(b"\r\n")
                n = int(data[:nl].split(b";")[0], 16)
                data = data[nl + 2:]
                if n == 0:
                    data = data[data.index(b"\r\n") + 2:]
                    break
                body += data[:n]
                data = data[n + 2:]
        else:
            body, data = data, b""
        out.append((status, hdrs, body))
    return out


def raw_exchange(port, data, timeout=30):
    """
    Send data on one connection and read until nginx closes it (the last
    request asks it to, or is HTTP/1.0, or is refused).  No half-close:
    nginx may drop a connection whose client has shut down its side before
    the answer is written.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


class Checker:
    """Scripts to read with the ipxe_check program, in one run."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "scripts")
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def shapes(self, bodies, settings=()):
        """
        [("ok", shape) or ("bad", reason)] for a list of scripts (bytes);
        settings: "${...}" settings allowed besides bootd's own.
        """
        paths = []
        for body in bodies:
            self.n += 1
            p = os.path.join(self.dir, "%d.ipxe" % self.n)
            with open(p, "wb") as f:
                f.write(body)
            paths.append(p)
        prog = os.path.join(harness.BINARY_DIR, "tests", "ipxe_check")
        opts = [a for st in settings for a in ("-s", st)]
        r = subprocess.run([prog, *opts, *paths], capture_output=True,
                           text=True,
                           env=harness.run_env())
        if r.returncode not in (0, 1) or harness.SANITIZER_RE.search(
                r.stderr):
            raise harness.HarnessError("ipxe_check: %s" % r.stderr)
        out = {}
        for line in r.stdout.splitlines():
            path, verdict, rest = line.split(" ", 2)
            out[paths.index(path)] = (verdict, rest)
        return [out[i] for i in range(len(paths))]


def decision(body):
    """install, local, unknown or failsafe, read from a script's text."""
    text = body.decode("ascii", "replace")
    if re.search(r"(?m)^menu unknown host ", text):
        return "unknown"
    m = re.search(r"(?m)^choose --default (\w+) ", text)
    if m:
        return {"install": "install", "local": "local"}.get(m.group(1), "?")
    if "sanboot --no-describe --drive 0x80" in text and \
            not re.search(r"(?m)^(kernel|initrd|chain|boot)\b", text):
        return "failsafe"
    return "?"


# -- the corpus ------------------------------------------------------------
#
# A case: (name, request, want).  request is ("GET", path), (METHOD, path,
# body, headers), ("FROM", address, path) for a GET from another loopback
# address, or ("RAW", bytes) sent on a socket of its own; want is
# (status, decision), the decision None for an answer that is no script, or
# for RAW a list of them, one per answer (pipelining).  A status None is an
# HTTP/0.9 answer (no status line).

def enc(mac):
    return mac.replace(":", "%3A")


def corpus():
    cases = []

    def get(name, path, status, dec=None):
        cases.append((name, ("GET", path), (status, dec)))

    def q(name, query, status, dec=None):
        get(name, CONFIG + "?" + query, status, dec)

    # Plain answers, as references.
    q("install", "mac=" + enc(INSTALL_MAC), 200, "install")
    q("local", "mac=" + LOCAL_MAC, 200, "local")
    q("unknown", "mac=" + UNKNOWN_MAC, 200, "unknown")
    q("spelling-hyphen", "mac=52-54-00-30-00-01", 200, "install")
    q("spelling-bare", "mac=525400300001", 200, "install")
    q("spelling-dotted", "mac=5254.0030.0001", 200, "install")
    q("spelling-upper", "mac=" + INSTALL_MAC.upper(), 200, "install")
    q("escape-lower", "mac=52%3a54%3a00%3a30%3a00%3a01", 200, "install")

    # Overlong URLs and query strings: bootd refuses a value over 128
    # bytes; nginx a request line over 4 KiB (414) and a header over
    # 4 KiB (400).
    for n in (129, 200, 1000, 3000):
        q("mac-overlong-%d" % n, "mac=" + "5" * n, 400, "failsafe")
    for n in (129, 1000, 3500):
        q("info-overlong-%d" % n, "mac=%s&product=%s" % (INSTALL_MAC,
                                                          "x" * n),
          200, "install")
        q("unknown-param-overlong-%d" % n, "mac=%s&x=%s" % (INSTALL_MAC,
                                                             "y" * n),
          200, "install")
    q("many-params", "mac=%s&" % INSTALL_MAC + "&".join(
        "p%d=%d" % (i, i) for i in range(400)), 200, "install")
    for n in (4200, 8000, 20000):
        q("request-line-%d" % n, "mac=%s&x=%s" % (INSTALL_MAC, "y" * n),
          414)
        get("path-%d" % n, "/ipxe/v1/" + "a" * n, 414)
    get("path-long-404", "/ipxe/v1/" + "a" * 3000, 404)
    cases.append(("header-overlong", ("GET", CONFIG + "?mac=" + INSTALL_MAC,
                                      None, {"X-Long": "z" * 5000}),
                  (400, None)))
    # Headers bootd must not take its URLs from: every script's URLs are
    # base_url's (none of these answers may hold "evil").
    cases.append(("header-host-setting", ("GET", CONFIG + "?mac=" +
                                          INSTALL_MAC, None,
                                          {"Host": "evil${net0/ip}"}),
                  (400, None)))             # nginx: not a host name
    for name, hdrs in (("host", {"Host": "evil.example.org"}),
                       ("forwarded", {"X-Forwarded-Host": "evil.example.org",
                                      "Forwarded": "host=evil.example.org",
                                      "X-Forwarded-Proto": "evil"}),
                       ("x-original-url", {"X-Original-URL": "/evil",
                                           "X-Rewrite-URL": "/evil"})):
        cases.append(("header-" + name, ("GET", CONFIG + "?mac=" +
                                         INSTALL_MAC, None, hdrs),
                      (200, "install")))
    cases.append(("header-many", ("GET", CONFIG + "?mac=" + INSTALL_MAC,
                                  None, {"X-H%d" % i: "v" for i in
                                         range(100)}), (200, "install")))

    # MAC-like strings that must fail.
    base = "525400300001"
    for i in range(12):
        for bad, tag in (("g", "g"), ("%20", "space"), ("%2B", "plus")):
            m = base[:i] + bad + base[i + 1:]
            q("mac-digit%d-%s" % (i, tag), "mac=" + m, 400, "failsafe")
    for m in ("52:54:00:30:00", "52:54:00:30:00:01:02", "5:54:00:30:00:01",
              "525:54:00:30:00:01", "52:54:00:30:00:1", "52:54-00:30:00:01",
              "52.54.00.30.00.01", "5254.0030.00:01", "5254-0030-0001",
              "52:54:00:30:00:01:", ":52:54:00:30:00:01", "5254003000011",
              "52540030000", "0x525400300001", "52::54:00:30:00:01",
              "52%3A54%3A00%3A30%3A00%3A0", "%2052:54:00:30:00:01",
              "52:54:00:30:00:01%20", "52_54_00_30_00_01",
              "52:54:00:30:00:01;", "52:54:00:30:00:01,",
              "%EF%BC%95254:00:30:00:01",       # a fullwidth digit
              "%D9%A5254:00:30:00:01",          # an Arabic-Indic digit
              "-1", "0", "true", "null", "[]", "%5B%5D",
              "52:54:00:30:00:01&mac=52:54:00:30:00:01",
              "52:54:00:30:00:01&mac=52:54:00:30:00:02",
              "52:54:00:30:00:01&mac=" + UNKNOWN_MAC,
              "52:54:00:30:00:01&mac=x"):
        q("mac-bad-" + m[:40], "mac=" + m, 400, "failsafe")
    q("mac-array", "mac[]=" + INSTALL_MAC, 400, "failsafe")
    q("mac-upper-name", "MAC=" + INSTALL_MAC, 400, "failsafe")

    # Percent-encoding tricks.
    for name, value in (
            ("nul", "%00"), ("nul-after", INSTALL_MAC + "%00"),
            ("nul-inside", "52:54:00%00:30:00:01"),
            ("lf", INSTALL_MAC + "%0a"), ("cr", INSTALL_MAC + "%0d"),
            ("pct25", "52%253A54%253A00%253A30%253A00%253A01"),
            ("double", "52%25253A54%25253A00%25253A30%25253A00%25253A01"),
            ("pct-literal", "52%54:00:30:00:01"),
            ("pct-end", INSTALL_MAC + "%"), ("pct-short", INSTALL_MAC + "%3"),
            ("pct-bad", "%G2:54:00:30:00:01"),
            ("pct-sign", "52%-3:54:00:30:00:01"),
            ("overlong-colon-2", "52%C0%BA54%C0%BA00%C0%BA30%C0%BA00%C0%BA01"),
            ("overlong-colon-3",
             "52%E0%80%BA54%E0%80%BA00%E0%80%BA30%E0%80%BA00%E0%80%BA01"),
            ("overlong-colon-4", "52%F0%80%80%BA54:00:30:00:01"),
            ("overlong-nul", "%C0%80" + INSTALL_MAC),
            ("overlong-digit", "%C0%B552:54:00:30:00:01"),
            ("utf16", "%u0035254:00:30:00:01"),
            ("plus-space", "+" + INSTALL_MAC),
            ("del", INSTALL_MAC + "%7F"), ("esc", "%1B[2J"),
            ("bom", "%EF%BB%BF" + INSTALL_MAC),
            ("latin1", "52:54:00:30:00:0%E9")):
        q("pct-" + name, "mac=" + value, 400, "failsafe")
    q("pct-all-escaped", "mac=" + "".join("%%%02X" % ord(c)
                                          for c in INSTALL_MAC),
      200, "install")
    q("pct-name-escaped", "m%61c=" + INSTALL_MAC, 400, "failsafe")
    q("pct-name-plus", "mac+=" + INSTALL_MAC, 400, "failsafe")
    q("pct-info-nul", "mac=%s&serial=%%00" % INSTALL_MAC, 200, "install")
    q("pct-info-overlong-utf8", "mac=%s&product=%%C0%%BA" % INSTALL_MAC,
      200, "install")

    # Duplicate, empty and repeated parameters.
    for name, query, st, dec in (
            ("empty-query", "", 400, "failsafe"),
            ("amp-only", "&&&", 400, "failsafe"),
            ("eq-only", "=", 400, "failsafe"),
            ("mac-empty", "mac=", 400, "failsafe"),
            ("mac-no-eq", "mac", 400, "failsafe"),
            ("mac-eq-eq", "mac==" + INSTALL_MAC, 400, "failsafe"),
            # A strict parameter given twice is refused, even when one of
            # them is empty.
            ("mac-empty-then-good", "mac=&mac=" + INSTALL_MAC, 400,
             "failsafe"),
            ("mac-good-then-empty", "mac=%s&mac=" % INSTALL_MAC, 400,
             "failsafe"),
            ("lead-amp", "&mac=" + INSTALL_MAC, 200, "install"),
            ("trail-amp", "mac=%s&" % INSTALL_MAC, 200, "install"),
            ("double-amp", "mac=%s&&platform=efi" % INSTALL_MAC, 200,
             "install"),
            ("empty-name", "=x&mac=" + INSTALL_MAC, 200, "install"),
            ("semicolon-sep", "mac=%s;platform=efi" % INSTALL_MAC, 400,
             "failsafe"),
            ("repeat-platform", "mac=%s&platform=efi&platform=pcbios"
             % INSTALL_MAC, 200, "install"),
            ("repeat-10-mac", "&".join(["mac=" + INSTALL_MAC] * 10), 400,
             "failsafe"),
            ("repeat-100-other", "mac=%s&" % INSTALL_MAC +
             "&".join(["x=1"] * 100), 200, "install"),
            ("token-on-config", "mac=%s&token=%s" % (INSTALL_MAC, "0" * 32),
             200, "install"),
            ("token-twice-on-config", "mac=%s&token=a&token=b" % INSTALL_MAC,
             400, "failsafe"),
            ("fragment", "mac=%s#frag" % INSTALL_MAC, 200, "install")):
        q("dup-" + name, query, st, dec)

    # iPXE's special characters in every request parameter.  mac refuses
    # them (failsafe); token is strict too, but takes printable text on
    # config; informational parameters are dropped, unknown ones ignored:
    # the host's own script either way, never with the value in it.
    for p in PARAMS:
        for tag, raw, sent in SPECIALS:
            ctl = any(ord(c) < 0x20 for c in raw)
            if p == "mac":
                query = "mac=" + enc(INSTALL_MAC) + sent
                want = (400, "failsafe")
            else:
                query = "mac=%s&%s=x%s" % (enc(INSTALL_MAC), p, sent)
                want = (400, "failsafe") if p == "token" and ctl else \
                    (200, "install")
            q("special-%s-%s" % (p, tag), query, *want)

    # Every method on every route.
    routes = {"config": CONFIG + "?mac=" + INSTALL_MAC,
              "done": "/ipxe/v1/done?token=" + "0" * 32,
              "health": "/ipxe/v1/health", "metrics": "/ipxe/v1/metrics",
              "other": "/ipxe/v1/other", "root": "/"}
    allowed = {"config": ("GET", "HEAD"), "done": ("GET", "POST"),
               "health": ("GET", "HEAD"), "metrics": ("GET", "HEAD"),
               "other": ("GET", "HEAD", "POST"), "root": ()}
    for route, path in routes.items():
        for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                  "PROPFIND", "MKCOL", "LOCK", "FOO"):
            if route == "root":
                st = 404
            elif m in allowed[route]:
                st = {"config": 200, "done": 404, "health": 200,
                      "metrics": 200, "other": 404}[route]
            elif route == "done" and m == "HEAD":
                st = 405        # nginx passes it, bootd refuses
            else:
                st = 405
            dec = "install" if route == "config" and st == 200 and \
                m == "GET" else None
            hdrs = {"Content-Type": "application/x-www-form-urlencoded"} \
                if m == "POST" else {}
            cases.append(("method-%s-%s" % (route, m),
                          (m, path, b"" if m == "POST" else None, hdrs),
                          (st, dec)))
    # nginx's own: TRACE is refused, a lower-case or malformed method is no
    # HTTP.
    for m, st in (("TRACE", 405), ("get", 400), ("G\x01T", 400),
                  ("GET GET", 400)):
        cases.append(("method-raw-" + repr(m), (
            "RAW", ("%s %s?mac=%s HTTP/1.1\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n" % (m, CONFIG, INSTALL_MAC))
            .encode("latin-1")), [(st, None)]))

    # Path tricks: nginx decodes and normalises the path before it picks a
    # location and passes DOCUMENT_URI; bootd compares that exactly.
    for path, st in (("/ipxe/v1/./config", 200), ("/ipxe/v1//config", 200),
                     ("//ipxe/v1/config", 200), ("/ipxe/v1/%63onfig", 200),
                     ("/ipxe/v1/x/../config", 200),
                     ("/ipxe/v1/%2e%2e/v1/config", 200),
                     ("/images/../ipxe/v1/config", 200),
                     ("/ipxe/v1/config/", 404), ("/ipxe/v1/config;x", 404),
                     ("/ipxe/v1/config/..", 404), ("/ipxe/v1/config%2f", 404),
                     ("/ipxe/v1/config%20", 404), ("/ipxe/v1/config.php", 404),
                     ("/ipxe/v2/config", 404), ("/IPXE/v1/config", 404),
                     ("/ipxe/v1/config%3Fmac=" + INSTALL_MAC, 404),
                     ("/ipxe/v1/config%00", 400), ("/../ipxe/v1/config", 400)):
        get("path-" + path, path + "?mac=" + INSTALL_MAC, st,
            "install" if st == 200 else None)
    # The metrics are for local monitoring only: no spelling of their path
    # reaches them from another address.
    for path, st in (("/ipxe/v1/metrics", 403), ("/ipxe/v1/%6detrics", 403),
                     ("/ipxe/v1/./metrics", 403), ("//ipxe/v1/metrics", 403),
                     ("/ipxe/v1/x/../metrics", 403),
                     ("/ipxe/v1/metrics/", 404), ("/ipxe/v1/metrics;x", 404),
                     ("/ipxe/v1/metrics%2f", 404), ("/ipxe/v1/Metrics", 404)):
        cases.append(("metrics-from-afar-" + path,
                      ("FROM", "127.0.0.9", path), (st, None)))

    # Bodies on config: ignored within nginx's limit, 413 beyond.
    for n in (1, 100, 4096):
        cases.append(("config-body-%d" % n, ("GET", CONFIG + "?mac=" +
                                             INSTALL_MAC, b"m" * n, {}),
                      (200, "install")))
    cases.append(("config-body-mac", ("GET", CONFIG, b"mac=" +
                                      INSTALL_MAC.encode(),
                                      {"Content-Type": "application/"
                                       "x-www-form-urlencoded"}),
                  (400, "failsafe")))
    cases.append(("config-body-over", ("GET", CONFIG + "?mac=" + INSTALL_MAC,
                                       b"m" * 5000, {}), (413, None)))
    cases.append(("config-body-chunked", ("RAW", (
        "GET %s?mac=%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        % (CONFIG, INSTALL_MAC)).encode()), [(200, "install")]))
    cases.append(("config-body-length-lies", ("RAW", (
        "GET %s?mac=%s HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n"
        "Connection: close\r\n\r\n" % (CONFIG, INSTALL_MAC)).encode()),
        [(400, None)]))
    # done bodies: wrong type, too long, malformed.
    for name, body, ctype, st in (
            ("done-form", b"token=" + b"0" * 32, None, 404),
            ("done-json", b'{"token": "x"}', "application/json", 415),
            ("done-over", b"token=" + b"0" * 4000, None, 413),
            ("done-nul", b"token=%00", None, 400),
            ("done-twice", b"token=a&token=b", None, 400),
            ("done-special", b"token=${x}%0a||shell", None, 400),
            ("done-empty", b"", None, 400)):  # missing token: 400 (bootd(8))
        cases.append((name, ("POST", "/ipxe/v1/done", body, {
            "Content-Type": ctype or "application/x-www-form-urlencoded"}),
            (st, None)))

    # HTTP/1.0, HTTP/0.9, pipelining, invalid UTF-8 and control bytes.
    def raw(name, text, want):
        cases.append((name, ("RAW", text), want))
    req = ("GET %s?mac=%%s HTTP/1.1\r\nHost: x\r\n\r\n" % CONFIG)
    last = ("GET %s?mac=%%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "\r\n" % CONFIG)
    raw("http10", ("GET %s?mac=%s HTTP/1.0\r\n\r\n" % (CONFIG, INSTALL_MAC))
        .encode(), [(200, "install")])
    raw("http10-host", ("GET %s?mac=%s HTTP/1.0\r\nHost: boot\r\n\r\n"
                        % (CONFIG, INSTALL_MAC)).encode(), [(200, "install")])
    raw("http10-keepalive", ("GET %s?mac=%s HTTP/1.0\r\nConnection: "
                             "keep-alive\r\n\r\nGET %s?mac=%s HTTP/1.0\r\n"
                             "\r\n" % (CONFIG, INSTALL_MAC, CONFIG,
                                        UNKNOWN_MAC)).encode(),
        [(200, "install"), (200, "unknown")])
    raw("http11-no-host", ("GET %s?mac=%s HTTP/1.1\r\n\r\n"
                           % (CONFIG, INSTALL_MAC)).encode(), [(400, None)])
    # HTTP/0.9: nginx answers with the body alone.
    raw("http09", ("GET %s?mac=%s\r\n" % (CONFIG, INSTALL_MAC)).encode(),
        [(None, "install")])
    raw("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", [(400, None)])
    raw("pipeline-3", (req % INSTALL_MAC + req % LOCAL_MAC +
                       last % UNKNOWN_MAC).encode(),
        [(200, "install"), (200, "local"), (200, "unknown")])
    raw("pipeline-bad-middle", (req % INSTALL_MAC + req % "%00" +
                                last % LOCAL_MAC).encode(),
        [(200, "install"), (400, "failsafe"), (200, "local")])
    raw("pipeline-20", ("".join(req % (INSTALL_MAC, LOCAL_MAC)[i % 2]
                                for i in range(19)) +
                        last % LOCAL_MAC).encode(),
        [(200, "install"), (200, "local")] * 10)
    raw("pipeline-head-get", (req.replace("GET", "HEAD", 1) % INSTALL_MAC +
                              last % INSTALL_MAC).encode(),
        [(200, None), (200, "install")])
    raw("pipeline-done-config", ((
        "POST /ipxe/v1/done HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/x-www-form-urlencoded\r\nContent-Length: 38\r\n\r\n"
        "token=%s" % ("0" * 32)) + last % INSTALL_MAC).encode(),
        [(404, None), (200, "install")])
    raw("pipeline-garbage-after", (req % INSTALL_MAC).encode() +
        b"\x00\x01\x02 garbage\r\n\r\n", [(200, "install"), (400, None)])
    # Invalid UTF-8 and control bytes, raw in the query, the path and a
    # header.  nginx refuses control bytes in the request line; bootd
    # refuses any non-ASCII MAC (failsafe); a path that is not a route is
    # 404; a header is not bootd's business.
    for name, bad in (("ff", b"\xff"), ("c0af", b"\xc0\xaf"),
                      ("surrogate", b"\xed\xa0\x80"), ("nul", b"\x00"),
                      ("esc", b"\x1b"), ("del", b"\x7f"), ("tab", b"\t")):
        ctl = bad in (b"\x00", b"\x1b", b"\x7f", b"\t")
        raw("utf8-query-" + name, b"GET " + CONFIG.encode() + b"?mac=" +
            INSTALL_MAC.encode() + bad + b" HTTP/1.0\r\n\r\n",
            [(400, None if ctl else "failsafe")])
        raw("utf8-path-" + name, b"GET /ipxe/v1/config" + bad + b"?mac=" +
            INSTALL_MAC.encode() + b" HTTP/1.0\r\n\r\n",
            [(400 if ctl else 404, None)])
        raw("utf8-header-" + name, ("GET %s?mac=%s HTTP/1.0\r\n"
                                    % (CONFIG, INSTALL_MAC)).encode() +
            b"User-Agent: iPXE" + bad + b"\r\n\r\n",
            [(400 if bad == b"\x00" else 200,
              None if bad == b"\x00" else "install")])
    return cases


class Corpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootd"):
            print("skipped: bootd is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(
            config={"daemon": {"log_level": "warning"}})
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", "install.example.org",
                            INSTALL_MAC, "--dist", "debian-12")
            cls.srv.bootctl("set-reinstall", "install.example.org")
            cls.srv.bootctl("host", "add", "local.example.org", LOCAL_MAC)
            cls.checker = Checker(cls.srv.tmp)
            cls.token = cls.srv.token("install.example.org")
            cls.ref = {}
            bodies = []
            for d, mac in (("install", INSTALL_MAC), ("local", LOCAL_MAC),
                           ("unknown", UNKNOWN_MAC)):
                st, _, body = cls.srv.get(CONFIG + "?mac=" + mac)
                assert st == 200, (d, st)
                bodies.append(body)
            for d, (verdict, shape) in zip(
                    ("install", "local", "unknown"),
                    cls.checker.shapes(bodies)):
                assert verdict == "ok", (d, shape)
                cls.ref[d] = shape
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def send(self, request):
        """[(status, body)] for one case (several when pipelined)."""
        kind = request[0]
        if kind == "RAW":
            data = raw_exchange(self.srv.http_port, request[1])
            heads = [m == b"HEAD" for m in re.findall(
                rb"(?:\A|\r\n\r\n)(\S+) ", request[1])]
            return [(st, body) for st, _, body in
                    http_responses(data, heads)]
        if kind == "FROM":
            st, h, body = self.srv.get(request[2], source=request[1])
            self.assertNotIn(b"bootd_requests_total", body)
            return [(st, body)]
        if len(request) == 2:
            st, h, body = self.srv.get(request[1])
        else:
            m, path, body, hdrs = request
            st, h, body = self.srv.request(m, path, body=body, headers=hdrs)
        return [(st, body)]

    def test_corpus(self):
        cases = corpus()
        self.assertGreaterEqual(len(cases), 200)
        sent = 0
        results = []            # (name, want, [(status, body)])
        for name, request, want in cases:
            got = self.send(request)
            sent += len(got)
            results.append((name, request, want, got))
            # bootd keeps serving the host marked for reinstall its install
            # script after every case (and no case consumed its token).
            st, _, body = self.srv.get(CONFIG + "?mac=" + INSTALL_MAC)
            self.assertEqual((st, decision(body)), (200, "install"),
                             "after " + name)
        # Every script answer, read as iPXE reads it, in one run.
        scripts = [(i, j, body) for i, (_, _, _, got) in enumerate(results)
                   for j, (st, body) in enumerate(got)
                   if body.startswith(b"#!ipxe")]
        verdicts = self.checker.shapes([b for _, _, b in scripts])
        checked = {(i, j): v for (i, j, _), v in zip(scripts, verdicts)}
        failures = []
        for i, (name, request, want, got) in enumerate(results):
            wants = want if isinstance(want, list) else [want]
            if len(got) != len(wants):
                failures.append("%s: %d answers, want %d: %s" % (
                    name, len(got), len(wants), [st for st, _ in got]))
                continue
            for j, ((st, body), (wst, wdec)) in enumerate(zip(got, wants)):
                what = name if len(wants) == 1 else "%s[%d]" % (name, j)
                script = body.startswith(b"#!ipxe")
                dec = decision(body) if script else None
                if (st, dec) != (wst, wdec):
                    failures.append("%s: %s %s, want %s %s (%r)" % (
                        what, st, dec, wst, wdec, body[:160]))
                    continue
                if not script:
                    continue
                verdict, shape = checked[(i, j)]
                if b"evil" in body:
                    failures.append("%s: request text in the script: %r"
                                    % (what, body))
                if verdict != "ok":
                    failures.append("%s: script refused by ipxe_check: %s"
                                    % (what, shape))
                elif dec in self.ref and shape != self.ref[dec]:
                    failures.append("%s: %s script with another structure: "
                                    "%s" % (what, dec, shape))
        self.assertEqual(failures, [], "\n".join(failures))
        print("corpus: %d cases, %d requests" % (len(cases), sent),
              file=sys.stderr)
        # bootd is unharmed: no worker died, nothing failed inside, the
        # token is still the one issued.
        self.assertIsNone(self.srv.bootd.poll())
        m = self.srv.metrics()
        self.assertEqual(self.srv.metric(m, "bootd_worker_restarts_total"), 0)
        self.assertEqual(self.srv.metric(m, "bootd_errors_total"), 0)
        self.assertEqual(self.srv.token("install.example.org"), self.token)
        self.assertEqual(self.srv.host_field("install.example.org",
                                             "action"), "install")

    # -- inventory fields ----------------------------------------------------

    FIELD_MAC = "52:54:00:30:01:01"
    FIELD_FQDN = "field.example.org"

    def field_setup(self):
        srv = self.srv
        base = srv.base_url + "/images"
        srv.bootctl("env", "add", "lab")
        srv.bootctl("dist", "add", "fdist", "--kernel",
                    base + "/{{dist}}/vmlinuz", "--initrd",
                    base + "/{{dist}}/initrd.img?h={{hostname}}",
                    "--cmdline", "host={{fqdn}} h={{hostname}} d={{domain}} "
                    "env={{env}} mac={{mac}} role={{attr.role}} "
                    "bootd.token={{token}}")
        srv.bootctl("host", "add", self.FIELD_FQDN, self.FIELD_MAC, "--env",
                    "lab", "--dist", "fdist")
        srv.bootctl("attr", "set", self.FIELD_FQDN, "role", "web")
        srv.bootctl("set-reinstall", self.FIELD_FQDN)
        con = sqlite3.connect(srv.db)
        try:
            hid = con.execute("SELECT id FROM host WHERE fqdn = ?",
                              (self.FIELD_FQDN,)).fetchone()[0]
            benign = {
                "fqdn": self.FIELD_FQDN, "env": "lab", "dist": "fdist",
                "kernel": con.execute("SELECT kernel FROM dist WHERE name = "
                                      "'fdist'").fetchone()[0],
                "initrd": con.execute("SELECT url FROM dist_initrd WHERE "
                                      "dist = 'fdist'").fetchone()[0],
                "cmdline": con.execute("SELECT cmdline FROM dist WHERE name "
                                       "= 'fdist'").fetchone()[0],
                "attr": "web",
                "token": con.execute("SELECT token FROM token WHERE host = ? "
                                     "AND used_at IS NULL AND revoked = 0",
                                     (hid,)).fetchone()[0],
            }
        finally:
            con.close()
        return hid, benign

    @staticmethod
    def field_write(db, hid, field, value, benign):
        """
        Write value into field straight into the inventory, its CHECK
        constraints and foreign keys off: what a tampered or hand-edited
        database could hold.
        """
        con = sqlite3.connect(db, timeout=30)
        try:
            con.execute("PRAGMA ignore_check_constraints = ON")
            con.execute("PRAGMA foreign_keys = OFF")
            cur = {"fqdn": "SELECT fqdn FROM host WHERE id = ?1",
                   "env": "SELECT env FROM host WHERE id = ?1",
                   "dist": "SELECT dist FROM host WHERE id = ?1"}
            if field in cur:
                old = con.execute(cur[field], (hid,)).fetchone()[0]
            sql = {
                "fqdn": ["UPDATE host SET fqdn = ?2 WHERE id = ?1"],
                "env": ["INSERT OR IGNORE INTO env (name) VALUES (?2)",
                        "UPDATE host SET env = ?2 WHERE id = ?1"],
                "dist": ["UPDATE dist SET name = ?2 WHERE name = ?3",
                         "UPDATE dist_initrd SET dist = ?2 WHERE dist = ?3",
                         "UPDATE host SET dist = ?2 WHERE id = ?1"],
                "kernel": ["UPDATE dist SET kernel = ?2 WHERE name = "
                           "(SELECT dist FROM host WHERE id = ?1)"],
                "initrd": ["UPDATE dist_initrd SET url = ?2 WHERE dist = "
                           "(SELECT dist FROM host WHERE id = ?1)"],
                "cmdline": ["UPDATE dist SET cmdline = ?2 WHERE name = "
                            "(SELECT dist FROM host WHERE id = ?1)"],
                "attr": ["UPDATE host_attr SET value = ?2 WHERE host = ?1 "
                         "AND key = 'role'"],
                "token": ["UPDATE token SET token = ?2 WHERE host = ?1 AND "
                          "used_at IS NULL AND revoked = 0"],
            }[field]
            for q in sql:
                args = (hid, value, old) if "?3" in q else (hid, value)
                con.execute(q, args)
            con.commit()
        finally:
            con.close()

    def test_inventory_fields(self):
        """
        iPXE's special characters in every inventory field that reaches a
        script: bootctl refuses them with a one-line reason or takes them;
        written into the inventory directly where bootctl refuses, the
        script keeps its structure or bootd serves the fail-safe script.
        """
        srv = self.srv
        hid, benign = self.field_setup()
        st, _, body = srv.get(CONFIG + "?mac=" + self.FIELD_MAC)
        [(verdict, ref)] = self.checker.shapes([body])
        self.assertEqual((st, decision(body), verdict), (200, "install", "ok"))
        base = srv.base_url + "/images"
        cmdline = "host={{fqdn}} x%s bootd.token={{token}}"
        # The command line below has other words than the benign one: its
        # reference is the same line with a harmless character.
        self.field_write(srv.db, hid, "cmdline", cmdline % "y", benign)
        st, _, body = srv.get(CONFIG + "?mac=" + self.FIELD_MAC)
        [(verdict, ref_cmdline)] = self.checker.shapes([body])
        self.assertEqual((st, decision(body), verdict), (200, "install", "ok"))
        self.field_write(srv.db, hid, "cmdline", benign["cmdline"], benign)

        def bootctl_try(field, value):
            args = {
                "fqdn": ("host", "rename", self.FIELD_FQDN, value),
                "env": ("env", "add", value),
                "dist": ("dist", "add", value, "--kernel", base + "/k",
                         "--initrd", base + "/i", "--cmdline", "x"),
                "kernel": ("dist", "update", "fdist", "--kernel", value),
                "initrd": ("dist", "update", "fdist", "--initrd", value),
                "cmdline": ("dist", "update", "fdist", "--cmdline", value),
                "attr": ("attr", "set", self.FIELD_FQDN, "role", value),
            }.get(field)
            if args is None:
                return None         # no bootctl verb sets it
            return srv.bootctl(*args, check=False)

        failures = []
        answers = []                # (name, setting, body)
        refused = 0
        for field in ("fqdn", "env", "dist", "kernel", "initrd", "cmdline",
                      "attr", "token"):
            for tag, raw, _ in SPECIALS:
                name = "%s-%s" % (field, tag)
                value = {
                    "fqdn": "field" + raw + ".example.org",
                    "env": "lab" + raw, "dist": "fdist" + raw,
                    "kernel": base + "/x" + raw + "/vmlinuz",
                    "initrd": base + "/x" + raw + "/initrd.img",
                    "cmdline": cmdline % raw,
                    "attr": "web" + raw,
                    "token": benign["token"][:16] + raw,
                }[field]
                r = bootctl_try(field, value)
                if r is not None and r.returncode != 0:
                    refused += 1
                    lines = r.stderr.strip().splitlines()
                    if r.returncode != 1 or len(lines) != 1 or \
                            r.stdout.strip():
                        failures.append("%s: bootctl refused without one "
                                        "line: %d %r" % (name, r.returncode,
                                                         r.stderr))
                if r is None or r.returncode != 0 or field in ("env", "dist"):
                    # Where bootctl refuses (or adds a separate object),
                    # the inventory itself.
                    self.field_write(srv.db, hid, field, value, benign)
                st, _, body = srv.get(CONFIG + "?mac=" + self.FIELD_MAC)
                # An administrator's template may use iPXE settings.
                setting = raw if field in ("kernel", "initrd", "cmdline") \
                    and raw.startswith("${") else None
                answers.append((name, st, body, setting))
                self.field_write(srv.db, hid, field, benign[field], benign)
                st2, _, b2 = srv.get(CONFIG + "?mac=" + self.FIELD_MAC)
                if (st2, decision(b2)) != (200, "install"):
                    failures.append("%s: not restored: %s %r"
                                    % (name, st2, b2[:200]))
        verdicts = self.checker.shapes([b for _, _, b, _ in answers],
                                       settings=["${net0/mac}"])
        for (name, st, body, setting), (verdict, shape) in zip(answers,
                                                               verdicts):
            want = ref_cmdline if name.startswith("cmdline-") else ref
            dec = decision(body) if body.startswith(b"#!ipxe") else None
            if st != 200 or dec not in ("install", "failsafe"):
                failures.append("%s: %s %s (%r)" % (name, st, dec,
                                                    body[:200]))
            elif verdict != "ok":
                failures.append("%s: script refused by ipxe_check: %s"
                                % (name, shape))
            elif b"${net0/mac}" in body and setting is None:
                failures.append("%s: a value's ${...} reached the script"
                                % name)
            elif dec == "install" and shape != want:
                failures.append("%s: install script with another "
                                "structure: %s\n%s" % (name, shape,
                                                        body.decode()))
        self.assertEqual(failures, [], "\n".join(failures))
        decisions = [decision(b) for _, _, b, _ in answers]
        print("inventory fields: %d cases, bootctl refused %d; answers: "
              "%d install, %d failsafe" % (
                  len(answers), refused, decisions.count("install"),
                  decisions.count("failsafe")), file=sys.stderr)
        self.assertIsNone(srv.bootd.poll())
        m = srv.metrics()
        self.assertEqual(srv.metric(m, "bootd_worker_restarts_total"), 0)


# -- slow clients ------------------------------------------------------------

SLOW = 12           # slow connections per kind: more than limit_conn 8 and
                    # far more than bootd's workers
TRICKLE_PAUSE = 0.5  # between two bytes of a slow client
TRICKLE_MAX = 80    # bytes a slow client sends at most (40 s; nginx's
                    # client_header_timeout is 10 s)


def production_nginx(srv):
    """
    nginx/bootd.conf as shipped, on loopback ports, passing to srv's bootd:
    returns (Popen, HTTP port, directory).  Only ports and paths differ.
    """
    tmp = tempfile.mkdtemp(prefix="bootd-prod-nginx-")
    os.chmod(tmp, 0o755)
    certs = harness.make_certs(tmp)
    port = harness.free_port()
    with open(os.path.join(harness.SOURCE_DIR, "nginx", "bootd.conf")) as f:
        site = f.read()
    site = (site
            .replace("/etc/ssl/bootd/fullchain.pem", certs["chain"])
            .replace("/etc/ssl/bootd/privkey.pem", certs["key"])
            .replace("/etc/nginx/ffdhe2048.pem", os.path.join(
                harness.SOURCE_DIR, "nginx", "ffdhe2048.pem"))
            .replace("/var/log/nginx/", tmp + "/")
            .replace("/srv/bootd/images/", srv.images + "/")
            .replace("unix:/run/bootd/bootd.sock", "unix:" + srv.socket)
            .replace("listen 80;", "listen 127.0.0.1:%d;" % port)
            .replace("listen 443 ssl", "listen 127.0.0.1:%d ssl"
                     % harness.free_port()))
    for p in ("80", "443"):
        site = site.replace("listen [::]:%s" % p, "listen [::1]:%d"
                            % harness.free_port())
    with open(os.path.join(tmp, "bootd.conf"), "w") as f:
        f.write(site)
    shutil.copy("/etc/nginx/fastcgi_params", tmp)
    main = os.path.join(tmp, "nginx.conf")
    with open(main, "w") as f:
        f.write("%sdaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log "
                "info;\nevents {}\nhttp {\n  client_body_temp_path %s/body;\n"
                "  fastcgi_temp_path %s/fastcgi;\n  include %s/bootd.conf;\n}\n"
                % ("user %s %s;\n" % (harness.NGINX_USER, harness.NGINX_GROUP)
                   if os.geteuid() == 0 else "", tmp, tmp, tmp, tmp, tmp))
    log = open(os.path.join(tmp, "nginx.stderr"), "ab")
    proc = subprocess.Popen(["nginx", "-p", tmp + "/", "-c", main, "-e",
                             "stderr"], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log)
    log.close()
    for _ in range(harness.READY_TRIES):
        if harness.port_busy(port):
            break
        time.sleep(harness.READY_PAUSE)
    return proc, port, tmp


class SlowClients(unittest.TestCase):
    """
    Slowloris against both shipped nginx configurations at once: clients
    that send their headers a byte at a time, and done reports whose body
    trickles in.  nginx buffers a request whole before it passes it to
    bootd, so no slow client holds a bootd worker: every other client is
    answered meanwhile.  nginx ends a header that is not complete within
    client_header_timeout (10 s), and a trickling body that is complete
    gets bootd's answer.
    """

    @classmethod
    def setUpClass(cls):
        if not harness.have_binary("bootd"):
            print("skipped: bootd is not built")
            sys.exit(77)
        cls.srv = harness.BootServer(
            config={"daemon": {"log_level": "warning"}})
        cls.prod = None
        try:
            cls.srv.add_dist("debian-12")
            cls.srv.bootctl("host", "add", "install.example.org",
                            INSTALL_MAC, "--dist", "debian-12")
            cls.srv.bootctl("set-reinstall", "install.example.org")
            cls.prod, cls.prod_port, cls.prod_tmp = production_nginx(cls.srv)
        except BaseException:
            cls.srv.close(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.prod is not None:
            cls.prod.terminate()
            cls.prod.wait(30)
            shutil.rmtree(cls.prod_tmp, ignore_errors=True)
        cls.srv.close()

    def boot(self, port):
        """A normal boot from 127.0.0.1 to port: (status, decision)."""
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("GET", CONFIG + "?mac=" + INSTALL_MAC)
            r = c.getresponse()
            body = r.read()
            return r.status, decision(body) if body.startswith(
                b"#!ipxe") else None
        finally:
            c.close()

    def test_slowloris(self):
        token = self.srv.token("install.example.org")
        ports = {"test.conf": self.srv.http_port, "bootd.conf":
                 self.prod_port}
        slow = []       # [config, kind, socket, bytes left, outcome]
        n = 0
        for conf, port in ports.items():
            for i in range(SLOW):
                n += 1
                src = "127.0.3.%d" % n
                s = socket.create_connection(("127.0.0.1", port), timeout=30,
                                             source_address=(src, 0))
                head = ("GET %s?mac=%s HTTP/1.1\r\nHost: x\r\n"
                        % (CONFIG, INSTALL_MAC)).encode()
                s.sendall(head)
                # Never ends its headers: a header line, a byte at a time.
                slow.append([conf, "header", s, b"X-Slow: " +
                             b"a" * TRICKLE_MAX, None])
                n += 1
                src = "127.0.3.%d" % n
                s = socket.create_connection(("127.0.0.1", port), timeout=30,
                                             source_address=(src, 0))
                body = ("token=%s" % ("0" * 32)).encode()
                s.sendall(("POST /ipxe/v1/done HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/x-www-form-urlencoded"
                           "\r\nContent-Length: %d\r\nConnection: close"
                           "\r\n\r\n" % len(body)).encode())
                # A whole body, a byte at a time: 38 bytes, 19 s.
                slow.append([conf, "body", s, body, None])
        served = {conf: [] for conf in ports}
        for _ in range(TRICKLE_MAX + 1):
            live = [c for c in slow if c[4] is None]
            if not live:
                break
            for c in live:
                if c[3]:
                    try:
                        c[2].send(c[3][:1])
                        c[3] = c[3][1:]
                    except OSError:
                        c[4] = "closed"
                        continue
                r, _, _ = select.select([c[2]], [], [], 0)
                if r:
                    try:
                        data = c[2].recv(65536)
                    except OSError:
                        data = b""
                    c[4] = data.split(b"\r\n", 1)[0].decode(
                        "latin-1") if data else "closed"
            # Everyone else is answered meanwhile, by both configurations.
            for conf, port in ports.items():
                served[conf].append(self.boot(port))
            time.sleep(TRICKLE_PAUSE)
        for c in slow:
            c[2].close()
        for conf in ports:
            self.assertTrue(served[conf])
            self.assertEqual(set(served[conf]), {(200, "install")},
                             (conf, served[conf]))
        for conf, kind, _, left, outcome in slow:
            if kind == "header":
                # Cut off by nginx: 408, or the connection closed.
                self.assertIsNotNone(outcome, (conf, kind))
                self.assertTrue(outcome == "closed" or " 408 " in outcome,
                                (conf, kind, outcome))
                self.assertTrue(left, "header sent whole: %s" % conf)
            else:
                # The body came whole: bootd's answer to an unknown token.
                self.assertEqual(left, b"", (conf, kind, outcome))
                self.assertIsNotNone(outcome, (conf, kind))
                self.assertIn(" 404 ", outcome, (conf, kind))
        self.assertEqual(self.srv.token("install.example.org"), token)
        self.assertIsNone(self.srv.bootd.poll())
        m = self.srv.metrics()
        self.assertEqual(self.srv.metric(m, "bootd_worker_restarts_total"), 0)


if __name__ == "__main__":
    unittest.main()
