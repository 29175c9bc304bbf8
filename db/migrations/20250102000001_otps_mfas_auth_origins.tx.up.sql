-- One-time passwords (userRequestOtp / userAuthWithOtp). "hash" is an HMAC
-- of the code, never the code; "recordRef" is "" for a code requested for
-- an unknown email (it never signs anyone in). "attempts" counts the codes
-- tried against it.
CREATE TABLE IF NOT EXISTS "_otps" (
  "id"            TEXT PRIMARY KEY NOT NULL,
  "collectionRef" TEXT NOT NULL,
  "recordRef"     TEXT NOT NULL,
  "hash"          TEXT NOT NULL,
  "sentTo"        TEXT NOT NULL,
  "attempts"      INTEGER NOT NULL DEFAULT 0,
  "created"       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS "_otps_created" ON "_otps" ("created");
CREATE INDEX IF NOT EXISTS "_otps_record" ON "_otps" ("collectionRef", "recordRef");

-- Multi-factor sign-ins in progress: the first method that succeeded.
CREATE TABLE IF NOT EXISTS "_mfas" (
  "id"            TEXT PRIMARY KEY NOT NULL,
  "collectionRef" TEXT NOT NULL,
  "recordRef"     TEXT NOT NULL,
  "method"        TEXT NOT NULL,
  "created"       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS "_mfas_created" ON "_mfas" ("created");
CREATE INDEX IF NOT EXISTS "_mfas_record" ON "_mfas" ("collectionRef", "recordRef");

-- The devices a record has signed in from (a hash of user agent and IP),
-- for the new-device alert.
CREATE TABLE IF NOT EXISTS "_authOrigins" (
  "collectionRef" TEXT NOT NULL,
  "recordRef"     TEXT NOT NULL,
  "fingerprint"   TEXT NOT NULL,
  "created"       TEXT NOT NULL,
  PRIMARY KEY ("collectionRef", "recordRef", "fingerprint")
);
