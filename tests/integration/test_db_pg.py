"""
test_db (tests/test_db.c, the SQL drivers) on PostgreSQL: a throw-away
primary and hot standby from tests/pg.py, and test_db run against them
with BOOTD_TEST_PG (the primary), BOOTD_TEST_PG_STANDBY, BOOTD_TEST_PG_BOTH
(standby then primary, for target_session_attrs) and BOOTD_TEST_PG_RESTART
(restarts the primary, for reconnecting), so that every case of test_db
runs on SQLite and on PostgreSQL; then test_db's failover case alone, with
BOOTD_TEST_PG_FAILOVER (stops the primary and promotes the standby).  Skipped (77) where PostgreSQL 15 is missing
or the build has no PostgreSQL driver.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import pg  # noqa: E402


def main():
    test_db = os.path.join(harness.BINARY_DIR, "tests", "test_db")
    if not os.access(test_db, os.X_OK):
        print("skipped: test_db is not built")
        return 77
    if not harness.with_postgresql():
        print("skipped: built without BOOTD_WITH_POSTGRESQL")
        return 77
    pg.skip_unless_available()
    with pg.Cluster() as c:
        sb = c.add_standby()
        env = dict(harness.run_env(),
                   BOOTD_TEST_PG=c.uri(),
                   BOOTD_TEST_PG_STANDBY=c.uri(sb),
                   BOOTD_TEST_PG_BOTH=c.uri(sb, c.primary),
                   BOOTD_TEST_PG_RESTART=c.primary.restart_command(),
                   CK_DEFAULT_TIMEOUT="120")
        # Every case but the failover, then the failover alone: it
        # stops the primary and promotes the standby.
        for tags in ({"CK_EXCLUDE_TAGS": "failover"},
                     {"CK_INCLUDE_TAGS": "failover",
                      "BOOTD_TEST_PG_FAILOVER": "%s && %s" % (
                          c.primary.command("-m", "fast", "stop"),
                          sb.command("promote"))}):
            r = subprocess.run([test_db], env=dict(env, **tags),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            print(r.stdout)
            if r.returncode != 0:
                for s in c.servers:
                    print("--- %s log (tail)\n%s" % (s.name,
                                                     s.log_text()[-3000:]))
                return 1
            if "Checks: " not in r.stdout or "unset" in r.stdout or \
                    "not set" in r.stdout:
                print("test_db did not run every PostgreSQL case")
                return 1
            if harness.SANITIZER_RE.search(r.stdout):
                print("sanitizer report in test_db's output")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
