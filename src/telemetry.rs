//! Operational telemetry of the GraphQL layer: every error a GraphQL response carries is counted by its
//! `extensions.code` in `graphql_errors_total`, so an operator can alert on a rise of `INTERNAL_SERVER_ERROR`
//! or `SERVICE_UNAVAILABLE` without reading logs.

use async_graphql::Response;

use crate::db::Metrics;

/// Counts the errors of a complete response in `graphql_errors_total`, by code (an error without one counts as
/// `BAD_USER_INPUT`, the code the HTTP layer gives it).
pub fn count_errors(metrics: &Metrics, response: &Response) {
    for error in &response.errors {
        let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
            Some(async_graphql::Value::String(code)) => code.as_str(),
            _ => "BAD_USER_INPUT",
        };
        metrics.graphql_errors.with_label_values(&[code]).inc();
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
