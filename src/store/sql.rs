//! A small SQL text builder with bound values, for the statements of the store that are written as SQL (the
//! paged reads with a window per parent and keyset comparisons, aggregates, upserts) and for the access
//! policy's row conditions. Values are always bound, never spliced, and placeholders are rendered for the
//! backend at the end. Where a statement reads as well through sea-orm's query builder, the store uses that.

use sea_orm::{DbBackend, Statement, Value};

#[derive(Clone, Debug, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// `INSERT INTO <table> (<column>, …) VALUES (?, …)` for one row, each column next to its value.
    pub fn insert(table: &str, row: Vec<(&str, Value)>) -> Self {
        let (columns, values): (Vec<&str>, Vec<Value>) = row.into_iter().unzip();
        let mut sql = Self::new(&format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")));
        sql.bind_list(&values);
        sql
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends one placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(value.into());
        self
    }

    /// Appends `(?, ?, …)` bound to `values`; an empty list renders `(NULL)`, which matches nothing.
    pub fn bind_list<V: Into<Value> + Clone>(&mut self, values: &[V]) -> &mut Self {
        if values.is_empty() {
            return self.push("(NULL)");
        }
        self.text.push('(');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v.clone());
        }
        self.text.push(')');
        self
    }

    /// Appends another fragment with its values.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Renders for the backend: `?` for SQLite, `$1, $2, …` for PostgreSQL. The builder never writes a literal
    /// `?` of its own, so every `?` is a placeholder.
    pub fn build(self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 16);
                let mut n = 0;
                for c in self.text.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// A conjunction of conditions over the alias `t`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    parts: Vec<Sql>,
}

impl Filter {
    pub fn and(&mut self, condition: Sql) -> &mut Self {
        self.parts.push(condition);
        self
    }

    pub fn and_text(&mut self, condition: &str) -> &mut Self {
        self.and(Sql::new(condition))
    }

    /// `WHERE a AND b …`, or nothing.
    pub fn render_where(&self, into: &mut Sql) {
        for (i, part) in self.parts.iter().enumerate() {
            into.push(if i == 0 { " WHERE (" } else { " AND (" });
            into.append(part);
            into.push(")");
        }
    }
}

/// An enum's stored value as an SQL literal (`'ACTIVE'`), read from its type, so the value is spelled once, in
/// the entity. Stored values are upper-case ASCII words; anything else would be a bug in an entity and becomes
/// `NULL` (which matches nothing) instead of being spliced.
pub fn literal<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> String {
    let text = value.to_value();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        format!("'{text}'")
    } else {
        "NULL".into()
    }
}

#[cfg(test)]
mod tests {
    use entity::base::BaseKind;
    use entity::member::MemberStatus;
    use entity::transfer::TransferStatus;

    use super::literal;

    #[test]
    fn an_enum_literal_is_its_stored_value_quoted() {
        assert_eq!(literal(MemberStatus::Active), "'ACTIVE'");
        assert_eq!(literal(BaseKind::SpecialZone), "'SPECIAL_ZONE'");
        assert_eq!(literal(TransferStatus::Accepted), "'ACCEPTED'");
    }
}
