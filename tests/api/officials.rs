//! Officials' files through HTTP: member and award exports (xlsx and csv), the year-end statistics in GraphQL
//! and as `/reports/membership.xlsx`, read back with a spreadsheet reader as an official's program would.

use calamine::{Data, DataType, Reader, Xlsx, open_workbook_from_rs};
use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use hoi_ccb::officials::columns::Column;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};

/// GETs a file as `token`; returns the status, the content type and the body.
async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(format!("{}{path}", app.base_url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, resp.bytes().await.expect("body").to_vec())
}

/// The first sheet of a workbook as rows of cells.
fn sheet(bytes: &[u8]) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx file");
    let range = wb.worksheet_range_at(0).expect("a sheet").expect("readable sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn error_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("a JSON error");
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn headers() -> Vec<String> {
    Column::ALL.iter().map(|c| c.header().to_owned()).collect()
}

#[tokio::test]
async fn a_base_official_exports_the_roster_as_xlsx_in_the_template_with_dates_as_dates() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let truong = tree.member("Nguyễn Văn Trường");
    let mut m: entity::member::ActiveModel = entity::member::Entity::find_by_id(truong)
        .one(app.db())
        .await
        .expect("read")
        .expect("member")
        .into();
    m.birth_date = Set(chrono::NaiveDate::from_ymd_opt(1950, 3, 7));
    m.party_member = Set(true);
    m.update(app.db()).await.expect("update");
    let token = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));

    let path = format!("/exports/members.xlsx?unitId={}", gid(NodeKind::Base, tree.bases["A1"]));
    let (status, content_type, body) = download(&app, Some(&token), &path).await;

    assert_eq!(status, 200);
    assert!(content_type.contains("spreadsheetml"), "{content_type}");
    let rows = sheet(&body);
    assert_eq!(rows[0].iter().map(text).collect::<Vec<_>>(), headers());
    assert_eq!(rows.len(), 1 + 7, "the seven active members of base A1");
    let col = |c: Column| Column::ALL.iter().position(|x| *x == c).expect("column");
    let row = rows
        .iter()
        .find(|r| text(&r[col(Column::FullName)]) == "Nguyễn Văn Trường")
        .expect("Trường exported");
    assert_eq!(
        row[col(Column::BirthDate)].as_date(),
        chrono::NaiveDate::from_ymd_opt(1950, 3, 7),
        "a birth date is a date cell"
    );
    assert_eq!(text(&row[col(Column::PartyMember)]), "x");
    assert_eq!(text(&row[col(Column::Sex)]), "Nam");
    assert_eq!(text(&row[col(Column::MemberType)]), "CCB");
    assert_eq!(text(&row[col(Column::CardNumber)]), "CARD-000");
    assert_eq!(text(&row[col(Column::Chapter)]), "QN-A1-A1a");
    let dung = rows
        .iter()
        .find(|r| text(&r[col(Column::FullName)]) == "Trần Thị Dung")
        .expect("Dung exported");
    assert_eq!(
        dung[col(Column::BirthDate)].as_f64(),
        Some(1951.0),
        "a year-only birth date stays a year"
    );
}

#[tokio::test]
async fn the_csv_export_is_utf8_with_a_bom_and_blanks_personal_fields_outside_the_personal_scope() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let me = tree.member("Trần Thị Dung");
    let token = app.token(Role::Member, ScopeNode::Member(me));

    let (status, content_type, body) = download(&app, Some(&token), "/exports/members.csv").await;

    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert!(body.starts_with("\u{FEFF}".as_bytes()), "UTF-8 BOM first");
    let text = String::from_utf8(body[3..].to_vec()).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(header, headers());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(rows.len(), 5, "a member sees the names of their own chapter");
    let card = Column::ALL
        .iter()
        .position(|c| *c == Column::CardNumber)
        .expect("card column");
    let phone = Column::ALL
        .iter()
        .position(|c| *c == Column::Phone)
        .expect("phone column");
    for r in &rows {
        if &r[1] == "Trần Thị Dung" {
            assert_eq!(&r[card], "CARD-001", "own record in full");
        } else {
            assert_eq!(&r[card], "", "no card number of a chapter mate");
            assert_eq!(&r[phone], "", "no phone of a chapter mate");
        }
    }
}

#[tokio::test]
async fn a_chapter_leader_asking_for_the_province_gets_only_their_chapter() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let token = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1b"]));

    let path = format!(
        "/exports/members.xlsx?unitId={}",
        gid(NodeKind::Province, tree.provinces["QN"])
    );
    let (status, _, body) = download(&app, Some(&token), &path).await;

    assert_eq!(status, 200);
    let names: Vec<String> = sheet(&body).iter().skip(1).map(|r| text(&r[1])).collect();
    assert_eq!(
        names,
        vec!["Vũ Văn Bình", "Đặng Thị Hoà"],
        "roster order: Bình before Hoà"
    );
}

#[tokio::test]
async fn exports_without_a_token_or_with_bad_parameters_answer_json_errors_with_statuses() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();

    let (status, _, body) = download(&app, None, "/exports/members.xlsx").await;
    assert_eq!((status, error_code(&body).as_str()), (401, "UNAUTHENTICATED"));
    let (status, _, body) = download(&app, Some("not-a-token"), "/exports/members.csv").await;
    assert_eq!((status, error_code(&body).as_str()), (401, "UNAUTHENTICATED"));
    let (status, _, body) = download(&app, Some(&admin), "/exports/members.xlsx?unitId=garbage").await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"));
    let missing = format!("/exports/members.csv?unitId={}", gid(NodeKind::Base, 999_999));
    let (status, _, body) = download(&app, Some(&admin), &missing).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "NOT_FOUND"));
    let member = format!(
        "/exports/awards.xlsx?unitId={}",
        gid(NodeKind::Member, tree.member("Lý Văn Trung"))
    );
    let (status, _, body) = download(&app, Some(&admin), &member).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"));
    let (status, _, body) = download(&app, Some(&admin), "/exports/awards.xlsx?year=twenty").await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"));
    let (status, _, body) = download(&app, Some(&admin), "/reports/membership.xlsx").await;
    assert_eq!((status, error_code(&body).as_str()), (400, "BAD_USER_INPUT"));
}

#[tokio::test]
async fn the_award_export_is_filtered_by_unit_and_year() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let token = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let qn = gid(NodeKind::Province, tree.provinces["QN"]);

    let (status, _, body) = download(
        &app,
        Some(&token),
        &format!("/exports/awards.xlsx?unitId={qn}&year=2024"),
    )
    .await;
    assert_eq!(status, 200);
    let rows = sheet(&body);
    assert_eq!(text(&rows[0][2]), "Hình thức khen thưởng");
    let mut numbers: Vec<String> = rows.iter().skip(1).map(|r| text(&r[8])).collect();
    numbers.sort();
    assert_eq!(numbers, vec!["1/QĐ-CCB", "2/QĐ-CCB"]);

    let (_, _, body) = download(
        &app,
        Some(&token),
        &format!("/exports/awards.xlsx?unitId={qn}&year=2023"),
    )
    .await;
    assert_eq!(sheet(&body).len(), 1, "only the header for a year without awards");
    let (_, _, body) = download(&app, Some(&token), "/exports/awards.csv?year=2024").await;
    let csv_text = String::from_utf8(body).expect("UTF-8");
    assert_eq!(csv_text.lines().count(), 1 + 3, "the whole public roll of 2024");
    assert!(csv_text.contains("Cờ thi đua"));
}

const YEAR_END: &str = "query($id: ID!, $year: Int!) {
  yearEndStatistics(unitId: $id, year: $year) {
    year
    totals { baseCount chapterCount memberCount veterans women men ageUnder60 age60To69 age70To79 age80AndOver
             ageUnknown partyMembers admitted deceased transferredIn transferredOut
             awards { kind grantingLevel count } }
    breakdown { unitId code name figures { memberCount chapterCount women awards { kind count } } }
  }
}";

#[tokio::test]
async fn year_end_statistics_of_a_province_agree_with_stats_and_break_down_by_base() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let token = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let qn = gid(NodeKind::Province, tree.provinces["QN"]);

    let data = app
        .data(Some(&token), YEAR_END, json!({ "id": qn, "year": 2024 }))
        .await;
    let stats = app
        .data(
            Some(&token),
            "query($id: ID!) { node(id: $id) { ... on Province { stats { baseCount chapterCount memberCount } } } }",
            json!({ "id": qn }),
        )
        .await;

    let s = &data["yearEndStatistics"];
    let t = &s["totals"];
    assert_eq!(t["memberCount"], stats["node"]["stats"]["memberCount"]);
    assert_eq!(t["baseCount"], stats["node"]["stats"]["baseCount"]);
    assert_eq!(t["chapterCount"], stats["node"]["stats"]["chapterCount"]);
    assert_eq!(t["memberCount"], 10);
    assert_eq!((t["women"].as_i64(), t["men"].as_i64()), (Some(2), Some(8)));
    // Birth years 1950..1959: five are 70-74 at the end of 2024, five are 65-69.
    assert_eq!((t["age70To79"].as_i64(), t["age60To69"].as_i64()), (Some(5), Some(5)));
    assert_eq!(
        (t["ageUnder60"].as_i64(), t["age80AndOver"].as_i64()),
        (Some(0), Some(0))
    );
    let awards = t["awards"].as_array().expect("awards");
    assert_eq!(awards.len(), 2, "{awards:?}");
    assert!(
        awards
            .iter()
            .all(|a| a["grantingLevel"] == "CENTRAL" && a["count"] == 1)
    );
    let breakdown = s["breakdown"].as_array().expect("breakdown");
    assert_eq!(breakdown.len(), 3, "one row per base");
    let total: i64 = breakdown
        .iter()
        .map(|b| b["figures"]["memberCount"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, 10, "the rows add up to the total");
    let a1 = breakdown.iter().find(|b| b["code"] == "QN-A1").expect("base A1");
    assert_eq!(a1["figures"]["memberCount"], 7);
    assert_eq!(a1["figures"]["chapterCount"], 2);
    assert_eq!(a1["figures"]["awards"].as_array().map(Vec::len), Some(2));

    // The same figures hang off the node itself.
    let on_node = app
        .data(
            Some(&token),
            "query($id: ID!) { node(id: $id) { ... on Base { yearEndStatistics(year: 2024) { totals { memberCount } breakdown { code } } } } }",
            json!({ "id": gid(NodeKind::Base, tree.bases["A1"]) }),
        )
        .await;
    assert_eq!(on_node["node"]["yearEndStatistics"]["totals"]["memberCount"], 7);
    assert_eq!(
        on_node["node"]["yearEndStatistics"]["breakdown"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn year_end_statistics_are_for_officials_of_the_unit_or_above() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let other = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["B1"]));
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);

    let code = app
        .error_code(Some(&leader), YEAR_END, json!({ "id": a1, "year": 2024 }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code = app
        .error_code(Some(&other), YEAR_END, json!({ "id": a1, "year": 2024 }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code = app.error_code(None, YEAR_END, json!({ "id": a1, "year": 2024 })).await;
    assert_eq!(code, "FORBIDDEN");
    let own = gid(NodeKind::Chapter, tree.chapters["A1a"]);
    let data = app
        .data(Some(&leader), YEAR_END, json!({ "id": own, "year": 2024 }))
        .await;
    assert_eq!(data["yearEndStatistics"]["totals"]["memberCount"], 5);
    let code = app
        .error_code(Some(&leader), YEAR_END, json!({ "id": own, "year": 1200 }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_membership_report_is_a_workbook_with_a_row_per_base_and_a_total() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let token = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let qn = gid(NodeKind::Province, tree.provinces["QN"]);

    let path = format!("/reports/membership.xlsx?unitId={qn}&year=2024");
    let (status, _, body) = download(&app, Some(&token), &path).await;

    assert_eq!(status, 200);
    let rows = sheet(&body);
    assert!(text(&rows[0][0]).contains("NĂM 2024"), "title row first");
    let header = rows.iter().position(|r| text(&r[0]) == "Đơn vị").expect("header row");
    let members = rows[header]
        .iter()
        .position(|c| text(c) == "Hội viên")
        .expect("members column");
    let body_rows = &rows[header + 1..];
    assert_eq!(body_rows.len(), 4, "three bases and the total");
    let total = body_rows.last().expect("total row");
    assert!(text(&total[0]).starts_with("Tổng cộng"));
    assert_eq!(total[members].as_f64(), Some(10.0));

    let hp = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["HP"]));
    let (status, _, body) = download(&app, Some(&hp), &path).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "FORBIDDEN"));
}

#[tokio::test]
async fn the_membership_report_counts_the_yearly_ratings_earned_per_base_and_in_total() {
    use crate::proposals::{RECORD_RATING, rating_input};
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));
    for (token, kind, subject, achieved) in [
        (&province, "STRONG_BASE", gid(NodeKind::Base, tree.bases["A1"]), true),
        (&province, "STRONG_BASE", gid(NodeKind::Base, tree.bases["A2"]), false),
        (&base, "MODEL_MEMBER", dung.clone(), true),
        (&base, "MODEL_MEMBER", truong.clone(), true),
        (&base, "CULTURED_FAMILY", dung, true),
        (&base, "CULTURED_FAMILY", truong, false),
    ] {
        app.data(Some(token), RECORD_RATING, rating_input(kind, &subject, achieved))
            .await;
    }

    let qn = gid(NodeKind::Province, tree.provinces["QN"]);
    let read = async |year: i32| {
        let path = format!("/reports/membership.xlsx?unitId={qn}&year={year}");
        let (status, _, body) = download(&app, Some(&province), &path).await;
        assert_eq!(status, 200);
        let rows = sheet(&body);
        let header = rows.iter().position(|r| text(&r[0]) == "Đơn vị").expect("header row");
        let column = |name: &str| {
            rows[header]
                .iter()
                .position(|c| text(c) == name)
                .unwrap_or_else(|| panic!("column {name}"))
        };
        let columns = [
            column("Cơ sở hội trong sạch, vững mạnh"),
            column("Hội viên CCB gương mẫu"),
            column("Gia đình CCB văn hóa"),
        ];
        rows[header + 1..]
            .iter()
            .map(|r| {
                let figures: Vec<f64> = columns.iter().map(|c| r[*c].as_f64().unwrap_or(-1.0)).collect();
                (text(&r[0]), figures)
            })
            .collect::<Vec<_>>()
    };
    // Only the ratings earned count: one strong base of two rated, two model members, one cultured family.
    let rows = read(2024).await;
    let by_name = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.contains(name))
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("row {name}: {rows:?}"))
    };
    assert_eq!(by_name("Phường Đông Triều"), vec![1.0, 2.0, 1.0]);
    assert_eq!(by_name("Xã Tiên Yên"), vec![0.0, 0.0, 0.0]);
    assert_eq!(by_name("Tổng cộng"), vec![1.0, 2.0, 1.0]);
    // Another year's report counts none of them.
    let rows = read(2023).await;
    assert!(rows.iter().all(|(_, f)| f == &vec![0.0, 0.0, 0.0]), "{rows:?}");
}

// ---------------------------------------------------------------------------------------------------------
// Roster import, through real HTTP in the GraphQL multipart request spec with a bearer token.

const IMPORT: &str = "mutation($file: Upload!, $dryRun: Boolean!) {
  importMembers(file: $file, dryRun: $dryRun) { created updated unchanged applied errors { row column message } }
}";

async fn import(app: &TestApp, role: Role, scope: ScopeNode, name: &str, bytes: Vec<u8>, dry_run: bool) -> Value {
    use reqwest::multipart::{Form, Part};
    let token = app.token(role, scope);
    let operations = json!({ "query": IMPORT, "variables": { "file": null, "dryRun": dry_run } });
    let form = Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part("0", Part::bytes(bytes).file_name(name.to_owned()));
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
    let text = resp.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    json!({ "status": status, "body": body })
}

fn payload(v: &Value) -> &Value {
    assert_eq!(v["status"], 200, "{v}");
    let body = &v["body"];
    assert!(
        body.get("errors")
            .is_none_or(|e| e.as_array().is_some_and(Vec::is_empty)),
        "{v}"
    );
    &body["data"]["importMembers"]
}

fn counts(p: &Value) -> (i64, i64, i64) {
    (
        p["created"].as_i64().unwrap_or(-1),
        p["updated"].as_i64().unwrap_or(-1),
        p["unchanged"].as_i64().unwrap_or(-1),
    )
}

async fn member_count(app: &TestApp) -> u64 {
    use sea_orm::PaginatorTrait;
    entity::member::Entity::find().count(app.db()).await.expect("count")
}

#[tokio::test]
async fn an_export_re_imports_unchanged_as_xlsx_and_as_csv() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);
    let token = app.token(Role::BaseOfficial, scope);
    let unit = gid(NodeKind::Base, tree.bases["A1"]);

    let (_, _, xlsx) = download(&app, Some(&token), &format!("/exports/members.xlsx?unitId={unit}")).await;
    let (_, _, csv) = download(&app, Some(&token), &format!("/exports/members.csv?unitId={unit}")).await;
    let from_xlsx = import(&app, Role::BaseOfficial, scope, "a1.xlsx", xlsx, false).await;
    let from_csv = import(&app, Role::BaseOfficial, scope, "a1.csv", csv, false).await;

    for result in [&from_xlsx, &from_csv] {
        let p = payload(result);
        assert_eq!(p["errors"], json!([]), "{result}");
        assert_eq!(counts(p), (0, 0, 7));
    }
    assert_eq!(member_count(&app).await, 12);
}

/// A sheet as officials keep them: a merged title above the header, headers without diacritics, an NFD name
/// with double spaces, a serial birth date, a card number and a phone stored as numbers, the chapter by name.
fn messy_sheet() -> Vec<u8> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let title = Format::new().set_bold();
    ws.merge_range(0, 0, 0, 8, "DANH SÁCH HỘI VIÊN CHI HỘI KHU 1", &title)
        .expect("merge");
    let headers = [
        "STT",
        "Ho va ten",
        "Ngày sinh",
        "Giới tính",
        "Số điện thoại",
        "Đối tượng",
        "Đảng viên",
        "So the hoi vien",
        "Chi hội",
    ];
    for (i, h) in headers.iter().enumerate() {
        ws.write_string(2, i as u16, *h).expect("header");
    }
    // A new member.
    ws.write_number(3, 0, 1).expect("cell");
    ws.write_string(3, 1, "  Nguye\u{0302}\u{0303}n  Văn   Mới ")
        .expect("cell");
    ws.write_number(3, 2, 20000).expect("cell");
    ws.write_string(3, 3, "nam").expect("cell");
    ws.write_number(3, 4, 912_345_678).expect("cell");
    ws.write_string(3, 5, "CCB").expect("cell");
    ws.write_string(3, 6, "X").expect("cell");
    ws.write_number(3, 7, 778_899).expect("cell");
    ws.write_string(3, 8, "chi hoi khu 1").expect("cell");
    // An existing member (card CARD-001, Trần Thị Dung) with a new phone.
    ws.write_number(4, 0, 2).expect("cell");
    ws.write_string(4, 1, "Trần Thị Dung").expect("cell");
    ws.write_string(4, 2, "1951").expect("cell");
    ws.write_string(4, 3, "Nữ").expect("cell");
    ws.write_string(4, 4, "0987 654 321").expect("cell");
    ws.write_string(4, 5, "ccb").expect("cell");
    ws.write_string(4, 7, "CARD-001").expect("cell");
    ws.write_string(4, 8, "QN-A1-A1a").expect("cell");
    wb.save_to_buffer().expect("xlsx")
}

#[tokio::test]
async fn a_messy_real_sheet_imports_after_a_dry_run_and_a_second_run_changes_nothing() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);

    let dry = import(&app, Role::BaseOfficial, scope, "khu1.xlsx", messy_sheet(), true).await;
    let p = payload(&dry);
    assert_eq!(p["errors"], json!([]), "{p}");
    assert_eq!(counts(p), (1, 1, 0));
    assert_eq!(p["applied"], false);
    assert_eq!(member_count(&app).await, 12, "a dry run writes nothing");

    let real = import(&app, Role::BaseOfficial, scope, "khu1.xlsx", messy_sheet(), false).await;
    assert_eq!(counts(payload(&real)), (1, 1, 0));
    assert_eq!(payload(&real)["applied"], true);
    let token = app.token(Role::BaseOfficial, scope);
    let found = app
        .data(
            Some(&token),
            "{ members(filter: { search: \"moi\" }) { nodes { fullName birthDate phone cardNumber partyMember chapter { code } } } }",
            json!({}),
        )
        .await;
    let m = &found["members"]["nodes"][0];
    assert_eq!(m["fullName"], "Nguyễn Văn Mới", "stored in NFC with single spaces");
    assert_eq!(m["birthDate"], "1954-10-03", "serial 20000");
    assert_eq!(m["phone"], "0912345678", "the leading zero a number cell lost");
    assert_eq!(m["cardNumber"], "778899");
    assert_eq!(m["partyMember"], true);
    assert_eq!(m["chapter"]["code"], "QN-A1-A1a");
    let dung = app
        .data(
            Some(&token),
            "query($id: ID!) { node(id: $id) { ... on Member { phone version history { nodes { action } } } } }",
            json!({ "id": gid(NodeKind::Member, tree.member("Trần Thị Dung")) }),
        )
        .await;
    assert_eq!(dung["node"]["phone"], "0987654321");
    assert_eq!(dung["node"]["version"], 2, "versioned like updateMember");

    let again = import(&app, Role::BaseOfficial, scope, "khu1.xlsx", messy_sheet(), false).await;
    assert_eq!(
        counts(payload(&again)),
        (0, 0, 2),
        "idempotent: the card number is the key"
    );
    assert_eq!(member_count(&app).await, 13);
}

#[tokio::test]
async fn a_file_with_any_error_changes_nothing_and_each_error_names_its_row_and_column() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);
    let csv = "\u{FEFF}Họ và tên,Giới tính,Ngày sinh,Đối tượng,Số thẻ hội viên,Chi hội\n\
               Phạm Văn Tốt,Nam,12/05/1956,CCB,NEW-1,QN-A1-A1a\n\
               Lê Văn Sai,X,31/02/1990,CCB,NEW-2,QN-A1-A1b\n\
               Vũ Văn Xa,Nam,1960,CQN,NEW-3,HP-B1-B1a\n\
               Đỗ Văn Trùng,Nam,1961,CQN,NEW-1,QN-A1-A1a\n";

    let result = import(
        &app,
        Role::BaseOfficial,
        scope,
        "a1.csv",
        csv.as_bytes().to_vec(),
        false,
    )
    .await;

    let p = payload(&result);
    assert_eq!(p["applied"], false);
    let errors: Vec<(i64, String)> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap_or(0),
                e["column"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(errors.contains(&(3, "Giới tính".into())), "{errors:?}");
    assert!(errors.contains(&(3, "Ngày sinh".into())), "{errors:?}");
    assert!(
        errors.contains(&(4, "Chi hội".into())),
        "a chapter outside the scope: {errors:?}"
    );
    assert!(
        errors.contains(&(5, "Số thẻ hội viên".into())),
        "a card twice in the file: {errors:?}"
    );
    assert_eq!(member_count(&app).await, 12, "nothing written");
}

#[tokio::test]
async fn hostile_files_get_a_clear_error_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let scope = ScopeNode::Base(tree.bases["A1"]);
    let code_and_message = |v: &Value| {
        let e = &v["body"]["errors"][0];
        (
            e["extensions"]["code"].as_str().unwrap_or_default().to_owned(),
            e["message"].as_str().unwrap_or_default().to_owned(),
        )
    };

    let png = import(
        &app,
        Role::BaseOfficial,
        scope,
        "x.png",
        b"\x89PNG\r\n\x1a\n\0\0\0binary".to_vec(),
        false,
    )
    .await;
    let (code, message) = code_and_message(&png);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.starts_with("file:"), "{message}");

    let fake_zip = import(
        &app,
        Role::BaseOfficial,
        scope,
        "x.xlsx",
        b"PK\x03\x04not really".to_vec(),
        false,
    )
    .await;
    assert_eq!(code_and_message(&fake_zip).0, "BAD_USER_INPUT");

    let huge = import(
        &app,
        Role::BaseOfficial,
        scope,
        "big.csv",
        vec![b'a'; 50 * 1024 * 1024],
        false,
    )
    .await;
    assert_eq!(huge["status"], 413, "the HTTP layer's upload limit: {}", huge["body"]);
    let big = import(
        &app,
        Role::BaseOfficial,
        scope,
        "big.csv",
        vec![b'a'; 9 * 1024 * 1024],
        false,
    )
    .await;
    let (code, message) = code_and_message(&big);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("larger than"), "the importer's own limit: {message}");

    let mut many = String::from("Họ và tên,Giới tính,Đối tượng,Số thẻ hội viên,Chi hội\n");
    for i in 0..10_050 {
        many.push_str(&format!("Lê Văn An,Nam,CCB,X-{i},QN-A1-A1a\n"));
    }
    let too_many = import(&app, Role::BaseOfficial, scope, "many.csv", many.into_bytes(), false).await;
    assert!(
        code_and_message(&too_many).1.contains("more than 10000 rows"),
        "{too_many}"
    );

    let formula = {
        use rust_xlsxwriter::{Formula, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (i, h) in ["Họ và tên", "Giới tính", "Đối tượng", "Số thẻ hội viên", "Chi hội"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, i as u16, *h).expect("header");
        }
        ws.write_string(1, 0, "Lê Văn Công").expect("cell");
        ws.write_string(1, 1, "Nam").expect("cell");
        ws.write_string(1, 2, "CCB").expect("cell");
        ws.write_formula(1, 3, Formula::new("=CONCAT(\"F-\",\"1\")"))
            .expect("formula");
        ws.write_string(1, 4, "QN-A1-A1a").expect("cell");
        wb.save_to_buffer().expect("xlsx")
    };
    let result = import(&app, Role::BaseOfficial, scope, "f.xlsx", formula, false).await;
    let p = payload(&result);
    assert_eq!(p["errors"][0]["column"], "Số thẻ hội viên");
    assert!(
        p["errors"][0]["message"].as_str().unwrap_or("").contains("formula"),
        "{p}"
    );

    let leader = import(
        &app,
        Role::ChapterLeader,
        ScopeNode::Chapter(tree.chapters["A1a"]),
        "khu1.xlsx",
        messy_sheet(),
        false,
    )
    .await;
    let p = payload(&leader);
    assert_eq!(p["applied"], false, "a chapter leader may not admit members: {p}");
    assert_eq!(member_count(&app).await, 12);
}
