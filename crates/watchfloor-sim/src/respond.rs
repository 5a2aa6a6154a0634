//! Response builders: JSON objects, Status errors, streaming bodies.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::status::ApiError;

pub fn raw(code: u16, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(
        "audit-id",
        HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    );
    r
}

/// kube-apiserver's answer outside every served group version (an uninstalled CRD or
/// aggregated API): plain text, not a Status.
pub fn page_not_found() -> Response {
    raw(404, "text/plain; charset=utf-8", "404 page not found\n")
}

pub fn json(code: u16, v: &Value) -> Response {
    raw(code, "application/json", v.to_string())
}

pub fn json_string(code: u16, s: String) -> Response {
    raw(code, "application/json", s)
}

pub fn error(e: &ApiError) -> Response {
    json(e.code, &e.to_status())
}

/// A chunked body fed by a channel; the sender side ends the stream by dropping.
pub fn stream(content_type: &'static str, rx: mpsc::Receiver<Bytes>) -> Response {
    let s = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    raw(200, content_type, Body::from_stream(s))
}
