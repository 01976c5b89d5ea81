//! The API's tests: one binary, each test against the real server on port 0 with a fresh database. The
//! database is SQLite unless `TEST_DATABASE_URL` names a PostgreSQL server, in which case each test gets a
//! fresh PostgreSQL database there.

mod helpers;

mod auth;
mod cli;
mod edge;
mod errors;
mod fixture;
mod hostile;
mod import_guards;
mod national;
mod officials;
mod ops;
mod pagination;
mod persisted;
mod proposal_sync;
mod proposals;
mod reader;
mod realtime;
mod search_and_order;
mod search_ranking;
mod sessions;
mod transport;
mod tree_reads;
mod writes;
