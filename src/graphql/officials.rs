//! `importMembers(file: Upload!, dryRun: Boolean!)`: the roster import over the GraphQL multipart request
//! spec. Parsing, planning and writing live in `officials::import`; this is the GraphQL edge.

use async_graphql::{Context, Object, SimpleObject, Upload};

use super::state;
use crate::auth::policy::require_account;
use crate::error::AppResult;
use crate::officials::import::{self, Action};

/// A problem with one row (or, with `row` 0, the whole file). Nothing is written while any error remains.
#[derive(SimpleObject)]
pub struct ImportError {
    /// The row number as the spreadsheet program shows it; 0 for the file as a whole.
    pub row: i32,
    /// The column's header as in the template, when the problem is in one cell.
    pub column: Option<String>,
    pub message: String,
}

/// The outcome of an import: what was done (or, in a dry run or with errors, what would be done).
#[derive(SimpleObject)]
pub struct ImportMembersPayload {
    /// New members (card numbers not yet in the registry).
    pub created: i32,
    /// Existing members (by card number) whose roster data changed.
    pub updated: i32,
    /// Existing members whose roster data is already what the sheet says.
    pub unchanged: i32,
    pub errors: Vec<ImportError>,
    /// Whether the registry was changed: false for a dry run or a file with errors.
    pub applied: bool,
}

#[derive(Default)]
pub struct OfficialsMutation;

#[Object]
impl OfficialsMutation {
    /// Imports a roster in the template (`.xlsx` or `.csv`). The card number is the key: a known card updates
    /// that member, an unknown one admits a new member into the row's chapter. With `dryRun` nothing is
    /// written; otherwise the whole file is applied in one transaction, and only if no row has an error.
    async fn import_members(&self, ctx: &Context<'_>, file: Upload, dry_run: bool) -> AppResult<ImportMembersPayload> {
        let st = state(ctx);
        let actor = require_account(&st.viewer)?.clone();
        let upload = file
            .value(ctx)
            .map_err(|_| crate::error::AppError::bad_input("file", "no file was uploaded under this name"))?;
        let bytes = import::read_upload(upload.into_read())?;
        let parsed = tokio::task::spawn_blocking(move || -> AppResult<_> {
            let table = import::read_table(&bytes)?;
            Ok(import::parse(&table))
        })
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("the import reader stopped: {e}")))??;
        let (rows, errors) = parsed;
        let plan = import::plan(&st.db, &st.viewer, rows, errors).await?;
        let applied = !dry_run && plan.errors.is_empty();
        if applied {
            st.loader.enable_all_cache(false);
            import::apply(&st.db, &actor, &plan).await?;
            // Subscriptions hear of the imported members at once, as after any other mutation.
            st.services.realtime.committed();
        }
        Ok(ImportMembersPayload {
            created: plan.count(|a| matches!(a, Action::Create { .. })) as i32,
            updated: plan.count(|a| matches!(a, Action::Update { .. })) as i32,
            unchanged: plan.count(|a| matches!(a, Action::Unchanged { .. })) as i32,
            errors: plan
                .errors
                .into_iter()
                .map(|e| ImportError {
                    row: e.row as i32,
                    column: e.column,
                    message: e.message,
                })
                .collect(),
            applied,
        })
    }
}
