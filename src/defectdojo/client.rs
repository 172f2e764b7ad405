//! Reads DefectDojo's API v2 a page at a time with `Authorization: Token …`, naming what went wrong in
//! words a superuser can act on (unreachable, token refused, a server error, a body that is not the
//! expected record).

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::defectdojo::records::Page;

/// Why a request to DefectDojo did not give a page.
#[derive(Debug, thiserror::Error)]
pub enum DojoError {
    #[error("DefectDojo at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("DefectDojo refused the API token (HTTP {status}); a superuser must set a valid one")]
    TokenRefused { status: u16 },
    #[error("DefectDojo answered HTTP {status} to {path}")]
    Status { status: u16, path: String },
    #[error("DefectDojo's answer to {path} is not what slawatch expects: {reason}")]
    Malformed { path: String, reason: String },
}

/// A DefectDojo instance's API.
pub struct DojoClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl DojoClient {
    /// A client for the instance at `base_url` (with or without a trailing `/` or `/api/v2`) whose requests
    /// each take at most `timeout`.
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> Result<Self, DojoError> {
        let base = base_url.trim_end_matches('/').trim_end_matches("/api/v2").trim_end_matches('/').to_owned();
        let unreachable = |reason: String| DojoError::Unreachable { url: base.clone(), reason };
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|err| unreachable(err.to_string()))?;
        Ok(Self { http, base, token: token.to_owned() })
    }

    /// One page of `list` (`findings`, `products`, …) from `offset`, `limit` records at most, with `query`'s
    /// extra parameters.
    pub async fn page<T: DeserializeOwned>(
        &self,
        list: &str,
        query: &[(&str, String)],
        offset: u64,
        limit: u64,
    ) -> Result<Page<T>, DojoError> {
        let path = format!("/api/v2/{list}/");
        let paging = [("limit", limit.to_string()), ("offset", offset.to_string())];
        let params = paging.iter().map(|(k, v)| (*k, v.as_str())).chain(query.iter().map(|(k, v)| (*k, v.as_str())));
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params)
            .map_err(|err| DojoError::Unreachable { url: self.base.clone(), reason: err.to_string() })?;
        let response = self
            .http
            .get(url)
            .header(reqwest::header::AUTHORIZATION, format!("Token {}", self.token))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| DojoError::Unreachable { url: self.base.clone(), reason: without_url(&err) })?;
        let status = response.status().as_u16();
        match status {
            200 => {}
            401 | 403 => return Err(DojoError::TokenRefused { status }),
            _ => return Err(DojoError::Status { status, path }),
        }
        let body = response
            .bytes()
            .await
            .map_err(|err| DojoError::Unreachable { url: self.base.clone(), reason: without_url(&err) })?;
        serde_json::from_slice(&body).map_err(|err| DojoError::Malformed { path, reason: err.to_string() })
    }

    /// Every record of `list`, `limit` at a time.
    pub async fn all<T: DeserializeOwned>(&self, list: &str, limit: u64) -> Result<Vec<T>, DojoError> {
        let mut records = Vec::new();
        loop {
            let page: Page<T> = self.page(list, &[("o", "id".to_owned())], records.len() as u64, limit).await?;
            let finished = page.next.is_none() || page.results.is_empty();
            records.extend(page.results);
            if finished {
                return Ok(records);
            }
        }
    }
}

/// reqwest's message without the URL it adds (which would carry the query string).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    if detail.is_empty() { kind.to_owned() } else { format!("{kind} ({detail})") }
}
