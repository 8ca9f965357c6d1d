//! Where reminders are delivered: always the log; a signed webhook and an SMS gateway
//! when configured.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::config::Tenant;
use crate::reminder::Notification;

/// Header carrying `sha256=<hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-CityGrid-Signature";

pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Webhook {
    url: String,
    secret: SecretString,
}

struct Sms {
    url: String,
    api_key: SecretString,
    /// Department code → phones.
    phones: HashMap<String, Vec<String>>,
}

pub struct Channels {
    district: String,
    webhook: Option<Webhook>,
    sms: Option<Sms>,
    http: reqwest::Client,
}

impl Channels {
    pub fn from_tenant(tenant: &Tenant) -> Channels {
        let n = &tenant.config.notifications;
        let webhook = match (&n.webhook_url, &n.webhook_secret) {
            (Some(url), Some(secret)) => Some(Webhook {
                url: url.clone(),
                secret: secret.clone(),
            }),
            _ => None,
        };
        let sms = match (&n.sms_url, &n.sms_api_key) {
            (Some(url), Some(api_key)) => Some(Sms {
                url: url.clone(),
                api_key: api_key.clone(),
                phones: tenant
                    .config
                    .departments
                    .iter()
                    .map(|d| (d.code.clone(), d.phones.clone()))
                    .collect(),
            }),
            _ => None,
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Channels {
            district: tenant.code().to_owned(),
            webhook,
            sms,
            http,
        }
    }

    /// Delivers one notification everywhere; an error names the channel that failed.
    pub async fn send(&self, note: &Notification) -> Result<(), String> {
        tracing::info!(notification.id = note.id, case.id = %note.case_id, kind = %note.kind,
            department = note.department_code.as_deref().unwrap_or("-"), text = %note.message, "reminder");
        if let Some(webhook) = &self.webhook {
            self.webhook(webhook, note).await?;
        }
        if let Some(sms) = &self.sms {
            self.sms(sms, note).await?;
        }
        Ok(())
    }

    async fn webhook(&self, webhook: &Webhook, note: &Notification) -> Result<(), String> {
        let body = serde_json::json!({
            "district": self.district,
            "notification": note,
        })
        .to_string();
        let response = self
            .http
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(webhook.secret.expose_secret().as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook: HTTP {}", response.status()))
        }
    }

    /// The generic SMS API: `POST {to: [phones], text, reference}` with a bearer key;
    /// any 2xx is accepted. Departments without phones get no SMS.
    async fn sms(&self, sms: &Sms, note: &Notification) -> Result<(), String> {
        let to = note
            .department_code
            .as_ref()
            .and_then(|d| sms.phones.get(d))
            .filter(|p| !p.is_empty());
        let Some(to) = to else {
            return Ok(());
        };
        let response = self
            .http
            .post(&sms.url)
            .bearer_auth(sms.api_key.expose_secret())
            .json(&serde_json::json!({
                "to": to,
                "text": format!("【CityGrid {}】{}", self.district, note.message),
                "reference": format!("citygrid-{}-{}", self.district, note.id),
            }))
            .send()
            .await
            .map_err(|e| format!("sms: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("sms: HTTP {}", response.status()))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
