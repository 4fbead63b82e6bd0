//! [`AlertStore`] over D1 (`migrations/0015_alerts.sql`).

use serde::Deserialize;
use shared::alerts::{AlertKind, Delivery, WebhookFormat};

use edge_core::flow::store::{
    AdminEvent, AlertStore, DELIVERIES_KEPT_SECONDS, DeliveryQuery, StoreError, StoredWebhook,
};
use edge_core::keys::SigningSecret;

use super::{Count, D1Store, admin_event_values, failed, first_row, number, text, text_or_null};

/// A row of `alert_webhooks`.
#[derive(Deserialize)]
struct WebhookRow {
    id: String,
    name: String,
    url: String,
    format: String,
    events: String,
    enabled: u8,
    secret: String,
    created_at: u64,
    created_by: String,
}

impl WebhookRow {
    fn into_webhook(self) -> StoredWebhook {
        StoredWebhook {
            id: self.id,
            name: self.name,
            url: self.url,
            // The table's CHECK allows these two only.
            format: WebhookFormat::parse(&self.format).unwrap_or(WebhookFormat::Json),
            events: self.events.split(',').filter_map(AlertKind::parse).collect(),
            enabled: self.enabled == 1,
            secret: SigningSecret::stored(self.secret),
            created_at: self.created_at,
            created_by: self.created_by,
        }
    }
}

fn events_text(events: &[AlertKind]) -> String {
    events.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(",")
}

/// An admin event (`?1`..`?6`) written only while webhook `?7` exists.
const RECORD_IF_WEBHOOK: &str = "INSERT INTO admin_events \
    (at, actor, action, target, detail, client_ip) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM alert_webhooks WHERE id = ?7)";

const DELIVERY_COLUMNS: &str = "SELECT at, alert_id, kind, webhook_id, webhook_name, attempt, \
    outcome, status, error, retry_at FROM alert_deliveries";

/// `?1` 1 for failures only, `?2` a webhook id ('' for any).
const DELIVERY_FILTER: &str =
    "WHERE (?1 = 0 OR outcome != 'delivered') AND (?2 = '' OR webhook_id = ?2)";

impl AlertStore for D1Store {
    async fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        let rows = self
            .0
            .prepare(
                "SELECT id, name, url, format, events, enabled, secret, created_at, created_by \
                 FROM alert_webhooks ORDER BY lower(name)",
            )
            .all()
            .await
            .map_err(failed)?;
        let rows = rows.results::<WebhookRow>().map_err(failed)?;
        Ok(rows.into_iter().map(WebhookRow::into_webhook).collect())
    }

    async fn add_webhook(
        &self,
        webhook: &StoredWebhook,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let id = text(&webhook.id);
        let [inserted, _] = self
            .batch([
                (
                    // The unique index on lower(name) refuses a twin.
                    "INSERT INTO alert_webhooks (id, name, url, format, events, enabled, secret, \
                     created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT DO NOTHING RETURNING id AS username",
                    vec![
                        id.clone(),
                        text(&webhook.name),
                        text(&webhook.url),
                        text(webhook.format.as_str()),
                        text(&events_text(&webhook.events)),
                        number(u64::from(webhook.enabled)),
                        text(webhook.secret.expose()),
                        number(webhook.created_at),
                        text(&webhook.created_by),
                    ],
                ),
                (RECORD_IF_WEBHOOK, admin_event_values(event).into_iter().chain([id]).collect()),
            ])
            .await?;
        let added = first_row::<super::Username>(&inserted)?.is_some();
        if added {
            self.raise_admin(event).await;
        }
        Ok(added)
    }

    async fn change_webhook(
        &self,
        id: &str,
        enabled: bool,
        events: &[AlertKind],
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let [_, changed] = self
            .batch([
                (
                    RECORD_IF_WEBHOOK,
                    admin_event_values(event).into_iter().chain([text(id)]).collect(),
                ),
                (
                    "UPDATE alert_webhooks SET enabled = ?2, events = ?3 WHERE id = ?1 \
                     RETURNING id AS username",
                    vec![text(id), number(u64::from(enabled)), text(&events_text(events))],
                ),
            ])
            .await?;
        let changed = first_row::<super::Username>(&changed)?.is_some();
        if changed {
            self.raise_admin(event).await;
        }
        Ok(changed)
    }

    async fn remove_webhook(&self, id: &str, event: &AdminEvent) -> Result<bool, StoreError> {
        let [_, removed] = self
            .batch([
                (
                    RECORD_IF_WEBHOOK,
                    admin_event_values(event).into_iter().chain([text(id)]).collect(),
                ),
                (
                    "DELETE FROM alert_webhooks WHERE id = ?1 RETURNING id AS username",
                    vec![text(id)],
                ),
            ])
            .await?;
        let removed = first_row::<super::Username>(&removed)?.is_some();
        if removed {
            self.raise_admin(event).await;
        }
        Ok(removed)
    }

    async fn claim_alert(&self, key: &str, now: u64, until: u64) -> Result<bool, StoreError> {
        let claimed: Option<serde_json::Value> = self
            .first(
                "INSERT INTO alert_claims (key, until) VALUES (?1, ?3) ON CONFLICT (key) \
                 DO UPDATE SET until = excluded.until WHERE alert_claims.until <= ?2 \
                 RETURNING key",
                &[text(key), number(now), number(until)],
            )
            .await?;
        Ok(claimed.is_some())
    }

    async fn record_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.batch([
            (
                "INSERT INTO alert_deliveries (at, alert_id, kind, webhook_id, webhook_name, \
                 attempt, outcome, status, error, retry_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                vec![
                    number(delivery.at),
                    text(&delivery.alert_id),
                    text(delivery.kind.as_str()),
                    text(&delivery.webhook_id),
                    text(&delivery.webhook_name),
                    number(u64::from(delivery.attempt)),
                    text(delivery.outcome.as_str()),
                    delivery.status.map_or(wasm_bindgen::JsValue::NULL, |s| number(u64::from(s))),
                    text_or_null(delivery.error.as_deref()),
                    delivery.retry_at.map_or(wasm_bindgen::JsValue::NULL, number),
                ],
            ),
            (
                "DELETE FROM alert_deliveries WHERE at < ?1",
                vec![number(delivery.at.saturating_sub(DELIVERIES_KEPT_SECONDS))],
            ),
        ])
        .await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        query: &DeliveryQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Delivery>, u32), StoreError> {
        let filter = vec![
            number(u64::from(query.failed_only)),
            text(query.webhook.as_deref().unwrap_or("")),
        ];
        let paged: Vec<_> = filter
            .iter()
            .cloned()
            .chain([number(u64::from(offset)), number(u64::from(limit))])
            .collect();
        let list = format!(
            "{DELIVERY_COLUMNS} {DELIVERY_FILTER} ORDER BY at DESC, id DESC LIMIT ?4 OFFSET ?3"
        );
        let count = format!("SELECT count(*) AS count FROM alert_deliveries {DELIVERY_FILTER}");
        let [rows, total] = self.batch([(list.as_str(), paged), (count.as_str(), filter)]).await?;
        let total = first_row::<Count>(&total)?.map_or(0, |c| c.count);
        Ok((rows.results::<Delivery>().map_err(failed)?, total))
    }

    async fn failures_since(&self, since: u64) -> Result<u32, StoreError> {
        let count: Option<Count> = self
            .first(
                "SELECT count(*) AS count FROM alert_deliveries \
                 WHERE at >= ?1 AND outcome != 'delivered'",
                &[number(since)],
            )
            .await?;
        Ok(count.map_or(0, |c| c.count))
    }
}
