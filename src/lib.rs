//! hoi-ccb: the GraphQL API of the Vietnam Veterans' Association membership registry.
//!
//! The module tree: configuration ([`config`]), the one error type ([`error`]), Vietnamese text handling
//! ([`text`]), ids and cursors ([`ids`]), data access ([`store`]), authentication and the access policy
//! ([`auth`]), the GraphQL schema ([`graphql`]), the HTTP server ([`server`]), the database connection and
//! metrics ([`db`]) and the demo data set ([`demo`], in the store).

pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod ids;
pub mod input;
pub mod officials;
pub mod realtime;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod text;

/// The demo data set, a bulk writer of the store; named here too, where the command line and the tests find it.
pub use store::demo;
/// The SQL text builder: it lives in the store with the statements; the policy builds its conditions with it.
pub use store::sql;

/// The process allocator: mimalloc, made for a server's many small, short-lived allocations (a request's rows,
/// strings and JSON), where the system allocator took about 40 % of the CPU of a tree page under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

/// Process-wide services a GraphQL request may need besides the database: built once at start-up and shared by
/// the HTTP layer and the GraphQL layer. It is its own type, not part of [`server::AppState`], because calls go
/// down the layers: the GraphQL layer sees these, never the HTTP server's state. The four holders of state are
/// [`Services`] (the process), [`server::AppState`] (the HTTP server: these plus the schema and what only HTTP
/// uses), [`graphql::State`] (one request: the viewer, its loaders, these) and [`graphql::loaders::Store`] (what
/// the loaders may read with: the database and the read scope, nothing about the viewer).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<config::Config>,
    pub metrics: Arc<db::Metrics>,
    /// Committed changes fanned out to this instance's subscriptions.
    pub realtime: realtime::Hub,
    /// How common the word pairs of names are, for searches (`store::members::search_list`).
    pub pair_frequencies: Arc<store::members::PairFrequencies>,
    /// The connections reads keep between statements on PostgreSQL (`None` on SQLite).
    pub reader: Option<Arc<store::reader::Reader>>,
}
