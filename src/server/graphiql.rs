//! GraphiQL served from the binary: the HTML page for `GET /graphql` and its pinned assets under
//! `/graphiql/<file>`, embedded at build time from `assets/graphiql/` so the page works with no internet and
//! never loads code from another host. The page's Content-Security-Policy allows only this server.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Where the assets are served; each file name carries its version, so the files are cached for a year.
pub const ASSETS_PATH: &str = "/graphiql";

const GRAPHIQL_JS: &str = "graphiql-3.8.3.min.js";
const GRAPHIQL_CSS: &str = "graphiql-3.8.3.min.css";
const REACT_JS: &str = "react-18.3.1.production.min.js";
const REACT_DOM_JS: &str = "react-dom-18.3.1.production.min.js";
/// The page's own start-up script; its name follows the crate version, since it changes with the server.
const BOOTSTRAP_JS: &str = concat!("bootstrap-", env!("CARGO_PKG_VERSION"), ".js");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Allows scripts, styles, fonts and requests from this server only. Inline styles are allowed because
/// GraphiQL's editors position themselves with `style` attributes; no inline script runs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An embedded asset: its bytes and content type, by the file name it is served under.
fn asset(file: &str) -> Option<(&'static [u8], &'static str)> {
    Some(match file {
        GRAPHIQL_JS => (
            include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.js").as_slice(),
            JS,
        ),
        GRAPHIQL_CSS => (
            include_bytes!("../../assets/graphiql/graphiql-3.8.3.min.css").as_slice(),
            CSS,
        ),
        REACT_JS => (
            include_bytes!("../../assets/graphiql/react-18.3.1.production.min.js").as_slice(),
            JS,
        ),
        REACT_DOM_JS => (
            include_bytes!("../../assets/graphiql/react-dom-18.3.1.production.min.js").as_slice(),
            JS,
        ),
        BOOTSTRAP_JS => (include_bytes!("../../assets/graphiql/bootstrap.js").as_slice(), JS),
        _ => return None,
    })
}

/// `GET /graphiql/{file}`: an embedded asset with its type and a year of immutable caching, or 404.
pub async fn asset_handler(Path(file): Path<String>) -> Response {
    match asset(&file) {
        Some((body, content_type)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such GraphiQL asset").into_response(),
    }
}

/// The GraphiQL page: loads only the embedded assets, under a policy that allows only this server.
pub fn page() -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>hoi-ccb GraphQL</title>\n\
         <link rel=\"stylesheet\" href=\"{p}/{GRAPHIQL_CSS}\">\n</head>\n<body>\n\
         <div id=\"graphiql\">Loading GraphiQL…</div>\n\
         <script src=\"{p}/{REACT_JS}\"></script>\n\
         <script src=\"{p}/{REACT_DOM_JS}\"></script>\n\
         <script src=\"{p}/{GRAPHIQL_JS}\"></script>\n\
         <script src=\"{p}/{BOOTSTRAP_JS}\"></script>\n</body>\n</html>\n",
        p = ASSETS_PATH
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        html,
    )
        .into_response()
}
