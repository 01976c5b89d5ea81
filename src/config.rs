//! One typed configuration read from the environment (CONTRACT.md "Running it"). Secrets are wrapped so that
//! `{:?}` on the config can never print them.

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
    /// What the HTTP layer accepts and how it answers (see [`HttpSettings`]).
    pub http: HttpSettings,
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
        Ok(Self {
            database,
            bind_addr,
            jwt_secret,
            jwt_issuer: var("JWT_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into()),
            jwt_audience: var("JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into()),
            token_ttl_seconds,
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
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            upload_max_file_bytes: 10 * 1024 * 1024,
            upload_max_files: 4,
            max_batch_operations: 10,
            max_header_bytes: 16 * 1024,
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
