//! A small HTTP client for the district API, used by the demo and the intake benchmark.

use serde_json::{Value, json};

/// A tiny valid PNG (1×1); `photo(n)` appends bytes after IEND so each photo hashes differently.
const PNG_1X1: [u8; 67] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

pub fn photo(tag: &str) -> Vec<u8> {
    let mut bytes = PNG_1X1.to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
}

#[derive(Clone)]
pub struct Session {
    api: Api,
    token: String,
    pub username: String,
}

async fn answer(response: reqwest::Response, what: &str) -> Result<Value, String> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{what}: unreadable answer: {e}"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!(
            "{what}: HTTP {status}: {}",
            body["error"]["message"].as_str().unwrap_or("?")
        ))
    }
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn ready(&self) -> bool {
        matches!(self.http.get(format!("{}/readyz", self.base)).send().await, Ok(r) if r.status().is_success())
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<Session, String> {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/token", self.base))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .map_err(|e| format!("login {username}: {e}"))?;
        let body = answer(response, &format!("login {username}")).await?;
        let token = body["token"].as_str().ok_or("login: no token")?.to_owned();
        Ok(Session {
            api: self.clone(),
            token,
            username: username.to_owned(),
        })
    }
}

impl Session {
    /// Uploads a PNG (as [`photo`] makes) and returns its hash.
    pub async fn upload(&self, bytes: Vec<u8>) -> Result<String, String> {
        self.upload_to("/api/v1/media", bytes).await
    }

    /// Uploads a PNG to `path` (a district's media, or the city's) and returns its hash.
    pub async fn upload_to(&self, path: &str, bytes: Vec<u8>) -> Result<String, String> {
        let response = self
            .api
            .http
            .post(format!("{}{path}", self.api.base))
            .bearer_auth(&self.token)
            .header("content-type", "image/png")
            .body(bytes)
            .send()
            .await
            .map_err(|e| format!("upload: {e}"))?;
        let body = answer(response, "upload").await?;
        Ok(body["sha256"]
            .as_str()
            .ok_or("upload: no sha256")?
            .to_owned())
    }

    pub async fn report(&self, body: Value) -> Result<Value, String> {
        let response = self
            .api
            .http
            .post(format!("{}/api/v1/cases", self.api.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("report: {e}"))?;
        answer(response, &format!("report by {}", self.username)).await
    }

    /// Takes a step on a case, quoting the version in `case`; returns the updated case.
    pub async fn step(&self, case: &Value, action: &str, mut body: Value) -> Result<Value, String> {
        body["version"] = case["version"].clone();
        let id = case["id"].as_str().ok_or("case without id")?;
        let response = self
            .api
            .http
            .post(format!("{}/api/v1/cases/{id}/{action}", self.api.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        answer(response, &format!("{action} by {}", self.username)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let response = self
            .api
            .http
            .post(format!("{}{path}", self.api.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        answer(response, &format!("POST {path}")).await
    }

    pub async fn get(&self, path: &str) -> Result<Value, String> {
        let response = self
            .api
            .http
            .get(format!("{}{path}", self.api.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        answer(response, &format!("GET {path}")).await
    }
}

/// A public (anonymous) report: no token.
pub async fn public_report(api: &Api, body: Value) -> Result<Value, String> {
    let response = api
        .http
        .post(format!("{}/api/v1/cases", api.base))
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("public report: {e}"))?;
    answer(response, "public report").await
}
