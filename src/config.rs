//! One typed configuration read from the environment (docs/api.md, "Settings"), and the table of every setting
//! the server reads, which `hoi-ccb --help` prints. Secrets are wrapped so that `{:?}` on the config can never
//! print them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::RngCore;

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// `DATABASE_URL` unset: the SQLite file under the data directory, loaded with demo data when new.
    Embedded { data_dir: PathBuf },
    /// `DATABASE_URL` set: `sqlite://…` or `postgres://…`, never seeded automatically.
    Url(String),
}

impl Database {
    pub fn url(&self) -> String {
        match self {
            Database::Embedded { data_dir } => {
                format!("sqlite://{}?mode=rwc", data_dir.join("hoi-ccb.sqlite3").display())
            }
            Database::Url(url) => url.clone(),
        }
    }

    pub fn is_embedded(&self) -> bool {
        matches!(self, Database::Embedded { .. })
    }
}

/// A secret that never shows in logs or debug output.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The minimum key length for HS256 (RFC 7518 §3.2: at least the hash size).
    pub const MIN_LEN: usize = 32;

    pub fn new(bytes: Vec<u8>) -> Result<Self, ConfigError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(ConfigError(format!(
                "JWT_SECRET must be at least {} bytes long",
                Self::MIN_LEN
            )));
        }
        Ok(Self(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database: Database,
    pub bind_addr: SocketAddr,
    pub jwt_secret: Secret,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// Lifetime of the tokens `login` issues.
    pub token_ttl_seconds: i64,
    /// Sessions and subscriptions (`REFRESH_TOKEN_TTL_SECONDS`, `SESSION_MAX_AGE_SECONDS`, `WS_*`).
    pub realtime: Realtime,
    /// Limits on GraphQL documents (`GRAPHQL_MAX_*`, `GRAPHQL_INTROSPECTION`, `GRAPHQL_SUGGESTIONS`).
    pub limits: crate::graphql::limits::Limits,
    /// Pool and timeout settings of the database (`DB_POOL_SIZE`, `DB_*_TIMEOUT_MS`).
    pub db: crate::db::DbSettings,
    /// What the HTTP layer accepts and how it answers (see [`HttpSettings`]).
    pub http: HttpSettings,
}

/// Settings of sessions for apps and of the WebSocket endpoint.
#[derive(Clone, Debug)]
pub struct Realtime {
    /// How long an unused refresh token stays valid (each `refresh` issues a new one).
    pub refresh_ttl_seconds: i64,
    /// How long a session may be kept alive by refreshing before its user must log in again.
    pub session_max_age_seconds: i64,
    /// Open WebSocket connections one instance accepts.
    pub ws_max_connections: usize,
    /// Active subscriptions one WebSocket may hold.
    pub ws_max_subscriptions: usize,
    /// How long a new socket may take to send `connection_init` before it is closed with 4408.
    pub ws_init_timeout: std::time::Duration,
    /// How often an open socket's session is checked again (logout, disabled account, changed password).
    pub ws_session_recheck: std::time::Duration,
    /// How long this instance trusts a session it has just checked before checking it again
    /// (`SESSION_CHECK_CACHE_SECONDS`; zero checks on every request).
    pub session_check_cache: std::time::Duration,
    /// How often the change log is read when no notification woke the reader: the bound on how late a change
    /// written by another process (whose notification was lost) reaches subscribers.
    pub change_poll: std::time::Duration,
}

impl Default for Realtime {
    fn default() -> Self {
        Self {
            refresh_ttl_seconds: 30 * 24 * 3600,
            session_max_age_seconds: 180 * 24 * 3600,
            ws_max_connections: 1000,
            ws_max_subscriptions: 20,
            ws_init_timeout: std::time::Duration::from_secs(10),
            ws_session_recheck: std::time::Duration::from_secs(15),
            session_check_cache: std::time::Duration::from_secs(5),
            change_poll: std::time::Duration::from_secs(2),
        }
    }
}

impl Realtime {
    fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        let refresh_ttl_seconds = ranged("REFRESH_TOKEN_TTL_SECONDS", 300, 365 * 24 * 3600, d.refresh_ttl_seconds)?;
        let session_max_age_seconds = ranged(
            "SESSION_MAX_AGE_SECONDS",
            refresh_ttl_seconds,
            3 * 365 * 24 * 3600,
            d.session_max_age_seconds,
        )?;
        Ok(Self {
            refresh_ttl_seconds,
            session_max_age_seconds,
            ws_max_connections: ranged("WS_MAX_CONNECTIONS", 1, 1_000_000, d.ws_max_connections as i64)? as usize,
            ws_max_subscriptions: ranged("WS_MAX_SUBSCRIPTIONS", 1, 1000, d.ws_max_subscriptions as i64)? as usize,
            ws_init_timeout: std::time::Duration::from_secs(ranged(
                "WS_INIT_TIMEOUT_SECONDS",
                1,
                300,
                d.ws_init_timeout.as_secs() as i64,
            )? as u64),
            ws_session_recheck: d.ws_session_recheck,
            session_check_cache: std::time::Duration::from_secs(ranged(
                "SESSION_CHECK_CACHE_SECONDS",
                0,
                60,
                d.session_check_cache.as_secs() as i64,
            )? as u64),
            change_poll: d.change_poll,
        })
    }
}

/// An integer setting within `min..=max`, or `default` when unset.
fn ranged(name: &str, min: i64, max: i64, default: i64) -> Result<i64, ConfigError> {
    match var(name) {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ConfigError(format!("{name} must be a whole number from {min} to {max}"))),
        None => Ok(default),
    }
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
pub const DEFAULT_ISSUER: &str = "hoi-ccb";
pub const DEFAULT_AUDIENCE: &str = "hoi-ccb-api";
const DEFAULT_TOKEN_TTL_SECONDS: i64 = 8 * 3600;

/// One environment variable the server reads, as `hoi-ccb --help` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// What applies when it is unset.
    pub default: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// Every environment variable the server reads. A unit test below fails when `from_env` reads a variable that
/// is missing here, so `--help` cannot fall behind the code.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "DATABASE_URL",
        default: "the embedded SQLite file data/hoi-ccb.sqlite3, loaded with the demo data set when new",
        meaning: "sqlite://… or postgres://…; a database named here is never seeded automatically (use seed-demo)",
    },
    Setting {
        name: "BIND_ADDR",
        default: DEFAULT_BIND_ADDR,
        meaning: "host:port the HTTP server listens on",
    },
    Setting {
        name: "JWT_SECRET",
        default: "embedded demo: a random key generated once and kept in data/jwt-secret; required when DATABASE_URL is set",
        meaning: "HS256 key (at least 32 bytes) that signs and verifies bearer tokens",
    },
    Setting {
        name: "JWT_ISSUER",
        default: DEFAULT_ISSUER,
        meaning: "the `iss` claim every token must carry, and that tokens issued by `login` carry",
    },
    Setting {
        name: "JWT_AUDIENCE",
        default: DEFAULT_AUDIENCE,
        meaning: "the `aud` claim every token must carry, and that tokens issued by `login` carry",
    },
    Setting {
        name: "TOKEN_TTL_SECONDS",
        default: "28800 (8 h)",
        meaning: "lifetime of the access tokens `login` issues, 60 to 604800 seconds",
    },
    Setting {
        name: "REFRESH_TOKEN_TTL_SECONDS",
        default: "2592000 (30 days)",
        meaning: "how long an unused refresh token stays valid (each refresh issues a new one), 300 to 31536000 seconds",
    },
    Setting {
        name: "SESSION_MAX_AGE_SECONDS",
        default: "15552000 (180 days)",
        meaning: "how long refreshing can keep one login alive before the password is asked again, at least REFRESH_TOKEN_TTL_SECONDS",
    },
    Setting {
        name: "SESSION_CHECK_CACHE_SECONDS",
        default: "5",
        meaning: "how long an instance trusts a login session it has just checked (disabled, logged out, password changed) before reading it again, 0 to 60; 0 reads it on every request. A revocation made through this instance takes effect at once; one made through another instance within this many seconds",
    },
    Setting {
        name: "WS_MAX_CONNECTIONS",
        default: "1000",
        meaning: "open subscription WebSockets one instance accepts; beyond it the upgrade answers 503",
    },
    Setting {
        name: "WS_MAX_SUBSCRIPTIONS",
        default: "20",
        meaning: "active subscriptions one WebSocket may hold; beyond it a subscribe gets TOO_MANY_SUBSCRIPTIONS",
    },
    Setting {
        name: "WS_INIT_TIMEOUT_SECONDS",
        default: "10",
        meaning: "how long a new WebSocket may take to send connection_init before it is closed with 4408, 1 to 300",
    },
    Setting {
        name: "RUST_LOG",
        default: "info,sqlx=warn,sea_orm_migration=warn",
        meaning: "log filter (tracing-subscriber EnvFilter syntax); logs go to stderr",
    },
    Setting {
        name: "HOI_CCB_ADMIN_PASSWORD",
        default: "none (required by create-admin)",
        meaning: "the password of the account `create-admin` creates; read from the environment so it stays out of `ps` and shell history",
    },
    Setting {
        name: "LOG_FORMAT",
        default: "pretty",
        meaning: "pretty (human-readable) or json (one object per line on stderr)",
    },
    Setting {
        name: "GRAPHQL_MAX_TOKENS",
        default: "2000",
        meaning: "lexical tokens in a document, counted before parsing (TOO_MANY_TOKENS)",
    },
    Setting {
        name: "GRAPHQL_MAX_ALIASES",
        default: "15",
        meaning: "aliased fields, fragments expanded (TOO_MANY_ALIASES)",
    },
    Setting {
        name: "GRAPHQL_MAX_ROOT_FIELDS",
        default: "20",
        meaning: "fields at the top of an operation, fragments expanded (TOO_MANY_ROOT_FIELDS)",
    },
    Setting {
        name: "GRAPHQL_MAX_DIRECTIVES",
        default: "50",
        meaning: "directive uses, fragments expanded (TOO_MANY_DIRECTIVES)",
    },
    Setting {
        name: "GRAPHQL_MAX_DEPTH",
        default: "16",
        meaning: "field nesting, fragments expanded (QUERY_TOO_DEEP)",
    },
    Setting {
        name: "GRAPHQL_MAX_COST",
        default: "200000",
        meaning: "each field 1, a connection multiplies what is under it by first/last, nodes(ids:) by its ids (QUERY_TOO_COMPLEX)",
    },
    Setting {
        name: "GRAPHQL_INTROSPECTION",
        default: "on in the embedded demo, off otherwise",
        meaning: "true/false: schema introspection (INTROSPECTION_DISABLED when off)",
    },
    Setting {
        name: "GRAPHQL_SUGGESTIONS",
        default: "on in the embedded demo, off otherwise",
        meaning: "true/false: \"did you mean\" hints in validation errors",
    },
    Setting {
        name: "DB_POOL_SIZE",
        default: "16 on PostgreSQL, 8 on SQLite",
        meaning: "connections in the pool of one instance",
    },
    Setting {
        name: "DB_POOL_TIMEOUT_MS",
        default: "5000",
        meaning: "longest wait for a pooled connection before a retryable SERVICE_UNAVAILABLE",
    },
    Setting {
        name: "DB_STATEMENT_TIMEOUT_MS",
        default: "15000",
        meaning: "PostgreSQL statement_timeout of serving connections",
    },
    Setting {
        name: "DB_LOCK_TIMEOUT_MS",
        default: "5000",
        meaning: "PostgreSQL lock_timeout, SQLite busy_timeout",
    },
    Setting {
        name: "CORS_ALLOWED_ORIGINS",
        default: "none (no cross-origin access); the embedded demo allows any http://localhost:<port> and http://127.0.0.1:<port>",
        meaning: "comma-separated exact origins (scheme://host[:port]) browsers may call the API from",
    },
    Setting {
        name: "MAX_BODY_BYTES",
        default: "65536",
        meaning: "largest JSON request body (413 PAYLOAD_TOO_LARGE past it); also the longest GET query string (414)",
    },
    Setting {
        name: "UPLOAD_MAX_FILE_BYTES",
        default: "10485760",
        meaning: "largest file in a multipart upload",
    },
    Setting {
        name: "UPLOAD_MAX_FILES",
        default: "4",
        meaning: "most files in one multipart upload",
    },
    Setting {
        name: "MAX_BATCH_OPERATIONS",
        default: "10",
        meaning: "most operations in one JSON array batch (BATCH_TOO_LARGE past it)",
    },
    Setting {
        name: "APQ_MAX_DOCUMENTS",
        default: "10000",
        meaning: "most persisted query documents kept in the database; the least recently used are evicted past it",
    },
    Setting {
        name: "TRUSTED_DOCUMENTS_MANIFEST",
        default: "none",
        meaning: "path to a JSON manifest of allowed operations (Apollo persisted-query manifest, or graphql-codegen persisted-documents.json); its ids work as persisted-query hashes",
    },
    Setting {
        name: "TRUSTED_DOCUMENTS_ONLY",
        default: "false",
        meaning: "true: refuse any document not in TRUSTED_DOCUMENTS_MANIFEST (PERSISTED_QUERY_NOT_ALLOWED), by hash or in full",
    },
    Setting {
        name: "MAX_HEADER_BYTES",
        default: "16384",
        meaning: "total size of the request headers (431 HEADERS_TOO_LARGE past it)",
    },
    Setting {
        name: "REQUEST_TIMEOUT_SECONDS",
        default: "30",
        meaning: "longest a request may run before a retryable 503 SERVICE_UNAVAILABLE",
    },
    Setting {
        name: "TRUSTED_PROXIES",
        default: "none (X-Forwarded-For is ignored; the connection's peer is the client)",
        meaning: "comma-separated addresses or CIDR blocks of reverse proxies; behind them the client is the right-most X-Forwarded-For hop that is not a trusted proxy",
    },
    Setting {
        name: "LOGIN_ADDRESS_MAX_FAILURES",
        default: "20",
        meaning: "failed logins one client address (an IPv6 /64) may make per window before login answers RATE_LIMITED with Retry-After",
    },
    Setting {
        name: "LOGIN_ADDRESS_WINDOW_SECONDS",
        default: "900",
        meaning: "the window of LOGIN_ADDRESS_MAX_FAILURES, 1 to 86400 seconds",
    },
    Setting {
        name: "SHUTDOWN_GRACE_SECONDS",
        default: "20",
        meaning: "on SIGTERM or Ctrl-C: stop accepting, let requests in flight finish for up to this long, then exit 0; 0 to 3600",
    },
];

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the environment. With `DATABASE_URL` unset the embedded demo may generate its own signing key
    /// (kept in the data directory); with it set, a missing `JWT_SECRET` refuses start-up, because an
    /// operator's deployment must not silently run with a key nobody else knows.
    pub fn from_env() -> Result<Self, ConfigError> {
        let database = match var("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(ConfigError(
                        "DATABASE_URL must start with sqlite:, postgres:// or postgresql://".into(),
                    ));
                }
                Database::Url(url)
            }
            None => Database::Embedded {
                data_dir: PathBuf::from("data"),
            },
        };
        let bind_addr = var("BIND_ADDR")
            .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
            .parse()
            .map_err(|_| ConfigError("BIND_ADDR must be host:port, e.g. 127.0.0.1:8080".into()))?;
        let jwt_secret = match (var("JWT_SECRET"), &database) {
            (Some(secret), _) => Secret::new(secret.into_bytes())?,
            (None, Database::Embedded { data_dir }) => embedded_secret(data_dir)?,
            (None, Database::Url(_)) => {
                return Err(ConfigError("JWT_SECRET is required when DATABASE_URL is set".into()));
            }
        };
        let token_ttl_seconds = match var("TOKEN_TTL_SECONDS") {
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|s| (60..=7 * 24 * 3600).contains(s))
                .ok_or_else(|| ConfigError("TOKEN_TTL_SECONDS must be a number of seconds from 60 to 604800".into()))?,
            None => DEFAULT_TOKEN_TTL_SECONDS,
        };
        let limits = crate::graphql::limits::Limits::from_env(database.is_embedded())?;
        Ok(Self {
            limits,
            db: crate::db::DbSettings::from_env()?,
            database,
            bind_addr,
            jwt_secret,
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            token_ttl_seconds,
            realtime: Realtime::from_env()?,
            http: HttpSettings::from_env()?,
        })
    }

    /// A configuration for tests and tools: the given database, port 0, the given key, default claims.
    pub fn for_database(database: Database, jwt_secret: Secret) -> Self {
        Self {
            database,
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret,
            jwt_issuer: DEFAULT_ISSUER.into(),
            jwt_audience: DEFAULT_AUDIENCE.into(),
            token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
            realtime: Realtime::default(),
            limits: crate::graphql::limits::Limits::default(),
            db: crate::db::DbSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

/// The embedded demo's signing key: read from `data/jwt-secret`, or generated and written there on first start.
fn embedded_secret(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join("jwt-secret");
    let io = |e: std::io::Error| ConfigError(format!("cannot use {}: {e}", path.display()));
    std::fs::create_dir_all(data_dir).map_err(io)?;
    match std::fs::read(&path) {
        Ok(bytes) => {
            tracing::info!(path = %path.display(), "JWT_SECRET unset: using the embedded demo's generated key");
            Secret::new(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 48];
            rand::rng().fill_bytes(&mut bytes);
            let encoded = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
            std::fs::write(&path, &encoded).map_err(io)?;
            tracing::warn!(
                path = %path.display(),
                "JWT_SECRET unset: generated a random signing key for the embedded demo and kept it there"
            );
            Secret::new(encoded.into_bytes())
        }
        Err(e) => Err(io(e)),
    }
}

/// The HTTP layer's settings. Every limit has a safe default and is refused at start-up when out of range, so a
/// typo cannot silently switch a protection off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// `MAX_BODY_BYTES`: the largest JSON request body; a larger one is answered 413 before it is read whole.
    pub max_body_bytes: usize,
    /// `UPLOAD_MAX_FILE_BYTES`: the largest file in a multipart request (GraphQL multipart request spec).
    pub upload_max_file_bytes: usize,
    /// `UPLOAD_MAX_FILES`: the most files one multipart request may carry.
    pub upload_max_files: usize,
    /// `MAX_BATCH_OPERATIONS`: the most operations in one JSON array batch (1 accepts only single requests
    /// in an array of one).
    pub max_batch_operations: usize,
    /// `MAX_HEADER_BYTES`: the most bytes of request headers (names and values); more is answered 431.
    pub max_header_bytes: usize,
    /// `REQUEST_TIMEOUT_SECONDS`: a request still running after this long is answered 503
    /// `SERVICE_UNAVAILABLE` (retryable) with `Retry-After`.
    pub request_timeout_seconds: u64,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated exact origins (`https://app.example.org`) browsers may call the
    /// API from. Empty: no cross-origin access, except that the embedded demo allows any
    /// `http://localhost:<port>` and `http://127.0.0.1:<port>`.
    pub cors_allowed_origins: Vec<String>,
    /// `APQ_MAX_DOCUMENTS`: the most persisted query documents kept in the database; registering one more
    /// evicts the least recently used.
    pub apq_max_documents: usize,
    /// `TRUSTED_DOCUMENTS_MANIFEST`: a JSON manifest of the operations a client build sends (Apollo's
    /// `generate-persisted-query-manifest` output, or graphql-codegen's `persisted-documents.json`); its ids
    /// are accepted as persisted-query hashes.
    pub trusted_documents_manifest: Option<std::path::PathBuf>,
    /// `TRUSTED_DOCUMENTS_ONLY`: refuse every document that is not in the manifest, sent by hash or in full.
    pub trusted_documents_only: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<crate::server::client::Cidr>,
    /// Failed logins per client address (`LOGIN_ADDRESS_MAX_FAILURES`, `LOGIN_ADDRESS_WINDOW_SECONDS`).
    pub login_address_limit: crate::auth::throttle::AddressLimit,
    /// How long requests in flight may finish after a shutdown signal (`SHUTDOWN_GRACE_SECONDS`).
    pub shutdown_grace_seconds: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            upload_max_file_bytes: 10 * 1024 * 1024,
            upload_max_files: 4,
            max_batch_operations: 10,
            max_header_bytes: 16 * 1024,
            request_timeout_seconds: 30,
            cors_allowed_origins: Vec::new(),
            apq_max_documents: 10_000,
            trusted_documents_manifest: None,
            trusted_documents_only: false,
            trusted_proxies: Vec::new(),
            login_address_limit: crate::auth::throttle::AddressLimit::default(),
            shutdown_grace_seconds: 20,
        }
    }
}

impl HttpSettings {
    /// Reads the settings of the HTTP layer from the environment; unset ones keep their defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            max_body_bytes: bounded("MAX_BODY_BYTES", d.max_body_bytes, 1024, 64 * 1024 * 1024)?,
            upload_max_file_bytes: bounded("UPLOAD_MAX_FILE_BYTES", d.upload_max_file_bytes, 1, 1024 * 1024 * 1024)?,
            upload_max_files: bounded("UPLOAD_MAX_FILES", d.upload_max_files, 1, 100)?,
            max_batch_operations: bounded("MAX_BATCH_OPERATIONS", d.max_batch_operations, 1, 100)?,
            max_header_bytes: bounded("MAX_HEADER_BYTES", d.max_header_bytes, 1024, 256 * 1024)?,
            request_timeout_seconds: bounded("REQUEST_TIMEOUT_SECONDS", 30, 1, 3600)? as u64,
            apq_max_documents: bounded("APQ_MAX_DOCUMENTS", d.apq_max_documents, 1, 10_000_000)?,
            trusted_documents_manifest: var("TRUSTED_DOCUMENTS_MANIFEST")
                .filter(|p| !p.trim().is_empty())
                .map(std::path::PathBuf::from),
            trusted_documents_only: match var("TRUSTED_DOCUMENTS_ONLY").as_deref().map(str::trim) {
                None | Some("") | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "TRUSTED_DOCUMENTS_ONLY must be true or false, got {other:?}"
                    )));
                }
            },
            trusted_proxies: match var("TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        crate::server::client::Cidr::parse(p).map_err(|e| {
                            ConfigError(format!(
                                "TRUSTED_PROXIES: {e}; write addresses or CIDR blocks (10.0.0.0/8) separated by commas"
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            login_address_limit: crate::auth::throttle::AddressLimit {
                max_failures: bounded(
                    "LOGIN_ADDRESS_MAX_FAILURES",
                    d.login_address_limit.max_failures as usize,
                    1,
                    1_000_000,
                )? as u32,
                window: std::time::Duration::from_secs(bounded(
                    "LOGIN_ADDRESS_WINDOW_SECONDS",
                    d.login_address_limit.window.as_secs() as usize,
                    1,
                    86_400,
                )? as u64),
            },
            shutdown_grace_seconds: bounded("SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds as usize, 0, 3600)?
                as u64,
            cors_allowed_origins: match var("CORS_ALLOWED_ORIGINS") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(origin)
                    .collect::<Result<_, _>>()?,
            },
        })
    }
}

/// A whole-number setting within `min..=max`, or `default` when unset.
fn bounded(name: &str, default: usize, min: usize, max: usize) -> Result<usize, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ConfigError(format!("{name} must be a whole number from {min} to {max}, got {v:?}"))),
    }
}

/// One exact origin, as a browser sends it in `Origin`: scheme, host and optional port, nothing else.
fn origin(text: &str) -> Result<String, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "CORS_ALLOWED_ORIGINS: {text:?} is not an origin; write each as scheme://host[:port], e.g. \
             https://app.example.org, separated by commas"
        ))
    };
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(bad)?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '*', ' ', '@']) {
        return Err(bad());
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the environment variables read in the files that read settings: the string literal passed
    /// as the first argument to one of the reading helpers (`var("…")`, `setting("…", …)`, `read("…", …)`, …).
    fn names_read_in_the_source() -> Vec<&'static str> {
        const READERS: &[&str] = &["var", "setting", "read", "flag", "bounded", "ranged"];
        // The needle is assembled at run time so that this test's own source does not match it.
        let needle = ["(", "\""].concat();
        [
            include_str!("config.rs"),
            include_str!("main.rs"),
            include_str!("db.rs"),
            include_str!("telemetry.rs"),
            include_str!("graphql/limits.rs"),
        ]
        .into_iter()
        .flat_map(|source| {
            source.match_indices(&needle).filter_map(|(at, _)| {
                let before = &source[..at];
                let called = before
                    .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()?;
                let rest = &source[at + needle.len()..];
                let name = &rest[..rest.find('"')?];
                let is_name = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                (READERS.contains(&called) && is_name).then_some(name)
            })
        })
        .collect()
    }

    #[test]
    fn every_variable_the_source_reads_is_listed_in_the_settings_table() {
        let names = names_read_in_the_source();
        assert!(names.contains(&"HOI_CCB_ADMIN_PASSWORD"), "the scan found {names:?}");
        assert!(names.contains(&"DATABASE_URL"), "the scan found {names:?}");
        for name in names {
            assert!(
                SETTINGS.iter().any(|s| s.name == name),
                "the source reads {name} but SETTINGS does not list it, so `hoi-ccb --help` would not show it"
            );
        }
    }

    #[test]
    fn settings_are_listed_once_with_a_default_and_a_meaning() {
        for (i, s) in SETTINGS.iter().enumerate() {
            assert!(
                !s.default.is_empty() && !s.meaning.is_empty(),
                "{} lacks a default or meaning",
                s.name
            );
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{} is not an environment variable name",
                s.name
            );
            assert!(
                SETTINGS[..i].iter().all(|t| t.name != s.name),
                "{} is listed twice",
                s.name
            );
        }
    }

    #[test]
    fn the_listed_token_lifetime_default_is_the_one_applied() {
        let listed = SETTINGS
            .iter()
            .find(|s| s.name == "TOKEN_TTL_SECONDS")
            .map(|s| s.default);
        assert!(listed.is_some_and(|d| d.starts_with(&format!("{DEFAULT_TOKEN_TTL_SECONDS} "))));
    }
}
