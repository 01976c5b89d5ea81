//! Routes that exist only in builds with the `test-hooks` feature (the test suite turns it on; release builds
//! never have it): a handler that panics and one that sleeps, to prove panics are contained and slow requests
//! cut off.

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use serde::Deserialize;

use super::AppState;

#[derive(Deserialize)]
struct Sleep {
    ms: u64,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/__test/panic",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("a test hook panicked on purpose");
                }
                "unreachable"
            }),
        )
        .route(
            "/__test/sleep",
            get(|Query(sleep): Query<Sleep>| async move {
                tokio::time::sleep(Duration::from_millis(sleep.ms)).await;
                "slept"
            }),
        )
}
