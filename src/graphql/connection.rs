//! Relay connections: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`, generated for each node type
//! from one macro so every list behaves the same.

use async_graphql::{Context, Lookahead, SimpleObject};

use crate::error::AppResult;

/// Loads, in one batch per type, the records a page's nodes link to and the query selects, before the nodes'
/// fields resolve. The fields then find them in the request's loader cache. Without this, each node would queue
/// its own key and the batch would hold whatever arrived within the loader's time window: under load that split
/// one level into several statements (bench/README.md).
// Only implemented and called on concrete types in this crate, where the futures' `Send` is checked at the call.
#[allow(async_fn_in_trait)]
pub trait Prefetch {
    type Row;

    /// `selection` is what the query selects on each node.
    async fn prefetch(_ctx: &Context<'_>, _rows: &[Self::Row], _selection: &Lookahead<'_>) -> AppResult<()> {
        Ok(())
    }
}

/// Where a page sits in its list.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Declares `$conn` and `$edge` over pages of `$model`, exposing nodes as `$node` (built with `$node::from`).
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $model:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        pub struct $conn(pub crate::store::page::Page<$model>);

        #[async_graphql::Object]
        impl $conn {
            async fn edges(&self, ctx: &async_graphql::Context<'_>) -> Result<Vec<$edge>, crate::error::AppError> {
                let selection = ctx.look_ahead().field("node");
                <$node as crate::graphql::connection::Prefetch>::prefetch(ctx, &self.0.rows, &selection).await?;
                Ok(self
                    .0
                    .rows
                    .iter()
                    .map(|row| $edge {
                        cursor: self.0.cursor_of(row),
                        node: row.clone(),
                    })
                    .collect())
            }

            /// The nodes of the page, without cursors.
            async fn nodes(&self, ctx: &async_graphql::Context<'_>) -> Result<Vec<$node>, crate::error::AppError> {
                <$node as crate::graphql::connection::Prefetch>::prefetch(ctx, &self.0.rows, &ctx.look_ahead()).await?;
                Ok(self.0.rows.iter().cloned().map($node::from).collect())
            }

            async fn page_info(&self) -> crate::graphql::connection::PageInfo {
                let first = self.0.rows.first().map(|r| self.0.cursor_of(r));
                let last = self.0.rows.last().map(|r| self.0.cursor_of(r));
                crate::graphql::connection::PageInfo {
                    has_next_page: self.0.has_next,
                    has_previous_page: self.0.has_previous,
                    start_cursor: first,
                    end_cursor: last,
                }
            }

            /// How many items the whole list holds (within the viewer's scope), not just this page. Exact, except
            /// for a member search matching more than 1,000 members: counting stops there, the answer is
            /// 1,000 and `totalCountIsExact` is false ("at least 1,000").
            async fn total_count(&self, ctx: &async_graphql::Context<'_>) -> Result<i64, crate::error::AppError> {
                Ok(self.0.count(&crate::graphql::state(ctx).db).await?.value)
            }

            /// False when `totalCount` is a lower bound because counting stopped at its limit.
            async fn total_count_is_exact(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> Result<bool, crate::error::AppError> {
                Ok(self.0.count(&crate::graphql::state(ctx).db).await?.exact)
            }
        }

        #[doc = concat!("An edge to one of ", $what, ".")]
        pub struct $edge {
            cursor: String,
            node: $model,
        }

        #[async_graphql::Object]
        impl $edge {
            /// Pass as `after` (or `before`) to continue from this item.
            async fn cursor(&self) -> &str {
                &self.cursor
            }

            async fn node(&self) -> $node {
                $node::from(self.node.clone())
            }
        }
    };
}

pub(crate) use connection;
