//! Officials' files: the roster template's columns ([`columns`]), member and award exports and the year-end
//! report over HTTP ([`exports`]), the roster import ([`import`]), and the year-end statistics computed in SQL ([`statistics`]).

pub mod columns;
pub mod exports;
pub mod import;
pub mod statistics;

pub use exports::routes;
