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

-- Member search as our server does it on PostgreSQL, through the same index: `members.search_prefixes` (every
-- prefix of every word of the folded name, a generated column of our migrations) under GIN, so "every word of
-- q starts a word of the name" is `search_prefixes @> <the words>`. q is already folded (lower case, no
-- diacritics); anything but letters and digits separates words. Active members only. The order is ours:
-- when more than 1,000 members match, the search is too broad to rank and comes in registration order (id);
-- otherwise best match first (every word a whole word of the name), then roster order (sort_key, id).
-- PostGraphile exposes it as `searchMembers(q:)`.
CREATE OR REPLACE FUNCTION bench_search_words(q text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT string_to_array(btrim(regexp_replace(lower(q), '[^[:alnum:]]+', ' ', 'g')), ' ')
$$;
CREATE OR REPLACE FUNCTION search_members(q text) RETURNS SETOF members LANGUAGE sql STABLE AS $$
  SELECT m.* FROM members m
  WHERE m.status = 'ACTIVE' AND m.search_prefixes @> bench_search_words(q)
  ORDER BY
    CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM members b
                 WHERE b.status = 'ACTIVE' AND b.search_prefixes @> bench_search_words(q) LIMIT 1001) AS c) > 1000
         THEN m.id END,
    NOT ((' ' || m.search_name || ' ') LIKE ALL (SELECT '% ' || w || ' %' FROM unnest(bench_search_words(q)) AS w)),
    m.sort_key, m.id
$$;
GRANT EXECUTE ON FUNCTION search_members(text), bench_search_words(text) TO hoi_bench_peer, pgl_viewer;

ANALYZE;
