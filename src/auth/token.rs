//! JWT verification and issuing (docs/api.md, "Tokens"). Pinned to HS256; `exp`, `iat`, `iss`, `aud` and `sub`
//! required; `nbf` honoured; 30 s of leeway at most. jsonwebtoken's defaults are tightened where they accept
//! what RFC 8725 says to refuse: its leeway is 60 s, it skips `nbf`, and it checks `iss`/`aud` only when the
//! token happens to carry them. Every failure is the same `UNAUTHENTICATED`, naming no algorithm or key, except
//! an expired token whose signature holds: that one is [`AppError::TokenExpired`], so an app refreshes instead
//! of asking for the password. Tokens `login` and `refresh` issue carry a `sid` claim naming their session, so
//! ending the session ends them at once; tokens of an outside identity provider carry none.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::{Principal, Role, ScopeNode};
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::ids::GlobalId;

/// The clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope_id: Option<String>,
    iss: String,
    aud: String,
    exp: i64,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<i64>,
}

/// Audience may be a string or an array (RFC 7519 §4.1.3); only the fields we read are typed here.
#[derive(Debug, Deserialize)]
struct IncomingClaims {
    sub: String,
    role: String,
    #[serde(default)]
    scope_id: Option<String>,
    iat: i64,
    exp: i64,
    #[serde(default)]
    sid: Option<i64>,
}

/// A verified token: who it speaks for, its session (tokens this server issued) and when it expires.
#[derive(Clone, Debug)]
pub struct Verified {
    pub principal: Principal,
    pub session: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3): the request carried a token and it is not usable.
pub const CHALLENGE: &str = "Bearer error=\"invalid_token\"";

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: i64,
    /// Sessions this instance checked a moment ago.
    pub confirmed: super::sessions::ConfirmedSessions,
}

impl TokenService {
    pub fn new(config: &Config) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(config.jwt_secret.expose()),
            decoding: DecodingKey::from_secret(config.jwt_secret.expose()),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_seconds: config.token_ttl_seconds,
            confirmed: super::sessions::ConfirmedSessions::new(config.realtime.session_check_cache),
        }
    }

    /// Verifies a bearer token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> AppResult<Principal> {
        self.verify_session(token).map(|v| v.principal)
    }

    /// Verifies a bearer token and returns it with its session and expiry. jsonwebtoken checks the signature
    /// before the claims, so `ExpiredSignature` is only ever reported for a token we (or our IdP) signed.
    pub fn verify_session(&self, token: &str) -> AppResult<Verified> {
        let data = decode::<IncomingClaims>(token, &self.decoding, &self.validation).map_err(|e| {
            tracing::debug!(reason = ?e.kind(), "token refused");
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AppError::TokenExpired,
                _ => AppError::Unauthenticated,
            }
        })?;
        let claims = data.claims;
        if claims.iat > Utc::now().timestamp() + LEEWAY_SECONDS as i64 {
            return Err(AppError::Unauthenticated);
        }
        let role = Role::from_claim(&claims.role).ok_or(AppError::Unauthenticated)?;
        let scope = scope_of(role, claims.scope_id.as_deref()).ok_or(AppError::Unauthenticated)?;
        if claims.sub.trim().is_empty() {
            return Err(AppError::Unauthenticated);
        }
        Ok(Verified {
            principal: Principal {
                subject: claims.sub,
                role,
                scope,
            },
            session: claims.sid,
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now),
        })
    }

    /// Issues a token for an account; returns it with its expiry.
    pub fn issue(&self, principal: &Principal) -> AppResult<(String, DateTime<Utc>)> {
        self.issue_for_session(principal, None)
    }

    /// Issues a token bound to a session (`sid`): revoking the session refuses the token from then on.
    pub fn issue_for_session(&self, principal: &Principal, session: Option<i64>) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let exp = now.timestamp() + self.ttl_seconds;
        let claims = Claims {
            sub: principal.subject.clone(),
            role: principal.role.claim().to_owned(),
            scope_id: scope_claim(principal.scope),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp,
            iat: now.timestamp(),
            nbf: None,
            sid: session,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token encoding failed: {e}")))?;
        let expires = DateTime::from_timestamp(exp, 0).unwrap_or(now);
        Ok((token, expires))
    }
}

/// The `scope_id` claim of a node: its GraphQL id.
pub fn scope_claim(node: ScopeNode) -> Option<String> {
    node.global_id().map(GlobalId::encode)
}

/// The node a role's `scope_id` must name: absent for ADMIN, a node of the role's level otherwise.
pub fn scope_of(role: Role, scope_id: Option<&str>) -> Option<ScopeNode> {
    let node = match scope_id {
        Some(raw) => Some(GlobalId::parse("scope_id", raw).ok()?),
        None => None,
    };
    ScopeNode::of_role(role, node)
}
