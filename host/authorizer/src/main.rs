//! The API Gateway Lambda authorizer: a thin `lambda_runtime` shell around
//! [`authz_authorizer::Authorizer`].

use authz_authorizer::{Authorizer, config::Config, init_logging};
use lambda_runtime::tower::{Service, layer::layer_fn};
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, layers::TracingLayer, service_fn};
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Tidies the authorizer once an invocation's response has been posted to
/// the Runtime API, before the runtime asks for the next event: the caller
/// already has its answer, and the process is not frozen yet.
struct TidyAfterResponse<S> {
    inner: S,
    authorizer: Arc<Authorizer>,
}

impl<S> Service<LambdaInvocation> for TidyAfterResponse<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let posted = self.inner.call(invocation);
        let authorizer = Arc::clone(&self.authorizer);
        Box::pin(async move {
            let result = posted.await;
            authorizer.tidy();
            result
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let authorizer = Arc::new(Authorizer::start(config).await?);
    let handler = Arc::clone(&authorizer);
    Runtime::new(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(&event.payload).await }
    }))
    .layer(TracingLayer::new())
    .layer(layer_fn(move |inner| TidyAfterResponse { inner, authorizer: Arc::clone(&authorizer) }))
    .run()
    .await
}
