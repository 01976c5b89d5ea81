//! Search as a search box uses it: best match first, pages that follow that order, and a total that stops
//! counting at a bound instead of reading every match of a common prefix.

use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};
use crate::search_and_order::names;

const SEARCH: &str = "query($s: String!, $o: MemberOrder) {
  members(filter: { search: $s }, orderBy: $o, first: 50) { totalCount totalCountIsExact nodes { fullName } }
}";

#[tokio::test]
async fn a_search_lists_whole_word_matches_before_prefix_matches() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    // "hoa" is the whole given name of Đặng Thị Hoà and Bùi Văn Hòa, and only the start of "Hoàng".
    let found = app.data(Some(&admin), SEARCH, json!({ "s": "hoa" })).await;
    assert_eq!(
        names(&found["members"]),
        vec!["Bùi Văn Hòa", "Đặng Thị Hoà", "Hoàng Văn An"],
        "best match is the default order of a search"
    );
    assert_eq!(found["members"]["totalCount"], 3);
    assert_eq!(found["members"]["totalCountIsExact"], true);
    let by_name = app.data(Some(&admin), SEARCH, json!({ "s": "hoa", "o": "NAME" })).await;
    assert_eq!(
        names(&by_name["members"]),
        vec!["Hoàng Văn An", "Bùi Văn Hòa", "Đặng Thị Hoà"],
        "roster order on request"
    );
    let explicit = app
        .data(Some(&admin), SEARCH, json!({ "s": "hoa", "o": "BEST_MATCH" }))
        .await;
    assert_eq!(names(&explicit["members"]), names(&found["members"]));
    // Without a search there is nothing to rank: BEST_MATCH is roster order.
    let all = app
        .data(
            Some(&admin),
            "{ a: members(orderBy: BEST_MATCH, first: 50) { nodes { fullName } } b: members(first: 50) { nodes { fullName } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&all["a"]), names(&all["b"]));
    // Two words: both must be whole for the first group.
    let two = app.data(Some(&admin), SEARCH, json!({ "s": "van an" })).await;
    assert_eq!(names(&two["members"]).first().map(String::as_str), Some("Hoàng Văn An"));
}

#[tokio::test]
async fn best_match_pages_forward_and_backward_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let all = names(&app.data(Some(&admin), SEARCH, json!({ "s": "hoa" })).await["members"]);
    let page = "query($s: String!, $after: String, $before: String, $first: Int, $last: Int) {
      members(filter: { search: $s }, first: $first, after: $after, last: $last, before: $before) {
        nodes { fullName } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..10 {
        let got = app
            .data(Some(&admin), page, json!({ "s": "hoa", "first": 1, "after": after }))
            .await;
        seen.extend(names(&got["members"]));
        if got["members"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = got["members"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, all, "one at a time, forward");
    let mut back = Vec::new();
    let mut before = Value::Null;
    for _ in 0..10 {
        let got = app
            .data(Some(&admin), page, json!({ "s": "hoa", "last": 1, "before": before }))
            .await;
        let mut chunk = names(&got["members"]);
        chunk.extend(back);
        back = chunk;
        if got["members"]["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        before = got["members"]["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(back, all, "one at a time, backward");
}

#[tokio::test]
async fn nested_member_lists_rank_a_search_per_parent() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let base = gid(hoi_ccb::ids::NodeKind::Base, tree.bases["A1"]);
    let query = "query($id: ID!, $o: MemberOrder) { node(id: $id) { ... on Base {
        members(filter: { search: \"hoa\" }, orderBy: $o) { totalCount nodes { fullName } } } } }";
    let best = app.data(Some(&app.admin()), query, json!({ "id": base })).await;
    assert_eq!(names(&best["node"]["members"]), vec!["Đặng Thị Hoà", "Hoàng Văn An"]);
    let by_name = app
        .data(Some(&app.admin()), query, json!({ "id": base, "o": "NAME" }))
        .await;
    assert_eq!(names(&by_name["node"]["members"]), vec!["Hoàng Văn An", "Đặng Thị Hoà"]);
}

#[tokio::test]
async fn a_common_prefix_counts_up_to_the_bound_and_is_listed_in_registration_order() {
    let app = TestApp::spawn_with_demo().await;
    let admin = app.admin();
    // About 38 % of the demo's 55,694 active members are Nguyễn: far past the bound.
    let broad = app
        .data(
            Some(&admin),
            "{ members(filter: { search: \"nguyen\" }, first: 5) { totalCount totalCountIsExact nodes { givenName }
               pageInfo { endCursor } } byId: members(filter: { search: \"nguyen\" }, orderBy: ID, first: 5) {
               nodes { givenName } pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(broad["members"]["totalCount"], 1_000);
    assert_eq!(broad["members"]["totalCountIsExact"], false);
    assert_eq!(
        broad["members"]["nodes"], broad["byId"]["nodes"],
        "too broad to rank: registration order"
    );
    assert_eq!(
        broad["members"]["pageInfo"]["endCursor"], broad["byId"]["pageInfo"]["endCursor"],
        "with registration-order cursors"
    );
    // Finding the matches is the costly part: a broad search finds at most the bound and one more, once,
    // then pages by id.
    let (statements, _) = app
        .count_statements(
            Some(&admin),
            "{ members(filter: { search: \"nguyen\" }, first: 5) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(statements, 2, "the bounded matches, then the page by id");
    // A narrow search is counted exactly, and its whole-word matches come first: the matches are found once,
    // and the ranked page and the count come from them in the same statement.
    let (statements, narrow) = app
        .count_statements(
            Some(&admin),
            "{ members(filter: { search: \"nguyen thi hoa\" }, first: 100) { totalCount totalCountIsExact
               nodes { fullName } } }",
            json!({}),
        )
        .await;
    assert_eq!(statements, 1, "one statement for the ranked page and its count");
    let total = narrow["members"]["totalCount"].as_i64().unwrap_or(0);
    assert!((1..1_000).contains(&total), "{narrow}");
    assert_eq!(narrow["members"]["totalCountIsExact"], true);
    let whole = |name: &str| {
        let folded = hoi_ccb::text::fold(name);
        let words: Vec<&str> = folded.split(' ').collect();
        ["nguyen", "thi", "hoa"].iter().all(|w| words.contains(w))
    };
    let ranks: Vec<bool> = names(&narrow["members"]).iter().map(|n| whole(n)).collect();
    assert!(ranks.iter().any(|w| *w), "some Nguyễn Thị Hoa exists: {narrow}");
    assert!(
        ranks.windows(2).all(|p| p[0] || !p[1]),
        "whole-word matches before prefix matches: {ranks:?}"
    );
}
