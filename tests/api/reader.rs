//! Reads on the connections the server keeps between statements (`store::reader`): on PostgreSQL a completed
//! read hands its connection back for the next one, a read cut off midway does not, and closing the pool does
//! not wait on the kept connections. On SQLite there is no reader.

use std::time::Duration;

use hoi_ccb::store::reader::{self, Reader};
use sea_orm::{DbBackend, Statement};

use crate::helpers::TestApp;

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

#[tokio::test]
async fn completed_reads_reuse_one_kept_connection_and_a_read_cut_off_gives_its_connection_up() {
    let app = TestApp::spawn().await;
    let db = app.db().clone();
    let metrics = app.state.services.metrics.clone();
    let Some(reader) = Reader::new(&db, metrics.clone()) else {
        assert!(!app.is_postgres(), "PostgreSQL gets a reader");
        assert!(app.state.services.reader.is_none(), "SQLite has no round trip to save");
        return;
    };
    let before = metrics.db_statements.get();

    let pids = reader::scope(Some(reader.clone()), async {
        let mut pids = Vec::new();
        for _ in 0..5 {
            let row = reader::query_one(&db, sql("SELECT pg_backend_pid()"))
                .await
                .expect("a read")
                .expect("a row");
            pids.push(row.try_get_by_index::<i32>(0).expect("a pid"));
        }
        pids
    })
    .await;
    // Each read took the connection the one before handed back: one server process answered all five.
    assert!(pids.windows(2).all(|w| w[0] == w[1]), "{pids:?}");
    assert_eq!(reader.idle(), 1);
    assert_eq!(metrics.db_statements.get() - before, 5, "the reads are counted");

    // A read dropped before its answer: its connection may still have a result coming, so it goes to the pool
    // (which flushes it), not back to the reader; the next read gets a clean connection and its own answer.
    let cut = reader::scope(
        Some(reader.clone()),
        tokio::time::timeout(
            Duration::from_millis(200),
            reader::query_all(&db, sql("SELECT pg_sleep(2)")),
        ),
    )
    .await;
    assert!(cut.is_err(), "the sleep was cut off");
    assert_eq!(reader.idle(), 0);
    let answer = reader::scope(Some(reader.clone()), reader::query_one(&db, sql("SELECT 41 + 1")))
        .await
        .expect("a read")
        .expect("a row");
    assert_eq!(answer.try_get_by_index::<i32>(0).expect("a number"), 42);
    assert_eq!(reader.idle(), 1);

    // Closing the pool waits for every connection checked out of it; the kept one goes back by itself.
    tokio::time::timeout(Duration::from_secs(10), db.close())
        .await
        .expect("the pool closes with a connection kept by the reader")
        .expect("closed");
    assert_eq!(reader.idle(), 0);
}
