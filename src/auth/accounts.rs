//! Local accounts: Argon2id password hashes, `login` with throttling kept in the database (so it holds across
//! several instances behind a load balancer), and the per-request check that refuses tokens of a disabled
//! account from the next request on.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::{Duration, Utc};
use entity::account;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{Principal, Role, ScopeNode};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};

/// Failed logins in a row before an account is locked for [`LOCK_MINUTES`].
pub const MAX_FAILED_LOGINS: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the username is unknown, so both paths cost the same and timing does not
/// reveal which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

/// The subject (`sub`) of a local account's tokens: the account's global id.
pub fn subject(account_id: i64) -> String {
    GlobalId::new(NodeKind::Account, account_id).encode()
}

pub fn principal(model: &account::Model) -> AppResult<Principal> {
    let role = Role::from_claim(&model.role)
        .ok_or_else(|| AppError::Internal(format!("account {} has an unknown role", model.id)))?;
    let scope = match (
        role,
        model.province_id,
        model.base_id,
        model.chapter_id,
        model.member_id,
    ) {
        (Role::Admin, ..) => ScopeNode::Everything,
        (Role::ProvinceOfficial, Some(id), ..) => ScopeNode::Province(id),
        (Role::BaseOfficial, _, Some(id), ..) => ScopeNode::Base(id),
        (Role::ChapterLeader, _, _, Some(id), _) => ScopeNode::Chapter(id),
        (Role::Member, _, _, _, Some(id)) => ScopeNode::Member(id),
        _ => {
            return Err(AppError::Internal(format!(
                "account {} has no scope node for its role",
                model.id
            )));
        }
    };
    Ok(Principal {
        subject: subject(model.id),
        role,
        scope,
    })
}

/// Checks a username and password. Wrong credentials and unknown users get the same answer; after
/// [`MAX_FAILED_LOGINS`] failures in a row the account is locked for [`LOCK_MINUTES`] minutes.
pub async fn login(db: &DatabaseConnection, username: &str, password: &str) -> AppResult<account::Model> {
    let username = crate::text::clean(username).to_lowercase();
    let found = account::Entity::find()
        .filter(account::Column::Username.eq(username))
        .one(db)
        .await?;
    let Some(account) = found else {
        verify_password(password, dummy_hash());
        return Err(bad_credentials());
    };
    let now = Utc::now();
    if let Some(until) = account.locked_until
        && until > now
    {
        return Err(AppError::RateLimited {
            retry_after_seconds: (until - now).num_seconds().max(1),
        });
    }
    if !verify_password(password, &account.password_hash) || account.disabled {
        let failures = account.failed_logins + 1;
        let mut update: account::ActiveModel = account.clone().into();
        if failures >= MAX_FAILED_LOGINS {
            update.failed_logins = Set(0);
            update.locked_until = Set(Some(now + Duration::minutes(LOCK_MINUTES)));
        } else {
            update.failed_logins = Set(failures);
        }
        update.update(db).await?;
        return Err(bad_credentials());
    }
    if account.failed_logins != 0 || account.locked_until.is_some() {
        let mut update: account::ActiveModel = account.clone().into();
        update.failed_logins = Set(0);
        update.locked_until = Set(None);
        update.update(db).await?;
    }
    Ok(account)
}

fn bad_credentials() -> AppError {
    AppError::bad_input("password", "unknown username or wrong password")
}

/// Refuses a token whose subject is a local account that is disabled or gone. Tokens minted by an external
/// identity provider for subjects that are not local accounts pass: their validity is the signature's.
pub async fn check_active(db: &DatabaseConnection, principal: &Principal) -> AppResult<()> {
    let Ok(id) = GlobalId::parse_kind("sub", &principal.subject, NodeKind::Account) else {
        return Ok(());
    };
    match account::Entity::find_by_id(id).one(db).await? {
        Some(a) if !a.disabled => Ok(()),
        _ => Err(AppError::Unauthenticated),
    }
}
