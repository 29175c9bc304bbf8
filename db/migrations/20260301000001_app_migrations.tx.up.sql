-- The app's migrations that have been applied (package migrate): JSON
-- files of the migrations folder and Go migrations registered by the app,
-- by name, in the order they were applied ("seq"). The system migrations
-- of this folder are recorded by bun/migrate in "_migrations".
CREATE TABLE IF NOT EXISTS "_appMigrations" (
  "seq"     INTEGER PRIMARY KEY AUTOINCREMENT,
  "name"    TEXT NOT NULL UNIQUE,
  "applied" TEXT NOT NULL
);
