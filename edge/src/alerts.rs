//! Alerts on Cloudflare Queues: a record that raises one (`d1`) sends it
//! to the queue `ALERTS`; this Worker consumes that queue (fanning each
//! alert out to its webhooks, delivering, retrying with a doubling delay)
//! and its dead-letter queue (recording the deliveries given up on). The
//! console's routes for the webhooks are here too. What is decided is in
//! [`edge_core::flow::alerts`] and [`edge_core::flow::webhooks`].

use edge_core::config::AlertSettings;
use edge_core::flow::alerts::{self, Consumer, Disposition, QueueMessage};
use edge_core::flow::store::DeliveryQuery;
use edge_core::flow::webhooks::{self, Fresh};
use shared::alerts::{NewWebhook, WebhookChange, WebhookRef};
use worker::{Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Request, Response};

use crate::d1::{ALERTS_QUEUE as QUEUE_BINDING, D1Store, alert_id as new_id};
use crate::duo_transport::FetchTransport;
use crate::error::EdgeError;
use crate::routes::{acting, asking, logged_as, param, post_body, reading};
use crate::{request, respond};

/// The consumer of the alerts' queue and of its dead-letter queue (a
/// queue whose name ends in `-dlq`).
pub async fn consume(batch: MessageBatch<String>, env: &Env) {
    let store = match D1Store::from_env(env) {
        Ok(store) => store,
        Err(error) => {
            worker::console_error!("alerts: no database: {error}");
            batch.retry_all();
            return;
        }
    };
    let settings = crate::config::alerts_from_env(env).unwrap_or_else(|problem| {
        worker::console_error!("alerts: {problem}; retrying after 60 s");
        AlertSettings { service: "duo-edge-login".to_owned(), retry_seconds: 60 }
    });
    let dead_letters = batch.queue().ends_with("-dlq");
    let messages = match batch.messages() {
        Ok(messages) => messages,
        Err(error) => {
            worker::console_error!("alerts: unreadable batch: {error}");
            return;
        }
    };
    let transport = FetchTransport::default();
    for message in messages {
        let Some(parsed) = QueueMessage::parse(message.body()) else {
            worker::console_error!("alerts: dropped a message that is not an alert");
            message.ack();
            continue;
        };
        let now = request::now();
        if dead_letters {
            if !alerts::gave_up(&store, &parsed, now).await {
                worker::console_error!("alerts: gave up on a message: {}", short(&parsed));
            }
            message.ack();
            continue;
        }
        let consumer =
            Consumer { service: &settings.service, retry_seconds: settings.retry_seconds, now };
        match alerts::handle(&store, &transport, &parsed, &consumer).await {
            Disposition::Ack => message.ack(),
            Disposition::FanOut(deliveries) => {
                let queue = env.queue(QUEUE_BINDING);
                let texts: Vec<String> = deliveries.iter().map(QueueMessage::to_text).collect();
                let sent = match queue {
                    Ok(queue) => queue.send_batch(texts).await,
                    Err(error) => Err(error),
                };
                match sent {
                    Ok(()) => message.ack(),
                    Err(error) => {
                        worker::console_error!("alerts: could not fan out: {error}");
                        message.retry();
                    }
                }
            }
            Disposition::Retry(delay) => {
                worker::console_warn!("alerts: {} failed; retrying in {delay} s", short(&parsed));
                let options = QueueRetryOptionsBuilder::new().with_delay_seconds(delay).build();
                message.retry_with_options(&options);
            }
        }
    }
}

/// What a message is, for the log (never an address or a secret).
fn short(message: &QueueMessage) -> String {
    match message {
        QueueMessage::Raised { alert } => format!("{} alert {}", alert.kind.as_str(), alert.id),
        QueueMessage::Deliver { alert, webhook_id } => {
            format!("delivery of {} alert {} to {webhook_id}", alert.kind.as_str(), alert.id)
        }
    }
}

/// `GET /api/admin/alerts`.
///
/// # Errors
/// `unauthenticated`, `forbidden`, or storage failures.
pub async fn view(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let bound = env.queue(QUEUE_BINDING).is_ok();
    let view = webhooks::view(&store, &admin, bound, request::now())
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&view, 200)?)
}

/// `GET /api/admin/alerts/deliveries?page=&failed=1&webhook=`.
///
/// # Errors
/// As [`view`].
pub async fn deliveries(req: Request, env: &Env, query: &str) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let page = param(query, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let search = DeliveryQuery {
        failed_only: param(query, "failed").is_some_and(|v| v == "1"),
        webhook: param(query, "webhook").filter(|id| !id.is_empty()),
    };
    let list = webhooks::deliveries(&store, &admin, &search, page)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&list, 200)?)
}

/// `POST /api/admin/alerts/add`: 201 with the signing secret, this once.
///
/// # Errors
/// Every refusal of [`webhooks::add`], as an [`EdgeError`].
pub async fn add(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, new) = post_body::<NewWebhook>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    let (mut id, mut secret) = ([0_u8; 16], zeroize::Zeroizing::new([0_u8; 32]));
    getrandom::getrandom(&mut id)
        .and_then(|()| getrandom::getrandom(secret.as_mut()))
        .map_err(|e| EdgeError::Internal(format!("no randomness: {e}")))?;
    let fresh = Fresh { id: &id, secret: &secret };
    let created = webhooks::add(&store, &admin, &config.app_origin, &new, fresh, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&created, 201)?)
}

/// `POST /api/admin/alerts/change`.
///
/// # Errors
/// Every refusal of [`webhooks::change`], as an [`EdgeError`].
pub async fn change(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, change) = post_body::<WebhookChange>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    let changed = webhooks::change(&store, &admin, &change, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&changed, 200)?)
}

/// `POST /api/admin/alerts/remove`.
///
/// # Errors
/// Every refusal of [`webhooks::remove`], as an [`EdgeError`].
pub async fn remove(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, which) = post_body::<WebhookRef>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    webhooks::remove(&store, &admin, &which, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::empty(204)?)
}

/// `POST /api/admin/alerts/test`: 202; the test alert goes to the queue.
/// It changes nothing, so it needs no fresh confirmation.
///
/// # Errors
/// Every refusal of [`webhooks::test`], and `config_error` without the
/// queue, as an [`EdgeError`].
pub async fn test(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, which) = post_body::<WebhookRef>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = asking(&req, &store, &config, &ctx).await?;
    let queue = env.queue(QUEUE_BINDING).map_err(|_| EdgeError::Refused {
        code: shared::ErrorCode::ConfigError,
        message: Some(
            "This Worker has no ALERTS queue: add the queues of wrangler.toml and deploy again."
                .to_owned(),
        ),
        detail: "no ALERTS queue binding".to_owned(),
    })?;
    let (queued, message) = webhooks::test(&store, &admin, &which, new_id(), &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    queue.send(message.to_text()).await?;
    Ok(respond::json(&queued, 202)?)
}
