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

/// The active members whose folded name holds every word of `search` as the start of one of its words, by id:
/// the meaning of a search, worked out here from every name.
fn expected_matches(names: &[(i64, String)], search: &str) -> Vec<i64> {
    let words = hoi_ccb::store::members::MemberFilter::search_words(search);
    names
        .iter()
        .filter(|(_, name)| {
            let parts: Vec<&str> = name.split(' ').collect();
            words.iter().all(|w| parts.iter().any(|p| p.starts_with(w.as_str())))
        })
        .map(|(id, _)| *id)
        .collect()
}

/// [`expected_matches`] in best-match order: the names holding every word as a whole word first, then the roster
/// order (sort key, then id) within each group.
fn ranked_matches(
    names: &[(i64, String)],
    sort_keys: &std::collections::HashMap<i64, String>,
    search: &str,
) -> Vec<i64> {
    let words = hoi_ccb::store::members::MemberFilter::search_words(search);
    let by_id: std::collections::HashMap<i64, &str> = names.iter().map(|(id, n)| (*id, n.as_str())).collect();
    let mut ranked: Vec<(bool, &str, i64)> = expected_matches(names, search)
        .into_iter()
        .map(|id| {
            let parts: Vec<&str> = by_id[&id].split(' ').collect();
            let partial = !words.iter().all(|w| parts.contains(&w.as_str()));
            (partial, sort_keys[&id].as_str(), id)
        })
        .collect();
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, _, id)| id).collect()
}

#[tokio::test]
async fn searches_of_several_words_find_exactly_the_names_that_hold_every_word() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn_with_demo().await;
    let admin = app.admin();
    let rows = app
        .db()
        .query_all_raw(
            hoi_ccb::sql::Sql::new("SELECT id, search_name, sort_key FROM members WHERE status = 'ACTIVE' ORDER BY id")
                .build(app.db().get_database_backend()),
        )
        .await
        .expect("names");
    let names: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.try_get_by_index(0).expect("id"), r.try_get_by_index(1).expect("name")))
        .collect();
    let sort_keys: std::collections::HashMap<i64, String> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("id"),
                r.try_get_by_index(2).expect("sort key"),
            )
        })
        .collect();
    let query = "query($s: String!, $o: MemberOrder) {
      members(filter: { search: $s }, orderBy: $o, first: 100) { totalCount totalCountIsExact nodes { id } } }";
    let ids = |v: &Value| -> Vec<i64> {
        v["members"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|n| {
                let raw = n["id"].as_str().unwrap_or_default();
                hoi_ccb::ids::GlobalId::parse("id", raw).expect("a member id").id
            })
            .collect()
    };
    // On PostgreSQL, searches of several words go through the index of word pairs: in and out of order, with
    // short and one-letter words, narrow (ranked), sparse past the bound and dense past it.
    let searches = [
        "tran thi hoa",
        "hoa thi tran",
        "nguyen van an",
        "an tran",
        "le an",
        "nguyen van t",
        "van an",
        "tran van",
        "nguyen van",
        "van van",
    ];
    let paged = "query($s: String!, $f: Int, $a: String, $l: Int, $b: String) {
      members(filter: { search: $s }, first: $f, after: $a, last: $l, before: $b) {
        totalCount totalCountIsExact pageInfo { startCursor endCursor hasPreviousPage } nodes { id } } }";
    let cursor = |v: &Value, which: &str| v["members"]["pageInfo"][which].clone();
    // First with no statistics (every pair counts as rare), then as a server that has read the statistics of an
    // analysed database, where the demo's common pairs (such as "ngu|an" and "van|an") narrow a search only
    // two together.
    let mut sparse_seen = false;
    let mut merged_seen = false;
    for analysed in [false, true] {
        if analysed {
            if !app.is_postgres() {
                break;
            }
            app.db().execute_unprepared("ANALYZE members").await.expect("analyse");
            let pairs = &app.state.services.pair_frequencies;
            pairs.refresh(app.db()).await.expect("pair statistics");
            let words = hoi_ccb::store::members::MemberFilter::search_words("nguyen van an");
            let narrowed = hoi_ccb::store::members::narrowed_search_condition(&words, |p| pairs.share(p));
            assert_eq!(
                narrowed.map(|(_, breadth)| breadth),
                Some(hoi_ccb::store::members::PairBreadth::Common),
                "the demo's statistics make nguyen van an a search of common pairs"
            );
        }
        for search in searches {
            let expected = expected_matches(&names, search);
            assert!(!expected.is_empty(), "the demo has a {search}");
            let first_page: Vec<i64> = expected.iter().take(100).copied().collect();
            let by_id = app.data(Some(&admin), query, json!({ "s": search, "o": "ID" })).await;
            assert_eq!(ids(&by_id), first_page, "{search}: the first page by id");
            let best = app.data(Some(&admin), query, json!({ "s": search })).await;
            let found = expected.len() as i64;
            if found <= 1_000 {
                assert_eq!(best["members"]["totalCount"], found, "{search}: counted exactly");
                assert_eq!(best["members"]["totalCountIsExact"], true);
                // Best match first: names holding every word whole, then the roster (sort key, id).
                let ranked = ranked_matches(&names, &sort_keys, search);
                let first_ranked: Vec<i64> = ranked.iter().take(100).copied().collect();
                assert_eq!(ids(&best), first_ranked, "{search}: the first page, ranked");
                // In roster order on request: by sort key, then id.
                let by_name = app.data(Some(&admin), query, json!({ "s": search, "o": "NAME" })).await;
                let mut roster: Vec<(&str, i64)> = expected.iter().map(|id| (sort_keys[id].as_str(), *id)).collect();
                roster.sort_unstable();
                let want: Vec<i64> = roster.iter().take(100).map(|(_, id)| *id).collect();
                assert_eq!(ids(&by_name), want, "{search}: the first page in roster order");
                assert_eq!(by_name["members"]["totalCount"], found);
                // Its pages follow the ranking forward and back (cut from the matches the statement found).
                let mut pages = Vec::new();
                let mut after = Value::Null;
                for _ in 0..3 {
                    let page = app
                        .data(Some(&admin), paged, json!({ "s": search, "f": 7, "a": after }))
                        .await;
                    assert_eq!(
                        page["members"]["totalCount"], found,
                        "{search}: the count on every page"
                    );
                    pages.extend(ids(&page));
                    after = cursor(&page, "endCursor");
                    if after.is_null() {
                        break;
                    }
                }
                let want: Vec<i64> = ranked.iter().take(21).copied().collect();
                assert_eq!(pages, want, "{search}: three pages of seven, ranked");
                if ranked.len() >= 21 {
                    // The seven before the last one read.
                    let back = app
                        .data(Some(&admin), paged, json!({ "s": search, "l": 7, "b": after }))
                        .await;
                    let want: Vec<i64> = ranked.iter().skip(13).take(7).copied().collect();
                    assert_eq!(ids(&back), want, "{search}: seven back from the last one read");
                }
                if found > 10 {
                    // A cursor in registration order (as a page cut past the bound gives) on a search now within
                    // the bound goes on in that order, with the exact count.
                    let raw = format!("[\"member:ID\",{}]", expected[4]);
                    let after = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
                    let next = app
                        .data(Some(&admin), paged, json!({ "s": search, "f": 5, "a": after }))
                        .await;
                    let want: Vec<i64> = expected.iter().skip(5).take(5).copied().collect();
                    assert_eq!(ids(&next), want, "{search}: registration order after the cursor");
                    assert_eq!(next["members"]["totalCount"], found);
                    assert_eq!(next["members"]["totalCountIsExact"], true);
                }
            } else {
                sparse_seen |= found <= 5_000;
                assert_eq!(
                    best["members"]["totalCount"], 1_000,
                    "{search}: counted up to the bound"
                );
                assert_eq!(best["members"]["totalCountIsExact"], false);
                assert_eq!(
                    ids(&best),
                    first_page,
                    "{search}: too broad to rank, in registration order"
                );
                let (statements, _) = app.count_statements(Some(&admin), query, json!({ "s": search })).await;
                // On PostgreSQL a search found through rare pairs whose matches are all within the probe's
                // limit has its page cut from them in the same statement.
                let pairs = &app.state.services.pair_frequencies;
                let words = hoi_ccb::store::members::MemberFilter::search_words(search);
                let rare = hoi_ccb::store::members::narrowed_search_condition(&words, |p| pairs.share(p))
                    .is_some_and(|(_, breadth)| breadth == hoi_ccb::store::members::PairBreadth::Rare);
                if app.is_postgres() && rare && found <= 5_000 {
                    merged_seen = true;
                    assert_eq!(statements, 1, "{search}: the bounded matches with the page");
                } else {
                    assert_eq!(statements, 2, "{search}: the bounded matches, then the page");
                }
                // Its pages go on in registration order, forward and back.
                let first = app.data(Some(&admin), paged, json!({ "s": search, "f": 100 })).await;
                assert_eq!(ids(&first), first_page);
                let next = app
                    .data(
                        Some(&admin),
                        paged,
                        json!({ "s": search, "f": 100, "a": cursor(&first, "endCursor") }),
                    )
                    .await;
                let second: Vec<i64> = expected.iter().skip(100).take(100).copied().collect();
                assert_eq!(ids(&next), second, "{search}: the second page");
                assert_eq!(next["members"]["totalCount"], 1_000);
                assert_eq!(next["members"]["totalCountIsExact"], false);
                assert_eq!(next["members"]["pageInfo"]["hasPreviousPage"], true);
                let back = app
                    .data(
                        Some(&admin),
                        paged,
                        json!({ "s": search, "l": 100, "b": cursor(&next, "startCursor") }),
                    )
                    .await;
                assert_eq!(ids(&back), first_page, "{search}: back to the first page");
            }
        }
    }
    assert!(sparse_seen, "one search lands between the bound and the probe's limit");
    assert_eq!(
        merged_seen,
        app.is_postgres(),
        "one page past the bound comes with its matches"
    );
}
