//! Limits on a GraphQL document, enforced before any resolver runs: tokens (counted before parsing), then
//! aliases, root fields, directives, depth and cost (measured on the parsed document with fragments expanded).
//! Each refusal has its own `extensions.code` and carries the limit and the measured value, so a client can
//! tell what to change. Nothing executes and no SQL is sent for a refused document.
//!
//! Cost: every field counts 1; a paginated field (one with a `first` argument) multiplies what is under it by
//! its page size: `first` or `last` when given, otherwise the default page, lowered to the real size of the
//! list where the server knows it (the number of provinces, of bases in the largest province, …). `nodes(ids:)`
//! multiplies by the number of ids. Those real sizes are read from the database only when a document would be
//! refused without them, and kept for [`BOUNDS_TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{Name, ServerError, ServerResult, Value, Variables};
use sea_orm::DatabaseConnection;

use crate::config::ConfigError;
use crate::db::Metrics;
use crate::store::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// How long the real sizes of the unit lists are trusted before they are read again.
pub const BOUNDS_TTL: Duration = Duration::from_secs(60);

/// The document limits of one server, each a setting (see [`Limits::from_env`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `GRAPHQL_MAX_TOKENS`: lexical tokens in the document, counted before it is parsed.
    pub max_tokens: usize,
    /// `GRAPHQL_MAX_ALIASES`: aliased fields in the operation, fragments expanded.
    pub max_aliases: usize,
    /// `GRAPHQL_MAX_ROOT_FIELDS`: fields at the top of the operation, fragments expanded.
    pub max_root_fields: usize,
    /// `GRAPHQL_MAX_DIRECTIVES`: directive uses in the operation, fragments expanded.
    pub max_directives: usize,
    /// `GRAPHQL_MAX_DEPTH`: field nesting, fragments expanded.
    pub max_depth: usize,
    /// `GRAPHQL_MAX_COST`: the cost described in the module documentation.
    pub max_cost: u64,
    /// `GRAPHQL_INTROSPECTION`: whether `__schema`/`__type` answer. Default: only in the embedded demo.
    pub introspection: bool,
    /// `GRAPHQL_SUGGESTIONS`: whether validation errors suggest field names ("did you mean"). Default: only in
    /// the embedded demo.
    pub suggestions: bool,
}

impl Default for Limits {
    /// The production defaults: introspection and suggestions off.
    fn default() -> Self {
        Self {
            max_tokens: 2000,
            max_aliases: 15,
            max_root_fields: 20,
            max_directives: 50,
            max_depth: 16,
            max_cost: 200_000,
            introspection: false,
            suggestions: false,
        }
    }
}

fn setting<T>(name: &str, default: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| *n >= min && *n <= max)
            .ok_or_else(|| ConfigError(format!("{name} must be a whole number from {min} to {max}"))),
    }
}

fn flag(name: &str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name).ok().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(_) => Err(ConfigError(format!("{name} must be true or false"))),
    }
}

impl Limits {
    /// Reads the limit settings. `embedded` (the demo) turns introspection and suggestions on by default so
    /// GraphiQL works out of the box; a deployment turns them on only by setting.
    pub fn from_env(embedded: bool) -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            max_tokens: setting("GRAPHQL_MAX_TOKENS", d.max_tokens, 50, 100_000)?,
            max_aliases: setting("GRAPHQL_MAX_ALIASES", d.max_aliases, 0, 1000)?,
            max_root_fields: setting("GRAPHQL_MAX_ROOT_FIELDS", d.max_root_fields, 1, 1000)?,
            max_directives: setting("GRAPHQL_MAX_DIRECTIVES", d.max_directives, 0, 1000)?,
            max_depth: setting("GRAPHQL_MAX_DEPTH", d.max_depth, 2, 100)?,
            max_cost: setting("GRAPHQL_MAX_COST", d.max_cost, 100, 100_000_000)?,
            introspection: flag("GRAPHQL_INTROSPECTION", embedded)?,
            suggestions: flag("GRAPHQL_SUGGESTIONS", embedded)?,
        })
    }
}

/// A refusal: its code, what is measured, the limit and the measured value.
struct Refusal {
    code: &'static str,
    what: &'static str,
    limit: u64,
    measured: u64,
}

impl Refusal {
    fn into_error(self) -> ServerError {
        let mut err = ServerError::new(
            format!(
                "the document has {} {}; at most {} are allowed",
                self.measured, self.what, self.limit
            ),
            None,
        );
        let ext = err.extensions.get_or_insert_with(Default::default);
        ext.set("code", self.code);
        ext.set("limit", self.limit);
        ext.set("measured", self.measured);
        err
    }
}

/// The real sizes of lists the server knows, keyed by (parent type, field).
#[derive(Debug, Default)]
struct Bounds(HashMap<(&'static str, &'static str), u64>);

/// Lists whose real size is cheap to know, in the order of [`crate::store::stats::TreeSizes`]'s fields: one
/// statement reads all of them.
const BOUNDED: [(&str, &str); 5] = [
    ("Query", "provinces"),
    ("Query", "bases"),
    ("Query", "chapters"),
    ("Province", "bases"),
    ("Base", "chapters"),
];

async fn read_bounds(db: &DatabaseConnection) -> Option<Bounds> {
    let sizes = match crate::store::stats::tree_sizes(db).await {
        Ok(Some(sizes)) => sizes,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e.message(), "could not read list sizes for the cost limit; using page sizes");
            return None;
        }
    };
    let sizes = [
        sizes.provinces,
        sizes.bases,
        sizes.chapters,
        sizes.bases_per_province,
        sizes.chapters_per_base,
    ];
    Some(Bounds(
        BOUNDED.into_iter().zip(sizes.map(|n| n.max(0) as u64)).collect(),
    ))
}

type BoundsCache = tokio::sync::Mutex<Option<(Instant, Arc<Bounds>)>>;

/// The limits and this server's cache of list sizes, held by the [`Engine`](super::engine::Engine), which checks
/// every document against them before it executes.
pub struct DocumentLimits {
    limits: Limits,
    bounds: BoundsCache,
}

impl DocumentLimits {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            bounds: tokio::sync::Mutex::new(None),
        }
    }

    async fn bounds(&self, db: &DatabaseConnection) -> Option<Arc<Bounds>> {
        let mut cached = self.bounds.lock().await;
        if let Some((at, bounds)) = cached.as_ref()
            && at.elapsed() < BOUNDS_TTL
        {
            return Some(bounds.clone());
        }
        let fresh = Arc::new(read_bounds(db).await?);
        *cached = Some((Instant::now(), fresh.clone()));
        Some(fresh)
    }

    fn refuse(&self, metrics: &Metrics, refusal: Refusal) -> ServerError {
        metrics.limit_refusals.with_label_values(&[refusal.code]).inc();
        tracing::info!(
            code = refusal.code,
            limit = refusal.limit,
            measured = refusal.measured,
            "document refused by a limit"
        );
        refusal.into_error()
    }

    /// Refuses a document whose text is over the token limit; run before the document is parsed (or found
    /// parsed), so an oversized text costs no more than counting up to the limit.
    pub fn check_text(&self, query: &str, metrics: &Metrics) -> ServerResult<()> {
        let limits = &self.limits;
        let tokens = count_tokens(query, limits.max_tokens + 1);
        if tokens > limits.max_tokens {
            return Err(self.refuse(
                metrics,
                Refusal {
                    code: "TOO_MANY_TOKENS",
                    what: "tokens (or more)",
                    limit: limits.max_tokens as u64,
                    measured: tokens as u64,
                },
            ));
        }
        Ok(())
    }

    /// Refuses a parsed document over a limit of its shape, measured with the request's variables against the
    /// schema's types (`registry`); the real list sizes are read from `db` only when they could save it.
    pub async fn check_document(
        &self,
        registry: &Registry,
        doc: &ExecutableDocument,
        variables: &Variables,
        db: &DatabaseConnection,
        metrics: &Metrics,
    ) -> ServerResult<()> {
        let limits = &self.limits;
        let mut measured = measure(registry, doc, variables, None);
        if measured.cost > limits.max_cost
            && measured.uses_bounds
            && let Some(bounds) = self.bounds(db).await
        {
            measured = measure(registry, doc, variables, Some(&bounds));
        }
        if measured.introspection && !limits.introspection {
            metrics
                .limit_refusals
                .with_label_values(&["INTROSPECTION_DISABLED"])
                .inc();
            let mut err = ServerError::new("introspection is disabled on this server", None);
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", "INTROSPECTION_DISABLED");
            return Err(err);
        }
        let checks = [
            (
                "TOO_MANY_ALIASES",
                "aliases",
                limits.max_aliases as u64,
                measured.aliases,
            ),
            (
                "TOO_MANY_ROOT_FIELDS",
                "root fields",
                limits.max_root_fields as u64,
                measured.root_fields,
            ),
            (
                "TOO_MANY_DIRECTIVES",
                "directives",
                limits.max_directives as u64,
                measured.directives,
            ),
            (
                "QUERY_TOO_DEEP",
                "levels of nesting",
                limits.max_depth as u64,
                measured.depth,
            ),
            ("QUERY_TOO_COMPLEX", "units of cost", limits.max_cost, measured.cost),
        ];
        for (code, what, limit, value) in checks {
            if value > limit {
                return Err(self.refuse(
                    metrics,
                    Refusal {
                        code,
                        what,
                        limit,
                        measured: value,
                    },
                ));
            }
        }
        Ok(())
    }
}

/// Counts the lexical tokens of a GraphQL document (punctuators, names, numbers, strings; not whitespace,
/// commas or comments), stopping once `stop_at` is reached so an oversized document costs no more to refuse.
pub fn count_tokens(source: &str, stop_at: usize) -> usize {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut count = 0;
    while i < bytes.len() && count < stop_at {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                count += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                count += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                i += 3;
                count += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                let numeric = c.is_ascii_digit() || c == b'-';
                i += 1;
                while i < bytes.len() {
                    let d = bytes[i];
                    let part =
                        d.is_ascii_alphanumeric() || d == b'_' || (numeric && (d == b'.' || d == b'+' || d == b'-'));
                    if !part {
                        break;
                    }
                    i += 1;
                }
                count += 1;
            }
            _ => {
                // A punctuator, a byte order mark or anything the parser will refuse: one token per character.
                i += source[i..].chars().next().map_or(1, char::len_utf8);
                count += 1;
            }
        }
    }
    count
}

/// What was measured on a document: the largest value over its operations.
#[derive(Clone, Copy, Debug, Default)]
pub struct Measured {
    pub aliases: u64,
    pub root_fields: u64,
    pub directives: u64,
    pub depth: u64,
    pub cost: u64,
    /// A list with a known real size was costed at the default page; the real size might lower the cost.
    pub uses_bounds: bool,
    /// The document asks for `__schema` or `__type`.
    pub introspection: bool,
}

/// The measures of one selection set, fragments expanded.
#[derive(Clone, Copy, Debug, Default)]
struct SetMeasure {
    fields: u64,
    aliases: u64,
    directives: u64,
    depth: u64,
    cost: u64,
    uses_bounds: bool,
    introspection: bool,
}

impl SetMeasure {
    fn add(&mut self, other: &SetMeasure) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.directives = self.directives.saturating_add(other.directives);
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.uses_bounds |= other.uses_bounds;
        self.introspection |= other.introspection;
    }
}

struct Walker<'a> {
    registry: &'a Registry,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    bounds: Option<&'a Bounds>,
    /// Fragments measured once and reused at every spread, so nested spreads cost no exponential time.
    memo: HashMap<Name, SetMeasure>,
    /// Fragments being measured: a spread of one of them is a cycle, which validation refuses afterwards.
    active: HashSet<Name>,
}

/// Measures every operation of `doc` and returns the largest value of each measure.
fn measure(registry: &Registry, doc: &ExecutableDocument, variables: &Variables, bounds: Option<&Bounds>) -> Measured {
    let mut walker = Walker {
        registry,
        doc,
        variables,
        bounds,
        memo: HashMap::new(),
        active: HashSet::new(),
    };
    let mut out = Measured::default();
    for (_, operation) in doc.operations.iter() {
        let op = &operation.node;
        let root = match op.ty {
            async_graphql::parser::types::OperationType::Query => Some(registry.query_type.as_str()),
            async_graphql::parser::types::OperationType::Mutation => registry.mutation_type.as_deref(),
            async_graphql::parser::types::OperationType::Subscription => registry.subscription_type.as_deref(),
        };
        let set = walker.set(root, &op.selection_set.node);
        out.aliases = out.aliases.max(set.aliases);
        out.root_fields = out.root_fields.max(set.fields);
        out.directives = out
            .directives
            .max(set.directives.saturating_add(op.directives.len() as u64));
        out.depth = out.depth.max(set.depth);
        out.cost = out.cost.max(set.cost);
        out.uses_bounds |= set.uses_bounds;
        out.introspection |= set.introspection;
    }
    out
}

impl Walker<'_> {
    fn set(&mut self, parent: Option<&str>, set: &SelectionSet) -> SetMeasure {
        let mut out = SetMeasure::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let meta = parent
                        .and_then(|p| self.registry.types.get(p))
                        .and_then(|t| t.field_by_name(name));
                    let child_type = meta.map(|m| MetaTypeName::concrete_typename(&m.ty).to_owned());
                    let children = self.set(child_type.as_deref(), &field.selection_set.node);
                    let (multiplier, uses_bounds) = match meta {
                        Some(m) if m.args.contains_key("first") => self.page_size(parent, field),
                        Some(m) if m.args.contains_key("ids") => (self.list_len(field, "ids"), false),
                        _ => (1, false),
                    };
                    out.fields += 1;
                    out.aliases = out.aliases.saturating_add(u64::from(field.alias.is_some()));
                    out.directives = out
                        .directives
                        .saturating_add(field.directives.len() as u64)
                        .saturating_add(children.directives);
                    out.aliases = out.aliases.saturating_add(children.aliases);
                    out.depth = out.depth.max(children.depth.saturating_add(1));
                    out.cost = out
                        .cost
                        .saturating_add(1)
                        .saturating_add(multiplier.saturating_mul(children.cost));
                    out.uses_bounds |= uses_bounds || children.uses_bounds;
                    out.introspection |= name == "__schema" || name == "__type" || children.introspection;
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = inline.type_condition.as_ref().map(|t| t.node.on.node.to_string());
                    let inner = self.set(on.as_deref().or(parent), &inline.selection_set.node);
                    out.directives = out.directives.saturating_add(inline.directives.len() as u64);
                    out.add(&inner);
                }
                Selection::FragmentSpread(spread) => {
                    let spread = &spread.node;
                    out.directives = out.directives.saturating_add(spread.directives.len() as u64);
                    let inner = self.fragment(&spread.fragment_name.node);
                    out.add(&inner);
                }
            }
        }
        out
    }

    fn fragment(&mut self, name: &Name) -> SetMeasure {
        if let Some(known) = self.memo.get(name) {
            return *known;
        }
        let doc = self.doc;
        let Some(fragment) = doc.fragments.get(name) else {
            return SetMeasure::default();
        };
        if !self.active.insert(name.clone()) {
            return SetMeasure::default();
        }
        let on = fragment.node.type_condition.node.on.node.to_string();
        let mut measured = self.set(Some(&on), &fragment.node.selection_set.node);
        measured.directives = measured
            .directives
            .saturating_add(fragment.node.directives.len() as u64);
        self.active.remove(name);
        self.memo.insert(name.clone(), measured);
        measured
    }

    /// The value of an argument with its variables filled in (a missing variable reads as null).
    fn arg(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?.node.clone();
        value
            .into_const_with(|var| {
                Ok::<_, std::convert::Infallible>(self.variables.get(&var).cloned().unwrap_or(Value::Null))
            })
            .ok()
    }

    fn int_arg(&self, field: &Field, name: &str) -> Option<i64> {
        match self.arg(field, name)? {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    fn list_len(&self, field: &Field, name: &str) -> u64 {
        match self.arg(field, name) {
            Some(Value::List(items)) => items.len().max(1) as u64,
            _ => 1,
        }
    }

    /// The page size of a paginated field and whether a known real size lowered (or could lower) it.
    fn page_size(&self, parent: Option<&str>, field: &Field) -> (u64, bool) {
        let asked = self.int_arg(field, "first").or_else(|| self.int_arg(field, "last"));
        let clamp = |n: i64| n.clamp(0, i64::from(MAX_PAGE_SIZE)) as u64;
        if let Some(n) = asked {
            return (clamp(n), false);
        }
        let default = clamp(i64::from(DEFAULT_PAGE_SIZE));
        let key = BOUNDED
            .into_iter()
            .find(|(p, f)| Some(*p) == parent && *f == field.name.node.as_str());
        match (key, self.bounds) {
            (Some(key), Some(bounds)) => {
                let real = bounds.0.get(&key).copied().unwrap_or(default);
                // A list that is empty now may gain a row before the sizes are read again: cost it as one.
                (default.min(real.max(1)), true)
            }
            (Some(_), None) => (default, true),
            (None, _) => (default, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count_tokens;

    #[test]
    fn tokens_are_counted_without_whitespace_commas_or_comments() {
        assert_eq!(count_tokens("{ a, b }", 100), 4);
        assert_eq!(count_tokens("# comment\n{ a(first: 10) }", 100), 8);
        assert_eq!(count_tokens(r#"{ a(s: "x \" y", t: """ block """) }"#, 100), 11);
        assert_eq!(count_tokens("{ ...F } fragment F on Q { a }", 100), 11);
        assert_eq!(count_tokens("{ a(n: -1.5e10) }", 100), 8);
    }

    #[test]
    fn counting_stops_at_the_limit() {
        assert_eq!(count_tokens(&"{ a }".repeat(1000), 10), 10);
    }
}
