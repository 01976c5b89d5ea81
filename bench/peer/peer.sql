-- The PostGraphile peer of the benchmark, on hoi-ccb's own database: the same tables, rows and indexes as our
-- server. Applied by bench/run.sh after `hoi-ccb seed-demo`; idempotent. Our server connects as the database
-- owner (a superuser in the benchmark), which row-level security does not restrict.

-- The peer logs in as its own role, so that pg_stat_statements counts each server's statements apart (by
-- userid) while both servers are up on the same database. It may read and write every table like our server,
-- and is not subject to row-level security itself (BYPASSRLS), like the owner.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hoi_bench_peer') THEN
    CREATE ROLE hoi_bench_peer LOGIN BYPASSRLS;
  END IF;
  -- The role a base official's requests run as on the peer (header x-base-id: see graphile.config.mjs).
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgl_viewer') THEN CREATE ROLE pgl_viewer NOLOGIN; END IF;
END $$;
GRANT USAGE ON SCHEMA public TO hoi_bench_peer, pgl_viewer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hoi_bench_peer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO hoi_bench_peer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO pgl_viewer;
GRANT pgl_viewer TO hoi_bench_peer;

-- A base official sees the members of their base only: the scope our server applies as a predicate on
-- members.base_id, applied here by a row-level-security policy.
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS pgl_base_scope ON members;
CREATE POLICY pgl_base_scope ON members FOR SELECT TO pgl_viewer
  USING (base_id = current_setting('app.base_id', true)::bigint);

-- The full-text index our server's member search uses. The migration that creates it may not be in the binary
-- under test yet; IF NOT EXISTS makes this a no-op once it is.
CREATE INDEX IF NOT EXISTS ix_members_search ON members USING gin (to_tsvector('simple', search_name));

-- Member search as our server does it: every word of q (already folded: lower case, no diacritics; anything but
-- letters and digits separates words) must start a word of the member's folded name; active members only; in
-- our order for a search, best match first: members whose name holds every word as a whole word, then the
-- others, each group in roster order (sort_key, then id). PostGraphile exposes it as `searchMembers(q:)`.
CREATE OR REPLACE FUNCTION search_members(q text) RETURNS SETOF members LANGUAGE sql STABLE AS $$
  SELECT m.* FROM members m
  WHERE m.status = 'ACTIVE'
    AND to_tsvector('simple', m.search_name) @@ to_tsquery('simple', array_to_string(array(
          SELECT w || ':*' FROM regexp_split_to_table(lower(q), '[^[:alnum:]]+') AS w WHERE w <> ''), ' & '))
  ORDER BY NOT coalesce((SELECT bool_and((' ' || m.search_name || ' ') LIKE '% ' || w || ' %')
                         FROM regexp_split_to_table(lower(q), '[^[:alnum:]]+') AS w WHERE w <> ''), true),
           m.sort_key, m.id
$$;
GRANT EXECUTE ON FUNCTION search_members(text) TO hoi_bench_peer, pgl_viewer;

ANALYZE;
