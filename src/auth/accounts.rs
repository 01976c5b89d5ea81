//! Local accounts: Argon2id password hashes, `login` with throttling kept in the database (so it holds across
//! several instances behind a load balancer), and the per-request check that refuses tokens of a disabled
//! account from the next request on.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::Utc;
use entity::account;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::{Principal, Role, ScopeNode};
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::throttle;

/// Failed logins in a row for one username before it is locked for [`LOCK_MINUTES`].
pub const MAX_FAILED_LOGINS: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;
/// The longest a login waits for a free password hasher before answering `SERVICE_UNAVAILABLE`.
pub const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Argon2 is deliberately slow (tens of milliseconds of CPU): it runs on the blocking pool so it never stalls
/// the async executor, and at most one hash per core runs at once so a burst of logins queues here instead of
/// starving every other request of CPU.
fn hash_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.max(1))
    })
}

/// Runs an Argon2 computation on the blocking pool under the hashing cap.
async fn argon2_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let permit = tokio::time::timeout(HASH_QUEUE_WAIT, hash_permits().acquire())
        .await
        .map_err(|_| AppError::Unavailable("every password hasher is busy".into()))?
        .map_err(|_| AppError::Internal("the password hashing semaphore is closed".into()))?;
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task failed: {e}")))?;
    drop(permit);
    Ok(out)
}

fn hash_password_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Hashes a password with Argon2id (the library's defaults) on the blocking pool.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    argon2_blocking(move || hash_password_now(&password)).await?
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the username is unknown, so both paths cost the same and timing does not
/// reveal which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password_now("not-a-real-password").unwrap_or_default())
}

/// The subject (`sub`) of a local account's tokens: the account's global id.
pub fn subject(account_id: i64) -> String {
    GlobalId::new(NodeKind::Account, account_id).encode()
}

pub fn principal(model: &account::Model) -> AppResult<Principal> {
    let role = Role::from_claim(&model.role)
        .ok_or_else(|| AppError::Internal(format!("account {} has an unknown role", model.id)))?;
    // The column that holds the node of the role's level.
    let node = role.scope_kind().and_then(|kind| {
        let id = match kind {
            NodeKind::Province => model.province_id,
            NodeKind::Base => model.base_id,
            NodeKind::Chapter => model.chapter_id,
            _ => model.member_id,
        };
        id.map(|id| GlobalId::new(kind, id))
    });
    let scope = ScopeNode::of_role(role, node)
        .ok_or_else(|| AppError::Internal(format!("account {} has no scope node for its role", model.id)))?;
    Ok(Principal {
        subject: subject(model.id),
        role,
        scope,
    })
}

/// Checks a username and password. Unknown user, wrong password and disabled account get the same answer,
/// at the same cost (an unknown user is verified against a dummy hash). Throttling is kept per username in the
/// database whether or not an account has that username, so it holds across instances and the lockout says
/// nothing about which usernames exist: after [`MAX_FAILED_LOGINS`] failures in a row the username is locked
/// for [`LOCK_MINUTES`] minutes. Each attempt is counted atomically *before* the password is checked, so
/// parallel guesses cannot slip past the count.
pub async fn login(db: &DatabaseConnection, username: &str, password: &str) -> AppResult<account::Model> {
    if username.chars().count() > MAX_USERNAME_LEN {
        return Err(AppError::bad_input(
            "username",
            format!("at most {MAX_USERNAME_LEN} characters"),
        ));
    }
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(AppError::bad_input(
            "password",
            format!("at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    let username = crate::text::clean(username).to_lowercase();
    let now = Utc::now().timestamp();
    let attempt = reserve_attempt(db, &username, now).await?;
    let found = account::Entity::find()
        .filter(account::Column::Username.eq(username.as_str()))
        .one(db)
        .await?;
    let hash = found.as_ref().map(|a| a.password_hash.clone());
    let given = password.to_owned();
    let matches = argon2_blocking(move || match &hash {
        Some(hash) => verify_password(&given, hash),
        None => verify_password(&given, dummy_hash()),
    })
    .await?;
    match found {
        Some(account) if matches && !account.disabled => {
            throttle::forget(db, &username).await?;
            Ok(account)
        }
        _ => {
            record_failure(db, &username, attempt, now).await?;
            Err(bad_credentials())
        }
    }
}

/// [`login`] behind the throttle per client address ([`super::throttle`]): the attempt is counted for
/// `client` before anything else, refused with `RATE_LIMITED` when the address has used up its failures, and
/// given back unless the login failed on the credentials (or on the username's lock).
pub async fn login_from(
    db: &DatabaseConnection,
    throttle: &super::throttle::AddressThrottle,
    client: std::net::IpAddr,
    username: &str,
    password: &str,
) -> AppResult<account::Model> {
    let attempt = throttle.attempt(client)?;
    let result = login(db, username, password).await;
    if !matches!(result, Err(AppError::Unauthenticated | AppError::RateLimited { .. })) {
        attempt.succeeded();
    }
    result
}

/// Counts a login attempt for `username` in one statement and answers `RATE_LIMITED` while it is locked (or
/// when parallel attempts already used up the allowance). Returns the attempt's number in the current run.
async fn reserve_attempt(db: &DatabaseConnection, username: &str, now: i64) -> AppResult<i32> {
    let (attempt, locked_until) = throttle::count_attempt(db, username, now).await?;
    match locked_until {
        Some(until) if until > now => Err(AppError::RateLimited {
            retry_after_seconds: until - now,
        }),
        _ if attempt > MAX_FAILED_LOGINS => Err(AppError::RateLimited {
            retry_after_seconds: LOCK_MINUTES * 60,
        }),
        _ => Ok(attempt),
    }
}

/// After a failed check: locks the username when this was the last allowed attempt, and now and then forgets
/// usernames that have been quiet for a day so guessed names do not pile up.
async fn record_failure(db: &DatabaseConnection, username: &str, attempt: i32, now: i64) -> AppResult<()> {
    if attempt >= MAX_FAILED_LOGINS {
        throttle::lock(db, username, now + LOCK_MINUTES * 60).await?;
    }
    if rand::random::<u8>() < 4 {
        throttle::prune(db, now - 24 * 3600, now).await?;
    }
    Ok(())
}

/// Unknown user, wrong password and disabled account all answer the same.
fn bad_credentials() -> AppError {
    AppError::Unauthenticated
}

/// Who a bearer token speaks for, checked against the database: a token bound to a session (`sid`) stands only
/// while its session does ([`super::sessions::check`]); any other token of a local account only while the
/// account is enabled. Expired tokens answer [`AppError::TokenExpired`].
pub async fn authenticate(
    db: &DatabaseConnection,
    tokens: &super::token::TokenService,
    bearer: &str,
) -> AppResult<super::token::Verified> {
    let verified = tokens.verify_session(bearer)?;
    match verified.session {
        Some(session) => {
            let account = GlobalId::parse_kind("sub", &verified.principal.subject, NodeKind::Account)
                .map_err(|_| AppError::Unauthenticated)?;
            if !tokens.confirmed.holds(account, session) {
                let expires = super::sessions::check(db, account, session).await?;
                tokens.confirmed.remember(account, session, expires);
            }
        }
        None => check_active(db, &verified.principal).await?,
    }
    Ok(verified)
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

/// The longest username and password `login` reads; longer ones are refused before any hashing.
pub const MAX_USERNAME_LEN: usize = 64;
pub const MAX_PASSWORD_LEN: usize = 256;
/// The shortest password an account may be given.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Creates a local account bound to `scope`.
pub async fn create(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
    password: &str,
    role: Role,
    scope: ScopeNode,
    display_name: &str,
) -> AppResult<account::Model> {
    let username = crate::text::clean(username).to_lowercase();
    if username.is_empty() || username.chars().count() > MAX_USERNAME_LEN {
        return Err(AppError::bad_input(
            "username",
            format!("1 to {MAX_USERNAME_LEN} characters"),
        ));
    }
    let length = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&length) {
        return Err(AppError::bad_input(
            "password",
            format!("{MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    if ScopeNode::of_role(role, scope.global_id()) != Some(scope) {
        return Err(AppError::bad_input("scopeId", "the scope node does not fit the role"));
    }
    let (mut province, mut base, mut chapter, mut member) = (None, None, None, None);
    match scope {
        ScopeNode::Everything => {}
        ScopeNode::Province(id) => province = Some(id),
        ScopeNode::Base(id) => base = Some(id),
        ScopeNode::Chapter(id) => chapter = Some(id),
        ScopeNode::Member(id) => member = Some(id),
    }
    let model = account::ActiveModel {
        id: sea_orm::NotSet,
        username: Set(username),
        password_hash: Set(hash_password(password).await?),
        role: Set(role.claim().to_owned()),
        province_id: Set(province),
        base_id: Set(base),
        chapter_id: Set(chapter),
        member_id: Set(member),
        display_name: Set(crate::text::clean(display_name)),
        disabled: Set(false),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(Utc::now()),
        version: Set(1),
    };
    model.insert(db).await.map_err(|e| {
        AppError::from_db(e, |sql| {
            matches!(sql, sea_orm::SqlErr::UniqueConstraintViolation(_))
                .then(|| AppError::Conflict("an account with this username exists".into()))
        })
    })
}

/// Disables or re-enables an account; its tokens stop working from the next request on.
pub async fn set_disabled(db: &DatabaseConnection, account_id: i64, disabled: bool) -> AppResult<()> {
    let found = account::Entity::find_by_id(account_id).one(db).await?;
    let account = found.ok_or_else(|| AppError::not_found("account"))?;
    let mut update: account::ActiveModel = account.into();
    update.disabled = Set(disabled);
    update.update(db).await?;
    if disabled {
        super::sessions::end_all(db, account_id, super::sessions::Ending::AccountDisabled).await?;
    }
    Ok(())
}

/// The demo accounts of the embedded demo, one per role: (username, password, role, scope).
pub const DEMO_ACCOUNTS: [(&str, &str, Role, ScopeNode, &str); 5] = [
    (
        "admin",
        "admin-demo-2024",
        Role::Admin,
        ScopeNode::Everything,
        "Quản trị viên Trung ương Hội",
    ),
    (
        "quangninh",
        "province-demo-2024",
        Role::ProvinceOfficial,
        ScopeNode::Province(1),
        "Cán bộ Hội CCB tỉnh Quảng Ninh",
    ),
    (
        "honggai",
        "base-demo-2024",
        Role::BaseOfficial,
        ScopeNode::Base(1),
        "Cán bộ Hội CCB phường Hồng Gai",
    ),
    (
        "khu1",
        "chapter-demo-2024",
        Role::ChapterLeader,
        ScopeNode::Chapter(1),
        "Chi hội trưởng Khu 1, Hồng Gai",
    ),
    (
        "hoivien",
        "member-demo-2024",
        Role::Member,
        ScopeNode::Member(1),
        "Hội viên số 1",
    ),
];

/// Creates the demo accounts (embedded demo only; their passwords are public in the README).
pub async fn create_demo_accounts(db: &DatabaseConnection) -> AppResult<()> {
    for (username, password, role, scope, name) in DEMO_ACCOUNTS {
        create(db, username, password, role, scope, name).await?;
    }
    Ok(())
}

/// Ends every session of an account that is being disabled, inside the caller's transaction.
pub async fn end_sessions(db: &impl sea_orm::ConnectionTrait, account_id: i64) -> AppResult<()> {
    super::sessions::end_all(db, account_id, super::sessions::Ending::AccountDisabled).await
}

/// Replaces an account's password.
pub async fn set_password(db: &DatabaseConnection, account_id: i64, password: &str) -> AppResult<()> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&length) {
        return Err(AppError::bad_input(
            "input.newPassword",
            format!("{MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    let found = account::Entity::find_by_id(account_id).one(db).await?;
    let account = found.ok_or_else(|| AppError::not_found("account"))?;
    let mut update: account::ActiveModel = account.into();
    update.password_hash = Set(hash_password(password).await?);
    update.update(db).await?;
    // Every session began with the old password; a new one means logging in again everywhere.
    super::sessions::end_all(db, account_id, super::sessions::Ending::PasswordChanged).await?;
    Ok(())
}
