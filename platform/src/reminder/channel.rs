//! Where reminders are delivered: always the log, and a signed webhook when configured.
//! (An SMS gateway adapter plugs in the same way.)

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

pub struct Channels {
    district: String,
    webhook: Option<Webhook>,
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
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Channels {
            district: tenant.code().to_owned(),
            webhook,
            http,
        }
    }

    /// Delivers one notification everywhere; an error names the channel that failed.
    pub async fn send(&self, note: &Notification) -> Result<(), String> {
        tracing::info!(notification.id = note.id, case.id = %note.case_id, kind = %note.kind,
            department = note.department_code.as_deref().unwrap_or("-"), text = %note.message, "reminder");
        let Some(webhook) = &self.webhook else {
            return Ok(());
        };
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
