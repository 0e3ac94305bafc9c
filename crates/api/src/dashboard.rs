//! The web dashboard (issue 13 item 2): one page and its script and style, embedded in the
//! binary (no CDN, no network). The files carry no data: the page asks the API with the token
//! the user gives it (URL fragment `#token=…`, or the form), and follows `/api/v1/events`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn with_type(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
                ),
            ),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    with_type("text/html; charset=utf-8", INDEX)
}

pub async fn app_js() -> Response {
    with_type("text/javascript; charset=utf-8", APP_JS)
}

pub async fn app_css() -> Response {
    with_type("text/css; charset=utf-8", APP_CSS)
}
