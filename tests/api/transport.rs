//! The HTTP layer, through real HTTP: content types, body limits, multipart uploads and their CSRF rule.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn graphql_url(app: &TestApp) -> String {
    format!("{}/graphql", app.base_url)
}

/// A multipart request in the GraphQL multipart request spec whose `operations` runs `{ __typename }` and maps
/// each of `files` onto a variable of its own.
fn upload_form(files: &[Vec<u8>]) -> Form {
    let variables: serde_json::Map<String, Value> =
        (0..files.len()).map(|i| (format!("file{i}"), Value::Null)).collect();
    let map: serde_json::Map<String, Value> = (0..files.len())
        .map(|i| (i.to_string(), json!([format!("variables.file{i}")])))
        .collect();
    let mut form = Form::new()
        .text(
            "operations",
            json!({ "query": "{ __typename }", "variables": variables }).to_string(),
        )
        .text("map", Value::Object(map).to_string());
    for (i, content) in files.iter().enumerate() {
        let part = Part::bytes(content.clone())
            .file_name(format!("roster-{i}.csv"))
            .mime_str("text/csv")
            .expect("valid mime");
        form = form.part(i.to_string(), part);
    }
    form
}

async fn send_upload(app: &TestApp, files: &[Vec<u8>], preflight: bool) -> (u16, Value) {
    let mut request = app.client.post(graphql_url(app)).multipart(upload_form(files));
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn multipart_upload_with_a_preflight_header_runs() {
    let app = TestApp::spawn().await;
    let (status, body) = send_upload(&app, &[b"surname,given\nNguyen,An\n".to_vec()], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    // `x-apollo-operation-name` is the other header a cross-site form cannot send.
    let response = app
        .client
        .post(graphql_url(&app))
        .header("x-apollo-operation-name", "Import")
        .multipart(upload_form(&[b"a".to_vec()]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn multipart_upload_without_a_preflight_header_is_refused_as_possible_forgery() {
    let app = TestApp::spawn().await;
    let (status, body) = send_upload(&app, &[b"x".to_vec()], false).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "PREFLIGHT_HEADER_REQUIRED", "{body}");
    assert!(body.get("data").is_none(), "nothing ran: {body}");
}

#[tokio::test]
async fn multipart_file_at_the_size_limit_is_accepted_and_one_byte_more_is_413() {
    let app = TestApp::spawn_with(|c| c.http.upload_max_file_bytes = 1000).await;
    let (status, body) = send_upload(&app, &[vec![b'x'; 1000]], true).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send_upload(&app, &[vec![b'x'; 1001]], true).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 1000, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["setting"], "UPLOAD_MAX_FILE_BYTES",
        "{body}"
    );
}

#[tokio::test]
async fn multipart_request_with_more_files_than_allowed_is_413() {
    let app = TestApp::spawn_with(|c| c.http.upload_max_files = 2).await;
    let two = vec![b"a".to_vec(), b"b".to_vec()];
    let (status, body) = send_upload(&app, &two, true).await;
    assert_eq!(status, 200, "{body}");
    let three = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
    let (status, body) = send_upload(&app, &three, true).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["setting"], "UPLOAD_MAX_FILES", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["measured"], 3, "{body}");
}

#[tokio::test]
async fn multipart_body_without_the_map_part_is_a_clear_400() {
    let app = TestApp::spawn().await;
    let form = Form::new().text("operations", json!({ "query": "{ __typename }" }).to_string());
    let response = app
        .client
        .post(graphql_url(&app))
        .header("apollo-require-preflight", "1")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("map"),
        "{body}"
    );
}

#[tokio::test]
async fn text_plain_and_form_encoded_posts_never_run() {
    let app = TestApp::spawn().await;
    // A login attempt a cross-site page could fire without a preflight: it must not execute.
    let mutation = r#"{"query":"mutation { login(username: \"admin\", password: \"x\") { token } }"}"#;
    for content_type in [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "application/json; charset=latin1",
    ] {
        let response = app
            .client
            .post(graphql_url(&app))
            .header("content-type", content_type)
            .body(mutation)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 415, "{content_type}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(code(&body), "UNSUPPORTED_MEDIA_TYPE", "{content_type}: {body}");
    }
    let response = app
        .client
        .post(graphql_url(&app))
        .body(mutation)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 415, "no Content-Type at all");
}

/// A JSON body of exactly `len` bytes that runs `{ __typename }`, padded with insignificant whitespace.
fn json_body_of_len(len: usize) -> String {
    let base = r#"{"query":"{ __typename }"}"#;
    let pad = len - base.len();
    format!(r#"{{"query":"{{ __typename }}"{}}}"#, " ".repeat(pad))
}

#[tokio::test]
async fn json_body_at_the_size_limit_runs_and_one_byte_more_is_413_naming_the_limit() {
    let app = TestApp::spawn_with(|c| c.http.max_body_bytes = 2048).await;
    for (len, chunked) in [(2048, false), (2049, false), (2048, true), (2049, true)] {
        let body = json_body_of_len(len);
        assert_eq!(body.len(), len);
        let request = app
            .client
            .post(graphql_url(&app))
            .header("content-type", "application/json");
        let request = if chunked {
            // No Content-Length: the limit must hold while streaming too.
            let stream = async_stream_of(body.into_bytes());
            request.body(reqwest::Body::wrap_stream(stream))
        } else {
            request.body(body)
        };
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let json: Value = response.json().await.expect("JSON");
        if len == 2048 {
            assert_eq!(status, 200, "{len} chunked={chunked}: {json}");
            assert_eq!(json["data"]["__typename"], "Query");
        } else {
            assert_eq!(status, 413, "{len} chunked={chunked}: {json}");
            assert_eq!(code(&json), "PAYLOAD_TOO_LARGE");
            assert_eq!(json["errors"][0]["extensions"]["limit"], 2048);
            assert_eq!(json["errors"][0]["extensions"]["setting"], "MAX_BODY_BYTES");
        }
    }
}

/// The bytes as a stream of small chunks, so the request goes out chunked.
fn async_stream_of(bytes: Vec<u8>) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(100).map(|c| Ok(c.to_vec())).collect();
    futures_util::stream::iter(chunks)
}
