//! Relay connections: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`, generated for each node type
//! from one macro so every list behaves the same.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    Context, ContextSelectionSet, Lookahead, Name, OutputType, Positioned, ServerResult, SimpleObject, Value,
};

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

    /// The fields whose value comes from the node's own record alone: no arguments, no context (no scope
    /// check), no error, a scalar or enumeration. [`Nodes`] builds those straight from [`Prefetch::leaf`].
    const LEAVES: &'static [&'static str] = &[];

    /// The value of field `name`, one of [`Prefetch::LEAVES`], exactly as its resolver answers it on the node
    /// built from `row`: read from the row itself, so the nodes of a page are not built for it.
    fn leaf(_row: &Self::Row, _name: &str) -> Option<Value> {
        None
    }

    /// The node of `row` with the fields of `set`, built straight from the row and from the records the
    /// request's cache already holds (what [`Prefetch::prefetch`] loaded), when every selected field can be
    /// (see [`super::direct`]); `None` resolves the page field by field.
    fn direct(_cache: &super::batch::Batcher, _row: &Self::Row, _set: &SelectionSet) -> Option<Value> {
        None
    }
}

/// A page's `nodes`, a list of `T` in the schema. When the query selects on each node nothing but fields of
/// [`Prefetch::LEAVES`] (and `__typename`), without arguments, directives or fragments, the list's values are
/// built directly: async-graphql would otherwise resolve every field of every node as a future of its own and
/// merge the results (on the tree page, 1,450 members of five fields each, the largest cost left in a
/// profile). Else [`Prefetch::direct`] may build them from the request's cache (award nodes with their
/// recipients); any other selection resolves the usual way, on nodes built from the page's rows only then.
pub struct Nodes<T: Prefetch>(pub std::sync::Arc<[T::Row]>);

impl<T> OutputType for Nodes<T>
where
    T: OutputType + Prefetch + From<T::Row>,
    T::Row: Clone + Send + Sync,
{
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(keys) = leaf_selection::<T>(&ctx.item.node)
            && let Some(list) = {
                let typename = Value::String(T::type_name().into_owned());
                self.0
                    .iter()
                    .map(|row| leaf_object::<T>(row, &keys, &typename))
                    .collect::<Option<Vec<_>>>()
            }
        {
            return Ok(Value::List(list));
        }
        let cache = &ctx.data_unchecked::<super::State>().loader;
        if let Some(list) = self
            .0
            .iter()
            .map(|row| T::direct(cache, row, &ctx.item.node))
            .collect::<Option<Vec<_>>>()
        {
            return Ok(Value::List(list));
        }
        let nodes: Vec<T> = self.0.iter().cloned().map(T::from).collect();
        resolve_list(ctx, field, &nodes, Some(nodes.len())).await
    }
}

/// The response keys and field names of `set`, if it selects only leaves of `T` (see [`Nodes`]).
fn leaf_selection<T: OutputType + Prefetch>(set: &SelectionSet) -> Option<Vec<(&Name, &str)>> {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let name = field.name.node.as_str();
                (field.arguments.is_empty()
                    && field.directives.is_empty()
                    && field.selection_set.node.items.is_empty()
                    && (name == "__typename" || T::LEAVES.contains(&name)))
                .then(|| (&field.response_key().node, name))
            }
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => None,
        })
        .collect()
}

/// One node's response object for `keys`, in their order (`typename`: `T`'s name, for `__typename`).
fn leaf_object<T: Prefetch>(row: &T::Row, keys: &[(&Name, &str)], typename: &Value) -> Option<Value> {
    let mut object = IndexMap::with_capacity(keys.len());
    for (key, name) in keys {
        let value = match *name {
            "__typename" => typename.clone(),
            name => T::leaf(row, name)?,
        };
        object.insert((*key).clone(), value);
    }
    Some(Value::Object(object))
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
            async fn nodes(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> Result<crate::graphql::connection::Nodes<$node>, crate::error::AppError> {
                <$node as crate::graphql::connection::Prefetch>::prefetch(ctx, &self.0.rows, &ctx.look_ahead()).await?;
                Ok(crate::graphql::connection::Nodes(self.0.rows.clone()))
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
