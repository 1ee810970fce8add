-- 002-token-fetch.sql - where each install script was fetched from
--
-- The client address (nginx's $remote_addr, as bootd stores it: IPv4
-- dotted quad or lowercase IPv6 text) that last fetched the install
-- script carrying a token, and when that address was first seen.  Written
-- by bootd after the answer has left (inv_token_fetched), only when the
-- address changes; read by `done` (inv_install_done), which logs, counts
-- and audits a report from another address and, when
-- daemon.done_requires_fetch_address is set, refuses it.
--
-- Another branch adds a migration 002 too; the numbers are put in order
-- when the branches are merged, so nothing may depend on this one's.

ALTER TABLE token ADD COLUMN fetched_from TEXT
	CHECK (fetched_from IS NULL OR
	    (length(fetched_from) BETWEEN 2 AND 45
	    AND fetched_from NOT GLOB '*[^0-9a-f.:]*'
	    AND fetched_from GLOB '*[.:]*'));
ALTER TABLE token ADD COLUMN fetched_at INTEGER
	CHECK ((fetched_at IS NULL) = (fetched_from IS NULL));
