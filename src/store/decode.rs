//! Units and awards decoded by position on PostgreSQL, as members are (`members::pg_member_by_position`).
//!
//! sea-orm's derived decoding reads every column by name: it formats `prefix + column`, looks the name up, and
//! for each `NULL` of an optional column first builds an error with a formatted message that it then drops. On
//! the awards-of-a-year page (50 awards, their member recipients with chapter and base) that was a fifth of the
//! request's CPU in a `perf` profile (`BENCHMARKS.md`). Here a model's columns are found once per row, by the
//! names of the first and the last (so `t.*`, a prefixed join and a page's extra columns all work), and read in
//! the entity's column order straight from sqlx's row. Anything else (SQLite, a row whose columns are not laid
//! out that way) decodes by name as before; debug builds (the test suite) check every model decoded by position
//! against the by-name decoding.

use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{Column, Decode, Postgres, Row, Type};
use sea_orm::{ActiveEnum, DbErr, FromQueryResult, QueryResult};

/// A model whose columns can be read by position: `COLUMNS` of them, from `id` to `LAST`, in entity order.
pub trait ByPosition: sea_orm::ModelTrait + FromQueryResult + PartialEq + std::fmt::Debug {
    const COLUMNS: usize;
    const LAST: &'static str;
    /// The model from the columns of `row` starting at `at`.
    fn pg_at(row: &PgRow, at: usize) -> Result<Self, DbErr>;
}

/// The model of `row` whose columns are named `prefix` + column: by position on PostgreSQL when they are laid
/// out in entity order, otherwise by name.
pub fn decode<M: ByPosition>(row: &QueryResult, prefix: &str) -> Result<M, DbErr> {
    if let Some(pg) = row.try_as_pg_row()
        && let Some(at) = columns_at::<M>(pg, prefix)
    {
        let model = M::pg_at(pg, at)?;
        #[cfg(debug_assertions)]
        {
            use sea_orm::Iterable;
            assert_eq!(
                <<M as sea_orm::ModelTrait>::Entity as sea_orm::EntityTrait>::Column::iter().count(),
                M::COLUMNS
            );
            assert_eq!(
                model,
                M::from_query_result(row, prefix)?,
                "decoded by position and by name"
            );
        }
        return Ok(model);
    }
    M::from_query_result(row, prefix)
}

/// Where the columns of `M` named with `prefix` start in `row`: the first `id`, with `LAST` where it should be.
fn columns_at<M: ByPosition>(row: &PgRow, prefix: &str) -> Option<usize> {
    let columns = row.columns();
    let named = |index: usize, name: &str| {
        columns.get(index).and_then(|column| column.name().strip_prefix(prefix)) == Some(name)
    };
    let at = (0..columns.len()).find(|&index| named(index, "id"))?;
    named(at + M::COLUMNS - 1, M::LAST).then_some(at)
}

/// One column, as sqlx decodes the field's type.
pub(crate) fn get<'r, T: Decode<'r, Postgres> + Type<Postgres>>(row: &'r PgRow, index: usize) -> Result<T, DbErr> {
    row.try_get(index)
        .map_err(|e| DbErr::Type(format!("column {index}: {e}")))
}

/// An enumeration, read as its stored text (as sea-orm reads it). The text is borrowed from the row and copied
/// into a buffer kept by the thread, since sea-orm's conversion takes a `&String`: a tree page has four
/// enumerations in each of its 1,595 member rows, each otherwise a `String` allocated and freed.
pub(crate) fn choice<E: ActiveEnum<Value = String>>(row: &PgRow, index: usize) -> Result<E, DbErr> {
    thread_local! {
        static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let text: &str = get(row, index)?;
    TEXT.with_borrow_mut(|buffer| {
        buffer.clear();
        buffer.push_str(text);
        E::try_from_value(buffer)
    })
}

/// Implements [`ByPosition`] for an entity's model from its fields in column order, each read with `get` or (an
/// enumeration) `choice`.
macro_rules! by_position {
    ($module:ident, $last:literal, [$($field:ident: $read:ident),* $(,)?]) => {
        impl ByPosition for entity::$module::Model {
            const COLUMNS: usize = [$(stringify!($field)),*].len();
            const LAST: &'static str = $last;
            fn pg_at(row: &PgRow, at: usize) -> Result<Self, DbErr> {
                let mut next = at;
                let mut index = || {
                    next += 1;
                    next - 1
                };
                Ok(Self { $($field: $read(row, index())?),* })
            }
        }
    };
}

by_position!(province, "version", [
    id: get, code: get, name: get, name_search: get, sort_key: get, created_at: get, closed_at: get, version: get,
]);
by_position!(base, "version", [
    id: get, province_id: get, code: get, name: get, name_search: get, sort_key: get, kind: choice,
    created_at: get, closed_at: get, version: get,
]);
by_position!(chapter, "version", [
    id: get, province_id: get, base_id: get, code: get, name: get, name_search: get, sort_key: get,
    created_at: get, closed_at: get, version: get,
]);
by_position!(award, "version", [
    id: get, kind: choice, granting_level: choice, granting_body: get, granting_body_key: get,
    recipient_type: choice, recipient_id: get, recipient_name: get, province_id: get, base_id: get,
    chapter_id: get, member_id: get, year: get, movement: get, movement_key: get, decision_number: get,
    decision_date: get, event: get, citation: get, created_at: get, revoked_at: get, revocation_reason: get,
    version: get,
]);
