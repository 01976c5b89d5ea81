//! `me` and `login`: who the viewer is, and how a local account gets a token.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::member::Member;
use super::node::Node;
use super::{load, loaders::*, state};
use crate::auth::{Role, ScopeNode, Viewer, accounts};
use crate::error::{AppError, AppResult};

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

/// A token for `Authorization: Bearer …`.
#[derive(SimpleObject)]
pub struct LoginPayload {
    pub token: String,
    pub expires_at: DateTime<Utc>,
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
    /// `UNAUTHENTICATED` whatever was wrong; after 5 failures in a row the account is locked for 15 minutes
    /// (`RATE_LIMITED`, with `extensions.retryAfterSeconds`).
    async fn login(&self, ctx: &Context<'_>, username: String, password: String) -> AppResult<LoginPayload> {
        let st = state(ctx);
        let account = accounts::login(&st.db, &username, &password).await?;
        let principal = accounts::principal(&account)?;
        let tokens = ctx
            .data_opt::<std::sync::Arc<crate::auth::token::TokenService>>()
            .ok_or_else(|| AppError::Internal("token service missing from the request".into()))?;
        let (token, expires_at) = tokens.issue(&principal)?;
        Ok(LoginPayload {
            token,
            expires_at,
            account_id: principal.subject.into(),
            role: principal.role,
            display_name: account.display_name,
        })
    }
}
