//! Local accounts over GraphQL: admins list, create, disable and re-enable them; any local account changes its
//! own password. Password hashes never leave the server, not even into the audit trail.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::account;
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder, QuerySelect};

use super::mutation::actor;
use super::node::Node;
use super::state;
use crate::auth::policy::{Capability, Position, authorize, require_account};
use crate::auth::{Role, accounts, token};
use crate::domain::accounts as commands;
use crate::error::{AppError, AppResult};
use crate::ids::{GlobalId, NodeKind};
use crate::store::page::MAX_PAGE_SIZE;

/// A local account that can `login`.
pub struct Account(pub account::Model);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        GlobalId::new(NodeKind::Account, self.0.id).encode().into()
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> Option<Role> {
        Role::from_claim(&self.0.role)
    }
    /// The node the role is bound to; `null` for ADMIN.
    async fn scope(&self, ctx: &Context<'_>) -> AppResult<Option<Node>> {
        let Ok(p) = accounts::principal(&self.0) else {
            return Ok(None);
        };
        match p.scope.global_id() {
            Some(node) => super::node::fetch(ctx, node).await,
            None => Ok(None),
        }
    }
    async fn disabled(&self) -> bool {
        self.0.disabled
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
    /// The node the role is bound to (a Province, Base, Chapter or Member id); omitted for ADMIN.
    pub scope_id: Option<ID>,
    pub display_name: String,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct SetAccountDisabledInput {
    pub id: ID,
    pub disabled: bool,
    pub client_mutation_id: Option<String>,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(SimpleObject)]
pub struct AccountPayload {
    pub account: Option<Account>,
    pub client_mutation_id: Option<String>,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Local accounts, by username (admins only). Up to `first` (at most 100) after `offset`.
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        #[graphql(default)] offset: i32,
    ) -> AppResult<Vec<Account>> {
        let st = state(ctx);
        authorize(&st.viewer, Capability::ManageAccounts, &Position::default())?;
        if !(0..=MAX_PAGE_SIZE).contains(&first) {
            return Err(AppError::bad_input(
                "first",
                format!("must be between 0 and {MAX_PAGE_SIZE}"),
            ));
        }
        if offset < 0 {
            return Err(AppError::bad_input("offset", "must not be negative"));
        }
        let rows = account::Entity::find()
            .order_by_asc(account::Column::Username)
            .offset(offset as u64)
            .limit(first as u64)
            .all(&st.db)
            .await?;
        Ok(rows.into_iter().map(Account).collect())
    }

    /// How many local accounts exist (admins only).
    async fn account_count(&self, ctx: &Context<'_>) -> AppResult<u64> {
        let st = state(ctx);
        authorize(&st.viewer, Capability::ManageAccounts, &Position::default())?;
        Ok(account::Entity::find().count(&st.db).await?)
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a local account (admins only).
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> AppResult<AccountPayload> {
        let scope = match (input.role.scope_kind(), &input.scope_id) {
            (None, Some(_)) => return Err(AppError::bad_input("input.scopeId", "must be omitted for ADMIN")),
            (Some(_), None) => return Err(AppError::bad_input("input.scopeId", "is required for this role")),
            (_, raw) => token::scope_of(input.role, raw.as_deref().map(String::as_str))
                .ok_or_else(|| AppError::bad_input("input.scopeId", "must be the id of a node of the role's level"))?,
        };
        let display_name = crate::input::text("input.displayName", &input.display_name, 100)?;
        crate::input::text("input.username", &input.username, accounts::MAX_USERNAME_LEN)?;
        let account = commands::NewAccount {
            display_name,
            username: input.username,
            password: input.password,
            role: input.role,
            scope,
        };
        let cmid = input.client_mutation_id;
        let (_, id) = super::mutation::mutate(ctx, "CREATE_ACCOUNT", cmid.as_deref(), async |txn, principal| {
            commands::create(actor(ctx, principal), txn, account).await
        })
        .await?;
        let found = account::Entity::find_by_id(id).one(&state(ctx).db).await?;
        Ok(AccountPayload {
            account: found.map(Account),
            client_mutation_id: cmid,
        })
    }

    /// Disables or re-enables an account (admins only). A disabled account's tokens stop working from its next
    /// request on, and it cannot log in.
    async fn set_account_disabled(
        &self,
        ctx: &Context<'_>,
        input: SetAccountDisabledInput,
    ) -> AppResult<AccountPayload> {
        let id = GlobalId::parse_kind("input.id", &input.id, NodeKind::Account)?;
        let cmid = input.client_mutation_id;
        let (_, id) = super::mutation::mutate(ctx, "SET_ACCOUNT_DISABLED", cmid.as_deref(), async |txn, principal| {
            commands::set_disabled(actor(ctx, principal), txn, id, input.disabled).await
        })
        .await?;
        let found = account::Entity::find_by_id(id).one(&state(ctx).db).await?;
        Ok(AccountPayload {
            account: found.map(Account),
            client_mutation_id: cmid,
        })
    }

    /// Changes the viewer's own password (local accounts). Every session of the account ends, this one included:
    /// its tokens stop working at once and each app logs in again with the new password.
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> AppResult<bool> {
        let st = state(ctx);
        let principal = require_account(&st.viewer)?;
        let id = GlobalId::parse_kind("sub", &principal.subject, NodeKind::Account)
            .map_err(|_| AppError::Forbidden("only local accounts have a password here".into()))?;
        let found = account::Entity::find_by_id(id).one(&st.db).await?;
        let current = found.ok_or(AppError::Unauthenticated)?;
        // Verify through login so a wrong current password counts towards the lockout.
        accounts::login(&st.db, &current.username, &input.current_password)
            .await
            .map_err(|e| match e {
                AppError::Unauthenticated => {
                    AppError::bad_input("input.currentPassword", "is not the current password")
                }
                other => other,
            })?;
        accounts::set_password(&st.db, id, &input.new_password).await?;
        Ok(true)
    }
}
