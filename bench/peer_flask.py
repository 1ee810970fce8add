"""peer_flask - the boot-script server a site would write with Flask:
bench/run's flask row, the other peer bootd is measured against.

Run by gunicorn with sync workers.  Per request: take mac= in any spelling,
bring it to aa:bb:cc:dd:ee:ff, run the lookup bench/run gives (:mac, :now ->
fqdn, action, token) on one read-only SQLite connection per worker, and
fill one of bootd's three scripts, so the bytes are bootd's.  Records
nothing.  $BENCH_PEER_CONFIG names a JSON file with the database path, the
SQL and the templates.
"""
import json
import os
import re
import sqlite3
import time

from flask import Flask, Response, request

with open(os.environ["BENCH_PEER_CONFIG"]) as f:
    CONF = json.load(f)

app = Flask(__name__)
_db = None
_SEP = re.compile(r"[:.\-]")
_HEX = re.compile(r"[0-9a-f]{12}")


def db():
    global _db
    if _db is None:
        _db = sqlite3.connect("file:%s?mode=ro" % CONF["db"], uri=True)
    return _db


@app.route("/ipxe/v1/config")
def config():
    hexmac = _SEP.sub("", request.args.get("mac", "")).lower()
    if not _HEX.fullmatch(hexmac):
        return Response("bad mac\n", 400, mimetype="text/plain")
    mac = ":".join(hexmac[i:i + 2] for i in range(0, 12, 2))
    row = db().execute(CONF["sql"], {"mac": mac,
                                     "now": int(time.time())}).fetchone()
    if row is None:
        t, row = CONF["unknown"], ("", "unknown", "")
    elif row[1] == "install" and row[2] is not None:
        t = CONF["install"]
    else:
        t = CONF["local"]
    body = (t.replace("@FQDN@", row[0]).replace("@MAC@", mac)
            .replace("@TOKEN@", row[2] or ""))
    return Response(body, 200, mimetype="text/plain",
                    headers={"Cache-Control": "no-store"})
