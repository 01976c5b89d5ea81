//! The HTTP server: `POST /graphql` (JSON, or multipart for uploads; see [`graphql_http`]), GraphiQL on
//! `GET /graphql`, `/healthz`, `/readyz`, `/metrics`. Authentication happens here, once per request, before the
//! GraphQL layer sees it; everything below gets a [`Viewer`].

pub mod client;
pub mod graphiql;
pub mod graphql_http;
pub mod layers;
pub mod persisted;
pub mod refusal;
#[cfg(feature = "test-hooks")]
mod test_hooks;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

use crate::Services;
use crate::auth::Viewer;
use crate::auth::policy::ReadScope;
use crate::auth::token::TokenService;
use crate::config::Config;
use crate::db::{self, Metrics};
use crate::error::AppError;
use crate::graphql;

/// The HTTP server's state, cloned into every handler (axum clones the state for each request): one reference
/// count to bump, not one per part ([`Shared`] holds them; the clone of the parts was 1.4 % of a member-by-id
/// request's profile).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares: the process-wide [`Services`] the GraphQL layer also sees, and what only the HTTP
/// layer uses (the schema it executes, the token service and the address throttle it attaches to each request,
/// the persisted-query cache in front of the database).
pub struct Shared {
    /// The schema and what runs around it (limits, document cache, ordering).
    pub engine: graphql::Engine,
    pub db: DatabaseConnection,
    pub services: Services,
    pub tokens: Arc<TokenService>,
    /// Persisted queries (APQ): the database store's bound and the in-process cache in front of it.
    pub persisted: Arc<persisted::PersistedQueries>,
    /// Failed logins per client address (`LOGIN_ADDRESS_*`), this instance's own count.
    pub login_throttle: Arc<crate::auth::throttle::AddressThrottle>,
}

/// Connects, migrates, and builds the application state.
pub async fn prepare(config: Config) -> Result<AppState, Box<dyn std::error::Error + Send + Sync>> {
    // A bad trusted-documents manifest stops start-up before anything connects.
    let persisted = Arc::new(persisted::PersistedQueries::load(&config.http)?);
    // Schema changes and the first load happen on a connection of their own, closed before serving starts.
    let maintenance = db::connect_maintenance(&config.database).await?;
    migrate_up(&maintenance).await?;
    if config.database.is_embedded() && !crate::store::demo::is_seeded(&maintenance).await? {
        let started = Instant::now();
        let summary = crate::store::demo::seed(&maintenance).await?;
        tracing::info!(
            ?summary,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded the demo data set"
        );
        crate::auth::accounts::create_demo_accounts(&maintenance)
            .await
            .map_err(|e| format!("creating the demo accounts failed: {}", e.message()))?;
        tracing::info!("created the demo accounts, one per role (usernames and passwords are in the README)");
    }
    maintenance.close().await?;
    let metrics = Arc::new(Metrics::new()?);
    let db = db::connect(&config.database, &config.db, &metrics).await?;
    let tokens = Arc::new(TokenService::new(&config));
    let realtime = crate::realtime::Hub::start(
        db.clone(),
        &config.database.url(),
        config.realtime.change_poll,
        metrics.change_feed_reads.clone(),
        metrics.change_feed_statements.clone(),
    )
    .await?;
    let pair_frequencies = watch_pair_frequencies(&db).await;
    Ok(AppState(Arc::new(Shared {
        persisted,
        login_throttle: Arc::new(crate::auth::throttle::AddressThrottle::new(
            config.http.login_address_limit,
        )),
        engine: graphql::Engine::new(&config.limits, db.clone(), metrics.clone()),
        services: Services {
            config: Arc::new(config),
            reader: crate::store::reader::Reader::new(&db, metrics.clone()),
            metrics,
            realtime,
            pair_frequencies,
        },
        db,
        tokens,
    })))
}

/// The search's pair frequencies, read before the server answers (so no request's statements meet the read)
/// and again every ten minutes (statistics change slowly: autovacuum analyses the members table as it grows).
/// A failed read keeps the last one and is logged.
async fn watch_pair_frequencies(db: &DatabaseConnection) -> Arc<crate::store::members::PairFrequencies> {
    let frequencies = Arc::new(crate::store::members::PairFrequencies::default());
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        if let Err(err) = frequencies.refresh(db).await {
            tracing::warn!(error = %err, "could not read the search's pair statistics");
        }
        let (db, watched) = (db.clone(), Arc::downgrade(&frequencies));
        tokio::spawn(async move {
            let period = std::time::Duration::from_secs(600);
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                every.tick().await;
                // The server is gone once nothing holds the frequencies.
                let Some(frequencies) = watched.upgrade() else { break };
                if let Err(err) = frequencies.refresh(&db).await {
                    tracing::warn!(error = %err, "could not read the search's pair statistics");
                }
            }
        });
    }
    frequencies
}

/// Applies pending migrations. On PostgreSQL an advisory lock keeps several instances starting at once from
/// racing each other.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    crate::store::schema::lock_migrations(db).await?;
    let mut result = Migrator::up(db, None).await;
    if let Err(err) = &result {
        // Every migration runs in one transaction with its version row (see the migration crate), so a failure
        // leaves the schema exactly at the last migration that finished; say which, with the cause.
        let at = Migrator::get_applied_migrations(db)
            .await
            .ok()
            .and_then(|applied| applied.last().map(|m| m.name().to_owned()))
            .unwrap_or_else(|| "no migration (an empty schema)".into());
        result = Err(sea_orm::DbErr::Migration(format!(
            "a migration failed and was rolled back; the schema stays at {at}: {err}"
        )));
    }
    crate::store::schema::unlock_migrations(db).await?;
    result
}

/// The routes, under the layers (outermost last): request id, metrics, CORS, compression, panic catcher,
/// header cap, time limit.
pub fn router(state: AppState) -> Router {
    let router = Router::new();
    #[cfg(feature = "test-hooks")]
    let router = router.merge(test_hooks::routes());
    router
        .route(
            "/graphql",
            get(graphql_http::graphql_get).post(graphql_http::graphql_post),
        )
        .route("/graphiql/{file}", get(graphiql::asset_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::officials::routes())
        .layer(middleware::from_fn_with_state(state.clone(), layers::time_limit))
        .layer(middleware::from_fn_with_state(state.clone(), layers::limit_headers))
        .layer(CatchPanicLayer::custom(layers::panic_response))
        .layer(layers::compression())
        .layer(layers::cors(&state.services.config))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(middleware::from_fn_with_state(state.clone(), client::resolve))
        .layer(middleware::from_fn(layers::request_id))
        .with_state(state)
}

/// A server bound to an address, running in the background (tests use port 0).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub handle: tokio::task::JoinHandle<()>,
}

pub async fn spawn(state: AppState, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running { addr, state, handle })
}

/// Serves until SIGINT or SIGTERM; then stops accepting connections, lets the requests in flight finish for
/// up to `SHUTDOWN_GRACE_SECONDS`, and returns (the process exits 0). Requests still running when the grace is
/// over are cut off, and the log says so.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let addr = state.services.config.bind_addr;
    let grace = Duration::from_secs(state.services.config.http.shutdown_grace_seconds);
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "serving GraphQL on /graphql (GraphiQL on GET)");
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let stopping = stopping.clone();
        async move {
            shutdown_signal().await;
            stopping.notify_one();
        }
    };
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    tokio::select! {
        result = server => {
            tracing::info!("every request in flight finished; stopped");
            result
        }
        _ = async {
            stopping.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                "requests still in flight at the end of the shutdown grace (SHUTDOWN_GRACE_SECONDS) were cut off"
            );
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: no new connections; finishing the requests in flight");
}

async fn track(AxumState(state): AxumState<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    layers::access_log(
        &route,
        &method,
        response.status(),
        started.elapsed(),
        response.extensions().get::<layers::RequestFacts>(),
    );
    let m = &state.services.metrics;
    m.http_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    response
}

pub(crate) async fn graphiql() -> Response {
    graphiql::page()
}

/// How long `/readyz` waits for the database before answering 503.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// `/readyz`: 200 `ready` when a pooled connection answers `SELECT 1` within [`READY_CHECK_TIMEOUT`], else 503
/// with a plain sentence (the database's own error goes to the log only). `/healthz` never touches the
/// database: the process is alive during an outage and recovers by itself when the database is back.
async fn readyz(AxumState(state): AxumState<AppState>) -> Response {
    let unavailable = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            format!("not ready: {reason}; the server keeps trying and answers again once it is back"),
        )
            .into_response()
    };
    match tokio::time::timeout(READY_CHECK_TIMEOUT, crate::store::schema::ping(&state.db)).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("the database is unreachable")
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = READY_CHECK_TIMEOUT.as_millis() as u64,
                "readiness check timed out"
            );
            unavailable("the database did not answer in time")
        }
    }
}

async fn metrics(AxumState(state): AxumState<AppState>) -> impl IntoResponse {
    state
        .services
        .metrics
        .observe_pool(&state.db, state.services.reader.as_deref());
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}

/// Who is asking: no `Authorization` header is the anonymous public; anything else must be a valid bearer token.
pub(crate) async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<(Viewer, ReadScope), AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok((Viewer::Anonymous, ReadScope::of(&Viewer::Anonymous, None)));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    let principal = crate::auth::accounts::authenticate(&state.db, &state.tokens, token)
        .await?
        .principal;
    let scope = crate::auth::read_scope_of(&state.db, &principal).await?;
    Ok((Viewer::Account(principal), scope))
}
