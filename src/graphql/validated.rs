//! Strict validation once per document, not once per request.
//!
//! async-graphql's strict validation walks the whole document with twenty-two rules on every request, a document
//! seen before included: 7.1 % of the CPU of a member-by-id request (`BENCHMARKS.md`). Of those rules, one alone
//! looks at anything but the document and the schema: the check that arguments have values of the right type also
//! checks the *values of the variables* the request supplies (and, for that, which operation is selected). Every
//! other verdict is the same for every request carrying the same document.
//!
//! So the [`Engine`](super::engine::Engine) runs a document through the strict schema until one request with it
//! passes validation (the [`Parsed`](super::order::Parsed) document is then marked), and later requests with that
//! document run on the same schema built with async-graphql's fast validation, **if** [`variables_fit`] says
//! every variable value the request supplies is a valid value of the type the document declares for it. Any
//! doubt sends the request through strict validation again, so a bad variable gets the very error it always got.
//!
//! Why checking against the declared types is enough: strict validation of the document already proved every
//! variable is declared by the operations that use it, and is used only where its declared type is allowed
//! (a variable of a type at least as strict as the argument's). A value valid for the declared type is then valid
//! for every argument it flows into, which is what the per-request rule checks. The check here is at least as
//! strict as that rule (every operation's declarations, not only the selected one's; input objects that are not
//! objects are sent back to strict validation rather than accepted). One relaxation of the position rule lets a
//! nullable variable feed a non-null argument that has a default; a variable given as an explicit `null` is
//! therefore always validated strictly.

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Value, Variables};

/// Whether every variable value of the request is a valid value of the type every operation of `document` that
/// declares the variable gives it. `false` means "not proven valid": the request goes through strict validation.
pub fn variables_fit(registry: &Registry, document: &ExecutableDocument, variables: &Variables) -> bool {
    if variables.is_empty() {
        return true;
    }
    document.operations.iter().all(|(_, operation)| {
        operation.node.variable_definitions.iter().all(|definition| {
            let definition = &definition.node;
            match variables.get(&definition.name.node) {
                None => true,
                // A nullable variable may feed an argument of non-null type that has a default (the one
                // relaxation of the rule on variables' positions), and an explicit null is then refused for that
                // argument: proven only by strict validation.
                Some(Value::Null) => false,
                Some(value) => fits(registry, &definition.var_type.node.to_string(), value),
            }
        })
    })
}

/// Whether `value` is a valid input value of the type written `type_name` (`[ID!]!`), with the coercions of input
/// values (a single value where a list is expected).
fn fits(registry: &Registry, type_name: &str, value: &Value) -> bool {
    match MetaTypeName::create(type_name) {
        MetaTypeName::NonNull(inner) => !matches!(value, Value::Null) && fits(registry, inner, value),
        MetaTypeName::List(item) => match value {
            Value::Null => true,
            Value::List(items) => items.iter().all(|value| fits(registry, item, value)),
            single => fits(registry, item, single),
        },
        MetaTypeName::Named(_) if matches!(value, Value::Null) => true,
        MetaTypeName::Named(name) => match registry.types.get(name) {
            Some(MetaType::Scalar { is_valid, .. }) => is_valid.as_ref().is_none_or(|is_valid| is_valid(value)),
            Some(MetaType::Enum { enum_values, .. }) => match value {
                Value::Enum(name) => enum_values.contains_key(name.as_str()),
                Value::String(name) => enum_values.contains_key(name.as_str()),
                _ => false,
            },
            Some(MetaType::InputObject {
                input_fields, oneof, ..
            }) => {
                let Value::Object(fields) = value else {
                    return false;
                };
                if *oneof && (fields.len() != 1 || fields.values().any(|value| matches!(value, Value::Null))) {
                    return false;
                }
                let known = fields.keys().all(|name| input_fields.contains_key(name.as_str()));
                known
                    && input_fields
                        .values()
                        .all(|field| match fields.get(field.name.as_str()) {
                            Some(value) => fits(registry, &field.ty, value),
                            None => field.default_value.is_some() || !MetaTypeName::create(&field.ty).is_non_null(),
                        })
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    fn check(query: &str, json: serde_json::Value) -> bool {
        let registry = super::super::engine::registry();
        let document = async_graphql::parser::parse_query(query).expect("the test's document parses");
        variables_fit(&registry, &document, &variables(json))
    }

    #[test]
    fn values_of_the_declared_types_fit() {
        let query = "query($id: ID!, $first: Int, $status: MemberStatus) { node(id: $id) { id } }";
        assert!(check(
            query,
            serde_json::json!({"id": "TWVtYmVyOjE=", "first": 5, "status": "ACTIVE"})
        ));
        assert!(check(query, serde_json::json!({"id": "TWVtYmVyOjE=", "first": 3})));
        assert!(check(query, serde_json::json!({})));
    }

    #[test]
    fn values_of_other_types_do_not() {
        let query = "query($id: ID!, $first: Int, $status: MemberStatus) { node(id: $id) { id } }";
        assert!(!check(query, serde_json::json!({"id": null})));
        // An explicit null, even of a nullable variable: see `variables_fit`.
        assert!(!check(query, serde_json::json!({"id": "x", "first": null})));
        assert!(!check(query, serde_json::json!({"id": "x", "first": "five"})));
        assert!(!check(query, serde_json::json!({"id": "x", "first": 1.5})));
        assert!(!check(query, serde_json::json!({"id": "x", "status": "SLEEPING"})));
        assert!(!check(query, serde_json::json!({"id": "x", "status": 3})));
    }

    #[test]
    fn lists_take_single_values_and_check_every_item() {
        let query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
        assert!(check(query, serde_json::json!({"ids": ["a", "b"]})));
        assert!(check(query, serde_json::json!({"ids": "a"})));
        assert!(!check(query, serde_json::json!({"ids": ["a", null]})));
        assert!(!check(query, serde_json::json!({"ids": null})));
        let nullable = "query($ids: [ID]) { nodes(ids: $ids) { id } }";
        assert!(check(nullable, serde_json::json!({"ids": ["a", null]})));
    }

    #[test]
    fn input_objects_need_their_required_fields_and_no_unknown_ones() {
        let query = "mutation($input: RenameUnitInput!) { renameUnit(input: $input) { clientMutationId } }";
        let good = serde_json::json!({"id": "Q2hhcHRlcjox", "expectedVersion": 1, "name": "Chi hội 1"});
        assert!(check(query, serde_json::json!({ "input": good })));
        let with_optional = serde_json::json!({"id": "x", "expectedVersion": 1, "name": "n", "clientMutationId": null});
        assert!(check(query, serde_json::json!({ "input": with_optional })));
        assert!(!check(query, serde_json::json!({ "input": {"id": "x", "name": "n"} })));
        assert!(!check(
            query,
            serde_json::json!({ "input": {"id": "x", "expectedVersion": "1", "name": "n"} })
        ));
        assert!(!check(
            query,
            serde_json::json!({ "input": {"id": "x", "expectedVersion": 1, "name": "n", "extra": 1} })
        ));
        assert!(!check(query, serde_json::json!({ "input": "not an object" })));
    }
}
