//! What runs a GraphQL request around the schema: document limits, the parsed-document cache, the batches driven
//! with the execution, selection order and error metrics, in that order:
//! - the text is checked against the token limit ([`limits`]);
//! - the document is found parsed, or parsed, checked for nesting and given its ordering probes ([`order`]);
//! - its shape is measured against the other limits with the request's variables ([`limits`]);
//! - the schema executes it (handed over parsed), with the request's loaders driven in the same task ([`batch`]):
//!   with strict validation until a request with the document passes it, then with fast validation for requests
//!   whose variables fit the document's declared types ([`validated`]);
//! - the response is put into selection order ([`order`]) and its errors are counted
//!   ([`count_errors`](crate::telemetry::count_errors)).
//!
//! These are not an async-graphql extension on purpose. With any extension registered, async-graphql passes every
//! resolved field and every list item through the extension chain (a boxed future, a `ResolveInfo` and two
//! lookups of the field's type by name per field); on the tree page (about 10,000 fields) that was a fifth of the
//! request's CPU (`BENCHMARKS.md`). Every stage here happens once per request instead.
//!
//! The HTTP handler calls [`Engine::execute`]; the WebSocket protocol drives the engine as its
//! [`Executor`](async_graphql::Executor), so subscriptions and operations over a socket meet the same limits and
//! ordering.

use std::any::TypeId;
use std::sync::Arc;

use async_graphql::futures_util::StreamExt;
use async_graphql::futures_util::stream::{self, BoxStream};
use async_graphql::registry::Registry;
use async_graphql::{Data, Executor, OutputType, Request, Response, ServerResult, SubscriptionType};
use sea_orm::DatabaseConnection;

use super::limits::{DocumentLimits, Limits};
use super::order::{Parsed, SelectionOrder};
use super::validated::variables_fit;
use super::{AppSchema, Mutation, Query, State, subscription::Subscription};
use crate::db::Metrics;
use crate::telemetry::count_errors;

/// The schema with the stages that run around it. Cheap to clone (shared).
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

struct Inner {
    /// The schema, validating every request strictly.
    schema: AppSchema,
    /// The same schema with fast validation, for documents [`Parsed::validated`] and variables that fit.
    fast: AppSchema,
    /// The schema's types, as the limits measure a document against them.
    registry: Registry,
    limits: DocumentLimits,
    order: SelectionOrder,
    /// Where the limits read the real sizes of the unit lists.
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
}

/// The types of the schema's roots, as `Schema::build` registers them (the schema's own registry is not public):
/// what the limits need to know of a field (its type, its arguments) is the same.
pub(crate) fn registry() -> Registry {
    let mut registry = Registry {
        types: Default::default(),
        directives: Default::default(),
        implements: Default::default(),
        query_type: <Query as OutputType>::type_name().into_owned(),
        mutation_type: Some(<Mutation as OutputType>::type_name().into_owned()),
        subscription_type: Some(<Subscription as SubscriptionType>::type_name().into_owned()),
        introspection_mode: Default::default(),
        enable_federation: false,
        federation_subscription: false,
        ignore_name_conflicts: Default::default(),
        enable_suggestions: true,
    };
    <Query as OutputType>::create_type_info(&mut registry);
    <Mutation as OutputType>::create_type_info(&mut registry);
    <Subscription as SubscriptionType>::create_type_info(&mut registry);
    registry
}

/// The request's [`State`], when the server attached one.
fn state_of(data: &Data) -> Option<&State> {
    data.get(&TypeId::of::<State>())
        .and_then(|value| value.downcast_ref::<State>())
}

impl Engine {
    pub fn new(limits: &Limits, db: DatabaseConnection, metrics: Arc<Metrics>) -> Self {
        let schema = super::build_schema_with(limits);
        let order = SelectionOrder::new(&schema.sdl());
        Self(Arc::new(Inner {
            schema,
            fast: super::build_schema_for_validated(limits),
            registry: registry(),
            limits: DocumentLimits::new(limits.clone()),
            order,
            db,
            metrics,
        }))
    }

    /// Checks the request's document against the limits and hands it to the request parsed; the document
    /// (with its ordering probes) is returned for ordering the response.
    async fn prepare(&self, request: &mut Request) -> ServerResult<Arc<Parsed>> {
        let inner = &*self.0;
        inner.limits.check_text(&request.query, &inner.metrics)?;
        let document = inner.order.document(&request.query)?;
        inner
            .limits
            .check_document(
                &inner.registry,
                &document.document,
                &request.variables,
                &inner.db,
                &inner.metrics,
            )
            .await?;
        request.set_parsed_query(document.document.clone());
        Ok(document)
    }

    /// Runs one query or mutation.
    pub async fn execute(&self, mut request: Request) -> Response {
        let inner = &*self.0;
        let response = match self.prepare(&mut request).await {
            Err(refused) => Response::from_errors(vec![refused]),
            Ok(document) => {
                let operation_name = request.operation_name.clone();
                let variables = request.variables.clone();
                let loader = state_of(&request.data).map(|state| state.loader.clone());
                let validated = document.validated() && variables_fit(&inner.registry, &document.document, &variables);
                let schema = if validated {
                    inner.metrics.fast_validations.inc();
                    &inner.fast
                } else {
                    inner.metrics.strict_validations.inc();
                    &inner.schema
                };
                let execution = schema.execute(request);
                let mut response = match loader {
                    Some(loader) => loader.drive(execution).await,
                    None => execution.await,
                };
                if !validated && passed_validation(&response) {
                    document.mark_validated();
                }
                inner
                    .order
                    .reorder(&document.document, &variables, operation_name.as_deref(), &mut response);
                response
            }
        };
        count_errors(&inner.metrics, &response);
        response
    }

    /// Runs a subscription (or, over a WebSocket, any operation): each event in selection order.
    pub fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let engine = self.clone();
        stream::once(async move {
            let inner = &*engine.0;
            match engine.prepare(&mut request).await {
                Err(refused) => {
                    let response = Response::from_errors(vec![refused]);
                    count_errors(&inner.metrics, &response);
                    stream::once(async move { response }).boxed()
                }
                Ok(document) => {
                    let operation_name = request.operation_name.clone();
                    let variables = request.variables.clone();
                    let events = inner
                        .schema
                        .execute_stream_with_session_data(request, session_data.unwrap_or_default());
                    let engine = engine.clone();
                    events
                        .map(move |mut response| {
                            let inner = &*engine.0;
                            inner.order.reorder(
                                &document.document,
                                &variables,
                                operation_name.as_deref(),
                                &mut response,
                            );
                            count_errors(&inner.metrics, &response);
                            response
                        })
                        .boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}

/// Whether a response of the strict schema shows its document passed validation: every error it carries (if any)
/// was raised while resolving a field, with that field's path. Validation errors (and the refusal of an unknown
/// operation name, which comes after validation) have no path; a response with one leaves the document unmarked.
fn passed_validation(response: &Response) -> bool {
    response.errors.iter().all(|error| !error.path.is_empty())
}

impl Executor for Engine {
    fn execute(&self, request: Request) -> impl Future<Output = Response> + Send {
        Engine::execute(self, request)
    }

    fn execute_stream(&self, request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        Engine::execute_stream(self, request, session_data)
    }
}
