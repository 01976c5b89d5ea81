//! Diacritic-insensitive search and Vietnamese roster order, through `Query.members` and unit lists.

use hoi_ccb::store::members::{BY_NAME, MemberFilter};
use hoi_ccb::store::page::Window;
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::TestApp;

pub(crate) fn names(v: &Value) -> Vec<String> {
    v["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n["fullName"].as_str().unwrap_or("").to_owned())
        .collect()
}

const SEARCH: &str =
    "query($s: String!) { members(filter: { search: $s }, first: 50) { totalCount nodes { fullName } } }";

#[tokio::test]
async fn search_ignores_diacritics_and_case() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let found = app.data(Some(&admin), SEARCH, json!({ "s": "truong" })).await;
    assert_eq!(names(&found["members"]), vec!["Nguyễn Văn Trường"]);
    let found = app.data(Some(&admin), SEARCH, json!({ "s": "NGUYEN" })).await;
    assert_eq!(found["members"]["totalCount"], 2);
    let found = app.data(Some(&admin), SEARCH, json!({ "s": "nguyen  VAN" })).await;
    assert_eq!(names(&found["members"]), vec!["Nguyễn Văn Trường"]);
    // "Hòa" and "Hoà" are the same word.
    let hoa = app.data(Some(&admin), SEARCH, json!({ "s": "Hòa" })).await;
    let hoa2 = app.data(Some(&admin), SEARCH, json!({ "s": "Hoà" })).await;
    // Prefix match: "hoa" also starts "Hoàng" (listed after the whole-word matches: search_ranking.rs).
    assert_eq!(
        names(&hoa["members"]),
        vec!["Bùi Văn Hòa", "Đặng Thị Hoà", "Hoàng Văn An"]
    );
    assert_eq!(hoa, hoa2);
    // đ folds to d.
    let duc = app.data(Some(&admin), SEARCH, json!({ "s": "duc" })).await;
    assert_eq!(names(&duc["members"]), vec!["Lê Văn Đức"]);
    // Words are prefixes of name words; a word in the middle of a word does not match.
    let none = app.data(Some(&admin), SEARCH, json!({ "s": "uong" })).await;
    assert_eq!(none["members"]["totalCount"], 0);
}

#[tokio::test]
async fn unit_search_finds_dong_trieu_without_diacritics() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let data = app
        .data(
            None,
            r#"{ bases(filter: { search: "dong trieu" }) { totalCount nodes { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["bases"]["nodes"][0]["name"], "Phường Đông Triều");
    assert_eq!(data["bases"]["totalCount"], 1);
}

#[tokio::test]
async fn rosters_sort_by_given_name_in_vietnamese_order() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let data = app
        .data(
            Some(&app.admin()),
            "{ members(first: 50, filter: { provinceId: null }) { nodes { fullName givenName } } }",
            json!({}),
        )
        .await;
    let given: Vec<String> = data["members"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n["givenName"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        given,
        vec![
            "An",
            "Bình",
            "Cường",
            "Dung",
            "Dũng",
            "Đạt",
            "Đức",
            "Hòa",
            "Hoà",
            "Lan",
            "Trung",
            "Trường"
        ],
        "Đ after every D; tones break ties within the given name; Hòa (Bùi) and Hoà (Đặng) tie and the family name decides"
    );
    let desc = app
        .data(
            Some(&app.admin()),
            "{ members(first: 50, orderBy: NAME_DESC) { nodes { givenName } } }",
            json!({}),
        )
        .await;
    let mut reversed: Vec<String> = desc["members"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n["givenName"].as_str().unwrap_or("").to_owned())
        .collect();
    reversed.reverse();
    assert_eq!(reversed, given);
}

#[tokio::test]
async fn search_asks_the_full_text_index_instead_of_scanning_names() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let filter = MemberFilter {
        search_words: vec!["truong".into()],
        ..Default::default()
    };
    let backend = sea_orm::ConnectionTrait::get_database_backend(app.db());
    let query = hoi_ccb::store::members::list(&filter, &hoi_ccb::auth::policy::Subtree::All, BY_NAME, backend);
    let window = Window::parse(&BY_NAME, Some(20), None, None, None).expect("window");
    let plan = query.explain(app.db(), &window).await.expect("explain");
    if app.is_postgres() {
        // On a table this small PostgreSQL may prefer a sequential scan; the condition must be the indexed
        // column (`search_prefixes @> …`), so the GIN index can answer it on a big one.
        assert!(plan.contains("search_prefixes @>"), "{plan}");
    } else {
        assert!(
            plan.contains("VIRTUAL TABLE INDEX"),
            "the FTS5 index answers the words: {plan}"
        );
        assert!(!plan.contains("member_tokens"), "{plan}");
    }
}

#[tokio::test]
async fn a_search_of_only_symbols_is_refused_rather_than_matching_everyone() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    for raw in ["%", "_", "\\", "%_%", "…!?", " - "] {
        let (status, body) = app.post(Some(&admin), SEARCH, json!({ "s": raw })).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{raw:?}: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("filter.search"),
            "{body}"
        );
        let units = app
            .post(
                Some(&admin),
                "query($s: String!) { provinces(filter: { search: $s }) { totalCount } }",
                json!({ "s": raw }),
            )
            .await
            .1;
        assert_eq!(
            units["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{raw:?}: {units}"
        );
    }
    // A blank search is no search; symbols around a word are ignored.
    let all = app.data(Some(&admin), SEARCH, json!({ "s": "  " })).await;
    assert!(all["members"]["totalCount"].as_i64().unwrap_or(0) > 2, "{all}");
    let found = app.data(Some(&admin), SEARCH, json!({ "s": "%truong_" })).await;
    assert_eq!(names(&found["members"]), vec!["Nguyễn Văn Trường"]);
}
