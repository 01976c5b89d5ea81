//! Row writers shared by the demo loader's callers, the tests' fixtures and the mutations: they derive the
//! stored search and sort columns from the names, so no writer can forget them.

use chrono::{NaiveDate, Utc};
use entity::base::BaseKind;
use entity::member::{MemberStatus, MemberType, Sex, WarInvalid};
use entity::{base, chapter, member, province};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, NotSet,
    Set, Value,
};

use crate::sql::Sql;

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

    pub fn full_name(&self) -> String {
        text::full_name(&self.family_name, &self.middle_name, &self.given_name)
    }

    /// The roster record a stored member has now.
    pub fn of(m: &member::Model) -> Self {
        Self {
            family_name: m.family_name.clone(),
            middle_name: m.middle_name.clone(),
            given_name: m.given_name.clone(),
            sex: m.sex,
            birth_date: m.birth_date,
            birth_year: m.birth_year,
            home_town: m.home_town.clone(),
            address: m.address.clone(),
            phone: m.phone.clone(),
            enlisted_on: m.enlisted_on,
            discharged_on: m.discharged_on,
            military_rank: m.military_rank.clone(),
            last_unit: m.last_unit.clone(),
            member_type: m.member_type,
            joined_on: m.joined_on,
            party_member: m.party_member,
            war_invalid: m.war_invalid,
            card_number: m.card_number.clone(),
        }
    }

    /// The roster columns of a member row, with the search and sort columns derived from the names; every other
    /// column is left unset for the caller.
    pub fn into_roster(self) -> member::ActiveModel {
        let full = self.full_name();
        member::ActiveModel {
            search_name: Set(text::fold(&full)),
            sort_key: Set(text::person_sort_key(
                &self.family_name,
                &self.middle_name,
                &self.given_name,
            )),
            family_name: Set(self.family_name),
            middle_name: Set(self.middle_name),
            given_name: Set(self.given_name),
            sex: Set(self.sex),
            birth_year: Set(self.birth_date.map(|d| chrono::Datelike::year(&d)).or(self.birth_year)),
            birth_date: Set(self.birth_date),
            home_town: Set(self.home_town),
            address: Set(self.address),
            phone: Set(self.phone),
            enlisted_on: Set(self.enlisted_on),
            discharged_on: Set(self.discharged_on),
            military_rank: Set(self.military_rank),
            last_unit: Set(self.last_unit),
            member_type: Set(self.member_type),
            joined_on: Set(self.joined_on),
            party_member: Set(self.party_member),
            war_invalid: Set(self.war_invalid),
            card_number: Set(self.card_number),
            ..Default::default()
        }
    }
}

/// Inserts a member into a chapter. The search index follows `search_name` by itself (migration 000009).
pub async fn insert_member<C: ConnectionTrait>(
    db: &C,
    chapter: &chapter::Model,
    data: MemberData,
) -> Result<member::Model, DbErr> {
    let now = Utc::now();
    member::ActiveModel {
        id: NotSet,
        province_id: Set(chapter.province_id),
        base_id: Set(chapter.base_id),
        chapter_id: Set(chapter.id),
        status: Set(MemberStatus::Active),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        left_on: Set(None),
        left_reason: Set(None),
        ..data.into_roster()
    }
    .insert(db)
    .await
}

/// Loads a member by id (no scope: for writers that check scope themselves).
pub async fn find_member<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<member::Model>, DbErr> {
    member::Entity::find_by_id(id).one(db).await
}

/// A member's versioned update with its audit event and change-log row, as one statement on PostgreSQL
/// ([`crate::store::changes::write_with_event`]): the set fields of `changes` are written, and the version
/// bumped, only if the row is still at `expected`. Returns the row as written, or `None` when the version had
/// moved on (nothing is written then, the event neither).
pub async fn update_member_with_event<C: ConnectionTrait>(
    db: &C,
    id: i64,
    expected: i32,
    changes: &member::ActiveModel,
    event: Vec<(&'static str, Value)>,
    change: Option<&crate::store::changes::Entry>,
) -> Result<Option<member::Model>, DbErr> {
    use crate::store::changes::{bound, change_cells, write_with_event};
    let mut update = versioned_update(id, expected, changes, false, &[]);
    update.push(&format!(" RETURNING {}", crate::store::select_list(members())));
    let row = write_with_event(db, update, bound(event), change.map(change_cells)).await?;
    row.map(|r| member::Model::from_query_result(&r, "")).transpose()
}

/// A member's contact change written without reading the record first, with its audit event and change-log row,
/// as one statement on PostgreSQL ([`crate::store::changes::write_with_event`]). The set fields of `changes`
/// (text fields) are written, and the version bumped, only if the row is at `expected` and passes `conditions`
/// (over alias `t`: who may write it). What only the row knows is taken from it by the same statement: the
/// event's place and its before and after of the fields (against the row as the statement found it,
/// [`diff_sql`]), the change row's place and whether the member has left. `event` and `change` are
/// the rest of those rows, their place cells to be filled here. Returns the row as written, or `None` when
/// nothing was written (no such member, out of the writer's reach, or at another version: the caller reads the
/// record to say which).
pub async fn update_contact_with_event<C: ConnectionTrait>(
    db: &C,
    id: i64,
    expected: i32,
    changes: &member::ActiveModel,
    conditions: &[Sql],
    event: Vec<(&'static str, Value)>,
    change: &crate::store::changes::Entry,
) -> Result<Option<member::Model>, DbErr> {
    use crate::store::changes::{bound, change_cells, replace, write_with_event};
    let fields: Vec<&'static str> = member::Column::iter()
        .filter(|c| changes.get(*c).is_set())
        .map(|c| c.as_str())
        .collect();
    let (before, after) = diff_sql(&fields, "old", "t");
    let mut update = versioned_update(id, expected, changes, true, conditions);
    update
        .push(&format!(" RETURNING {}, ", crate::store::select_list(members())))
        .append(&before)
        .push(" AS before_json, ")
        .append(&after)
        .push(" AS after_json");
    let written = |column: &str| Sql::new(&format!("written.{column}"));
    let mut event = bound(event);
    for column in ["province_id", "base_id", "chapter_id", "before_json", "after_json"] {
        replace(&mut event, column, written(column));
    }
    let mut change = change_cells(change);
    for column in ["province_id", "base_id", "chapter_id"] {
        replace(&mut change, column, written(column));
        replace(&mut change, &format!("old_{column}"), written(column));
    }
    let active = crate::sql::literal(MemberStatus::Active);
    replace(&mut change, "gone", Sql::new(&format!("written.status <> {active}")));
    let row = write_with_event(db, update, event, Some(change)).await?;
    row.map(|r| member::Model::from_query_result(&r, "")).transpose()
}

/// [`crate::audit::diff`] computed by the database, for a write that does not read the record first: the
/// `before_json` and `after_json` texts of the fields `columns` (text columns, named as the record serializes
/// them) between the row as the statement found it (alias `from`) and as it wrote it (alias `to`), in the same
/// form as `diff` (only the fields that differ, in its key order, [`crate::audit::diff_fields`], `null` for
/// none). PostgreSQL: `to_json` quotes a text as `serde_json` does.
fn diff_sql(columns: &[&str], from: &str, to: &str) -> (Sql, Sql) {
    let fields = crate::audit::diff_fields(columns);
    let side = |alias: &str| {
        if fields.is_empty() {
            return Sql::new("'{}'");
        }
        let cases: Vec<String> = fields
            .iter()
            .map(|c| {
                format!(
                    "CASE WHEN {from}.{c} IS DISTINCT FROM {to}.{c} THEN '\"{c}\":' || \
                     COALESCE(to_json({alias}.{c})::text, 'null') END"
                )
            })
            .collect();
        Sql::new(&format!("'{{' || concat_ws(',', {}) || '}}'", cases.join(", ")))
    };
    (side(from), side(to))
}

/// The members' table, as its entity names it.
fn members() -> &'static str {
    crate::store::table::<member::Entity>()
}

/// `UPDATE members t SET <the set fields of changes>, version = t.version + 1 WHERE t.id = id AND t.version =
/// expected AND <conditions>`, with `FROM members old` (the row as the statement found it, before the write)
/// when `with_old`. A concurrent write moves the version on, so a row written here was not changed between.
fn versioned_update(id: i64, expected: i32, changes: &member::ActiveModel, with_old: bool, conditions: &[Sql]) -> Sql {
    let table = members();
    let mut update = Sql::new(&format!("UPDATE {table} t SET "));
    for column in member::Column::iter() {
        if let ActiveValue::Set(value) = changes.get(column) {
            update.push(&format!("{} = ", column.as_str())).bind(value).push(", ");
        }
    }
    update.push("version = t.version + 1");
    if with_old {
        update.push(&format!(" FROM {table} old"));
    }
    update.push(" WHERE t.id = ").bind(id);
    if with_old {
        update.push(" AND old.id = t.id");
    }
    update.push(" AND t.version = ").bind(expected);
    for condition in conditions {
        update.push(" AND (").append(condition).push(")");
    }
    update
}

/// A base or a chapter, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Base(i64),
    Chapter(i64),
}

/// Active members at or below a unit.
pub async fn active_members<C: ConnectionTrait>(db: &C, unit: Unit) -> Result<u64, DbErr> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let at = match unit {
        Unit::Base(id) => member::Column::BaseId.eq(id),
        Unit::Chapter(id) => member::Column::ChapterId.eq(id),
    };
    member::Entity::find()
        .filter(member::Column::Status.eq(MemberStatus::Active))
        .filter(at)
        .count(db)
        .await
}

/// Closes a base's open chapters at `at`, each a new version.
pub async fn close_open_chapters<C: ConnectionTrait>(
    db: &C,
    base_id: i64,
    at: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ColumnTrait, QueryFilter};
    chapter::Entity::update_many()
        .col_expr(chapter::Column::ClosedAt, Expr::value(at))
        .col_expr(chapter::Column::Version, Expr::col(chapter::Column::Version).add(1))
        .filter(chapter::Column::BaseId.eq(base_id))
        .filter(chapter::Column::ClosedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Points a member's own awards at the member's new chapter, base and province (awards carry their
/// recipient's ancestors so the award roll filters by unit without joins).
pub async fn move_member_awards<C: ConnectionTrait>(db: &C, member_id: i64, to: &chapter::Model) -> Result<(), DbErr> {
    use entity::award::{Column, Entity, RecipientType};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    Entity::update_many()
        .col_expr(Column::ProvinceId, Expr::value(to.province_id))
        .col_expr(Column::BaseId, Expr::value(to.base_id))
        .col_expr(Column::ChapterId, Expr::value(to.id))
        .filter(Column::RecipientType.eq(RecipientType::Member))
        .filter(Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Who receives an award, before it is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    Province(i64),
    Base(i64),
    Chapter(i64),
    Member(i64),
}

impl Recipient {
    /// The recipient an award or a proposal stores as its type and id.
    pub fn stored(kind: entity::award::RecipientType, id: i64) -> Self {
        use entity::award::RecipientType;
        match kind {
            RecipientType::Province => Self::Province(id),
            RecipientType::Base => Self::Base(id),
            RecipientType::Chapter => Self::Chapter(id),
            RecipientType::Member => Self::Member(id),
        }
    }
}

/// A recipient as stored on the award: its type, name as written, and ancestors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRecipient {
    pub kind: entity::award::RecipientType,
    pub id: i64,
    pub name: String,
    pub province_id: i64,
    pub base_id: Option<i64>,
    pub chapter_id: Option<i64>,
    pub member_id: Option<i64>,
}

/// Looks a recipient up (no scope: callers check it); `None` if it does not exist.
pub async fn resolve_recipient<C: ConnectionTrait>(
    db: &C,
    recipient: Recipient,
) -> Result<Option<ResolvedRecipient>, DbErr> {
    use entity::award::RecipientType as T;
    Ok(match recipient {
        Recipient::Province(id) => province::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| ResolvedRecipient {
                kind: T::Province,
                id,
                name: format!("Hội CCB tỉnh {}", p.name),
                province_id: p.id,
                base_id: None,
                chapter_id: None,
                member_id: None,
            }),
        Recipient::Base(id) => base::Entity::find_by_id(id).one(db).await?.map(|b| ResolvedRecipient {
            kind: T::Base,
            id,
            name: format!("Hội CCB {}", b.name),
            province_id: b.province_id,
            base_id: Some(b.id),
            chapter_id: None,
            member_id: None,
        }),
        Recipient::Chapter(id) => chapter::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|c| ResolvedRecipient {
                kind: T::Chapter,
                id,
                name: c.name.clone(),
                province_id: c.province_id,
                base_id: Some(c.base_id),
                chapter_id: Some(c.id),
                member_id: None,
            }),
        Recipient::Member(id) => member::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|m| ResolvedRecipient {
                kind: T::Member,
                id,
                name: text::full_name(&m.family_name, &m.middle_name, &m.given_name),
                province_id: m.province_id,
                base_id: Some(m.base_id),
                chapter_id: Some(m.chapter_id),
                member_id: Some(m.id),
            }),
    })
}

/// The body that grants: the central committee, a provincial committee or a base's committee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantingBody {
    pub level: entity::award::GrantingLevel,
    pub name: String,
    /// Decision numbers are unique per body and year: `CENTRAL`, `PROVINCE:<id>`, `BASE:<id>`.
    pub key: String,
}

impl GrantingBody {
    pub fn central() -> Self {
        Self {
            level: entity::award::GrantingLevel::Central,
            name: crate::store::demo::CENTRAL_BODY.to_owned(),
            key: "CENTRAL".into(),
        }
    }

    pub fn province(p: &province::Model) -> Self {
        Self {
            level: entity::award::GrantingLevel::Province,
            name: format!("Ban Chấp hành Hội CCB tỉnh {}", p.name),
            key: format!("PROVINCE:{}", p.id),
        }
    }

    pub fn base(b: &base::Model) -> Self {
        Self {
            level: entity::award::GrantingLevel::Base,
            name: format!("Ban Chấp hành Hội CCB {}", b.name),
            key: format!("BASE:{}", b.id),
        }
    }
}

/// An award's own data, already parsed and validated.
#[derive(Clone, Debug)]
pub struct AwardData {
    pub kind: entity::award::AwardKind,
    pub year: i32,
    pub movement: String,
    pub decision_number: String,
    pub decision_date: Option<NaiveDate>,
    pub event: Option<String>,
    pub citation: Option<String>,
}

pub async fn insert_award<C: ConnectionTrait>(
    db: &C,
    body: &GrantingBody,
    recipient: &ResolvedRecipient,
    data: AwardData,
) -> Result<entity::award::Model, DbErr> {
    entity::award::ActiveModel {
        id: NotSet,
        kind: Set(data.kind),
        granting_level: Set(body.level),
        granting_body: Set(body.name.clone()),
        granting_body_key: Set(body.key.clone()),
        recipient_type: Set(recipient.kind),
        recipient_id: Set(recipient.id),
        recipient_name: Set(recipient.name.clone()),
        province_id: Set(recipient.province_id),
        base_id: Set(recipient.base_id),
        chapter_id: Set(recipient.chapter_id),
        member_id: Set(recipient.member_id),
        year: Set(data.year),
        movement_key: Set(text::fold(&data.movement)),
        movement: Set(data.movement),
        decision_number: Set(data.decision_number),
        decision_date: Set(data.decision_date),
        event: Set(data.event),
        citation: Set(data.citation),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        revocation_reason: Set(None),
        version: Set(1),
    }
    .insert(db)
    .await
}
