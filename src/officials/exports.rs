//! Officials' files over HTTP: `GET /exports/members.xlsx` and `.csv` (the roster template's columns, so an
//! export re-imports unchanged), `GET /exports/awards.xlsx` and `.csv`, and `GET /reports/membership.xlsx`
//! (the year-end statistics). Authenticated with the same bearer token as `/graphql`; rows are restricted by the
//! policy's SQL scope and personal columns are blank outside the personal-data scope. Rows are read in batches
//! and written as they come (CSV streams to the client; XLSX is written row by row in constant memory), so a
//! province of 55,700 members never sits in memory as records. Errors answer as JSON with `extensions.code`.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use entity::award::{AwardKind, GrantingLevel, RecipientType};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use super::columns::{Cell, Column, date_text, member_row};
use super::statistics::{self, KINDS, Unit, YearEnd};
use crate::auth::Viewer;
use crate::auth::policy::ReadScope;
use crate::error::{AppError, AppResult};
use crate::server::AppState;
use crate::store::officials as store;

/// Members are read this many chapters at a time (about 30 members each).
const CHAPTERS_PER_BATCH: usize = 60;
/// Awards are read this many at a time.
const AWARDS_PER_BATCH: u64 = 2000;
/// Where batches of rows go to be written.
type RowSink = mpsc::Sender<Vec<Vec<Cell>>>;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The routes of this module, merged into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports/members.xlsx", get(members_xlsx))
        .route("/exports/members.csv", get(members_csv))
        .route("/exports/awards.xlsx", get(awards_xlsx))
        .route("/exports/awards.csv", get(awards_csv))
        .route("/reports/membership.xlsx", get(membership_report))
}

/// An error as JSON, shaped like a GraphQL error, with the HTTP status its code implies (the same answer the
/// GraphQL endpoint gives before execution, `WWW-Authenticate` included).
pub fn error_response(err: AppError) -> Response {
    crate::server::refusal::Refusal::from_app(err).into_response()
}

/// What every export starts from: an authenticated viewer, their scope, and the unit asked for (if any).
struct Request {
    scope: ReadScope,
    unit: Option<Unit>,
    year: Option<i32>,
}

async fn request(state: &AppState, headers: &HeaderMap, params: &HashMap<String, String>) -> AppResult<Request> {
    let (viewer, scope) = crate::server::viewer(state, headers).await?;
    if viewer == Viewer::Anonymous {
        return Err(AppError::Unauthenticated);
    }
    let unit = match params.get("unitId").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(raw) => Some(statistics::resolve_unit(&state.db, "unitId", raw).await?),
        None => None,
    };
    let year = match params.get("year").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(raw) => {
            let y = raw
                .parse::<i32>()
                .map_err(|_| AppError::bad_input("year", "must be a year such as 2024"))?;
            Some(statistics::check_year("year", y)?)
        }
        None => None,
    };
    Ok(Request { scope, unit, year })
}

fn file_name(prefix: &str, unit: Option<&Unit>, year: Option<i32>, ext: &str) -> String {
    let mut name = prefix.to_owned();
    if let Some(u) = unit {
        let code: String = u
            .code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        name.push('-');
        name.push_str(&code);
    }
    if let Some(y) = year {
        name.push_str(&format!("-{y}"));
    }
    format!("{name}.{ext}")
}

fn attachment(content_type: &'static str, name: &str, body: Body) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---------------------------------------------------------------------------------------------------------
// Reading in batches

/// Reads active members chapter batch by chapter batch and hands each batch's rows to `sink` in roster order.
async fn member_rows(db: &DatabaseConnection, req: &Request, sink: &mpsc::Sender<Vec<Vec<Cell>>>) -> AppResult<()> {
    let chapters = store::roster_chapters(db, req.unit.as_ref().map(Unit::within), req.scope.members).await?;
    let mut row_number = 0;
    for batch in chapters.chunks(CHAPTERS_PER_BATCH) {
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let members = store::active_members(db, &ids, req.scope.members).await?;
        let mut by_chapter: HashMap<i64, Vec<entity::member::Model>> = HashMap::new();
        for m in members {
            by_chapter.entry(m.chapter_id).or_default().push(m);
        }
        let mut rows = Vec::new();
        for (chapter_id, code) in batch {
            for m in by_chapter.remove(chapter_id).unwrap_or_default() {
                row_number += 1;
                let personal = req
                    .scope
                    .personal
                    .contains_member(m.province_id, m.base_id, m.chapter_id, m.id);
                rows.push(member_row(row_number, &m, code, personal));
            }
        }
        if !rows.is_empty() && sink.send(rows).await.is_err() {
            // The client went away; stop reading.
            return Ok(());
        }
    }
    Ok(())
}

/// The award roll's columns.
const AWARD_HEADERS: [(&str, f64); 12] = [
    ("STT", 6.0),
    ("Năm", 8.0),
    ("Hình thức khen thưởng", 24.0),
    ("Cấp khen thưởng", 16.0),
    ("Cơ quan khen thưởng", 30.0),
    ("Đối tượng", 10.0),
    ("Tập thể / cá nhân được khen", 34.0),
    ("Phong trào thi đua", 26.0),
    ("Số quyết định", 16.0),
    ("Ngày quyết định", 14.0),
    ("Nơi trao tặng", 28.0),
    ("Nội dung", 40.0),
];

/// The Vietnamese name of an award kind.
pub fn kind_label(kind: AwardKind) -> &'static str {
    match kind {
        AwardKind::EmulationFlag => "Cờ thi đua",
        AwardKind::CertificateOfMerit => "Bằng khen",
        AwardKind::CertificateOfCommendation => "Giấy khen",
    }
}

/// The Vietnamese name of a granting level.
pub fn level_label(level: GrantingLevel) -> &'static str {
    match level {
        GrantingLevel::Central => "Trung ương Hội",
        GrantingLevel::Province => "Tỉnh Hội",
        GrantingLevel::Base => "Cơ sở Hội",
    }
}

fn award_row(n: usize, a: &entity::award::Model) -> Vec<Cell> {
    let text = |s: &str| {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.to_owned())
        }
    };
    vec![
        Cell::Number(n as f64),
        Cell::Number(f64::from(a.year)),
        text(kind_label(a.kind)),
        text(level_label(a.granting_level)),
        text(&a.granting_body),
        text(if a.recipient_type == RecipientType::Member {
            "Cá nhân"
        } else {
            "Tập thể"
        }),
        text(&a.recipient_name),
        text(&a.movement),
        text(&a.decision_number),
        a.decision_date.map(Cell::Date).unwrap_or(Cell::Empty),
        text(a.event.as_deref().unwrap_or("")),
        text(a.citation.as_deref().unwrap_or("")),
    ]
}

/// Reads the public award roll inside the unit (and year) in id order, batch by batch.
async fn award_rows(db: &DatabaseConnection, req: &Request, sink: &mpsc::Sender<Vec<Vec<Cell>>>) -> AppResult<()> {
    let mut after = 0i64;
    let mut n = 0;
    loop {
        let unit = req.unit.as_ref().map(Unit::within);
        let awards = store::award_roll(db, after, unit, req.year, AWARDS_PER_BATCH).await?;
        let Some(last) = awards.last() else { return Ok(()) };
        after = last.id;
        let full = awards.len() as u64 == AWARDS_PER_BATCH;
        let rows = awards
            .iter()
            .map(|a| {
                n += 1;
                award_row(n, a)
            })
            .collect();
        if sink.send(rows).await.is_err() || !full {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/// The layout of one sheet.
struct Sheet {
    name: &'static str,
    /// Lines written above the header (a report's title).
    title: Vec<String>,
    headers: Vec<(String, f64)>,
}

/// Writes a workbook on a blocking thread from the batches it receives, row by row in constant memory.
fn spawn_xlsx(sheet: Sheet) -> (RowSink, tokio::task::JoinHandle<Result<Vec<u8>, XlsxError>>) {
    let (tx, mut rx) = mpsc::channel::<Vec<Vec<Cell>>>(4);
    let handle = tokio::task::spawn_blocking(move || {
        let mut workbook = Workbook::new();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        let head = Format::new()
            .set_bold()
            .set_text_wrap()
            .set_background_color(Color::RGB(0xDDEBF7))
            .set_border(FormatBorder::Thin);
        let bold = Format::new().set_bold();
        let ws = workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet.name)?;
        for (col, (_, width)) in sheet.headers.iter().enumerate() {
            ws.set_column_width(col as u16, *width)?;
        }
        let mut row: u32 = 0;
        for line in &sheet.title {
            ws.write_string_with_format(row, 0, line, &bold)?;
            row += 1;
        }
        if !sheet.title.is_empty() {
            row += 1;
        }
        for (col, (h, _)) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(row, col as u16, h, &head)?;
        }
        row += 1;
        ws.set_freeze_panes(row, 0)?;
        while let Some(batch) = rx.blocking_recv() {
            for cells in batch {
                for (col, cell) in cells.iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Empty => {}
                        Cell::Text(s) => {
                            ws.write_string(row, col, s)?;
                        }
                        Cell::Number(n) => {
                            ws.write_number(row, col, *n)?;
                        }
                        Cell::Date(d) => {
                            ws.write_datetime_with_format(row, col, d, &date)?;
                        }
                    }
                }
                row += 1;
            }
        }
        workbook.save_to_buffer()
    });
    (tx, handle)
}

/// Runs a producer of row batches into a workbook and answers with the file.
async fn xlsx_file<F>(sheet: Sheet, name: String, produce: F) -> Response
where
    F: AsyncFnOnce(&mpsc::Sender<Vec<Vec<Cell>>>) -> AppResult<()>,
{
    let (tx, handle) = spawn_xlsx(sheet);
    let produced = produce(&tx).await;
    drop(tx);
    let written = handle.await;
    if let Err(e) = produced {
        return error_response(e);
    }
    match written {
        Ok(Ok(bytes)) => attachment(XLSX, &name, Body::from(bytes)),
        Ok(Err(e)) => error_response(AppError::Internal(format!("writing the workbook: {e}"))),
        Err(e) => error_response(AppError::Internal(format!("the workbook writer stopped: {e}"))),
    }
}

/// CSV text of some rows; `bom_and_header` starts the file (UTF-8 BOM so spreadsheet programs read Vietnamese).
fn csv_chunk(header: Option<&[&str]>, rows: &[Vec<Cell>]) -> Result<Bytes, csv::Error> {
    let mut out = Vec::new();
    if header.is_some() {
        out.extend_from_slice("\u{FEFF}".as_bytes());
    }
    {
        let mut w = csv::Writer::from_writer(&mut out);
        if let Some(h) = header {
            w.write_record(h)?;
        }
        for r in rows {
            w.write_record(r.iter().map(Cell::to_csv))?;
        }
        w.flush()?;
    }
    Ok(Bytes::from(out))
}

/// Streams a CSV file: the header at once, then each batch as it is read. An error after the first bytes can
/// only cut the stream short (the client sees an incomplete transfer); it is logged.
fn csv_stream<F, Fut>(headers: Vec<&'static str>, name: String, produce: F) -> Response
where
    F: FnOnce(mpsc::Sender<Vec<Vec<Cell>>>) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>> + Send + 'static,
{
    let (rows_tx, mut rows_rx) = mpsc::channel::<Vec<Vec<Cell>>>(4);
    let (bytes_tx, bytes_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let producing = produce(rows_tx);
    tokio::spawn(async move {
        if let Err(e) = producing.await {
            tracing::error!(error = ?e, "CSV export stopped");
        }
    });
    tokio::spawn(async move {
        let _ = bytes_tx
            .send(csv_chunk(Some(&headers), &[]).map_err(std::io::Error::other))
            .await;
        while let Some(rows) = rows_rx.recv().await {
            let chunk = csv_chunk(None, &rows).map_err(std::io::Error::other);
            if bytes_tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    // Fused: layers around the body (compression) may poll once more after the end, which a bare `unfold`
    // answers with a panic.
    let stream = futures_util::StreamExt::fuse(futures_util::stream::unfold(bytes_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    attachment("text/csv; charset=utf-8", &name, Body::from_stream(stream))
}

fn member_sheet() -> Sheet {
    Sheet {
        name: "Danh sách hội viên",
        title: Vec::new(),
        headers: Column::ALL.iter().map(|c| (c.header().to_owned(), c.width())).collect(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers

async fn members_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let req = match request(&state, &headers, &params).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = file_name("hoi-vien", req.unit.as_ref(), None, "xlsx");
    xlsx_file(member_sheet(), name, async |tx| member_rows(&state.db, &req, tx).await).await
}

async fn members_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let req = match request(&state, &headers, &params).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = file_name("hoi-vien", req.unit.as_ref(), None, "csv");
    let db = state.db.clone();
    let headers = Column::ALL.iter().map(|c| c.header()).collect();
    csv_stream(
        headers,
        name,
        move |tx| async move { member_rows(&db, &req, &tx).await },
    )
}

async fn awards_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let req = match request(&state, &headers, &params).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = file_name("khen-thuong", req.unit.as_ref(), req.year, "xlsx");
    let sheet = Sheet {
        name: "Khen thưởng",
        title: Vec::new(),
        headers: AWARD_HEADERS.iter().map(|(h, w)| ((*h).to_owned(), *w)).collect(),
    };
    xlsx_file(sheet, name, async |tx| award_rows(&state.db, &req, tx).await).await
}

async fn awards_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let req = match request(&state, &headers, &params).await {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = file_name("khen-thuong", req.unit.as_ref(), req.year, "csv");
    let db = state.db.clone();
    let headers = AWARD_HEADERS.iter().map(|(h, _)| *h).collect();
    csv_stream(headers, name, move |tx| async move { award_rows(&db, &req, &tx).await })
}

/// Checks that the viewer may read the year-end figures of `unit`: they count personal data (ages, party
/// membership, war-invalid status), so the unit must lie inside the viewer's personal-data scope.
pub fn authorize_statistics(scope: &ReadScope, unit: &Unit) -> AppResult<()> {
    if unit.inside(&scope.personal) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "the year-end statistics of a unit are for the officials of that unit or above".into(),
        ))
    }
}

/// The headers of the report's table after the unit's name and code.
const REPORT_HEADERS: [&str; 27] = [
    "Cơ sở hội",
    "Chi hội",
    "Hội viên",
    "CCB",
    "CQN",
    "Nam",
    "Nữ",
    "Dưới 60 tuổi",
    "60–69 tuổi",
    "70–79 tuổi",
    "Từ 80 tuổi",
    "Chưa rõ tuổi",
    "Đảng viên",
    "Thương binh",
    "Bệnh binh",
    "Kết nạp trong năm",
    "Chuyển đến",
    "Chuyển đi",
    "Từ trần",
    "Xóa tên",
    "Cờ thi đua",
    "Bằng khen",
    "Giấy khen",
    "Cơ sở hội trong sạch, vững mạnh",
    "Hội viên CCB gương mẫu",
    "Gia đình CCB văn hóa",
    "Ghi chú",
];

fn report_row(code: &str, name: &str, f: &statistics::Figures, note: &str) -> Vec<Cell> {
    let mut cells = vec![Cell::Text(name.to_owned()), Cell::Text(code.to_owned())];
    let n = |v: i64| Cell::Number(v as f64);
    cells.extend([
        n(f.bases),
        n(f.chapters),
        n(f.members),
        n(f.veterans),
        n(f.ex_servicemen),
        n(f.men),
        n(f.women),
        n(f.age_under_60),
        n(f.age_60_to_69),
        n(f.age_70_to_79),
        n(f.age_80_and_over),
        n(f.age_unknown),
        n(f.party_members),
        n(f.war_invalids),
        n(f.sick_soldiers),
        n(f.admitted),
        n(f.transferred_in),
        n(f.transferred_out),
        n(f.deceased),
        n(f.removed),
    ]);
    cells.extend(KINDS.iter().map(|k| n(f.awards_of_kind(*k))));
    // The yearly ratings earned in the year, which the year-end report counts once recorded.
    cells.extend([n(f.strong_bases), n(f.model_members), n(f.cultured_families)]);
    cells.push(if note.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(note.to_owned())
    });
    cells
}

fn report_sheet(report: &YearEnd) -> (Sheet, Vec<Vec<Cell>>) {
    let mut headers = vec![("Đơn vị".to_owned(), 34.0), ("Mã".to_owned(), 14.0)];
    headers.extend(REPORT_HEADERS.iter().map(|h| ((*h).to_owned(), 11.0)));
    let title = vec![
        format!("BÁO CÁO TỔNG KẾT NĂM {} — {}", report.year, report.unit.name),
        format!(
            "Số liệu hội viên tính đến ngày lập báo cáo ({}); biến động và khen thưởng trong năm {}.",
            date_text(chrono::Utc::now().date_naive()),
            report.year
        ),
    ];
    let mut rows: Vec<Vec<Cell>> = report
        .breakdown
        .iter()
        .map(|c| report_row(&c.code, &c.name, &c.figures, if c.closed { "Đã giải thể" } else { "" }))
        .collect();
    rows.push(report_row(
        &report.unit.code,
        &format!("Tổng cộng: {}", report.unit.name),
        &report.totals,
        "",
    ));
    (
        Sheet {
            name: "Tổng kết",
            title,
            headers,
        },
        rows,
    )
}

async fn membership_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let req = request(&state, &headers, &params).await?;
        let unit = req
            .unit
            .ok_or_else(|| AppError::bad_input("unitId", "required: the id of a province, base or chapter"))?;
        let year = req
            .year
            .ok_or_else(|| AppError::bad_input("year", "required: the year of the report"))?;
        authorize_statistics(&req.scope, &unit)?;
        statistics::year_end(&state.db, unit, year).await
    }
    .await;
    let report = match result {
        Ok(r) => r,
        Err(e) => return error_response(e),
    };
    let name = file_name("bao-cao-tong-ket", Some(&report.unit), Some(report.year), "xlsx");
    let (sheet, rows) = report_sheet(&report);
    xlsx_file(sheet, name, async move |tx| {
        let _ = tx.send(rows).await;
        Ok(())
    })
    .await
}
