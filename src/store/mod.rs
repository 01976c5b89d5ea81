//! Data access: every SQL statement the server runs lives under this module (the access policy's conditions
//! are built in [`crate::auth::policy`] and handed in). Reads take the viewer's row scope as a SQL condition, so
//! pages, counts, searches and batched loads all see the same subtree; writes take the caller's transaction.
//! Tables with an entity (`entity/`) are named through it; the tables without one (sessions, the login
//! throttle, persisted queries, the change log) are named once, at the top of their module.

pub mod awards;
pub mod changes;
pub mod decode;
pub mod demo;
pub mod history;
pub mod members;
pub mod officials;
pub mod page;
pub mod persisted;
pub mod reader;
pub mod reviews;
pub mod schema;
pub mod sessions;
pub mod sql;
pub mod stats;
pub mod throttle;
pub mod transfers;
pub mod tree;
pub mod write;
pub mod year_end;

use sea_orm::DatabaseConnection;

use crate::error::AppResult;
use crate::ids::KeyValue;
use crate::sql::{Filter, Sql};
use page::{Order, Row};

/// `t.<column>, …` for every column of `E`, under alias `alias`.
pub fn columns_of<E: sea_orm::EntityTrait>(alias: &str) -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| format!("{alias}.{}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a read of `table` under alias `t` selects: the entity's columns by name for `members`, whose row on
/// PostgreSQL also holds the search index's generated `search_prefixes` (migration 000009), which no read
/// needs to carry back; `t.*` for tables that hold exactly their entity's columns.
pub fn select_list(table: &str) -> &'static str {
    static MEMBERS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| columns_of::<entity::member::Entity>("t"));
    if table == self::table::<entity::member::Entity>() {
        MEMBERS.as_str()
    } else {
        "t.*"
    }
}

/// The table of entity `E`, as its entity names it.
pub fn table<E: sea_orm::EntityTrait>() -> &'static str {
    E::default().table_name()
}

/// Loads rows of `E`'s table by primary key, restricted by `filter` (the scope); missing ids are simply absent.
pub async fn by_ids<E>(db: &DatabaseConnection, ids: &[i64], mut filter: Filter) -> AppResult<Vec<E::Model>>
where
    E: sea_orm::EntityTrait,
    E::Model: Row,
{
    let table = table::<E>();
    let mut id_in = Sql::new("t.id IN ");
    id_in.bind_list(ids);
    filter.and(id_in);
    let mut sql = Sql::new(&format!("SELECT {} FROM {table} t", select_list(table)));
    filter.render_where(&mut sql);
    page::decode_models(db, sql).await
}

macro_rules! impl_row {
    ($model:ty { $($col:literal => $field:ident : $kind:ident),* $(,)? } $(by $position:path)?) => {
        impl Row for $model {
            $(
            fn decode(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
                $position(row, "")
            }
            )?
            fn key(&self, order: &Order) -> Vec<KeyValue> {
                order
                    .columns
                    .iter()
                    .map(|(column, _)| match *column {
                        $($col => impl_row!(@value $kind self.$field),)*
                        // Orders are constants of this crate; an unknown column is a programming error that the
                        // pagination tests catch, so the id stands in rather than panicking in a request.
                        _ => KeyValue::Int(self.id),
                    })
                    .collect()
            }
        }
    };
    (@value text $e:expr) => { KeyValue::Text($e.clone()) };
    (@value int $e:expr) => { KeyValue::Int(i64::from($e)) };
}

impl_row!(entity::province::Model { "id" => id: int, "sort_key" => sort_key: text, "code" => code: text } by decode::decode);
impl_row!(entity::base::Model { "id" => id: int, "sort_key" => sort_key: text, "code" => code: text } by decode::decode);
impl_row!(entity::chapter::Model { "id" => id: int, "sort_key" => sort_key: text, "code" => code: text } by decode::decode);
impl_row!(entity::member::Model { "id" => id: int, "sort_key" => sort_key: text } by members::model);
impl_row!(entity::award::Model { "id" => id: int, "year" => year: int } by decode::decode);
impl_row!(entity::audit_event::Model { "id" => id: int });
impl_row!(entity::transfer::Model { "id" => id: int });
