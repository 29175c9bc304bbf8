-- PostgreSQL only: the versions several nodes watch (package cluster).
-- Triggers on _collections and _params set "schema" and "settings" to the
-- writing transaction's id; every node polls them. Node coordination, not
-- data: export-data and backups leave this table out.
CREATE TABLE IF NOT EXISTS "_cluster" (
  "key"   TEXT PRIMARY KEY NOT NULL,
  "value" TEXT NOT NULL
);
