//! `me`, `login`, `refresh` and `logout`: who the viewer is, and how an app gets, keeps and gives up a session.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::member::Member;
use super::node::Node;
use super::{load, loaders::*, state};
use crate::auth::{Role, ScopeNode, Viewer, accounts, sessions};
use crate::error::{AppError, AppResult};
use sea_orm::EntityTrait;

/// The viewer of the request.
pub struct Me;

#[Object]
impl Me {
    /// Whether the request carried a valid token.
    async fn authenticated(&self, ctx: &Context<'_>) -> bool {
        matches!(state(ctx).viewer, Viewer::Account(_))
    }
    /// The role; `null` for the anonymous public.
    async fn role(&self, ctx: &Context<'_>) -> Option<Role> {
        match &state(ctx).viewer {
            Viewer::Account(p) => Some(p.role),
            Viewer::Anonymous => None,
        }
    }
    /// The token's subject (`sub`).
    async fn subject(&self, ctx: &Context<'_>) -> Option<String> {
        match &state(ctx).viewer {
            Viewer::Account(p) => Some(p.subject.clone()),
            Viewer::Anonymous => None,
        }
    }
    /// The tree node the role is bound to; `null` for ADMIN (everything) and the public.
    async fn scope(&self, ctx: &Context<'_>) -> AppResult<Option<Node>> {
        let Viewer::Account(p) = &state(ctx).viewer else {
            return Ok(None);
        };
        match p.scope.global_id() {
            Some(node) => super::node::fetch(ctx, node).await,
            None => Ok(None),
        }
    }
    /// The viewer's own member record, for the MEMBER role.
    async fn member(&self, ctx: &Context<'_>) -> AppResult<Option<Member>> {
        match &state(ctx).viewer {
            Viewer::Account(p) if p.role == Role::Member => match p.scope {
                ScopeNode::Member(id) => Ok(load(ctx, MemberById(id)).await?.map(Member)),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }
}

/// A token for `Authorization: Bearer …`, and the refresh token that renews it.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The access token: send it as `Authorization: Bearer …` until `expiresAt`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Exchange it with `refresh` for a new pair before `refreshTokenExpiresAt`. It works once: keep only the
    /// newest one. Presenting a used one again ends the session (someone else may hold a copy).
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    /// The account's id (the token's `sub`).
    pub account_id: ID,
    pub role: Role,
    pub display_name: String,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The viewer of this request.
    async fn me(&self) -> Me {
        Me
    }
}

#[derive(Default)]
pub struct ViewerMutation;

#[Object]
impl ViewerMutation {
    /// Exchanges a local account's username and password for a token. Wrong credentials answer
    /// `UNAUTHENTICATED` whatever was wrong; after 5 failures in a row the account is locked for 15 minutes,
    /// and after `LOGIN_ADDRESS_MAX_FAILURES` failures from one client address in `LOGIN_ADDRESS_WINDOW_SECONDS`
    /// the address is refused whatever username it tries (`RATE_LIMITED`, with `extensions.retryAfterSeconds`
    /// and the `Retry-After` header).
    async fn login(&self, ctx: &Context<'_>, username: String, password: String) -> AppResult<LoginPayload> {
        let st = state(ctx);
        let throttle = ctx
            .data_opt::<std::sync::Arc<crate::auth::throttle::AddressThrottle>>()
            .ok_or_else(|| AppError::Internal("login throttle missing from the request".into()))?;
        // Over HTTP and WebSocket the server knows the client; a request without a peer shares one unknown address.
        let client = ctx
            .data_opt::<crate::server::client::ClientAddr>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
        let account = accounts::login_from(&st.db, throttle, client, &username, &password).await?;
        let issued = sessions::start(&st.db, token_service(ctx)?, &st.services.config.realtime, &account).await?;
        payload(issued, &account)
    }

    /// Exchanges a refresh token for a new access token and refresh token, retiring the one given. A refresh
    /// token that is unknown, expired, already used, or whose session ended answers `UNAUTHENTICATED`: log in
    /// again. Reusing a retired one also ends its session, so a stolen copy stops working for everyone.
    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<LoginPayload> {
        let st = state(ctx);
        let tokens = token_service(ctx)?;
        let issued = sessions::refresh(&st.db, tokens, &st.services.config.realtime, &refresh_token).await?;
        let principal = tokens.verify(&issued.token)?;
        let id = crate::ids::GlobalId::parse_kind("sub", &principal.subject, crate::ids::NodeKind::Account)?;
        let account = entity::account::Entity::find_by_id(id)
            .one(&st.db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        payload(issued, &account)
    }

    /// Ends the session the refresh token belongs to: the refresh token and every access token issued in that
    /// session stop working at once. `true` when a session ended; `false` when it was unknown or already over.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        sessions::logout(&state(ctx).db, &refresh_token).await
    }
}

fn token_service<'a>(ctx: &'a Context<'_>) -> AppResult<&'a crate::auth::token::TokenService> {
    ctx.data_opt::<std::sync::Arc<crate::auth::token::TokenService>>()
        .map(|t| t.as_ref())
        .ok_or_else(|| AppError::Internal("token service missing from the request".into()))
}

fn payload(issued: sessions::Issued, account: &entity::account::Model) -> AppResult<LoginPayload> {
    let principal = accounts::principal(account)?;
    Ok(LoginPayload {
        token: issued.token,
        expires_at: issued.expires_at,
        refresh_token: issued.refresh_token,
        refresh_token_expires_at: issued.refresh_expires_at,
        account_id: principal.subject.into(),
        role: principal.role,
        display_name: account.display_name.clone(),
    })
}
