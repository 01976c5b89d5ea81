//! Member search by an index over the folded name (`members.search_name`), in place of the `member_tokens`
//! table.
//!
//! The token table answered a word-prefix search with one semi-join per word. At national scale (34 provinces,
//! about two million members) a three-word search walked the roster index and probed the token table for every
//! row, seconds per request. The index below answers "every word is the prefix of a word of the name" from its
//! posting lists, and the database keeps it itself, so no writer has to remember it:
//! - PostgreSQL: `search_prefixes`, a generated column with every prefix of every word of the folded name
//!   ("tran thi hoa" → t, tr, tra, tran, t, th, thi, h, ho, hoa), under a GIN index. A search for
//!   `tran thi hoa` is `search_prefixes @> '{tran,thi,hoa}'`: three exact entries whose posting lists the index
//!   intersects. (Full-text prefix queries, `tran:* & thi:* & hoa:*`, expand every prefix into all the words it
//!   starts; measured on 1.9 million members that took 0.4 s, against 27 ms for the exact entries.) The stored
//!   array also makes checking one row cheap when a broad search walks the roster index instead.
//! - SQLite: an FTS5 table over `members.search_name` (external content, no second copy of the text), kept by
//!   triggers; a search is `"tran"* AND "thi"* AND "hoa"*`, with prefix indexes for one to three letters.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE FUNCTION member_name_prefixes(folded TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ \
     SELECT COALESCE(array_agg(DISTINCT left(w, n)), '{}') \
     FROM unnest(string_to_array(folded, ' ')) AS w, generate_series(1, length(w)) AS n WHERE w <> '' $$",
    "ALTER TABLE members ADD COLUMN search_prefixes TEXT[] \
     GENERATED ALWAYS AS (member_name_prefixes(search_name)) STORED",
    "CREATE INDEX ix_members_search ON members USING gin (search_prefixes)",
    "DROP TABLE member_tokens",
];

const SQLITE_UP: &[&str] = &[
    // `detail=none`: the index keeps which names hold a word, not where; enough for AND of prefixes, and the
    // smallest index. `prefix`: extra indexes for one- to three-letter prefixes, the expensive ones to expand.
    "CREATE VIRTUAL TABLE member_search USING fts5(search_name, content='members', content_rowid='id', \
     detail=none, prefix='1 2 3')",
    "CREATE TRIGGER tr_members_search_insert AFTER INSERT ON members BEGIN \
     INSERT INTO member_search (rowid, search_name) VALUES (new.id, new.search_name); END",
    "CREATE TRIGGER tr_members_search_delete AFTER DELETE ON members BEGIN \
     INSERT INTO member_search (member_search, rowid, search_name) VALUES ('delete', old.id, old.search_name); END",
    "CREATE TRIGGER tr_members_search_update AFTER UPDATE OF search_name ON members BEGIN \
     INSERT INTO member_search (member_search, rowid, search_name) VALUES ('delete', old.id, old.search_name); \
     INSERT INTO member_search (rowid, search_name) VALUES (new.id, new.search_name); END",
    "INSERT INTO member_search (member_search) VALUES ('rebuild')",
    "DROP TABLE member_tokens",
];

/// The token table as it was, refilled from the folded names (each distinct word of a name once).
const TOKENS_TABLE: &[&str] = &[
    "CREATE TABLE member_tokens (token {KEY} NOT NULL, member_id BIGINT NOT NULL REFERENCES members (id), \
     PRIMARY KEY (token, member_id))",
    "CREATE INDEX ix_member_tokens_member ON member_tokens (member_id)",
];

const POSTGRES_REFILL: &str = "INSERT INTO member_tokens (token, member_id) \
     SELECT DISTINCT w, m.id FROM members m, regexp_split_to_table(m.search_name, ' ') AS w WHERE w <> ''";

const SQLITE_REFILL: &str = "INSERT INTO member_tokens (token, member_id) \
     WITH RECURSIVE words(member_id, word, rest) AS ( \
       SELECT id, '', search_name || ' ' FROM members \
       UNION ALL \
       SELECT member_id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1) \
       FROM words WHERE rest <> '') \
     SELECT DISTINCT word, member_id FROM words WHERE word <> ''";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let script = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        for statement in script {
            conn.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in TOKENS_TABLE {
            crate::ddl(manager, statement).await?;
        }
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(POSTGRES_REFILL).await?;
                conn.execute_unprepared("DROP INDEX ix_members_search").await?;
                conn.execute_unprepared("ALTER TABLE members DROP COLUMN search_prefixes")
                    .await?;
                conn.execute_unprepared("DROP FUNCTION member_name_prefixes(TEXT)")
                    .await?;
            }
            _ => {
                conn.execute_unprepared(SQLITE_REFILL).await?;
                for trigger in ["insert", "delete", "update"] {
                    conn.execute_unprepared(&format!("DROP TRIGGER tr_members_search_{trigger}"))
                        .await?;
                }
                conn.execute_unprepared("DROP TABLE member_search").await?;
            }
        }
        Ok(())
    }
}
