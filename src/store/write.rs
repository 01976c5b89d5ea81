//! Row writers shared by the demo loader's callers, the tests' fixtures and the mutations: they derive the
//! stored search and sort columns from the names, so no writer can forget them.

use chrono::{NaiveDate, Utc};
use entity::base::BaseKind;
use entity::member::{MemberStatus, MemberType, Sex, WarInvalid};
use entity::{base, chapter, member, province};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, Set};

use crate::text;

pub async fn insert_province<C: ConnectionTrait>(db: &C, code: &str, name: &str) -> Result<province::Model, DbErr> {
    let name = text::clean(name);
    province::ActiveModel {
        id: NotSet,
        code: Set(code.to_owned()),
        name_search: Set(text::fold(&name)),
        sort_key: Set(text::sort_key(&[&name])),
        name: Set(name),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await
}

pub async fn insert_base<C: ConnectionTrait>(
    db: &C,
    province_id: i64,
    code: &str,
    name: &str,
    kind: BaseKind,
) -> Result<base::Model, DbErr> {
    let name = text::clean(name);
    base::ActiveModel {
        id: NotSet,
        province_id: Set(province_id),
        code: Set(code.to_owned()),
        name_search: Set(text::fold(&name)),
        sort_key: Set(text::sort_key(&[&name])),
        name: Set(name),
        kind: Set(kind),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await
}

pub async fn insert_chapter<C: ConnectionTrait>(
    db: &C,
    base: &base::Model,
    code: &str,
    name: &str,
) -> Result<chapter::Model, DbErr> {
    let name = text::clean(name);
    chapter::ActiveModel {
        id: NotSet,
        province_id: Set(base.province_id),
        base_id: Set(base.id),
        code: Set(code.to_owned()),
        name_search: Set(text::fold(&name)),
        sort_key: Set(text::sort_key(&[&name])),
        name: Set(name),
        created_at: Set(Utc::now()),
        closed_at: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await
}

/// A member's roster data, already parsed and validated.
#[derive(Clone, Debug)]
pub struct MemberData {
    pub family_name: String,
    pub middle_name: String,
    pub given_name: String,
    pub sex: Sex,
    pub birth_date: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub home_town: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub enlisted_on: Option<NaiveDate>,
    pub discharged_on: Option<NaiveDate>,
    pub military_rank: Option<String>,
    pub last_unit: Option<String>,
    pub member_type: MemberType,
    pub joined_on: Option<NaiveDate>,
    pub party_member: bool,
    pub war_invalid: WarInvalid,
    pub card_number: Option<String>,
}

impl MemberData {
    /// A minimal record: names, sex and type; everything else empty.
    pub fn named(family: &str, middle: &str, given: &str, sex: Sex, member_type: MemberType) -> Self {
        Self {
            family_name: text::clean(family),
            middle_name: text::clean(middle),
            given_name: text::clean(given),
            sex,
            birth_date: None,
            birth_year: None,
            home_town: None,
            address: None,
            phone: None,
            enlisted_on: None,
            discharged_on: None,
            military_rank: None,
            last_unit: None,
            member_type,
            joined_on: None,
            party_member: false,
            war_invalid: WarInvalid::None,
            card_number: None,
        }
    }

    fn full_name(&self) -> String {
        text::full_name(&self.family_name, &self.middle_name, &self.given_name)
    }
}

/// Inserts a member into a chapter, with its search tokens.
pub async fn insert_member<C: ConnectionTrait>(
    db: &C,
    chapter: &chapter::Model,
    data: MemberData,
) -> Result<member::Model, DbErr> {
    let now = Utc::now();
    let full = data.full_name();
    let model = member::ActiveModel {
        id: NotSet,
        province_id: Set(chapter.province_id),
        base_id: Set(chapter.base_id),
        chapter_id: Set(chapter.id),
        search_name: Set(text::fold(&full)),
        sort_key: Set(text::person_sort_key(
            &data.family_name,
            &data.middle_name,
            &data.given_name,
        )),
        family_name: Set(data.family_name),
        middle_name: Set(data.middle_name),
        given_name: Set(data.given_name),
        sex: Set(data.sex),
        birth_year: Set(data.birth_date.map(|d| chrono::Datelike::year(&d)).or(data.birth_year)),
        birth_date: Set(data.birth_date),
        home_town: Set(data.home_town),
        address: Set(data.address),
        phone: Set(data.phone),
        enlisted_on: Set(data.enlisted_on),
        discharged_on: Set(data.discharged_on),
        military_rank: Set(data.military_rank),
        last_unit: Set(data.last_unit),
        member_type: Set(data.member_type),
        joined_on: Set(data.joined_on),
        party_member: Set(data.party_member),
        war_invalid: Set(data.war_invalid),
        card_number: Set(data.card_number),
        status: Set(MemberStatus::Active),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(db)
    .await?;
    replace_tokens(db, model.id, &full).await?;
    Ok(model)
}

/// Rewrites a member's search tokens from the full name.
pub async fn replace_tokens<C: ConnectionTrait>(db: &C, member_id: i64, full_name: &str) -> Result<(), DbErr> {
    use crate::sql::Sql;
    let backend = db.get_database_backend();
    let mut delete = Sql::new("DELETE FROM member_tokens WHERE member_id = ");
    delete.bind(member_id);
    db.execute_raw(delete.build(backend)).await?;
    let tokens = text::tokens(full_name);
    if tokens.is_empty() {
        return Ok(());
    }
    let mut insert = Sql::new("INSERT INTO member_tokens (token, member_id) VALUES ");
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            insert.push(", ");
        }
        insert
            .push("(")
            .bind(token.clone())
            .push(", ")
            .bind(member_id)
            .push(")");
    }
    db.execute_raw(insert.build(backend)).await?;
    Ok(())
}

/// Loads a member by id (no scope: for writers that check scope themselves).
pub async fn find_member<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<member::Model>, DbErr> {
    member::Entity::find_by_id(id).one(db).await
}
