//! `Query.changes(after:, first:)`: delta sync for offline clients. A page of the change log in commit order,
//! each change seen through the viewer's scope: `UPSERT` with the record as it is now (resolved like `node`, so
//! personal fields are masked as in any query), or `REMOVE` when it left the viewer's view (moved out,
//! deceased, removed, award revoked). Units, members, awards, award proposals and yearly ratings are carried;
//! proposals and ratings are seen by the rules of their queries (see `realtime::changes`). Cursors are change-log ids, which are never reused: a client can resume
//! from its last `endCursor` days later.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use base64::Engine;
use chrono::{DateTime, Utc};

use super::connection::PageInfo;
use super::node::Node;
use super::state;
use crate::error::{AppError, AppResult};
use crate::ids::GlobalId;
use crate::realtime::changes::{self, ChangeRow, Seen};

/// The most changes one page may hold.
pub const MAX_PAGE: i32 = 500;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE: i32 = 100;

const CURSOR_TAG: &str = "change:";

/// The cursor of a change-log position.
pub fn cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{id}"))
}

/// Parses a cursor of [`cursor`]; anything else is `BAD_USER_INPUT` naming `field`.
pub fn parse_cursor(field: &str, raw: &str) -> AppResult<i64> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(CURSOR_TAG).and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                "not a cursor of changes; start again with a full sync and changes(first: 0) for a new cursor",
            )
        })
}

/// What a change means to the client's copy.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeOperation {
    /// Insert or replace the record with `node`.
    Upsert,
    /// Delete the record from the local copy.
    Remove,
}

/// One change of one record, as the viewer sees it.
pub struct Change {
    pub row: ChangeRow,
    pub operation: ChangeOperation,
}

#[Object]
impl Change {
    /// The id of the record that changed.
    async fn node_id(&self) -> ID {
        GlobalId::new(self.row.kind, self.row.target_id).encode().into()
    }
    async fn operation(&self) -> ChangeOperation {
        self.operation
    }
    /// The record as it is now, for `UPSERT`; `null` for `REMOVE` (and if it has since left the viewer's view).
    async fn node(&self, ctx: &Context<'_>) -> AppResult<Option<Node>> {
        if self.operation == ChangeOperation::Remove {
            return Ok(None);
        }
        super::node::fetch(ctx, GlobalId::new(self.row.kind, self.row.target_id)).await
    }
    /// When the change was committed.
    async fn at(&self) -> DateTime<Utc> {
        self.row.at
    }
}

/// An edge of [`ChangeConnection`].
#[derive(SimpleObject)]
pub struct ChangeEdge {
    pub cursor: String,
    pub node: Change,
}

/// A page of the change log.
pub struct ChangeConnection {
    changes: Vec<(String, Change)>,
    page_info: PageInfo,
    after: i64,
}

#[Object]
impl ChangeConnection {
    async fn edges(&self) -> Vec<ChangeEdge> {
        self.changes
            .iter()
            .map(|(cursor, c)| ChangeEdge {
                cursor: cursor.clone(),
                node: Change {
                    row: c.row.clone(),
                    operation: c.operation,
                },
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Change> {
        self.changes
            .iter()
            .map(|(_, c)| Change {
                row: c.row.clone(),
                operation: c.operation,
            })
            .collect()
    }
    /// `endCursor` is never `null`: on an empty page it is the newest position of the log, so a client can
    /// always store it and resume from there.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many changes the viewer may see after `after` (this page and the ones to come).
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        let st = state(ctx);
        Ok(changes::count(&st.db, self.after, changes::visible(&st.viewer, &st.scope)).await?)
    }
}

#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// The changes after `after` that the viewer may see, oldest first. `first` is 0 to 500 (default 100);
    /// `changes(first: 0)` returns no changes and the current end of the log as `pageInfo.endCursor`: take it
    /// before a full sync, then ask for the changes after it.
    #[graphql(complexity = "(first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize) * child_complexity + 2")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        first: Option<i32>,
    ) -> AppResult<ChangeConnection> {
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input("first", format!("0 to {MAX_PAGE}")));
        }
        let after = after
            .as_deref()
            .map(|a| parse_cursor("after", a))
            .transpose()?
            .unwrap_or(0);
        let st = state(ctx);
        // Number what has committed since the last reader did, so a page reaches the last commit (the client's
        // own write included), and totalCount below counts from the same numbering.
        changes::sequence(&st.db).await?;
        // The log's end, read before the page: every position up to it is committed, so the page (read after)
        // holds every visible change up to it, and an empty page may end there. Read after the page, it could
        // include changes committed in between, which the client would then skip.
        let head = changes::head(&st.db).await?;
        let rows = if first == 0 {
            Vec::new()
        } else {
            changes::read(&st.db, after, first as u64 + 1, changes::visible(&st.viewer, &st.scope)).await?
        };
        let has_next_page = rows.len() > first as usize;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.into_iter().take(first as usize) {
            let operation = match row.seen_by(&st.viewer, &st.scope) {
                Seen::Upsert => ChangeOperation::Upsert,
                // The SQL condition already dropped rows the viewer never saw; a hidden one is a removal.
                Seen::Remove | Seen::Hidden => ChangeOperation::Remove,
            };
            out.push((cursor(row.seq), Change { row, operation }));
        }
        let end = match out.last() {
            Some((c, _)) => c.clone(),
            None if has_next_page => cursor(after),
            None => cursor(head.max(after)),
        };
        Ok(ChangeConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after > 0,
                start_cursor: out.first().map(|(c, _)| c.clone()),
                end_cursor: Some(end),
            },
            changes: out,
            after,
        })
    }
}
