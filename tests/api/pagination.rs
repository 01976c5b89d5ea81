//! Keyset pagination: forward and backward through a whole list, every row once, stable cursors.

use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::TestApp;

const FORWARD: &str = "query($after: String, $order: MemberOrder!) { members(first: 5, after: $after, orderBy: $order) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { fullName } } } }";
const BACKWARD: &str = "query($before: String) { members(last: 5, before: $before) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { fullName } } }";

fn page_names(page: &Value, path: &str) -> Vec<String> {
    page[path]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e.get("node").unwrap_or(e)["fullName"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn paging_forward_visits_every_member_once_in_order() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    for order in ["NAME", "NAME_DESC", "ID", "ID_DESC"] {
        let all = app
            .data(
                Some(&admin),
                "query($o: MemberOrder!) { members(first: 100, orderBy: $o) { nodes { fullName } } }",
                json!({ "o": order }),
            )
            .await;
        let expected = page_names(&all["members"], "nodes");
        assert_eq!(expected.len(), 12);
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let data = app
                .data(Some(&admin), FORWARD, json!({ "after": after, "order": order }))
                .await;
            let page = &data["members"];
            assert_eq!(page["totalCount"], 12);
            assert_eq!(page["pageInfo"]["hasPreviousPage"], json!(pages > 0));
            seen.extend(page_names(page, "edges"));
            pages += 1;
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
            assert!(pages < 10, "pagination must end");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, expected, "order {order}");
    }
}

#[tokio::test]
async fn paging_backward_with_last_and_before_mirrors_forward() {
    let app = TestApp::spawn().await;
    Tree::build(&app).await;
    let admin = app.admin();
    let all = app
        .data(
            Some(&admin),
            "{ members(first: 100) { nodes { fullName } } }",
            json!({}),
        )
        .await;
    let expected = page_names(&all["members"], "nodes");
    let mut collected: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let data = app.data(Some(&admin), BACKWARD, json!({ "before": before })).await;
        let page = &data["members"];
        let mut names = page_names(page, "nodes");
        names.extend(collected);
        collected = names;
        if page["pageInfo"]["hasPreviousPage"] != json!(true) {
            break;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(collected, expected);
}

#[tokio::test]
async fn nested_pages_take_cursors_and_report_totals_past_the_end() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let id = crate::helpers::gid(hoi_ccb::ids::NodeKind::Chapter, tree.chapters["A1a"]);
    let q = "query($id: ID!, $after: String) { node(id: $id) { ... on Chapter { members(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { fullName } } } } }";
    let first = app.data(Some(&admin), q, json!({ "id": id, "after": null })).await;
    let page = &first["node"]["members"];
    assert_eq!(page["totalCount"], 5);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let second = app
        .data(
            Some(&admin),
            q,
            json!({ "id": id, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let page2 = &second["node"]["members"];
    assert_eq!(page2["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(page2["pageInfo"]["hasNextPage"], false);
    let third = app
        .data(
            Some(&admin),
            q,
            json!({ "id": id, "after": page2["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(third["node"]["members"]["nodes"], json!([]));
    assert_eq!(
        third["node"]["members"]["totalCount"], 5,
        "the total survives a page past the end"
    );
}
