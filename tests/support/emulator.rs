//! Small helpers shared by the emulator test files: a JSON client bound to one emulator and token.
#![allow(dead_code)]

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const PROJECT: &str = "105bdce1-64c0-48ab-899d-868455867ecf";
pub const OTHER_PROJECT: &str = "6f0d0d36-3f5f-4d8e-9a55-3b1c1f7a2c11";

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

impl Api {
    pub fn new(emu: &keyward::emulator::EmulatorHandle) -> Self {
        Self::with_base(emu.api_url("fr-par"), Some("test-token"))
    }

    pub fn with_base(base: String, token: Option<&str>) -> Self {
        Self {
            base,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            token: token.map(str::to_string),
        }
    }

    pub fn token(mut self, token: Option<&str>) -> Self {
        self.token = token.map(str::to_string);
        self
    }

    pub async fn raw(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Answer {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        );
        if let Some(t) = &self.token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.expect("request reaches the emulator");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.raw(method, path, body.map(|b| serde_json::to_vec(&b).unwrap()))
            .await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    /// Creates a secret in [`PROJECT`]; `extra` fields are merged into the body. Returns its id.
    pub async fn create_secret(&self, name: &str, extra: Value) -> String {
        let mut body = json!({"project_id": PROJECT, "name": name, "type": "opaque", "path": "/", "protected": false});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let a = self.call("POST", "/secrets", Some(body)).await;
        assert_eq!(a.status, 200, "create secret: {}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }

    pub async fn add_version(&self, id: &str, payload: &[u8]) -> Answer {
        self.call(
            "POST",
            &format!("/secrets/{id}/versions"),
            Some(json!({"data": b64(payload)})),
        )
        .await
    }

    pub async fn access(&self, id: &str, revision: &str) -> Answer {
        self.get(&format!("/secrets/{id}/versions/{revision}/access"))
            .await
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

/// A plain client for the emulator's admin endpoints (`/emulator/...`).
pub fn admin_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends a request and parses its JSON answer (for the admin endpoints).
pub async fn admin_json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request
        .send()
        .await
        .expect("admin request")
        .json()
        .await
        .expect("admin answer as JSON")
}
