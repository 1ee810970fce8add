"""
nginx configuration: the production site nginx/bootd.conf passes `nginx -t`,
keeps the settings iPXE needs, negotiates the forward-secret suite each
iPXE generation has before static RSA, and has the same locations and
limits as the
loopback template nginx/test.conf.in; the rendered template serves /images/
with the right types over HTTP and TLS 1.2, refuses other methods and keeps
/ipxe/v1/metrics from other addresses.  Needs nginx only, not bootd.
"""

import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import harness  # noqa: E402
from ipxe_model import Machine  # noqa: E402

PROD = os.path.join(harness.SOURCE_DIR, "nginx", "bootd.conf")
DHPARAM = os.path.join(harness.SOURCE_DIR, "nginx", "ffdhe2048.pem")
TEMPLATE = os.path.join(harness.SOURCE_DIR, "nginx", "test.conf.in")


def uncomment(line):
    """line without its "#" comment (a "#" inside double quotes is text)."""
    quoted = False
    for i, c in enumerate(line):
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif c == "#" and not quoted:
            return line[:i].strip()
    return line.strip()


def directives(text):
    """Set of 'name args' lines inside location blocks, paths blanked."""
    out = set()
    depth_loc = 0
    for line in text.splitlines():
        line = uncomment(line)
        if not line:
            continue
        if line.startswith("location"):
            depth_loc += 1
            out.add(line)
            continue
        if depth_loc:
            if line.endswith("{"):
                depth_loc += 1
            elif line == "}":
                depth_loc -= 1
            line = re.sub(r"unix:\S+;", "unix:SOCKET;", line)
            line = re.sub(r"^alias \S+;", "alias IMAGES;", line)
            line = re.sub(r"^include \S*(fastcgi_params|@FASTCGI_PARAMS@);",
                          "include fastcgi_params;", line)
            out.add(line)
    return out


def server_directives(text):
    """Lines of the server block outside locations, paths blanked."""
    out = set()
    depth = 0
    for line in text[text.index("server {") + 8:].splitlines():
        line = uncomment(line)
        if not line:
            continue
        if line.endswith("{"):
            depth += 1
        elif line == "}":
            depth -= 1
            if depth < 0:
                break
        elif depth == 0 and not re.match(
                r"(listen|server_name|ssl_certificate(_key)?|ssl_dhparam|"
                r"access_log|error_log)\b",
                line):
            out.add(line)
    return out


def limit_zones(text):
    """The request-limit lines of the http context (geo, map, zones)."""
    out = []
    keep = False
    for line in text.splitlines():
        line = uncomment(line)
        if line == "@UNLIMITED@":	# the tests' own exemptions, if any
            continue
        if re.match(r"(geo|map) \$bootd_", line):
            keep = True
        if keep or re.match(r"limit_(req|conn)_zone ", line):
            out.append(re.sub(r"\s+", " ", line))
        if line == "}":
            keep = False
    return out


class ProductionConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bootd-nginx-")
        with open(PROD) as f:
            self.prod = f.read()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_site(self, daemon=False):
        """
        The production site with loopback ports and temporary paths,
        wrapped in a minimal main context.  Returns (main conf, HTTPS port).
        """
        self.certs = harness.make_certs(self.tmp)
        https_port = harness.free_port()
        site = (self.prod
                .replace("/etc/ssl/bootd/fullchain.pem", self.certs["chain"])
                .replace("/etc/ssl/bootd/privkey.pem", self.certs["key"])
                .replace("/etc/nginx/ffdhe2048.pem", DHPARAM)
                .replace("/var/log/nginx/", self.tmp + "/"))
        site = site.replace("listen 443 ssl", "listen 127.0.0.1:%d ssl"
                            % https_port)
        site = site.replace("listen 80", "listen 127.0.0.1:%d"
                            % harness.free_port())
        for port in ("80", "443"):
            site = site.replace("listen [::]:%s" % port, "listen [::1]:%d"
                                % harness.free_port())
        with open(os.path.join(self.tmp, "bootd.conf"), "w") as f:
            f.write(site)
        shutil.copy("/etc/nginx/fastcgi_params", self.tmp)
        main = os.path.join(self.tmp, "nginx.conf")
        with open(main, "w") as f:
            f.write("%spid %s/nginx.pid;\nerror_log stderr;\n"
                    "events {}\nhttp {\n"
                    "  client_body_temp_path %s/body;\n"
                    "  include %s/bootd.conf;\n}\n"
                    % ("daemon off;\n" if daemon else "", self.tmp,
                       self.tmp, self.tmp))
        return main, https_port

    def test_nginx_t_accepts_site(self):
        main, _ = self.write_site()
        r = subprocess.run(["nginx", "-t", "-p", self.tmp + "/", "-c", main,
                            "-e", "stderr"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("syntax is ok", r.stderr)
        self.assertIn("test is successful", r.stderr)

    def test_tls_settings_for_ipxe(self):
        self.assertRegex(self.prod, r"\n\s*ssl_protocols TLSv1\.2 TLSv1\.3;")
        self.assertNotRegex(self.prod, r"TLSv1(\.1)?[ ;]")
        ciphers = re.search(r"ssl_ciphers (\S+);", self.prod).group(1)
        # iPXE's suites (crypto/mishmash/): every one offered is one iPXE
        # has; ECDHE (iPXE 2024 on) first, then DHE (git builds 2022-11 to
        # 2024-01), then static RSA, only AES-CBC-SHA256, for v1.21.1 and
        # older, which have nothing else: never static RSA with GCM, which
        # every iPXE that has it can replace by DHE.
        suites = ciphers.split(":")
        for c in suites:
            self.assertRegex(c, r"^((ECDHE-(RSA|ECDSA)|DHE-RSA)-AES(128|256)-"
                                r"GCM-SHA(256|384)|AES(128|256)-SHA256)$")
        rank = [0 if c.startswith("ECDHE-") else
                1 if c.startswith("DHE-") else 2 for c in suites]
        self.assertEqual(rank, sorted(rank))
        self.assertEqual(set(rank), {0, 1, 2})
        self.assertIn("AES128-SHA256", suites)      # iPXE v1.21.1
        self.assertIn("ssl_dhparam /etc/nginx/ffdhe2048.pem;", self.prod)
        r = subprocess.run(["openssl", "dhparam", "-in", DHPARAM, "-noout",
                            "-text"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("GROUP: ffdhe2048", r.stdout)   # RFC 7919
        self.assertIn("ssl_prefer_server_ciphers on;", self.prod)
        self.assertIn("listen 80;", self.prod)
        self.assertIn("listen 443 ssl;", self.prod)
        self.assertIn("fastcgi_pass unix:/run/bootd/bootd.sock;", self.prod)
        self.assertIn("alias /srv/bootd/images/;", self.prod)

    def test_no_token_in_the_error_log(self):
        # done's errors go nowhere, and the site's error log stays at its
        # default level, error: nginx's info notes on malformed requests
        # carry the request line, query included (test_nginx_limits.py).
        done = self.prod[self.prod.index("location = /ipxe/v1/done {"):]
        done = done[:done.index("\n\t}")]
        self.assertRegex(done, r"\n\t\terror_log /dev/null;")
        self.assertEqual(re.findall(r"\n\s*error_log .*", self.prod),
                         ["\n\terror_log /var/log/nginx/bootd.error.log;",
                          "\n\t\terror_log /dev/null;"])

    def handshake(self, port, ciphers):
        """The suite a TLS 1.2 client offering ciphers gets, or None."""
        import http.client
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=30,
                                        context=ctx)
        try:
            c.request("GET", "/nothing")
            c.getresponse().read()
            return c.sock.cipher()[0]
        except ssl.SSLError:
            return None
        finally:
            c.close()

    def test_forward_secret_suite_for_each_ipxe(self):
        # The production site with its DH parameters, spoken to as each
        # iPXE generation offers (in iPXE's own order of preference).
        main, port = self.write_site(daemon=True)
        p = subprocess.Popen(["nginx", "-p", self.tmp + "/", "-c", main,
                              "-e", "stderr"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            harness.eventually(lambda: harness.port_busy(port) or
                               p.poll() is not None)
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll()
                              is not None else "")
            # iPXE 2024 on: ECDHE, and AES-GCM.
            self.assertEqual(self.handshake(
                port, "AES256-SHA256:AES128-SHA256:DHE-RSA-AES128-GCM-SHA256:"
                "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"),
                "ECDHE-RSA-AES128-GCM-SHA256")
            # Git builds 2022-11 to 2024-01: DHE, not static RSA.
            self.assertEqual(self.handshake(
                port, "AES128-GCM-SHA256:AES128-SHA256:"
                "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256"),
                "DHE-RSA-AES128-GCM-SHA256")
            # v1.21.1 and older: static RSA, AES-CBC-SHA256.
            self.assertEqual(self.handshake(
                port, "AES128-SHA:AES256-SHA256:AES128-SHA256"),
                "AES128-SHA256")
            # Static RSA with GCM is no longer offered.
            self.assertIsNone(self.handshake(port, "AES128-GCM-SHA256"))
        finally:
            p.terminate()
            p.wait(30)
            p.stderr.close()

    def test_template_has_same_locations_and_limits(self):
        with open(TEMPLATE) as f:
            tmpl = f.read()
        self.assertEqual(directives(self.prod), directives(tmpl))
        self.assertEqual(server_directives(self.prod),
                         server_directives(tmpl))
        self.assertEqual(limit_zones(self.prod), limit_zones(tmpl))
        self.assertIn('return 200 "#!ipxe\\n', "\n".join(directives(tmpl)))
        self.assertTrue(limit_zones(self.prod))
        self.assertIn("listen 127.0.0.1:@HTTP_PORT@;", tmpl)
        self.assertNotRegex(tmpl, r"\n\s*listen (?!127\.0\.0\.1:)")


class StaticThroughNginx(unittest.TestCase):
    """The rendered template with nginx alone (no bootd)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.BootServer(start=False)
        cls.srv.start_nginx()
        cls.srv.wait_ready("/images/hello.ipxe", want=(200,))

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_images_types(self):
        st, h, body = self.srv.get("/images/hello.ipxe")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/plain")
        self.assertTrue(body.startswith(b"#!ipxe\n"))
        st, h, body = self.srv.get("/images/blob.efi")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "application/octet-stream")
        self.assertEqual(body, bytes(range(256)) * 64)

    def test_images_over_tls12(self):
        info = {}
        st, h, body = self.srv.get("/images/blob.efi", https=True,
                                   tls_max=ssl.TLSVersion.TLSv1_2, info=info)
        self.assertEqual(st, 200)
        self.assertEqual(len(body), 256 * 64)
        self.assertEqual(info["tls_version"], "TLSv1.2")
        self.assertRegex(info["cipher"][0], r"^ECDHE-(RSA|ECDSA)-AES.*GCM")

    def test_tls12_rsa_cbc_as_older_ipxe(self):
        # iPXE v1.21.1 and older offer RSA key exchange with AES-CBC only.
        import http.client
        ctx = self.srv.ssl_context(tls_max=ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers("AES128-SHA256")
        c = http.client.HTTPSConnection("127.0.0.1", self.srv.https_port,
                                        timeout=30, context=ctx)
        try:
            c.request("GET", "/images/hello.ipxe")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(c.sock.cipher()[0], "AES128-SHA256")
            self.assertEqual(c.sock.version(), "TLSv1.2")
        finally:
            c.close()

    def test_tls11_refused(self):
        ctx = self.srv.ssl_context()
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with self.assertRaises((ssl.SSLError, OSError)):
            import http.client
            c = http.client.HTTPSConnection("127.0.0.1", self.srv.https_port,
                                            timeout=10, context=ctx)
            try:
                c.request("GET", "/images/hello.ipxe")
                c.getresponse().read()
            finally:
                c.close()

    def test_chain_served_whole(self):
        # iPXE without CERT= needs the CA in the handshake: leaf + CA.
        r = subprocess.run(
            ["openssl", "s_client", "-connect",
             "127.0.0.1:%d" % self.srv.https_port, "-tls1_2", "-showcerts",
             "-CAfile", self.srv.certs["ca"]],
            input="", capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.count("-----BEGIN CERTIFICATE-----"), 2,
                         r.stdout)
        self.assertIn("Verify return code: 0 (ok)", r.stdout)

    def test_methods_and_unknown_paths(self):
        st, h, _ = self.srv.request("PUT", "/images/hello.ipxe")
        self.assertEqual(st, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        st, h, _ = self.srv.request("DELETE", "/ipxe/v1/config")
        self.assertEqual(st, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        st, h, _ = self.srv.request("DELETE", "/ipxe/v1/done")
        self.assertEqual(st, 405)
        self.assertEqual(h["allow"], "GET, HEAD, POST")
        self.assertEqual(self.srv.request("HEAD", "/images/hello.ipxe")[0],
                         200)
        self.assertEqual(self.srv.get("/etc/passwd")[0], 404)
        for path in ("/images/../bootd.json", "/images/..%2fbootd.json",
                     "/images/%2e%2e/bootd.json"):
            st, _, body = self.srv.get(path)
            self.assertIn(st, (400, 404), path)
            self.assertNotIn(b"database", body)
        self.assertEqual(self.srv.get("/images/nothing.efi")[0], 404)

    def test_metrics_only_from_allowed_addresses(self):
        st, _, _ = self.srv.get("/ipxe/v1/metrics", source="127.0.0.2")
        self.assertEqual(st, 403)
        # From 127.0.0.1 nginx passes it on (bootd is not running: 502).
        st, _, _ = self.srv.get("/ipxe/v1/metrics")
        self.assertEqual(st, 502)

    def test_config_failsafe_when_bootd_is_down(self):
        # bootd is not running: the boot script still boots the local
        # disk, with bootd's own fail-safe script (what bootctl render
        # prints when the inventory cannot be opened) for another reason.
        r = self.srv.bootctl("render", "52:54:00:12:34:56", check=False,
                             db=os.path.join(self.srv.tmp, "none", "x.db"))
        self.assertEqual(r.returncode, 1, r.stderr)
        own = r.stdout.split("\n")
        self.assertTrue(own[1].startswith("echo bootd: "), r.stdout)
        want = "\n".join(own[:1] + ["echo bootd: boot server unavailable"] +
                         own[2:])
        for mac in ("52:54:00:12:34:56", "nonsense"):
            st, h, body = self.srv.get("/ipxe/v1/config?mac=" + mac)
            self.assertEqual(st, 200)
            self.assertEqual(h["content-type"], "text/plain")
            self.assertEqual(h["cache-control"], "no-store")
            self.assertEqual(body.decode(), want)
        # What each does on BIOS and UEFI, and when sanboot fails: the
        # same, and exit (never sanboot) on UEFI.
        for platform in ("pcbios", "efi"):
            for sanboot in (True, False):
                runs = []
                for script in (body.decode(), r.stdout):
                    runs.append(Machine(script, {"sanboot": lambda a: sanboot},
                                        platform=platform).run())
                what = (platform, sanboot, runs[0].trace, runs[1].trace)
                self.assertEqual(runs[0].end, runs[1].end, what)
                self.assertEqual(runs[0].trace[1:], runs[1].trace[1:], what)
                if platform == "efi":
                    self.assertEqual(runs[0].end, "exit", what)
                    self.assertFalse([t for t in runs[0].trace
                                      if t.startswith("sanboot")], what)
        log = self.srv.access_log()
        self.assertRegex(log, r'"GET /ipxe/v1/config" 200 .* us=502 ')
        # Everything else says that bootd is down.
        self.assertEqual(self.srv.get("/ipxe/v1/health")[0], 502)
        self.assertEqual(self.srv.get("/ipxe/v1/done?token=x")[0], 502)
        self.assertEqual(self.srv.post("/ipxe/v1/config?mac=1")[0], 405)

    def test_limits(self):
        st, _, _ = self.srv.post("/ipxe/v1/done?token=x", body=b"a" * 8192)
        self.assertEqual(st, 413)
        st, _, _ = self.srv.get("/ipxe/v1/config?mac=" + "A" * 20000)
        self.assertEqual(st, 414)

    def test_access_log_fields(self):
        self.srv.get("/images/hello.ipxe?mac=52-54-00-12-34-56")
        log = self.srv.access_log()
        line = [l for l in log.splitlines()
                if 'mac="52-54-00-12-34-56"' in l]
        self.assertTrue(line, log)
        self.assertRegex(line[-1], r' rt=\d+\.\d{3} urt=')


if __name__ == "__main__":
    unittest.main()
