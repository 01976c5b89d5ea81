//! The national load-test set (`seed-demo --scale national`): provinces shaped like the demo one, each with
//! its own ids, codes, card numbers and a permutation of the demo's names. Tried here with one extra
//! province; the command adds 33.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::TestApp;

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db()
        .query_one_raw(hoi_ccb::sql::Sql::new(sql).build(app.db().get_database_backend()))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

#[tokio::test]
async fn added_provinces_copy_the_demo_shape_with_their_own_ids_codes_and_names() {
    let app = TestApp::spawn().await;
    let demo = hoi_ccb::demo::seed(app.db()).await.expect("demo");
    let all = hoi_ccb::demo::add_provinces(app.db(), &demo, 1)
        .await
        .expect("one more province");
    assert_eq!(all.provinces, 2);
    assert_eq!(all.members, demo.members * 2);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM members").await,
        (demo.members * 2) as i64
    );

    let data = app
        .data(
            Some(&app.admin()),
            "{ provinces(first: 10) { totalCount nodes { code name stats { baseCount chapterCount memberCount } } } }",
            json!({}),
        )
        .await;
    let provinces = data["provinces"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(provinces.len(), 2, "{data}");
    let names: Vec<&str> = provinces.iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"Quảng Ninh") && names.contains(&"Hà Nội"), "{names:?}");
    for p in &provinces {
        assert_eq!(
            p["stats"], provinces[0]["stats"],
            "every province has the demo's shape: {data}"
        );
    }

    // Codes and card numbers stay unique; every row points inside its own province.
    assert_eq!(
        scalar(&app, "SELECT COUNT(DISTINCT card_number) FROM members").await,
        (demo.members * 2) as i64
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM members m JOIN chapters c ON c.id = m.chapter_id WHERE c.province_id <> m.province_id OR c.base_id <> m.base_id").await,
        0
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM chapters WHERE code NOT LIKE 'QN-%' AND code NOT LIKE 'HN-%'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM awards a JOIN members m ON m.id = a.member_id WHERE a.province_id <> m.province_id OR a.recipient_name <> 'Ông/bà ' || CASE WHEN m.middle_name = '' THEN m.family_name || ' ' || m.given_name ELSE m.family_name || ' ' || m.middle_name || ' ' || m.given_name END").await,
        0,
        "an individual award names its own member"
    );
    // The names are the demo's, permuted: the same distribution, not the same roster.
    let same_name_same_place = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM members a JOIN members b ON b.id = a.id + {} WHERE a.province_id = 1 AND a.search_name = b.search_name",
            demo.members
        ),
    )
    .await;
    assert!(
        same_name_same_place < (demo.members / 10) as i64,
        "{same_name_same_place}"
    );
    let nguyen = |province: i64| {
        format!("SELECT COUNT(*) FROM members WHERE province_id = {province} AND family_name = 'Nguyễn'")
    };
    assert_eq!(scalar(&app, &nguyen(1)).await, scalar(&app, &nguyen(2)).await);

    // The search index covers the copies: a name search finds members of both provinces.
    let found = app
        .data(
            Some(&app.admin()),
            "{ members(filter: { search: \"tran thi hoa\" }, first: 100) { totalCount totalCountIsExact nodes { chapter { base { province { code } } } } } }",
            json!({}),
        )
        .await;
    let codes: std::collections::HashSet<String> = found["members"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n["chapter"]["base"]["province"]["code"].as_str().map(str::to_owned))
        .collect();
    assert!(found["members"]["totalCount"].as_i64().unwrap_or(0) > 0, "{found}");
    assert!(codes.len() >= 2, "matches from several provinces: {codes:?}");
}
