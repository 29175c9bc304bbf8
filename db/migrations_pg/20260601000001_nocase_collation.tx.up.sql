-- PostgreSQL only (SQLite has NOCASE built in): the collation "nocase" of
-- the schema, so that the index definitions of collections written for
-- SQLite ("title" COLLATE NOCASE) mean the same here: equal ignoring case
-- (ICU, case-insensitive at strength 2: Unicode case folding where SQLite
-- folds ASCII only). A server without ICU gets no such collation and such
-- an index is refused with "collation nocase does not exist".
DO $$
BEGIN
  CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'no ICU: collation nocase not created';
END
$$;
