//! The RabbitMQ management HTTP API (the `rabbitmq_management` plugin, which `ops/up`
//! enables): provisioning the city's vhost, users and permissions, and the operations
//! tests use to cut a district off or clean up.

use citygrid_schemas::amqp::{Permissions, city_permissions, district_permissions};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{Account, encode};

/// Talks to the RabbitMQ management HTTP API (the `rabbitmq_management` plugin, which
/// `ops/up` enables) as an administrator. Every call is a PUT or DELETE of a named
/// resource, so provisioning twice changes nothing.
#[derive(Debug, Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
    user: String,
    password: SecretString,
}

/// A management API call that failed: which call and what the broker said.
#[derive(Debug)]
pub struct AdminError(pub String);

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AdminError {}

impl Admin {
    /// `base` is e.g. `http://127.0.0.1:15672`.
    pub fn new(base: &str, user: &str, password: &str) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            user: user.to_owned(),
            password: SecretString::from(password.to_owned()),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, AdminError> {
        let url = format!("{}/api/{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .basic_auth(&self.user, Some(self.password.expose_secret()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            AdminError(format!(
                "{method} {url}: {e} (is the management plugin on?)"
            ))
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let already_gone = method == reqwest::Method::DELETE && status == 404;
        if !status.is_success() && !already_gone {
            return Err(AdminError(format!("{method} {url}: {status} {text}")));
        }
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    pub async fn put_vhost(&self, vhost: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::PUT,
            &format!("vhosts/{}", encode(vhost)),
            None,
        )
        .await
        .map(drop)
    }

    pub async fn delete_vhost(&self, vhost: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("vhosts/{}", encode(vhost)),
            None,
        )
        .await
        .map(drop)
    }

    /// Creates the user or sets its password.
    pub async fn put_user(&self, user: &str, password: &str) -> Result<(), AdminError> {
        let body = json!({ "password": password, "tags": "" });
        let path = format!("users/{}", encode(user));
        match self
            .call(reqwest::Method::PUT, &path, Some(body.clone()))
            .await
        {
            // Two PUTs creating one user at once: the loser is told the user exists
            // (RabbitMQ 3.10); the second try updates it as any later PUT would.
            Err(AdminError(e)) if e.contains("user_already_exists") => self
                .call(reqwest::Method::PUT, &path, Some(body))
                .await
                .map(drop),
            other => other.map(drop),
        }
    }

    pub async fn delete_user(&self, user: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("users/{}", encode(user)),
            None,
        )
        .await
        .map(drop)
    }

    pub async fn put_permissions(
        &self,
        vhost: &str,
        user: &str,
        permissions: &Permissions,
    ) -> Result<(), AdminError> {
        let (vhost, user) = (encode(vhost), encode(user));
        let body = json!({
            "configure": permissions.configure,
            "write": permissions.write,
            "read": permissions.read,
        });
        self.call(
            reqwest::Method::PUT,
            &format!("permissions/{vhost}/{user}"),
            Some(body),
        )
        .await?;
        let (exchange, write, read) = &permissions.topic;
        let body = json!({ "exchange": exchange, "write": write, "read": read });
        self.call(
            reqwest::Method::PUT,
            &format!("topic-permissions/{vhost}/{user}"),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Takes a user's permissions on a vhost away (tests cut a district off with it).
    pub async fn delete_permissions(&self, vhost: &str, user: &str) -> Result<(), AdminError> {
        let path = format!("permissions/{}/{}", encode(vhost), encode(user));
        self.call(reqwest::Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// The names of a user's open AMQP connections to a vhost.
    pub async fn connections_of(&self, vhost: &str, user: &str) -> Result<Vec<String>, AdminError> {
        let path = format!("vhosts/{}/connections", encode(vhost));
        let list = self.call(reqwest::Method::GET, &path, None).await?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["user"] == user)
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// Closes a connection by name, as an operator would (or a network fault).
    pub async fn close_connection(&self, name: &str) -> Result<(), AdminError> {
        self.call(
            reqwest::Method::DELETE,
            &format!("connections/{}", encode(name)),
            None,
        )
        .await
        .map(drop)
    }

    /// Vhosts whose names start with `prefix` (tests clean up after crashed runs).
    pub async fn vhosts_starting_with(&self, prefix: &str) -> Result<Vec<String>, AdminError> {
        let list = self.call(reqwest::Method::GET, "vhosts", None).await?;
        Ok(names_starting_with(&list, prefix))
    }

    pub async fn users_starting_with(&self, prefix: &str) -> Result<Vec<String>, AdminError> {
        let list = self.call(reqwest::Method::GET, "users", None).await?;
        Ok(names_starting_with(&list, prefix))
    }
}

fn names_starting_with(list: &serde_json::Value, prefix: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// What `citygrid broker provision` sets up: the vhost, the city's user and one user per
/// district with their permissions. The topology itself is declared over AMQP by the
/// city's user ([`declare`]).
pub async fn provision(
    admin: &Admin,
    vhost: &str,
    city: &Account,
    districts: &[(String, Account)],
) -> Result<(), AdminError> {
    admin.put_vhost(vhost).await?;
    admin
        .put_user(&city.user, city.password.expose_secret())
        .await?;
    admin
        .put_permissions(vhost, &city.user, &city_permissions())
        .await?;
    for (code, account) in districts {
        admin
            .put_user(&account.user, account.password.expose_secret())
            .await?;
        admin
            .put_permissions(vhost, &account.user, &district_permissions(code))
            .await?;
    }
    Ok(())
}
