//! The schema's one extension. Four concerns hook into a request's life: error metrics
//! ([`ErrorCounter`](crate::telemetry::ErrorCounter)), document limits ([`limits`](super::limits)), the
//! parsed-document cache and selection order ([`order`](super::order)), and batches driven with the execution
//! ([`batch`](super::batch)). They are one extension, not four, because async-graphql passes every resolved field
//! through each registered extension's `resolve` step (a boxed future per extension per field): on the tree page
//! (about 10,000 fields) four extensions cost about 10 % of the request's CPU more than one (`BENCHMARKS.md`).
//!
//! Each concern keeps its code in its own module as plain methods that take "the rest" of the stage as a
//! future; this file only fixes their nesting, outermost first:
//! - request: error metrics;
//! - prepare: the operation name for ordering;
//! - parse: metrics pick-up, limits on the text, the document cache (parsing on a miss), limits on the document;
//! - execute: ordering of the response, around the batches driven with the execution;
//! - subscribe: ordering of each event.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerResult, Variables};

use super::{batch, limits, order};
use crate::telemetry::ErrorCounter;

/// Registered once on the schema; holds what outlives a request (the limits, their list-size cache, the
/// document cache) and makes one [`PerRequest`] for each request.
pub struct RequestExtension {
    limits: limits::DocumentLimits,
    order: order::SelectionOrder,
}

impl RequestExtension {
    pub fn new(limits: &limits::Limits) -> Self {
        Self {
            limits: limits::DocumentLimits::new(limits.clone()),
            order: order::SelectionOrder::default(),
        }
    }
}

impl ExtensionFactory for RequestExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            errors: ErrorCounter::default(),
            limits: self.limits.per_request(),
            order: self.order.per_request(),
        })
    }
}

struct PerRequest {
    errors: ErrorCounter,
    limits: limits::LimitsExtension,
    order: order::OrderPerRequest,
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        self.errors.request(next.run(ctx)).await
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.order.prepare_request(next.run(ctx, request)).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        self.errors.capture(ctx);
        let parse = next.run(ctx, query, variables);
        let cached_or_parsed = self.order.parse_query(ctx, query, variables, parse);
        self.limits.parse_query(ctx, query, variables, cached_or_parsed).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let driven = batch::drive_execution(ctx, next.run(ctx, operation_name));
        self.order.execute(ctx, driven).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        self.order.subscribe(ctx, next.run(ctx, stream))
    }
}
