CREATE TABLE IF NOT EXISTS "_collections" (
  "id"      TEXT PRIMARY KEY NOT NULL,
  "name"    TEXT NOT NULL UNIQUE,
  "type"    TEXT NOT NULL,
  "system"  INTEGER NOT NULL DEFAULT 0,
  "data"    TEXT NOT NULL,
  "created" TEXT NOT NULL,
  "updated" TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS "_params" (
  "key"     TEXT PRIMARY KEY NOT NULL,
  "value"   BLOB,
  "updated" TEXT NOT NULL
);
