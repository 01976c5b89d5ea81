//! A second search index on PostgreSQL, over pairs of words of a member's folded name, for searches of several
//! words.
//!
//! The word-prefix index (migration 000009) answers `tran thi hoa` by intersecting the posting lists of `tran`,
//! `thi` and `hoa`. Each of those is common on its own (at national scale, 1.9 million members: 213,000,
//! 187,000 and 140,000 names), so the intersection decodes about half a million entries to find 1,088 names:
//! 20 ms of one core per search, whatever the page size. Pairs are far rarer than words: the entry `tra|hoa`
//! ("a word starting with `tra` and a word starting with `hoa`") lists a few thousand names.
//!
//! `member_name_pairs(folded)` holds, for every word `h` of three letters or more and every word `w` of the
//! name (`h` itself included), the first three letters of `h`, a bar, and each prefix of `w` from two letters
//! on: "tran thi hoa" gives `tra|th`, `tra|thi`, `tra|ho`, `tra|hoa`, `thi|tr`, … , `hoa|hoa`. A search word of
//! three letters or more names its pair by its own first three letters, so every pair a search asks for is in
//! the name's pairs whenever the name matches the search's words: the pairs only narrow the search, and the
//! word-prefix condition still decides it (`src/store/members.rs`, `narrowed_search_condition`).
//!
//! The pairs are an expression index, not a stored column: as a column they would grow the members table by
//! three quarters (852 MB to 1.5 GB at national scale, measured). The function costs about 45 µs a row, so a
//! plan must read it from the index, not evaluate it on rows it walks: searches ask only for pairs below 5 % of
//! the names, and for pairs above 1 % only two or more together (`PairFrequencies`, from this index's
//! statistics, and `narrowed_search_condition`), which the planner reads from the index.
//! (Declaring the function expensive instead made every such plan cost enough to be compiled by JIT: 1 s.)
//! SQLite's FTS5 index answers the same searches from its own prefix indexes and gets nothing here.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE FUNCTION member_name_pairs(folded TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(array_agg(DISTINCT left(h, 3) || '|' || left(w, n)), '{}')
  FROM unnest(string_to_array(folded, ' ')) AS h, unnest(string_to_array(folded, ' ')) AS w,
       generate_series(2, length(w)) AS n
  WHERE length(h) >= 3 $$;
CREATE INDEX ix_members_search_pairs ON members USING gin (member_name_pairs(search_name))
"#;

const DOWN: &str = r#"
DROP INDEX ix_members_search_pairs;
DROP FUNCTION member_name_pairs(TEXT)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl_on_postgres(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl_on_postgres(manager, DOWN).await
    }
}
