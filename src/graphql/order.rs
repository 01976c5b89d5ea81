//! Response keys in selection order, always. The GraphQL spec orders every object of a response like the
//! selection set that asked for it (CollectFields: first appearance wins, fragments expanded where they apply
//! to the object's runtime type); clients' normalized caches and snapshot tests rely on it.
//!
//! async-graphql 7.2 resolves sibling fields concurrently and inserts each into the response map in the order the
//! fields *finish*, so a field waiting on the database lands after a quicker sibling queried below it: the order
//! of keys changed between identical requests. The [`Engine`](super::engine::Engine) puts every object of `data` back into selection
//! order after execution (and on every event of a subscription), using the parsed document and the schema's
//! types, without serializing execution: siblings still run concurrently and batch through the loaders.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{
    BaseType, Directive, DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{Name, Response, ServerResult, Value, Variables};

/// The response key of the `__typename` probe added to selection sets of abstract type; removed before the
/// response leaves.
const PROBE: &str = "_selectionOrderTypename";

/// The introspection types, which the exported SDL leaves out but a response may contain.
const INTROSPECTION_SDL: &str = r#"
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type
  subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String specifiedByURL: String fields: [__Field!]
  interfaces: [__Type!] possibleTypes: [__Type!] enumValues: [__EnumValue!] inputFields: [__InputValue!]
  ofType: __Type isOneOf: Boolean }
type __Field { name: String! description: String args: [__InputValue!]! type: __Type! isDeprecated: Boolean!
  deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String isDeprecated: Boolean
  deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]! args: [__InputValue!]!
  isRepeatable: Boolean }
"#;

/// What ordering needs to know about one named type.
enum TypeInfo {
    /// An object type: the named type of each field, and the interfaces and unions it belongs to.
    Object {
        fields: HashMap<String, String>,
        supertypes: HashSet<String>,
    },
    /// An interface or union, and (interfaces) its fields.
    Abstract { fields: HashMap<String, String> },
}

/// The schema's types, read once from its SDL.
struct TypeIndex {
    types: HashMap<String, TypeInfo>,
    query: String,
    mutation: String,
    subscription: String,
}

impl TypeIndex {
    fn from_sdl(sdl: &str) -> Self {
        let mut index = TypeIndex {
            types: HashMap::new(),
            query: "Query".into(),
            mutation: "Mutation".into(),
            subscription: "Subscription".into(),
        };
        let mut unions: Vec<(String, Vec<String>)> = Vec::new();
        let mut interfaces: Vec<(String, HashMap<String, String>)> = Vec::new();
        for source in [sdl, INTROSPECTION_SDL] {
            let document = match async_graphql::parser::parse_schema(source) {
                Ok(document) => document,
                Err(e) => {
                    // Ordering then leaves responses as executed; it never fails a request.
                    tracing::error!(error = %e, "the schema's SDL does not parse; responses keep executor order");
                    continue;
                }
            };
            for definition in document.definitions {
                match definition {
                    TypeSystemDefinition::Schema(schema) => {
                        let schema = schema.node;
                        if let Some(q) = schema.query {
                            index.query = q.node.to_string();
                        }
                        if let Some(m) = schema.mutation {
                            index.mutation = m.node.to_string();
                        }
                        if let Some(s) = schema.subscription {
                            index.subscription = s.node.to_string();
                        }
                    }
                    TypeSystemDefinition::Type(ty) => {
                        let name = ty.node.name.node.to_string();
                        match ty.node.kind {
                            TypeKind::Object(object) => {
                                let fields = object
                                    .fields
                                    .iter()
                                    .map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node.base)))
                                    .collect();
                                let supertypes = object.implements.iter().map(|i| i.node.to_string()).collect();
                                index.types.insert(name, TypeInfo::Object { fields, supertypes });
                            }
                            TypeKind::Interface(interface) => {
                                let fields = interface
                                    .fields
                                    .iter()
                                    .map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node.base)))
                                    .collect();
                                interfaces.push((name, fields));
                            }
                            TypeKind::Union(union) => {
                                unions.push((name, union.members.iter().map(|m| m.node.to_string()).collect()))
                            }
                            _ => {}
                        }
                    }
                    TypeSystemDefinition::Directive(_) => {}
                }
            }
        }
        // The introspection fields of the root query type, which the SDL does not list.
        if let Some(TypeInfo::Object { fields, .. }) = index.types.get_mut(&index.query) {
            fields.entry("__schema".into()).or_insert_with(|| "__Schema".into());
            fields.entry("__type".into()).or_insert_with(|| "__Type".into());
        }
        for (interface, fields) in interfaces {
            index.types.insert(interface, TypeInfo::Abstract { fields });
        }
        for (union, members) in unions {
            for member in &members {
                if let Some(TypeInfo::Object { supertypes, .. }) = index.types.get_mut(member) {
                    supertypes.insert(union.clone());
                }
            }
            index.types.insert(union, TypeInfo::Abstract { fields: HashMap::new() });
        }
        index
    }

    fn root(&self, ty: OperationType) -> &str {
        match ty {
            OperationType::Query => &self.query,
            OperationType::Mutation => &self.mutation,
            OperationType::Subscription => &self.subscription,
        }
    }

    /// Whether a fragment with `condition` applies to an object of the concrete type `object`.
    fn applies(&self, condition: &str, object: &str) -> bool {
        condition == object
            || matches!(self.types.get(object), Some(TypeInfo::Object { supertypes, .. }) if supertypes.contains(condition))
    }

    fn field_type(&self, parent: &str, field: &str) -> Option<&str> {
        match self.types.get(parent)? {
            TypeInfo::Object { fields, .. } | TypeInfo::Abstract { fields, .. } => {
                fields.get(field).map(String::as_str)
            }
        }
    }

    fn is_abstract(&self, ty: &str) -> bool {
        matches!(self.types.get(ty), Some(TypeInfo::Abstract { .. }))
    }

    /// Adds a `__typename` probe to every selection set of an interface or union type, so ordering knows each
    /// object's runtime type exactly (two types may share the same response keys in a different order).
    fn add_probes(&self, document: &mut ExecutableDocument) {
        let mut roots: Vec<(String, &mut SelectionSet)> = Vec::new();
        match &mut document.operations {
            DocumentOperations::Single(op) => {
                roots.push((self.root(op.node.ty).to_owned(), &mut op.node.selection_set.node));
            }
            DocumentOperations::Multiple(ops) => {
                for op in ops.values_mut() {
                    roots.push((self.root(op.node.ty).to_owned(), &mut op.node.selection_set.node));
                }
            }
        }
        for fragment in document.fragments.values_mut() {
            let on = fragment.node.type_condition.node.on.node.to_string();
            roots.push((on, &mut fragment.node.selection_set.node));
        }
        for (ty, set) in roots {
            self.probe(&ty, set);
        }
    }

    fn probe(&self, ty: &str, set: &mut SelectionSet) {
        for selection in &mut set.items {
            match &mut selection.node {
                Selection::Field(field) => {
                    let field = &mut field.node;
                    if field.selection_set.node.items.is_empty() {
                        continue;
                    }
                    let Some(child) = self.field_type(ty, &field.name.node).map(str::to_owned) else {
                        continue;
                    };
                    self.probe(&child, &mut field.selection_set.node);
                    if self.is_abstract(&child) {
                        let pos = field.selection_set.pos;
                        let probe = async_graphql::parser::types::Field {
                            alias: Some(Positioned::new(Name::new(PROBE), pos)),
                            name: Positioned::new(Name::new("__typename"), pos),
                            arguments: Vec::new(),
                            directives: Vec::new(),
                            selection_set: Positioned::new(SelectionSet::default(), pos),
                        };
                        field
                            .selection_set
                            .node
                            .items
                            .push(Positioned::new(Selection::Field(Positioned::new(probe, pos)), pos));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = match &fragment.node.type_condition {
                        Some(condition) => condition.node.on.node.to_string(),
                        None => ty.to_owned(),
                    };
                    self.probe(&on, &mut fragment.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

fn named(base: &BaseType) -> String {
    match base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(&inner.base),
    }
}

/// The ordering's state across requests: the schema's type index and the parsed documents. Held by the
/// [`Engine`](super::engine::Engine), which parses (or finds) each document here and orders each response.
pub struct SelectionOrder {
    index: TypeIndex,
    documents: Documents,
}

/// How many parsed documents are kept; when full, the cache starts over.
const DOCUMENTS_KEPT: usize = 256;
/// Longer documents are parsed every time rather than kept.
const DOCUMENT_KEPT_BYTES: usize = 16 * 1024;

/// A parsed document (probes added), and whether async-graphql's strict validation has passed it once.
pub struct Parsed {
    pub document: ExecutableDocument,
    validated: AtomicBool,
}

impl Parsed {
    fn new(document: ExecutableDocument) -> Self {
        Self {
            document,
            validated: AtomicBool::new(false),
        }
    }

    /// Whether a request with this document has passed strict validation. What strict validation decides about a
    /// document depends only on the document and the schema, except the values of its variables (see
    /// [`super::validated`]).
    pub fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    pub fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

/// Documents already parsed (probes added), by their text. Clients send the same few documents over and over with
/// different variables, and parsing was the largest fixed cost of a small request: a document seen before is
/// cloned from here instead. Only documents that parsed are kept; every request is still measured against the
/// limits with its own variables, and its variables are checked against the document's declared types.
#[derive(Default)]
struct Documents(Mutex<HashMap<Arc<str>, Arc<Parsed>>>);

impl Documents {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Parsed>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, query: &str) -> Option<Arc<Parsed>> {
        if query.len() > DOCUMENT_KEPT_BYTES {
            return None;
        }
        self.lock().get(query).cloned()
    }

    fn keep(&self, query: &str, document: Arc<Parsed>) {
        if query.len() > DOCUMENT_KEPT_BYTES {
            return;
        }
        let mut documents = self.lock();
        if documents.len() >= DOCUMENTS_KEPT {
            documents.clear();
        }
        documents.insert(Arc::from(query), document);
    }
}

impl SelectionOrder {
    /// The ordering of the schema whose SDL is `sdl`.
    pub fn new(sdl: &str) -> Self {
        Self {
            index: TypeIndex::from_sdl(sdl),
            documents: Documents::default(),
        }
    }

    /// The document of `query`: seen before, from the cache; otherwise parsed, with its probes added, and kept
    /// for next time.
    pub fn document(&self, query: &str) -> ServerResult<Arc<Parsed>> {
        if let Some(document) = self.documents.get(query) {
            return Ok(document);
        }
        let mut document = async_graphql::parser::parse_query(query)?;
        check_nesting(&document)?;
        self.index.add_probes(&mut document);
        let document = Arc::new(Parsed::new(document));
        self.documents.keep(query, document.clone());
        Ok(document)
    }

    /// Puts `response.data` into the selection order of `doc`'s operation `operation_name`, as executed with
    /// `variables`.
    pub fn reorder(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        operation_name: Option<&str>,
        response: &mut Response,
    ) {
        let index = &self.index;
        let operation = match (&doc.operations, operation_name) {
            (DocumentOperations::Single(op), _) => &op.node,
            (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
                Some(op) => &op.node,
                None => return,
            },
            (DocumentOperations::Multiple(ops), None) => match ops.values().next() {
                Some(op) if ops.len() == 1 => &op.node,
                _ => return,
            },
        };
        let mut defaults = Variables::default();
        for definition in &operation.variable_definitions {
            let name = &definition.node.name.node;
            if !variables.contains_key(name)
                && let Some(value) = definition.node.default_value()
            {
                defaults.insert(name.clone(), value.clone());
            }
        }
        let cx = Cx {
            index,
            doc,
            variables,
            defaults: &defaults,
        };
        cx.order(
            &mut response.data,
            index.root(operation.ty),
            &[&operation.selection_set.node],
        );
    }
}

/// How deep selection sets may nest (fragments entered where they are spread) before a document is refused
/// unwalked: the walks over a document that follow (the probes here, the limits' measures, validation) recurse
/// once per level. The same bound and message as async-graphql's own check, which runs after ours.
const MAX_NESTING: usize = 32;

fn check_nesting(doc: &ExecutableDocument) -> ServerResult<()> {
    fn walk(doc: &ExecutableDocument, set: &Positioned<SelectionSet>, depth: usize) -> ServerResult<()> {
        if depth > MAX_NESTING {
            return Err(async_graphql::ServerError::new(
                format!("The recursion depth of the query cannot be greater than `{MAX_NESTING}`"),
                Some(set.pos),
            ));
        }
        for item in &set.node.items {
            match &item.node {
                Selection::Field(field) if !field.node.selection_set.node.items.is_empty() => {
                    walk(doc, &field.node.selection_set, depth + 1)?
                }
                Selection::Field(_) => {}
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        walk(doc, &fragment.node.selection_set, depth + 1)?
                    }
                }
                Selection::InlineFragment(inline) => walk(doc, &inline.node.selection_set, depth + 1)?,
            }
        }
        Ok(())
    }
    for (_, operation) in doc.operations.iter() {
        walk(doc, &operation.node.selection_set, 0)?;
    }
    Ok(())
}

/// One ordering pass over a response.
struct Cx<'a> {
    index: &'a TypeIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    defaults: &'a Variables,
}

/// The fields of one object in response order: response key → (field name, the selection sets under it).
type Plan<'a> = Vec<(&'a Name, &'a Name, Vec<&'a SelectionSet>)>;

/// A plan ready to apply: each response key, the named type of its field (when it has a selection set under
/// it) and the selection sets under it.
type Ready<'a> = Vec<(&'a Name, Option<&'a str>, Vec<&'a SelectionSet>)>;

impl<'a> Cx<'a> {
    /// Puts `value` (an object or a list of them, of type `ty`, asked for by `sets`) into selection order. The
    /// objects of one list share their plan: it is worked out once per runtime type, not once per object.
    fn order(&self, value: &mut Value, ty: &str, sets: &[&'a SelectionSet]) {
        let mut last: Option<(Cow<'a, str>, Ready<'a>)> = None;
        self.order_with(value, ty, sets, &mut last);
    }

    fn order_with(
        &self,
        value: &mut Value,
        ty: &str,
        sets: &[&'a SelectionSet],
        last: &mut Option<(Cow<'a, str>, Ready<'a>)>,
    ) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.order_with(item, ty, sets, last);
                }
            }
            Value::Object(map) => {
                let Some(object) = self.concrete(ty, map) else { return };
                let plan = match last {
                    Some((known, plan)) if *known == object => plan,
                    _ => {
                        let ready = self.plan(&object, sets);
                        &last.insert((object, ready)).1
                    }
                };
                self.apply(map, plan);
            }
            _ => {}
        }
    }

    /// CollectFields for an object of type `object`, with each field's type looked up once.
    fn plan(&self, object: &str, sets: &[&'a SelectionSet]) -> Ready<'a> {
        let mut plan: Plan<'a> = Vec::new();
        let mut visited = HashSet::new();
        self.collect(object, sets, &mut plan, &mut visited);
        plan.into_iter()
            .map(|(key, field, subsets)| {
                let child = if subsets.is_empty() {
                    None
                } else {
                    self.index.field_type(object, field)
                };
                (key, child, subsets)
            })
            .collect()
    }

    /// Orders one object's keys by `plan` and its children by their own selection sets. An object already in
    /// order (the usual case: fields that finish in the order they were asked) is left in place.
    fn apply(&self, map: &mut IndexMap<Name, Value>, plan: &Ready<'a>) {
        let in_order = map.len() == plan.len() && map.keys().zip(plan).all(|(key, (wanted, _, _))| key == *wanted);
        if in_order {
            for (child, (_, child_ty, subsets)) in map.values_mut().zip(plan) {
                if let Some(child_ty) = child_ty {
                    self.order(child, child_ty, subsets);
                }
            }
            return;
        }
        let mut old = std::mem::take(map);
        for (key, child_ty, subsets) in plan {
            let Some(mut child) = old.swap_remove(*key) else {
                continue;
            };
            if let Some(child_ty) = child_ty {
                self.order(&mut child, child_ty, subsets);
            }
            map.insert((*key).clone(), child);
        }
        // Anything the plan did not foresee stays, after the rest, rather than being lost.
        map.extend(old);
    }

    /// CollectFields of the GraphQL spec for an object of type `object`.
    fn collect(&self, object: &str, sets: &[&'a SelectionSet], plan: &mut Plan<'a>, visited: &mut HashSet<&'a Name>) {
        for set in sets {
            for selection in &set.items {
                if !self.included(selection.node.directives()) {
                    continue;
                }
                match &selection.node {
                    Selection::Field(field) => {
                        let field = &field.node;
                        let key = &field.response_key().node;
                        let position = match plan.iter().position(|(k, _, _)| *k == key) {
                            Some(p) => p,
                            None => {
                                plan.push((key, &field.name.node, Vec::new()));
                                plan.len() - 1
                            }
                        };
                        if !field.selection_set.node.items.is_empty() {
                            plan[position].2.push(&field.selection_set.node);
                        }
                    }
                    Selection::FragmentSpread(spread) => {
                        let name = &spread.node.fragment_name.node;
                        if !visited.insert(name) {
                            continue;
                        }
                        if let Some(fragment) = self.doc.fragments.get(name)
                            && self.index.applies(&fragment.node.type_condition.node.on.node, object)
                        {
                            self.collect(object, &[&fragment.node.selection_set.node], plan, visited);
                        }
                    }
                    Selection::InlineFragment(fragment) => {
                        let applies = match &fragment.node.type_condition {
                            None => true,
                            Some(condition) => self.index.applies(&condition.node.on.node, object),
                        };
                        if applies {
                            self.collect(object, &[&fragment.node.selection_set.node], plan, visited);
                        }
                    }
                }
            }
        }
    }

    /// `@skip(if:)` and `@include(if:)`, with literal or variable conditions.
    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|d| match d.node.name.node.as_str() {
            "skip" => !self.condition(d),
            "include" => self.condition(d),
            _ => true,
        })
    }

    fn condition(&self, directive: &Positioned<Directive>) -> bool {
        let Some(argument) = directive.node.get_argument("if") else {
            return false;
        };
        let value = argument.node.clone().into_const_with(|name| {
            let value = self.variables.get(&name).or_else(|| self.defaults.get(&name));
            Ok::<_, ()>(value.cloned().unwrap_or(Value::Null))
        });
        matches!(value, Ok(Value::Boolean(true)))
    }

    /// The runtime type of an object: the field's type when it is an object type; for an interface or union, the
    /// probe's answer (taken out of the object here).
    fn concrete(&self, ty: &str, map: &mut IndexMap<Name, Value>) -> Option<Cow<'a, str>> {
        let index: &'a TypeIndex = self.index;
        match index.types.get_key_value(ty)? {
            (name, TypeInfo::Object { .. }) => Some(Cow::Borrowed(name.as_str())),
            (_, TypeInfo::Abstract { .. }) => match map.shift_remove(PROBE) {
                Some(Value::String(name)) => Some(match index.types.get_key_value(name.as_str()) {
                    Some((known, _)) => Cow::Borrowed(known.as_str()),
                    None => Cow::Owned(name),
                }),
                _ => None,
            },
        }
    }
}
