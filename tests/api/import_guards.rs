//! The roster import against hostile files, through real HTTP: zip bombs (a plain one, and a crafted archive
//! whose headers declare small sizes but that inflates to far more), and sheets of a million empty rows or of a
//! million rows with only the STT column filled, as .xlsx and as .csv. Each is refused or skipped quickly with
//! a clear `BAD_USER_INPUT`, and the server answers the next request.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use hoi_ccb::auth::{Role, ScopeNode};
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::TestApp;

const IMPORT: &str = "mutation($file: Upload!, $dryRun: Boolean!) {
  importMembers(file: $file, dryRun: $dryRun) { created updated unchanged applied errors { row column message } }
}";

/// Bounded time for a refused or skipped hostile file, generous for a loaded two-core machine.
/// Far above what these take (seconds on a quiet machine), far below what reading without bounds would.
const BOUND: Duration = Duration::from_secs(120);

async fn import(app: &TestApp, scope: ScopeNode, name: &str, bytes: Vec<u8>) -> (Value, Duration) {
    use reqwest::multipart::{Form, Part};
    let token = app.token(Role::BaseOfficial, scope);
    let operations = json!({ "query": IMPORT, "variables": { "file": null, "dryRun": true } });
    let form = Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part("0", Part::bytes(bytes).file_name(name.to_owned()));
    let started = Instant::now();
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON answer");
    let took = started.elapsed();
    (json!({ "status": status, "body": body }), took)
}

/// The first error's code and message.
fn refusal(v: &Value) -> (String, String) {
    let e = &v["body"]["errors"][0];
    (
        e["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
        e["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn assert_still_serving(app: &TestApp) {
    let (status, body) = app.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let data = app.data(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

const HEADERS: [&str; 6] = [
    "STT",
    "Họ và tên",
    "Giới tính",
    "Đối tượng",
    "Số thẻ hội viên",
    "Chi hội",
];
const VALID_ROW: [&str; 6] = ["1", "Lê Văn Một", "Nam", "CCB", "GUARD-1", "QN-A1-A1a"];

/// A real workbook (from rust_xlsxwriter) with the header in row 1 and, when `with_row`, one valid member in
/// row 2.
fn base_workbook(with_row: bool) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (i, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, i as u16, *h).expect("header");
    }
    if with_row {
        for (i, v) in VALID_ROW.iter().enumerate() {
            ws.write_string(1, i as u16, *v).expect("cell");
        }
    }
    wb.save_to_buffer().expect("xlsx")
}

type Content<'a> = &'a dyn Fn(&mut dyn Write);

/// Rewrites `xlsx`: the `first` parts (a name and what writes its content) come first in the archive, every
/// other part is copied, and the sheet's XML gets `rows` (sheet XML) appended inside `<sheetData>`.
fn rewrite(xlsx: &[u8], first: &[(&str, Content<'_>)], rows: Content<'_>) -> Vec<u8> {
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("a zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in first {
        out.start_file(*name, options).expect("part");
        content(&mut out);
    }
    for i in 0..source.len() {
        let mut part = source.by_index(i).expect("part");
        let name = part.name().expect("a part name").into_owned();
        let mut content = Vec::new();
        part.read_to_end(&mut content).expect("read part");
        out.start_file(name.as_str(), options).expect("part");
        if name == "xl/worksheets/sheet1.xml" {
            let xml = String::from_utf8(content).expect("xml");
            let at = xml.find("</sheetData>").expect("sheetData");
            out.write_all(&xml.as_bytes()[..at]).expect("write");
            rows(&mut out);
            out.write_all(&xml.as_bytes()[at..]).expect("write");
        } else {
            out.write_all(&content).expect("write");
        }
    }
    out.finish().expect("zip").into_inner()
}

fn zeros(megabytes: usize) -> impl Fn(&mut dyn Write) {
    move |w: &mut dyn Write| {
        let chunk = vec![0u8; 1024 * 1024];
        for _ in 0..megabytes {
            w.write_all(&chunk).expect("write");
        }
    }
}

/// Sets the uncompressed size the archive declares for `name`, in its local header and in the central
/// directory, to `declared`.
fn lie_about_size(zip: &mut [u8], name: &str, declared: u32) {
    let mut patched = 0;
    let mut at = 0;
    while at + 46 < zip.len() {
        let sig = &zip[at..at + 4];
        let (name_len_at, name_at, size_at) = match sig {
            b"PK\x03\x04" => (at + 26, at + 30, at + 22),
            b"PK\x01\x02" => (at + 28, at + 46, at + 24),
            _ => {
                at += 1;
                continue;
            }
        };
        let name_len = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
        if zip.get(name_at..name_at + name_len) == Some(name.as_bytes()) {
            zip[size_at..size_at + 4].copy_from_slice(&declared.to_le_bytes());
            patched += 1;
        }
        at += 4;
    }
    assert_eq!(patched, 2, "the local header and the central directory entry of {name}");
}

#[tokio::test]
async fn zip_bombs_plain_and_lying_about_their_sizes_are_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);
    let bomb_part = "xl/media/image1.bin";
    let plain = rewrite(&base_workbook(true), &[(bomb_part, &zeros(200))], &|_| {});
    assert!(
        plain.len() < 2 * 1024 * 1024,
        "200 MB of zeros packs small: {}",
        plain.len()
    );

    // A plain bomb: honest headers, 200 MB of zeros.
    let (answer, took) = import(&app, scope, "bomb.xlsx", plain.clone()).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(
        message.starts_with("file:") && message.contains("64 MB") && message.contains(bomb_part),
        "names the part and the limit: {message}"
    );
    assert!(took < BOUND, "refused in {took:?}");
    eprintln!("plain bomb ({} bytes) refused in {took:?}", plain.len());
    assert_still_serving(&app).await;

    // The same archive, its headers claiming the 200 MB part is 1,000 bytes: the declared sizes sum to nothing.
    let mut lying = plain;
    lie_about_size(&mut lying, bomb_part, 1000);
    let (answer, took) = import(&app, scope, "lying.xlsx", lying).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(
        message.contains("1000 bytes its header declares") && message.contains("64 MB per part"),
        "names the lie and the limits: {message}"
    );
    assert!(took < BOUND, "refused in {took:?}");
    eprintln!("lying bomb refused in {took:?}");

    // Parts that are each under the per-part limit but together over the total.
    let parts = rewrite(
        &base_workbook(true),
        &[
            ("xl/media/a.bin", &zeros(60)),
            ("xl/media/b.bin", &zeros(60)),
            ("xl/media/c.bin", &zeros(60)),
        ],
        &|_| {},
    );
    let (answer, _) = import(&app, scope, "parts.xlsx", parts).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(message.contains("128 MB in all"), "{message}");
    assert_still_serving(&app).await;

    // The guard does not get in the way of a real file.
    let (answer, _) = import(&app, scope, "ok.xlsx", base_workbook(true)).await;
    assert_eq!(answer["body"]["data"]["importMembers"]["created"], 1, "{answer}");
}

#[tokio::test]
async fn a_million_empty_rows_are_skipped_and_a_million_numbered_rows_refused_in_xlsx_and_csv() {
    // A debug build on a loaded 2-core CI machine takes tens of seconds over a million rows; the bound below,
    // not the request timeout, is what this test judges.
    let app = TestApp::spawn_configured(|c| c.http.request_timeout_seconds = 600).await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);
    const MILLION: usize = 1_000_000;

    // xlsx: the valid row, then a million rows of empty styled cells.
    let empty_rows = rewrite(&base_workbook(true), &[], &|w| {
        for r in 3..MILLION + 3 {
            write!(w, "<row r=\"{r}\"><c r=\"A{r}\" s=\"0\"/><c r=\"F{r}\"/></row>").expect("row");
        }
    });
    let (answer, took) = import(&app, scope, "empty.xlsx", empty_rows).await;
    let p = &answer["body"]["data"]["importMembers"];
    assert_eq!((p["created"].as_i64(), &p["errors"]), (Some(1), &json!([])), "{answer}");
    assert!(took < BOUND, "a million empty rows skipped in {took:?}");
    eprintln!("xlsx, a million empty rows: skipped in {took:?}");

    // xlsx: a million rows with only STT filled.
    let numbered = rewrite(&base_workbook(false), &[], &|w| {
        for r in 2..MILLION + 2 {
            write!(w, "<row r=\"{r}\"><c r=\"A{r}\"><v>{}</v></c></row>", r - 1).expect("row");
        }
    });
    let (answer, took) = import(&app, scope, "numbered.xlsx", numbered).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(message.contains("more than 10000 rows"), "{message}");
    assert!(took < BOUND, "refused in {took:?}");
    eprintln!("xlsx, a million numbered rows: refused in {took:?}");

    // csv: the same two sheets.
    let mut csv = format!("{}\n{}\n", HEADERS.join(","), VALID_ROW.join(","));
    csv.push_str(&",,,,,\n".repeat(MILLION));
    let (answer, took) = import(&app, scope, "empty.csv", csv.into_bytes()).await;
    let p = &answer["body"]["data"]["importMembers"];
    assert_eq!((p["created"].as_i64(), &p["errors"]), (Some(1), &json!([])), "{answer}");
    assert!(took < BOUND, "skipped in {took:?}");
    eprintln!("csv, a million empty rows: skipped in {took:?}");

    let mut csv = format!("{}\n", HEADERS.join(","));
    for n in 1..=MILLION {
        csv.push_str(&format!("{n}\n"));
    }
    let (answer, took) = import(&app, scope, "numbered.csv", csv.into_bytes()).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(message.contains("more than 10000 rows"), "{message}");
    assert!(took < BOUND, "refused in {took:?}");
    eprintln!("csv, a million numbered rows: refused in {took:?}");

    // A row reaching far right of the roster (the cell reader never builds the grid it would span).
    let far = rewrite(&base_workbook(true), &[], &|w| {
        write!(
            w,
            "<row r=\"3\"><c r=\"XFD3\" t=\"inlineStr\"><is><t>x</t></is></c></row>"
        )
        .expect("row");
    });
    let (answer, _) = import(&app, scope, "far.xlsx", far).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(message.contains("row 3") && message.contains("64 columns"), "{message}");
    let mut csv = format!("{}\n{}\n", HEADERS.join(","), VALID_ROW.join(","));
    csv.push_str(&",".repeat(2_000_000));
    csv.push_str("x\n");
    let (answer, _) = import(&app, scope, "far.csv", csv.into_bytes()).await;
    let (code, message) = refusal(&answer);
    assert_eq!(code, "BAD_USER_INPUT", "{answer}");
    assert!(message.contains("row 3") && message.contains("64 columns"), "{message}");
    assert_still_serving(&app).await;
}
