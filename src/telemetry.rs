//! Operational telemetry of the GraphQL layer: every error a GraphQL response carries is counted by its
//! `extensions.code` in `graphql_errors_total`, so an operator can alert on a rise of `INTERNAL_SERVER_ERROR`
//! or `SERVICE_UNAVAILABLE` without reading logs.

use std::sync::Arc;

use async_graphql::Response;
use async_graphql::extensions::ExtensionContext;

use crate::db::Metrics;

/// One per request (a part of the schema's extension, `graphql::extension`). The request's data (and with it
/// the metrics) is reachable only from parsing on, so the metrics are picked up there and used once the
/// response is complete.
#[derive(Default)]
pub struct ErrorCounter {
    metrics: std::sync::Mutex<Option<Arc<Metrics>>>,
}

impl ErrorCounter {
    /// Counts the errors of the response that `rest` (the whole request) produces.
    pub async fn request(&self, rest: impl Future<Output = Response>) -> Response {
        let response = rest.await;
        let metrics = self.metrics.lock().ok().and_then(|m| m.clone());
        if !response.errors.is_empty()
            && let Some(metrics) = metrics
        {
            for error in &response.errors {
                let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
                    Some(async_graphql::Value::String(code)) => code.as_str(),
                    _ => "BAD_USER_INPUT",
                };
                metrics.graphql_errors.with_label_values(&[code]).inc();
            }
        }
        response
    }

    /// Picks up the metrics from the request's data, when parsing starts.
    pub fn capture(&self, ctx: &ExtensionContext<'_>) {
        if let Some(state) = ctx.data_opt::<crate::graphql::State>()
            && let Ok(mut slot) = self.metrics.lock()
        {
            *slot = Some(state.services.metrics.clone());
        }
    }
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal (the default).
    Pretty,
}

impl LogFormat {
    /// Reads `LOG_FORMAT` (`json` or `pretty`; unset: `pretty`).
    pub fn from_env() -> Result<Self, String> {
        match std::env::var("LOG_FORMAT")
            .ok()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("pretty") => Ok(Self::Pretty),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(format!("LOG_FORMAT must be json or pretty, not {other:?}")),
        }
    }
}

/// Installs the process's log subscriber: `RUST_LOG` filters (default `info`), `LOG_FORMAT` shapes, stderr
/// receives. Logs carry what happened and to which operation, never tokens, passwords, personal data or
/// GraphQL variables: nothing in the server logs those values.
pub fn init() -> Result<(), String> {
    let format = LogFormat::from_env()?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm_migration=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
        LogFormat::Pretty => builder.init(),
    }
    Ok(())
}
