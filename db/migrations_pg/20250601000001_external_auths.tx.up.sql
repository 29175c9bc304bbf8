-- PostgreSQL's copy of ../migrations/20250601000001_external_auths.tx.up.sql
-- OAuth2 links: which provider account signs in to which auth record.
-- A collection's links go with its _collections row; a record's are deleted
-- with the record (db.Tx.Delete).
CREATE TABLE IF NOT EXISTS "_externalAuths" (
  "id"            TEXT PRIMARY KEY NOT NULL,
  "collectionRef" TEXT NOT NULL REFERENCES "_collections" ("id") ON DELETE CASCADE,
  "recordRef"     TEXT NOT NULL,
  "provider"      TEXT NOT NULL,
  "providerId"    TEXT NOT NULL,
  "created"       TEXT NOT NULL,
  "updated"       TEXT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS "_externalAuths_provider_account"
  ON "_externalAuths" ("collectionRef", "provider", "providerId");

CREATE UNIQUE INDEX IF NOT EXISTS "_externalAuths_record_provider"
  ON "_externalAuths" ("collectionRef", "recordRef", "provider");
