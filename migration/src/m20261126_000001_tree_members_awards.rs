//! The organisation tree (province → base → chapter), members with their ancestor ids, the member name-token
//! index used by search, and awards with the rules of docs/domain.md §3 as constraints.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE TABLE provinces (
    id {ID},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_search {KEY} NOT NULL,
    sort_key {KEY} NOT NULL,
    created_at {TS} NOT NULL,
    closed_at {TS},
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_provinces_sort ON provinces (sort_key, id);

CREATE TABLE bases (
    id {ID},
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_search {KEY} NOT NULL,
    sort_key {KEY} NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('WARD', 'COMMUNE', 'SPECIAL_ZONE', 'AGENCY', 'ENTERPRISE')),
    created_at {TS} NOT NULL,
    closed_at {TS},
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_bases_province ON bases (province_id, sort_key, id);

CREATE TABLE chapters (
    id {ID},
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    base_id BIGINT NOT NULL REFERENCES bases (id),
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_search {KEY} NOT NULL,
    sort_key {KEY} NOT NULL,
    created_at {TS} NOT NULL,
    closed_at {TS},
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_chapters_base ON chapters (base_id, sort_key, id);
CREATE INDEX ix_chapters_province ON chapters (province_id, sort_key, id);

CREATE TABLE members (
    id {ID},
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    base_id BIGINT NOT NULL REFERENCES bases (id),
    chapter_id BIGINT NOT NULL REFERENCES chapters (id),
    family_name TEXT NOT NULL,
    middle_name TEXT NOT NULL DEFAULT '',
    given_name TEXT NOT NULL,
    search_name {KEY} NOT NULL,
    sort_key {KEY} NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('MALE', 'FEMALE')),
    birth_date {DATE},
    birth_year INTEGER,
    home_town TEXT,
    address TEXT,
    phone TEXT,
    enlisted_on {DATE},
    discharged_on {DATE},
    military_rank TEXT,
    last_unit TEXT,
    member_type TEXT NOT NULL CHECK (member_type IN ('VETERAN', 'EX_SERVICEMAN')),
    joined_on {DATE},
    party_member BOOLEAN NOT NULL DEFAULT FALSE,
    war_invalid TEXT NOT NULL DEFAULT 'NONE' CHECK (war_invalid IN ('NONE', 'WAR_INVALID', 'SICK_SOLDIER')),
    card_number TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'TRANSFERRED_OUT', 'DECEASED', 'REMOVED')),
    created_at {TS} NOT NULL,
    updated_at {TS} NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (birth_date IS NULL OR birth_year IS NOT NULL)
);
CREATE INDEX ix_members_sort ON members (sort_key, id);
CREATE INDEX ix_members_chapter ON members (chapter_id, sort_key, id);
CREATE INDEX ix_members_base ON members (base_id, sort_key, id);
CREATE INDEX ix_members_province ON members (province_id, sort_key, id);
CREATE INDEX ix_members_chapter_stats ON members (chapter_id, status, member_type, sex, party_member);
CREATE INDEX ix_members_base_stats ON members (base_id, status, member_type, sex, party_member);
CREATE INDEX ix_members_province_stats ON members (province_id, status, member_type, sex, party_member);

CREATE TABLE member_tokens (
    token {KEY} NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id),
    PRIMARY KEY (token, member_id)
);
CREATE INDEX ix_member_tokens_member ON member_tokens (member_id);

CREATE TABLE awards (
    id {ID},
    kind TEXT NOT NULL CHECK (kind IN ('EMULATION_FLAG', 'CERTIFICATE_OF_MERIT', 'CERTIFICATE_OF_COMMENDATION')),
    granting_level TEXT NOT NULL CHECK (granting_level IN ('CENTRAL', 'PROVINCE', 'BASE')),
    granting_body TEXT NOT NULL,
    granting_body_key TEXT NOT NULL,
    recipient_type TEXT NOT NULL CHECK (recipient_type IN ('PROVINCE', 'BASE', 'CHAPTER', 'MEMBER')),
    recipient_id BIGINT NOT NULL,
    recipient_name TEXT NOT NULL,
    province_id BIGINT NOT NULL REFERENCES provinces (id),
    base_id BIGINT REFERENCES bases (id),
    chapter_id BIGINT REFERENCES chapters (id),
    member_id BIGINT REFERENCES members (id),
    year INTEGER NOT NULL CHECK (year BETWEEN 1945 AND 2200),
    movement TEXT NOT NULL,
    movement_key {KEY} NOT NULL,
    decision_number TEXT NOT NULL,
    decision_date {DATE},
    event TEXT,
    citation TEXT,
    created_at {TS} NOT NULL,
    revoked_at {TS},
    revocation_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT ck_awards_flag_to_collective CHECK (kind <> 'EMULATION_FLAG' OR recipient_type <> 'MEMBER'),
    CONSTRAINT ck_awards_level_kind CHECK (
        (granting_level = 'CENTRAL' AND kind IN ('EMULATION_FLAG', 'CERTIFICATE_OF_MERIT'))
        OR (granting_level = 'PROVINCE' AND kind = 'CERTIFICATE_OF_MERIT')
        OR (granting_level = 'BASE' AND kind = 'CERTIFICATE_OF_COMMENDATION')),
    CONSTRAINT ck_awards_recipient CHECK (
        (recipient_type = 'PROVINCE' AND recipient_id = province_id AND base_id IS NULL AND chapter_id IS NULL AND member_id IS NULL)
        OR (recipient_type = 'BASE' AND recipient_id = base_id AND chapter_id IS NULL AND member_id IS NULL)
        OR (recipient_type = 'CHAPTER' AND recipient_id = chapter_id AND base_id IS NOT NULL AND member_id IS NULL)
        OR (recipient_type = 'MEMBER' AND recipient_id = member_id AND base_id IS NOT NULL AND chapter_id IS NOT NULL)),
    CONSTRAINT ck_awards_revocation CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
CREATE UNIQUE INDEX ux_awards_decision ON awards (granting_body_key, year, decision_number) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX ux_awards_achievement ON awards (recipient_type, recipient_id, kind, year, movement_key) WHERE revoked_at IS NULL;
CREATE INDEX ix_awards_year ON awards (year, id);
CREATE INDEX ix_awards_province ON awards (province_id, year, id);
CREATE INDEX ix_awards_base ON awards (base_id, year, id);
CREATE INDEX ix_awards_chapter ON awards (chapter_id, year, id);
CREATE INDEX ix_awards_member ON awards (member_id, year, id)
"#;

const DOWN: &str = r#"
DROP TABLE awards;
DROP TABLE member_tokens;
DROP TABLE members;
DROP TABLE chapters;
DROP TABLE bases;
DROP TABLE provinces
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::ddl(manager, DOWN).await
    }
}
