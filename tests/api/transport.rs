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

/// A JSON value that keeps the order of object keys as they came on the wire (`serde_json::Value` sorts them).
#[derive(Debug, PartialEq)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar(Value),
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    entries.push((k, v));
                }
                Ok(Ordered::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Ordered>()? {
                    items.push(v);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(json!(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(json!(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(json!(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(json!(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(json!(v)))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Ordered {
    fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn get(&self, key: &str) -> &Ordered {
        match self {
            Ordered::Object(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .expect("key present"),
            _ => panic!("{key} of a non-object"),
        }
    }

    fn at(&self, index: usize) -> &Ordered {
        match self {
            Ordered::Array(items) => &items[index],
            _ => panic!("[{index}] of a non-array"),
        }
    }
}

async fn post_raw(app: &TestApp, token: Option<&str>, query: &str) -> String {
    let mut request = app.client.post(graphql_url(app)).json(&json!({ "query": query }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().await.expect("sent").text().await.expect("text")
}

#[tokio::test]
async fn response_keys_follow_the_selection_order_on_every_request() {
    let app = TestApp::spawn().await;
    crate::fixture::Tree::build(&app).await;
    let admin = app.admin();
    // `members` waits on the database while `me` and `__typename` answer at once: executed concurrently, the
    // quick fields finish first, and the response must still list them in the order asked.
    let query = "{ members(first: 5) { totalCount nodes { fullName chapter { name code } birthYear id } }
                   me { role authenticated } kind: __typename
                   provinces { nodes { name code bases(first: 2) { nodes { code name } totalCount } } } }";
    let mut first: Option<String> = None;
    for _ in 0..25 {
        let raw = post_raw(&app, Some(&admin), query).await;
        let body: Ordered = serde_json::from_str(&raw).expect("JSON");
        let data = body.get("data");
        assert_eq!(data.keys(), ["members", "me", "kind", "provinces"], "{raw}");
        assert_eq!(data.get("members").keys(), ["totalCount", "nodes"], "{raw}");
        let member = data.get("members").get("nodes").at(0);
        assert_eq!(member.keys(), ["fullName", "chapter", "birthYear", "id"], "{raw}");
        assert_eq!(member.get("chapter").keys(), ["name", "code"], "{raw}");
        assert_eq!(data.get("me").keys(), ["role", "authenticated"], "{raw}");
        let province = data.get("provinces").get("nodes").at(0);
        assert_eq!(province.keys(), ["name", "code", "bases"], "{raw}");
        assert_eq!(province.get("bases").keys(), ["nodes", "totalCount"], "{raw}");
        match &first {
            None => first = Some(raw),
            Some(f) => assert_eq!(f, &raw, "identical requests, identical bytes"),
        }
    }
}

#[tokio::test]
async fn fragments_and_abstract_types_keep_selection_order() {
    let app = TestApp::spawn().await;
    let tree = crate::fixture::Tree::build(&app).await;
    let admin = app.admin();
    let member = crate::helpers::gid(hoi_ccb::ids::NodeKind::Member, tree.members["Nguyễn Văn Trường"]);
    let chapter = crate::helpers::gid(hoi_ccb::ids::NodeKind::Chapter, tree.chapters["A1a"]);
    // Spec order for a Member: `fullName` (first seen in the Member fragment), then `id`, then the rest of
    // `...M`; for a Chapter: `id`, `name` (the Province fragment does not apply).
    let query = format!(
        r#"query {{
             nodes(ids: ["{member}", "{chapter}"]) {{
               ... on Province {{ name id }}
               ... on Member {{ fullName id }}
               ...M
               ... on Chapter {{ id name }}
             }}
             node(id: "{member}") {{ __typename ...M id }}
           }}
           fragment M on Member {{ birthYear chapter {{ code name }} fullName }}"#
    );
    for _ in 0..10 {
        let raw = post_raw(&app, Some(&admin), &query).await;
        let body: Ordered = serde_json::from_str(&raw).expect("JSON");
        let data = body.get("data");
        assert_eq!(data.keys(), ["nodes", "node"], "{raw}");
        let nodes = data.get("nodes");
        assert_eq!(nodes.at(0).keys(), ["fullName", "id", "birthYear", "chapter"], "{raw}");
        assert_eq!(nodes.at(0).get("chapter").keys(), ["code", "name"], "{raw}");
        assert_eq!(nodes.at(1).keys(), ["id", "name"], "{raw}");
        assert_eq!(
            data.get("node").keys(),
            ["__typename", "birthYear", "chapter", "fullName", "id"],
            "{raw}"
        );
    }
}

async fn get(app: &TestApp, params: &[(&str, &str)], accept: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(graphql_url(app)).query(params);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.send().await.expect("sent")
}

#[tokio::test]
async fn get_runs_a_query_with_variables_and_an_operation_name() {
    let app = TestApp::spawn().await;
    crate::fixture::Tree::build(&app).await;
    let response = get(
        &app,
        &[
            (
                "query",
                "query A { x: __typename } query B($s: String) { bases(filter: { search: $s }) { nodes { name } } }",
            ),
            ("operationName", "B"),
            ("variables", r#"{"s": "dong trieu"}"#),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["bases"]["nodes"][0]["name"], "Phường Đông Triều", "{body}");
}

#[tokio::test]
async fn a_mutation_over_get_is_405_and_does_not_run() {
    let app = TestApp::spawn().await;
    for (query, operation) in [
        (
            "mutation { login(username: \"admin\", password: \"nope\") { token } }",
            None,
        ),
        ("query Q { __typename } mutation M { logout { ok } }", Some("M")),
    ] {
        let mut params = vec![("query", query)];
        if let Some(op) = operation {
            params.push(("operationName", op));
        }
        let response = get(&app, &params, None).await;
        assert_eq!(response.status(), 405, "{query}");
        assert_eq!(response.headers()["allow"], "GET, POST");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(code(&body), "METHOD_NOT_ALLOWED", "{body}");
        assert!(body.get("data").is_none());
    }
}

#[tokio::test]
async fn get_without_a_query_serves_graphiql_to_a_browser_and_explains_itself_to_a_client() {
    let app = TestApp::spawn().await;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let response = get(&app, &[], Some(browser)).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .to_lowercase()
            .contains("graphiql")
    );

    let response = get(&app, &[], Some("application/json")).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "query", "{body}");

    // A browser that follows a link with a query gets the result, not the page.
    let response = get(&app, &[("query", "{ __typename }")], Some(browser)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn graphql_response_json_answers_request_errors_with_400_and_json_with_200() {
    let app = TestApp::spawn().await;
    let send = |accept: &'static str, query: &'static str| {
        app.client
            .post(graphql_url(&app))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let new = "application/graphql-response+json, application/json;q=0.9";
    // A document that does not validate: a request error, without `data`.
    let response = send(new, "{ nope }").await.expect("sent");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/graphql-response+json; charset=utf-8"
    );
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let response = send("application/json", "{ nope }").await.expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    let body: Value = response.json().await.expect("JSON");
    assert!(body.get("data").is_none(), "{body}");

    // A field error once execution began: 200 with `data` under both types.
    for accept in [new, "application/json"] {
        let response = send(accept, "{ node(id: \"garbage\") { id } }").await.expect("sent");
        assert_eq!(response.status(), 200, "{accept}");
        let body: Value = response.json().await.expect("JSON");
        assert!(body.get("data").is_some(), "{accept}: {body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }

    // No type the endpoint can answer in.
    let response = send("application/xml", "{ __typename }").await.expect("sent");
    assert_eq!(response.status(), 406);
    // A wildcard, or no Accept at all, is answered as application/json.
    for accept in ["*/*", "application/*"] {
        let response = send(accept, "{ nope }").await.expect("sent");
        assert_eq!(response.status(), 200, "{accept}");
    }
}

#[tokio::test]
async fn a_batch_runs_each_operation_in_order_up_to_the_cap() {
    let app = TestApp::spawn_with(|c| c.http.max_batch_operations = 3).await;
    let batch = |n: usize| -> Value {
        Value::Array(
            (0..n)
                .map(|i| json!({ "query": format!("query Q{i} {{ n{i}: __typename }}") }))
                .collect(),
        )
    };
    let response = app
        .client
        .post(graphql_url(&app))
        .json(&batch(3))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let answers = body.as_array().expect("an array of responses");
    assert_eq!(answers.len(), 3);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer["data"][format!("n{i}")], "Query", "{body}");
    }

    let response = app
        .client
        .post(graphql_url(&app))
        .json(&batch(4))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "BATCH_TOO_LARGE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 3);
    assert_eq!(body["errors"][0]["extensions"]["measured"], 4);

    let response = app
        .client
        .post(graphql_url(&app))
        .json(&json!([]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400, "an empty batch is a clear error");
    let response = app
        .client
        .post(graphql_url(&app))
        .json(&json!([1]))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["field"], "[0].request", "{body}");
}

#[tokio::test]
async fn badly_typed_request_members_are_named() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({ "query": 1 }), "query"),
        (json!({ "query": "{ __typename }", "variables": [1] }), "variables"),
        (
            json!({ "query": "{ __typename }", "operationName": 2 }),
            "operationName",
        ),
        (json!({ "query": "{ __typename }", "extensions": "x" }), "extensions"),
        (json!("{ __typename }"), "body"),
    ] {
        let response = app
            .client
            .post(graphql_url(&app))
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{body}: {answer}");
    }
}

/// Sends raw bytes over TCP and returns the status line's code: for limits that must be measured exactly.
async fn raw_http(app: &TestApp, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn request_headers_at_the_size_limit_pass_and_one_byte_more_is_431() {
    let app = TestApp::spawn_with(|c| c.http.max_header_bytes = 2000).await;
    // Headers counted as name + value bytes: host (4 + len), connection (10 + 5), x-pad (5 + n).
    let host = app.base_url.trim_start_matches("http://").to_owned();
    let fixed = 4 + host.len() + 10 + 5 + 5;
    for (extra, expected) in [(0, 200), (1, 431)] {
        let pad = "p".repeat(2000 - fixed + extra);
        let request = format!(
            "GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\nx-pad: {pad}\r\n\r\n"
        );
        let (status, text) = raw_http(&app, &request).await;
        assert_eq!(status, expected, "{text}");
        if expected == 431 {
            assert!(text.contains("HEADERS_TOO_LARGE"), "{text}");
            assert!(text.contains("\"limit\":2000"), "{text}");
        }
    }
}

#[tokio::test]
async fn a_get_query_string_over_the_body_limit_is_414() {
    let app = TestApp::spawn_with(|c| c.http.max_body_bytes = 1024).await;
    let long = format!("{{ __typename {} }}", " ".repeat(1100));
    let response = get(&app, &[("query", long.as_str())], None).await;
    assert_eq!(response.status(), 414);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "URI_TOO_LONG", "{body}");
}

#[tokio::test]
async fn introspection_keeps_selection_order_and_shows_no_ordering_probe() {
    // Introspection is off outside the embedded demo unless the setting turns it on.
    let app = TestApp::spawn_with(|config| config.limits.introspection = true).await;
    let raw = post_raw(
        &app,
        None,
        "{ __schema { queryType { name kind } types { name kind } } node(id: \"TWVtYmVyOjE\") { id } }",
    )
    .await;
    let body: Ordered = serde_json::from_str(&raw).expect("JSON");
    let data = body.get("data");
    assert_eq!(data.keys(), ["__schema", "node"], "{raw}");
    assert_eq!(data.get("__schema").keys(), ["queryType", "types"], "{raw}");
    assert_eq!(data.get("__schema").get("queryType").keys(), ["name", "kind"], "{raw}");
    assert!(!raw.contains("_selectionOrderTypename"), "{raw}");
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, graphql_url(app))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, apollo-require-preflight",
        )
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn configured_origins_pass_cors_preflight_and_others_do_not() {
    let app = TestApp::spawn_with(|c| c.http.cors_allowed_origins = vec!["https://app.example.org".into()]).await;
    let response = preflight(&app, "https://app.example.org").await;
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "https://app.example.org");
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in [
        "authorization",
        "content-type",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    ] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    assert_eq!(headers["access-control-max-age"], "7200");
    let vary = headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    assert!(vary.contains("origin"), "{vary}");

    // The actual request: the browser may read it, and the request id.
    let response = app
        .client
        .post(graphql_url(&app))
        .header("origin", "https://app.example.org")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    for other in [
        "https://evil.example.org",
        "http://localhost:5173",
        "https://app.example.org.evil.com",
    ] {
        let response = preflight(&app, other).await;
        assert!(
            response.headers().get("access-control-allow-origin").is_none(),
            "{other}"
        );
    }
}

#[tokio::test]
async fn without_configured_origins_a_deployment_allows_no_cross_origin_calls() {
    let app = TestApp::spawn().await;
    for origin in ["http://localhost:5173", "https://app.example.org"] {
        let response = preflight(&app, origin).await;
        assert!(
            response.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn the_embedded_demo_allows_local_dev_servers_only() {
    let app = TestApp::spawn_embedded().await;
    for origin in ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost"] {
        let response = preflight(&app, origin).await;
        assert_eq!(response.headers()["access-control-allow-origin"], origin, "{origin}");
    }
    for origin in [
        "https://localhost:5173",
        "http://localhost.evil.com",
        "http://localhost:5173@evil.com",
        "https://example.org",
    ] {
        let response = preflight(&app, origin).await;
        assert!(
            response.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
}

fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_large_page_is_compressed_by_accept_encoding_and_a_tiny_one_is_not() {
    let app = TestApp::spawn_with_demo().await;
    let admin = app.admin();
    // A nested tree page of the report's kind (about 570 KB): 20 bases, all their chapters, 10 members each with
    // their roster status columns.
    let query = "{ provinces(first: 1) { nodes { bases(first: 20, orderBy: CODE) { totalCount nodes { id code name
        chapters(first: 50, orderBy: CODE) { totalCount nodes { id code name members(first: 10, orderBy: ID) {
        totalCount nodes { id fullName familyName middleName givenName sex birthYear birthDate memberType status
        militaryRank homeTown enlistmentDate dischargeDate joinedDate partyMember
        } } } } } } } } }";
    let client = raw_client();
    let send = |encoding: &'static str| {
        client
            .post(graphql_url(&app))
            .bearer_auth(&admin)
            .header("accept-encoding", encoding)
            .json(&json!({ "query": query }))
            .send()
    };
    let plain = send("identity").await.expect("sent");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("body");
    assert!(plain.len() > 550_000, "the page is large: {} bytes", plain.len());
    let expected: Value = serde_json::from_slice(&plain).expect("JSON");
    assert!(
        expected.get("errors").is_none(),
        "{}",
        String::from_utf8_lossy(&plain[..300])
    );

    let gzip = send("gzip").await.expect("sent");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let vary = gzip
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    assert!(
        vary.iter().any(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{vary:?}"
    );
    let gzip = gzip.bytes().await.expect("body");
    // Default gzip level (6): this page shrinks over 9-fold (568 KB to about 60 KB).
    assert!(
        gzip.len() * 9 <= plain.len() && gzip.len() <= 62_000,
        "{} bytes of JSON went out as {} bytes of gzip",
        plain.len(),
        gzip.len()
    );

    for (encoding, name) in [("br", "br"), ("zstd", "zstd"), ("gzip;q=0.5, br;q=1.0", "br")] {
        let response = send(encoding).await.expect("sent");
        assert_eq!(response.headers()["content-encoding"], name, "{encoding}");
        assert!(
            response.bytes().await.expect("body").len() < gzip.len() * 3 / 2,
            "{encoding}"
        );
    }
    // Every encoding decodes to the same answer (the default client decodes them all).
    let decoded = app
        .client
        .post(graphql_url(&app))
        .bearer_auth(&admin)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("sent")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(decoded, expected);

    let tiny = client
        .post(graphql_url(&app))
        .header("accept-encoding", "gzip, br, zstd")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("sent");
    assert!(
        tiny.headers().get("content-encoding").is_none(),
        "a tiny body goes out as is"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_errors_repeat_it() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(graphql_url(&app))
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .expect("sent");
    let id = response.headers()["x-request-id"].to_str().expect("text").to_owned();
    assert!(id.len() >= 16, "{id}");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str(), "{body}");

    // A sane incoming id is kept, so one id follows the request across systems; a hostile one is replaced.
    let response = app
        .client
        .post(graphql_url(&app))
        .header("x-request-id", "lb-7f3a9c21-0001")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["x-request-id"], "lb-7f3a9c21-0001");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "lb-7f3a9c21-0001");
    let response = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .expect("sent");
    let id = response.headers()["x-request-id"].to_str().expect("text");
    assert!(!id.contains('<'), "{id}");
}

#[tokio::test]
async fn a_panic_is_answered_as_internal_server_error_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let response = app
            .client
            .get(format!("{}/__test/panic", app.base_url))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 500);
        let id = response.headers()["x-request-id"].to_str().expect("id").to_owned();
        let body: Value = response.json().await.expect("a GraphQL-shaped JSON body");
        assert_eq!(code(&body), "INTERNAL_SERVER_ERROR", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
        assert!(
            !body.to_string().contains("on purpose"),
            "the panic message stays in the log: {body}"
        );
    }
    let (status, body) = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_request_within_the_time_limit_completes_and_one_past_it_is_503_retryable() {
    let app = TestApp::spawn_with(|c| c.http.request_timeout_seconds = 1).await;
    let response = app
        .client
        .get(format!("{}/__test/sleep?ms=600", app.base_url))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .get(format!("{}/__test/sleep?ms=1500", app.base_url))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryable"], true, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 1, "{body}");
}

/// The `src` and `href` URLs a GraphiQL page loads.
fn loaded_urls(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/') || s.contains("://"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn graphiql_page_loads_only_assets_of_this_server_under_a_self_only_policy() {
    let app = TestApp::spawn().await;
    let response = get(&app, &[], Some("text/html")).await;
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII policy")
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("http"), "{csp}");
    let html = response.text().await.expect("page");
    assert!(!html.contains("://"), "the page names another host: {html}");
    assert!(!html.contains("<script>"), "the page has an inline script: {html}");
    let urls = loaded_urls(&html);
    assert_eq!(urls.len(), 5, "{urls:?}");
    assert!(urls.iter().all(|u| u.starts_with("/graphiql/")), "{urls:?}");
    assert!(urls.iter().any(|u| u.contains("graphiql-3.8.3.min.js")), "{urls:?}");
    assert!(
        urls.iter().any(|u| u.contains("react-dom-18.3.1.production.min.js")),
        "{urls:?}"
    );
}

#[tokio::test]
async fn graphiql_assets_are_served_from_the_binary_with_their_types_and_a_year_of_caching() {
    let app = TestApp::spawn().await;
    let html = get(&app, &[], Some("text/html")).await.text().await.expect("page");
    let vendored = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/graphiql");
    for url in loaded_urls(&html) {
        let response = app
            .client
            .get(format!("{}{url}", app.base_url))
            .send()
            .await
            .expect("GET asset");
        assert_eq!(response.status(), 200, "{url}");
        let headers = response.headers().clone();
        let expected_type = if url.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(headers["content-type"], expected_type, "{url}");
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable", "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        let body = response.bytes().await.expect("asset body");
        let file = url.trim_start_matches("/graphiql/");
        let on_disk = if file.starts_with("bootstrap-") {
            "bootstrap.js"
        } else {
            file
        };
        let expected = std::fs::read(vendored.join(on_disk)).expect("vendored file");
        assert!(body == expected, "{url} differs from assets/graphiql/{on_disk}");
    }

    let missing = app
        .client
        .get(format!("{}/graphiql/graphiql-0.0.1.min.js", app.base_url))
        .send()
        .await
        .expect("GET unknown asset");
    assert_eq!(missing.status(), 404);
}
