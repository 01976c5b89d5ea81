//! The write side: membership lifecycle, units, awards, scope on both ends, versions, idempotency, audit,
//! input checks, and all-or-nothing writes.

use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};

const ADMIT: &str = "mutation($input: AdmitMemberInput!) { admitMember(input: $input) { clientMutationId member { id fullName familyName givenName version status chapter { name } } } }";
const UPDATE: &str =
    "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { member { id fullName phone version } } }";
const MEMBER: &str = "query($id: ID!) { node(id: $id) { ... on Member { id fullName status version phone chapter { id name } base { id } awards { totalCount } history { totalCount nodes { action actor actorRole before after reason } } } } }";

fn admit_input(chapter: &str) -> Value {
    json!({ "chapterId": chapter, "familyName": "Phạm", "middleName": "Văn", "givenName": "Đồng", "sex": "MALE", "memberType": "VETERAN", "birthDate": "1952-05-19", "phone": "0912 345 678" })
}

async fn version_of(app: &TestApp, token: &str, id: &str) -> i64 {
    app.data(Some(token), MEMBER, json!({ "id": id })).await["node"]["version"]
        .as_i64()
        .expect("version")
}

#[tokio::test]
async fn an_official_admits_a_member_who_is_then_counted_found_and_audited() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let official = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1b"]);
    let mut input = admit_input(&chapter);
    // Decomposed input is stored composed (NFC).
    input["givenName"] = json!("Đo\u{0302}\u{0300}ng");
    let data = app.data(Some(&official), ADMIT, json!({ "input": input })).await;
    let member = &data["admitMember"]["member"];
    assert_eq!(member["givenName"], "Đồng");
    assert_eq!(member["fullName"], "Phạm Văn Đồng");
    assert_eq!(member["version"], 1);
    assert_eq!(member["chapter"]["name"], "Chi hội Khu 2");
    let id = member["id"].as_str().expect("id").to_owned();

    let found = app
        .data(
            Some(&official),
            r#"{ members(filter: { search: "dong pham" }) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(found["members"]["nodes"][0]["id"], id.as_str());
    let stats = app
        .data(
            None,
            "query($c: ID!) { node(id: $c) { ... on Chapter { stats { memberCount } } } }",
            json!({ "c": chapter }),
        )
        .await;
    assert_eq!(stats["node"]["stats"]["memberCount"], 3);

    let read = app.data(Some(&official), MEMBER, json!({ "id": id })).await;
    let history = &read["node"]["history"];
    assert_eq!(history["totalCount"], 1);
    assert_eq!(history["nodes"][0]["action"], "ADMIT_MEMBER");
    assert_eq!(history["nodes"][0]["actorRole"], "BASE_OFFICIAL");
    assert!(history["nodes"][0]["before"].is_null());
    assert_eq!(history["nodes"][0]["after"]["given_name"], "Đồng");
}

#[tokio::test]
async fn bad_member_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1a"]);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "givenName": "An\u{202E}h" }), "input.givenName"),
        (json!({ "familyName": "Lê\u{0007}" }), "input.familyName"),
        (json!({ "familyName": "   " }), "input.familyName"),
        (json!({ "givenName": "x".repeat(41) }), "input.givenName"),
        (json!({ "birthDate": tomorrow }), "input.birthDate"),
        (
            json!({ "birthDate": "1950-01-01", "birthYear": 1951 }),
            "input.birthYear",
        ),
        (json!({ "phone": "12-34" }), "input.phone"),
        (
            json!({ "enlistmentDate": "1975-04-30", "dischargeDate": "1970-01-01" }),
            "input.dischargeDate",
        ),
        (json!({ "cardNumber": "CARD 1; DROP" }), "input.cardNumber"),
        (json!({ "chapterId": gid(NodeKind::Base, 1) }), "input.chapterId"),
    ];
    let before = app.data(Some(&admin), "{ members { totalCount } }", json!({})).await;
    for (patch, field) in cases {
        let mut input = admit_input(&chapter);
        for (k, v) in patch.as_object().cloned().unwrap_or_default() {
            input[k] = v;
        }
        let (status, body) = app.post(Some(&admin), ADMIT, json!({ "input": input })).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{field}: {body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    // 30 February is not a day of the calendar.
    let mut input = admit_input(&chapter);
    input["birthDate"] = json!("1950-02-30");
    let (_, body) = app.post(Some(&admin), ADMIT, json!({ "input": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.birthDate", "{body}");
    assert_eq!(
        app.data(Some(&admin), "{ members { totalCount } }", json!({})).await,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_stale_version_gets_conflict_and_concurrent_updates_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let ok = app
        .data(
            Some(&admin),
            UPDATE,
            json!({ "input": { "id": id, "expectedVersion": 1, "phone": "0987654321" } }),
        )
        .await;
    assert_eq!(ok["updateMember"]["member"]["version"], 2);
    let stale = app
        .error_code(
            Some(&admin),
            UPDATE,
            json!({ "input": { "id": id, "expectedVersion": 1, "phone": "0911111111" } }),
        )
        .await;
    assert_eq!(stale, "CONFLICT");

    let requests = (0..6).map(|i| {
        let app = &app;
        let admin = admin.clone();
        let id = id.clone();
        async move {
            app.post(
                Some(&admin),
                UPDATE,
                json!({ "input": { "id": id, "expectedVersion": 2, "address": format!("Tổ {i}") } }),
            )
            .await
        }
    });
    let results = futures_join(requests).await;
    let winners = results.iter().filter(|(_, b)| b.get("errors").is_none()).count();
    let conflicts = results
        .iter()
        .filter(|(_, b)| b["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((winners, conflicts), (1, 5), "{results:?}");
    // A loser that read version 2 before the winner wrote loses in its write itself, and its audit event and
    // change go with it: one event per version written.
    let read = app.data(Some(&admin), MEMBER, json!({ "id": id })).await;
    assert_eq!(read["node"]["version"], 3);
    assert_eq!(read["node"]["history"]["totalCount"], 2, "{read}");
}

async fn futures_join<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().collect();
    let mut out = Vec::new();
    // join_all from async-graphql's re-export keeps the dependency list short.
    for r in async_graphql::futures_util::future::join_all(handles).await {
        out.push(r);
    }
    out
}

#[tokio::test]
async fn a_repeated_submission_with_the_same_client_mutation_id_creates_one_record() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let mut input = admit_input(&gid(NodeKind::Chapter, tree.chapters["A2a"]));
    input["clientMutationId"] = json!("form-42");
    let first = app.data(Some(&admin), ADMIT, json!({ "input": input })).await;
    let second = app.data(Some(&admin), ADMIT, json!({ "input": input })).await;
    assert_eq!(
        first["admitMember"]["member"]["id"],
        second["admitMember"]["member"]["id"]
    );
    assert_eq!(second["admitMember"]["clientMutationId"], "form-42");
    let count = app
        .data(
            Some(&admin),
            r#"{ members(filter: { search: "pham van dong" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(count["members"]["totalCount"], 1);
    // Concurrent duplicates also collapse into one.
    input["clientMutationId"] = json!("form-43");
    let results = futures_join((0..4).map(|_| app.post(Some(&admin), ADMIT, json!({ "input": input.clone() })))).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|(_, b)| b["data"]["admitMember"]["member"]["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    let count = app
        .data(
            Some(&admin),
            r#"{ members(filter: { search: "pham van dong" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(count["members"]["totalCount"], 2);
    // The same id for another action is a conflict, not a replay.
    let id = gid(NodeKind::Member, tree.member("Ngô Văn Đạt"));
    let reuse = app.error_code(Some(&admin), UPDATE, json!({ "input": { "id": id, "expectedVersion": 1, "phone": "0900000001", "clientMutationId": "form-42" } })).await;
    assert_eq!(reuse, "CONFLICT");
}

const MOVE: &str =
    "mutation($input: MoveMemberInput!) { moveMember(input: $input) { member { chapter { name } version } } }";
const RELEASE: &str = "mutation($input: ReleaseMemberInput!) { releaseMember(input: $input) { transfer { id status memberName toBase { name } } member { pendingTransfer { id } } } }";
const ACCEPT: &str = "mutation($input: AcceptTransferInput!) { acceptTransfer(input: $input) { transfer { status toChapter { name } } member { id chapter { name } base { name } } } }";

#[tokio::test]
async fn members_move_within_a_base_and_transfer_between_bases_in_two_steps() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let a1 = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let a2 = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));

    // Within the base.
    let moved = app.data(Some(&a1), MOVE, json!({ "input": { "id": truong, "chapterId": gid(NodeKind::Chapter, tree.chapters["A1b"]), "expectedVersion": 1 } })).await;
    assert_eq!(moved["moveMember"]["member"]["chapter"]["name"], "Chi hội Khu 2");
    let across = app.error_code(Some(&a1), MOVE, json!({ "input": { "id": truong, "chapterId": gid(NodeKind::Chapter, tree.chapters["A2a"]), "expectedVersion": 2 } })).await;
    assert_eq!(across, "BAD_USER_INPUT");

    // Release by the origin: pending, the member still in the origin chapter.
    let released = app.data(Some(&a1), RELEASE, json!({ "input": { "id": truong, "toBaseId": gid(NodeKind::Base, tree.bases["A2"]), "expectedVersion": 2, "note": "chuyển nơi cư trú" } })).await;
    let transfer = released["releaseMember"]["transfer"].clone();
    assert_eq!(transfer["status"], "PENDING");
    assert_eq!(
        released["releaseMember"]["member"]["pendingTransfer"]["id"],
        transfer["id"]
    );
    // The destination sees the transfer by name, not the member record yet.
    let incoming = app
        .data(
            Some(&a2),
            r#"{ transfers(status: [PENDING]) { totalCount nodes { memberName member { id } fromBase { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(incoming["transfers"]["totalCount"], 1);
    assert_eq!(incoming["transfers"]["nodes"][0]["memberName"], "Nguyễn Văn Trường");
    assert!(incoming["transfers"]["nodes"][0]["member"].is_null());
    // The origin cannot accept on the destination's behalf; a third base does not even see the transfer.
    let a3 = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A3"]));
    let wrong_side = app.error_code(Some(&a1), ACCEPT, json!({ "input": { "transferId": transfer["id"], "chapterId": gid(NodeKind::Chapter, tree.chapters["A2a"]) } })).await;
    assert_eq!(wrong_side, "FORBIDDEN");
    let outsider = app.error_code(Some(&a3), ACCEPT, json!({ "input": { "transferId": transfer["id"], "chapterId": gid(NodeKind::Chapter, tree.chapters["A3a"]) } })).await;
    assert_eq!(outsider, "NOT_FOUND");

    // Accept by the destination.
    let accepted = app.data(Some(&a2), ACCEPT, json!({ "input": { "transferId": transfer["id"], "chapterId": gid(NodeKind::Chapter, tree.chapters["A2a"]) } })).await;
    let r = &accepted["acceptTransfer"];
    assert_eq!(r["transfer"]["status"], "ACCEPTED");
    assert_eq!(r["member"]["id"], truong.as_str());
    assert_eq!(r["member"]["base"]["name"], "Xã Tiên Yên");
    // Identity, awards and history travel with the member; the origin no longer sees them.
    let now = app.data(Some(&a2), MEMBER, json!({ "id": truong })).await;
    assert_eq!(now["node"]["awards"]["totalCount"], 1);
    assert!(now["node"]["history"]["totalCount"].as_i64().unwrap_or(0) >= 1);
    let gone = app.data(Some(&a1), MEMBER, json!({ "id": truong })).await;
    assert!(gone["node"].is_null());
    let award_scope = app
        .data(
            Some(&a2),
            "query($b: ID!) { awards(filter: { baseId: $b, recipientType: MEMBER }) { totalCount } }",
            json!({ "b": gid(NodeKind::Base, tree.bases["A2"]) }),
        )
        .await;
    assert_eq!(
        award_scope["awards"]["totalCount"], 1,
        "the award's ancestors follow the member"
    );
    let again = app.error_code(Some(&a2), ACCEPT, json!({ "input": { "transferId": transfer["id"], "chapterId": gid(NodeKind::Chapter, tree.chapters["A2a"]) } })).await;
    assert_eq!(again, "CONFLICT");
}

#[tokio::test]
async fn writers_act_only_inside_their_subtree_and_within_their_role() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let base_a1 = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let truong_id = tree.member("Nguyễn Văn Trường");
    let member = app.token(Role::Member, ScopeNode::Member(truong_id));
    let truong = gid(NodeKind::Member, truong_id);
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let hoa = gid(NodeKind::Member, tree.member("Bùi Văn Hòa"));
    let a2a = gid(NodeKind::Chapter, tree.chapters["A2a"]);
    let a1b = gid(NodeKind::Chapter, tree.chapters["A1b"]);
    let cases: Vec<(&str, Option<&str>, &str, Value, &str)> = vec![
        (
            "anonymous admits",
            None,
            ADMIT,
            json!({ "input": admit_input(&a2a) }),
            "UNAUTHENTICATED",
        ),
        (
            "base official admits into another base",
            Some(&base_a1),
            ADMIT,
            json!({ "input": admit_input(&a2a) }),
            "FORBIDDEN",
        ),
        (
            "base official edits another base's member",
            Some(&base_a1),
            UPDATE,
            json!({ "input": { "id": hoa, "expectedVersion": 1, "phone": "0900000000" } }),
            "NOT_FOUND",
        ),
        (
            "chapter leader admits",
            Some(&leader),
            ADMIT,
            json!({ "input": admit_input(&gid(NodeKind::Chapter, tree.chapters["A1a"])) }),
            "FORBIDDEN",
        ),
        (
            "chapter leader renames a member",
            Some(&leader),
            UPDATE,
            json!({ "input": { "id": dung, "expectedVersion": 1, "givenName": "Dụng" } }),
            "FORBIDDEN",
        ),
        (
            "chapter leader moves a member",
            Some(&leader),
            MOVE,
            json!({ "input": { "id": dung, "chapterId": a1b, "expectedVersion": 1 } }),
            "FORBIDDEN",
        ),
        (
            "member edits a chapter mate",
            Some(&member),
            UPDATE,
            json!({ "input": { "id": dung, "expectedVersion": 1, "phone": "0900000000" } }),
            "FORBIDDEN",
        ),
        (
            "member changes own type",
            Some(&member),
            UPDATE,
            json!({ "input": { "id": truong, "expectedVersion": 1, "memberType": "EX_SERVICEMAN" } }),
            "FORBIDDEN",
        ),
        (
            "member moves self to another chapter",
            Some(&member),
            MOVE,
            json!({ "input": { "id": truong, "chapterId": a1b, "expectedVersion": 1 } }),
            "FORBIDDEN",
        ),
        (
            "member edits someone out of sight",
            Some(&member),
            UPDATE,
            json!({ "input": { "id": hoa, "expectedVersion": 1, "phone": "0900000000" } }),
            "NOT_FOUND",
        ),
    ];
    for (what, token, query, vars, code) in cases {
        assert_eq!(app.error_code(token, query, vars).await, code, "{what}");
    }
    // What they may do.
    let by_leader = app
        .data(
            Some(&leader),
            UPDATE,
            json!({ "input": { "id": dung, "expectedVersion": 1, "phone": "0977 000 111" } }),
        )
        .await;
    assert_eq!(by_leader["updateMember"]["member"]["phone"], "0977000111");
    let by_self = app
        .data(
            Some(&member),
            UPDATE,
            json!({ "input": { "id": truong, "expectedVersion": 1, "phone": "0966000222", "address": null } }),
        )
        .await;
    assert_eq!(by_self["updateMember"]["member"]["phone"], "0966000222");
    // A member's history shows personal data only to those who may see it.
    let seen_by_mate = app.data(Some(&member), MEMBER, json!({ "id": dung })).await;
    assert_eq!(
        seen_by_mate["node"]["history"]["nodes"][0]["after"]["phone"],
        "(hidden)"
    );
    let seen_by_leader = app.data(Some(&leader), MEMBER, json!({ "id": dung })).await;
    assert_eq!(
        seen_by_leader["node"]["history"]["nodes"][0]["after"]["phone"],
        "0977000111"
    );
}

const GRANT: &str = "mutation($input: GrantAwardInput!) { grantAward(input: $input) { award { id kind grantingLevel grantingBody decisionNumber recipientName version revoked } } }";
const REVOKE: &str =
    "mutation($input: RevokeAwardInput!) { revokeAward(input: $input) { award { revoked revocationReason version } } }";

fn grant(kind: &str, level: &str, recipient: &str, number: &str) -> Value {
    json!({ "input": { "kind": kind, "grantingLevel": level, "recipientId": recipient, "year": 2024, "movement": "CCB gương mẫu", "decisionNumber": number } })
}

#[tokio::test]
async fn award_rules_hold_with_clear_errors() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let a2 = gid(NodeKind::Base, tree.bases["A2"]);

    let flag_to_person = app
        .post(
            Some(&admin),
            GRANT,
            grant("EMULATION_FLAG", "CENTRAL", &dung, "10/QĐ-CCB"),
        )
        .await
        .1;
    assert_eq!(flag_to_person["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(flag_to_person["errors"][0]["extensions"]["field"], "input.kind");
    assert_eq!(
        app.error_code(
            Some(&admin),
            GRANT,
            grant("EMULATION_FLAG", "PROVINCE", &a2, "11/QĐ-CCB")
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(
            Some(&province),
            GRANT,
            grant("CERTIFICATE_OF_MERIT", "CENTRAL", &a2, "12/QĐ-CCB")
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(
            Some(&base),
            GRANT,
            grant("CERTIFICATE_OF_MERIT", "PROVINCE", &dung, "13/QĐ-CCB")
        )
        .await,
        "FORBIDDEN"
    );

    let granted = app
        .data(
            Some(&province),
            GRANT,
            grant("CERTIFICATE_OF_MERIT", "PROVINCE", &a2, "14/QĐ-CCBT"),
        )
        .await;
    let award = &granted["grantAward"]["award"];
    assert_eq!(award["grantingBody"], "Ban Chấp hành Hội CCB tỉnh Quảng Ninh");
    assert_eq!(award["decisionNumber"], "14/QĐ-CCBT");
    assert_eq!(award["recipientName"], "Hội CCB Xã Tiên Yên");
    // The same achievement twice, and the same decision number twice, are conflicts.
    assert_eq!(
        app.error_code(
            Some(&province),
            GRANT,
            grant("CERTIFICATE_OF_MERIT", "PROVINCE", &a2, "15/QĐ-CCBT")
        )
        .await,
        "CONFLICT"
    );
    let b1 = gid(NodeKind::Base, tree.bases["A3"]);
    assert_eq!(
        app.error_code(
            Some(&province),
            GRANT,
            grant("CERTIFICATE_OF_MERIT", "PROVINCE", &b1, "14/QĐ-CCBT")
        )
        .await,
        "CONFLICT"
    );
    // A base grants Giấy khen to its own members.
    let commendation = app
        .data(
            Some(&base),
            GRANT,
            grant("CERTIFICATE_OF_COMMENDATION", "BASE", &dung, "1/QĐ-CCB-A1"),
        )
        .await;
    assert_eq!(
        commendation["grantAward"]["award"]["grantingBody"],
        "Ban Chấp hành Hội CCB Phường Đông Triều"
    );

    // Revocation needs a reason, keeps the record, and frees the achievement.
    let id = award["id"].clone();
    assert_eq!(
        app.error_code(
            Some(&province),
            REVOKE,
            json!({ "input": { "id": id, "expectedVersion": 1, "reason": "  " } })
        )
        .await,
        "BAD_USER_INPUT"
    );
    let revoked = app
        .data(
            Some(&province),
            REVOKE,
            json!({ "input": { "id": id, "expectedVersion": 1, "reason": "Quyết định bị hủy" } }),
        )
        .await;
    assert_eq!(
        revoked["revokeAward"]["award"],
        json!({ "revoked": true, "revocationReason": "Quyết định bị hủy", "version": 2 })
    );
    app.data(
        Some(&province),
        GRANT,
        grant("CERTIFICATE_OF_MERIT", "PROVINCE", &a2, "16/QĐ-CCBT"),
    )
    .await;
    let roll = app.data(None, "query($b: ID!) { standing: awards(filter: { baseId: $b }) { totalCount } all: awards(filter: { baseId: $b, includeRevoked: true }) { totalCount } }", json!({ "b": a2 })).await;
    assert_eq!(
        (
            roll["standing"]["totalCount"].clone(),
            roll["all"]["totalCount"].clone()
        ),
        (json!(1), json!(2))
    );
}

#[tokio::test]
async fn units_are_created_renamed_and_closed_only_when_empty() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let create_base =
        "mutation($input: CreateBaseInput!) { createBase(input: $input) { base { id name kind version } } }";
    let create_chapter =
        "mutation($input: CreateChapterInput!) { createChapter(input: $input) { chapter { id name version } } }";
    let close_chapter =
        "mutation($input: CloseUnitInput!) { closeChapter(input: $input) { chapter { closedAt version } } }";
    let rename_base = "mutation($input: RenameUnitInput!) { renameBase(input: $input) { base { name version } } }";
    let qn = gid(NodeKind::Province, tree.provinces["QN"]);

    assert_eq!(
        app.error_code(
            Some(&base),
            create_base,
            json!({ "input": { "provinceId": qn, "code": "QN-A9", "name": "Phường Mạo Khê", "kind": "WARD" } })
        )
        .await,
        "FORBIDDEN"
    );
    let created = app
        .data(
            Some(&province),
            create_base,
            json!({ "input": { "provinceId": qn, "code": "QN-A9", "name": "Phường Mạo Khê", "kind": "WARD" } }),
        )
        .await;
    let new_base = created["createBase"]["base"]["id"].clone();
    assert_eq!(
        app.error_code(
            Some(&province),
            create_base,
            json!({ "input": { "provinceId": qn, "code": "QN-A9", "name": "Trùng mã", "kind": "WARD" } })
        )
        .await,
        "CONFLICT"
    );
    let renamed = app
        .data(
            Some(&province),
            rename_base,
            json!({ "input": { "id": new_base, "expectedVersion": 1, "name": "Phường Mạo Khê mới" } }),
        )
        .await;
    assert_eq!(
        renamed["renameBase"]["base"],
        json!({ "name": "Phường Mạo Khê mới", "version": 2 })
    );
    let search = app
        .data(
            None,
            r#"{ bases(filter: { search: "mao khe moi" }) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(search["bases"]["totalCount"], 1);

    let chapter = app.data(Some(&base), create_chapter, json!({ "input": { "baseId": gid(NodeKind::Base, tree.bases["A1"]), "code": "QN-A1-C", "name": "Chi hội Khu 3" } })).await;
    let new_chapter = chapter["createChapter"]["chapter"]["id"].clone();
    // A chapter with active members cannot close; an empty one can, and leaves the default lists.
    let busy = app.error_code(Some(&base), close_chapter, json!({ "input": { "id": gid(NodeKind::Chapter, tree.chapters["A1b"]), "expectedVersion": 1, "reason": "sáp nhập" } })).await;
    assert_eq!(busy, "CONFLICT");
    let closed = app
        .data(
            Some(&base),
            close_chapter,
            json!({ "input": { "id": new_chapter, "expectedVersion": 1, "reason": "sáp nhập" } }),
        )
        .await;
    assert!(closed["closeChapter"]["chapter"]["closedAt"].is_string());
    let lists = app.data(None, "query($b: ID!) { node(id: $b) { ... on Base { open: chapters { totalCount } all: chapters(filter: { includeClosed: true }) { totalCount } history { totalCount } } } }", json!({ "b": gid(NodeKind::Base, tree.bases["A1"]) })).await;
    assert_eq!(lists["node"]["open"]["totalCount"], 2);
    assert_eq!(lists["node"]["all"]["totalCount"], 3);
    assert_eq!(
        lists["node"]["history"]["totalCount"], 0,
        "history is for authenticated viewers"
    );
    let admit = app
        .error_code(
            Some(&base),
            ADMIT,
            json!({ "input": admit_input(new_chapter.as_str().unwrap_or_default()) }),
        )
        .await;
    assert_eq!(admit, "BAD_USER_INPUT", "no admissions into a closed chapter");
}

#[tokio::test]
async fn death_and_removal_keep_the_record_and_leave_the_active_roster() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let death =
        "mutation($input: RecordDeathInput!) { recordDeath(input: $input) { member { status leftDate version } } }";
    let remove =
        "mutation($input: RemoveMemberInput!) { removeMember(input: $input) { member { status leftReason } } }";
    let an = gid(NodeKind::Member, tree.member("Hoàng Văn An"));
    let binh = gid(NodeKind::Member, tree.member("Vũ Văn Bình"));
    let died = app
        .data(
            Some(&admin),
            death,
            json!({ "input": { "id": an, "expectedVersion": 1, "dateOfDeath": "2025-03-01" } }),
        )
        .await;
    assert_eq!(
        died["recordDeath"]["member"],
        json!({ "status": "DECEASED", "leftDate": "2025-03-01", "version": 2 })
    );
    assert_eq!(
        app.error_code(
            Some(&admin),
            remove,
            json!({ "input": { "id": binh, "expectedVersion": 1, "reason": "" } })
        )
        .await,
        "BAD_USER_INPUT"
    );
    let removed = app
        .data(
            Some(&admin),
            remove,
            json!({ "input": { "id": binh, "expectedVersion": 1, "reason": "Tự nguyện xin ra khỏi Hội" } }),
        )
        .await;
    assert_eq!(removed["removeMember"]["member"]["status"], "REMOVED");
    let roster = app
        .data(
            Some(&admin),
            "{ active: members { totalCount } gone: members(filter: { status: [DECEASED, REMOVED] }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (
            roster["active"]["totalCount"].clone(),
            roster["gone"]["totalCount"].clone()
        ),
        (json!(10), json!(2))
    );
    assert_eq!(
        app.error_code(
            Some(&admin),
            death,
            json!({ "input": { "id": an, "expectedVersion": 2, "dateOfDeath": "2025-03-01" } })
        )
        .await,
        "CONFLICT"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_midway_leaves_all_or_nothing() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let member_id = tree.member("Đỗ Văn Cường");
    let id = gid(NodeKind::Member, member_id);
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(3))
        .build()
        .expect("client");
    for i in 0..30 {
        let version = version_of(&app, &admin, &id).await;
        let given = if i % 2 == 0 { "Cương" } else { "Cường" };
        // Fire and abandon: the client gives up after a few milliseconds, often mid-transaction.
        let _ = impatient
            .post(format!("{}/graphql", app.base_url))
            .bearer_auth(&admin)
            .json(&json!({ "query": UPDATE, "variables": { "input": { "id": id, "expectedVersion": version, "givenName": given } } }))
            .send()
            .await;
    }
    // Abandoned requests may still be finishing on the server: wait until the record is stable.
    let query =
        "query($id: ID!) { node(id: $id) { ... on Member { givenName version history(first: 100) { totalCount } } } }";
    let mut last = Value::Null;
    let mut node = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        node = app.data(Some(&admin), query, json!({ "id": id })).await["node"].clone();
        if node == last {
            break;
        }
        last = node.clone();
    }
    let version = node["version"].as_i64().unwrap_or(0);
    // Every committed change has exactly its audit event, and the search tokens match the name.
    assert_eq!(
        node["history"]["totalCount"].as_i64().unwrap_or(-1),
        version - 1,
        "{node}"
    );
    let search = if node["givenName"] == "Cương" {
        "cuong do"
    } else {
        "cuong"
    };
    let found = app
        .data(
            Some(&admin),
            "query($s: String!) { members(filter: { search: $s }) { nodes { id } } }",
            json!({ "s": search }),
        )
        .await;
    assert!(
        found["members"]["nodes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|m| m["id"] == id.as_str())),
        "{found}"
    );
}

#[tokio::test]
async fn an_update_answers_with_the_version_it_wrote_even_when_others_write_right_after() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    // Six writers race on one member, each reading the version, writing its own phone and retrying on CONFLICT.
    let writer = |w: usize| {
        let (app, admin, id) = (&app, admin.clone(), id.clone());
        async move {
            let mut acks = Vec::new();
            for n in 0..8 {
                let phone = format!("090{w}00{n:04}");
                loop {
                    let read = app.data(Some(&admin), MEMBER, json!({ "id": id })).await;
                    let version = read["node"]["version"].as_i64().unwrap_or_default();
                    let input = json!({ "id": id, "expectedVersion": version, "phone": phone });
                    let (_, body) = app.post(Some(&admin), UPDATE, json!({ "input": input })).await;
                    let member = &body["data"]["updateMember"]["member"];
                    if member.is_object() {
                        acks.push((
                            member["version"].as_i64().unwrap_or_default(),
                            member["phone"].clone(),
                            phone,
                        ));
                        break;
                    }
                    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
                }
            }
            acks
        }
    };
    let all: Vec<_> = futures_join((0..6).map(writer)).await.into_iter().flatten().collect();
    let mut versions = std::collections::HashSet::new();
    for (version, answered, sent) in &all {
        // The payload is this write's result: its phone, at a version no other write was acknowledged with.
        assert_eq!(answered, &json!(sent), "{all:?}");
        assert!(
            versions.insert(*version),
            "version {version} acknowledged twice: {all:?}"
        );
    }
    assert_eq!(all.len(), 48);
}

#[tokio::test]
async fn an_update_is_one_read_one_write_and_one_statement_for_its_audit_record_and_change() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let version = version_of(&app, &admin, &id).await;
    let start = app
        .data(
            Some(&admin),
            "{ changes(first: 0) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = start["changes"]["pageInfo"]["endCursor"].clone();

    let input = json!({ "id": id, "expectedVersion": version, "phone": "0987 654 321" });
    let (statements, data) = app
        .count_write_statements(Some(&admin), UPDATE, json!({ "input": input }))
        .await;
    assert_eq!(data["updateMember"]["member"]["version"], version + 1);
    assert_eq!(data["updateMember"]["member"]["phone"], "0987654321");
    // A change of contact data only needs no read first on PostgreSQL: the versioned `UPDATE … RETURNING`
    // (which is also the payload's member) with the audit event and its change-log row is one statement
    // (data-modifying `WITH`s) sent without `BEGIN`. SQLite reads, then writes the `UPDATE`, the event and the
    // change row inside one transaction.
    assert_eq!(statements, if app.is_postgres() { 1 } else { 4 });
    // Any other change is checked against the whole record: its read, then the same one write.
    let input = json!({ "id": id, "expectedVersion": version + 1, "familyName": "Lê", "phone": "0987 654 322" });
    let (statements, data) = app
        .count_write_statements(Some(&admin), UPDATE, json!({ "input": input }))
        .await;
    assert_eq!(data["updateMember"]["member"]["version"], version + 2);
    assert_eq!(statements, if app.is_postgres() { 2 } else { 4 });

    // Both records are there and point at each other: the history shows the event, the log the member.
    let read = app.data(Some(&admin), MEMBER, json!({ "id": id })).await;
    let history = &read["node"]["history"]["nodes"];
    assert!(
        history.as_array().is_some_and(|h| h
            .iter()
            .any(|e| e["action"] == "UPDATE_MEMBER" && e["after"].to_string().contains("0987654321"))),
        "{history}"
    );
    let changes = app
        .data(
            Some(&admin),
            "query($after: String) { changes(after: $after) { totalCount nodes { nodeId operation node { ... on Member { phone version } } } } }",
            json!({ "after": cursor }),
        )
        .await;
    // Both writes are in the log; the member as it is now.
    assert_eq!(changes["changes"]["totalCount"], 2, "{changes}");
    for change in changes["changes"]["nodes"].as_array().into_iter().flatten() {
        assert_eq!(change["nodeId"], id.as_str());
        assert_eq!(change["operation"], "UPSERT");
        assert_eq!(change["node"]["version"], version + 2);
    }
}

/// The audit event and change-log row of the member's last write, as stored: the event's before and after
/// texts and place, the change row's place now and before, whether it says the member is gone, and its member.
async fn last_records(app: &TestApp, member: i64) -> (Value, Value, Value, Value) {
    use sea_orm::ConnectionTrait;
    let db = app.db();
    let mut sql = hoi_ccb::sql::Sql::new(
        "SELECT e.before_json, e.after_json, e.province_id, e.base_id, e.chapter_id, c.province_id, c.base_id, \
         c.chapter_id, c.old_province_id, c.old_base_id, c.old_chapter_id, c.gone, c.member_id \
         FROM audit_events e JOIN changes c ON c.audit_event_id = e.id \
         WHERE e.target_type = 'Member' AND e.target_id = ",
    );
    sql.bind(member).push(" ORDER BY e.id DESC LIMIT 1");
    let row = db
        .query_one_raw(sql.build(db.get_database_backend()))
        .await
        .expect("query")
        .expect("the write's records");
    let text = |i: usize| row.try_get_by_index::<Option<String>>(i).expect("text");
    let id = |i: usize| row.try_get_by_index::<Option<i64>>(i).expect("id");
    (
        json!([text(0), text(1)]),
        json!([id(2), id(3), id(4)]),
        json!([id(5), id(6), id(7), id(8), id(9), id(10)]),
        json!([row.try_get_by_index::<bool>(11).expect("gone"), id(12)]),
    )
}

#[tokio::test]
async fn a_contact_change_written_without_a_read_is_recorded_as_any_other_update() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let member_id = tree.member("Lê Văn Đức");
    let id = gid(NodeKind::Member, member_id);
    let place = "query($id: ID!) { node(id: $id) { ... on Member { version phone address homeTown } } }";
    let now = app.data(Some(&admin), place, json!({ "id": id })).await["node"].clone();
    let version = now["version"].as_i64().expect("version");
    // Quotes, a backslash and Vietnamese letters in the new address; the home town sent as it is (unchanged,
    // so not recorded); the phone changed.
    let address = r#"Số 5 "Ngõ Chợ" \ Phường Hồng Hà"#;
    let input = json!({ "id": id, "expectedVersion": version, "phone": "0912 000 777", "address": address,
        "homeTown": now["homeTown"] });
    let data = app.data(Some(&admin), UPDATE, json!({ "input": input })).await;
    assert_eq!(data["updateMember"]["member"]["version"], version + 1);

    // The event records exactly what the record-reading update records: the fields that changed, keys in the
    // order of a JSON object of the record, values as serde_json writes them.
    let object = |pairs: Vec<(&str, Value)>| {
        let map: serde_json::Map<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(map).to_string()
    };
    let before = object(vec![
        ("address", now["address"].clone()),
        ("phone", now["phone"].clone()),
    ]);
    let after = object(vec![("address", json!(address)), ("phone", json!("0912000777"))]);
    let (texts, event_place, change_place, change_member) = last_records(&app, member_id).await;
    assert_eq!(texts, json!([before, after]));
    let stored = app.db();
    let member = hoi_ccb::store::write::find_member(stored, member_id)
        .await
        .expect("read")
        .expect("member");
    let (p, b, c) = (member.province_id, member.base_id, member.chapter_id);
    assert_eq!(event_place, json!([p, b, c]));
    assert_eq!(change_place, json!([p, b, c, p, b, c]));
    assert_eq!(change_member, json!([false, member_id]));

    // Sent again unchanged: recorded as a write that changed nothing, as the record-reading update records it.
    let input = json!({ "id": id, "expectedVersion": version + 1, "phone": "0912000777" });
    app.data(Some(&admin), UPDATE, json!({ "input": input })).await;
    assert_eq!(last_records(&app, member_id).await.0, json!(["{}", "{}"]));
    // Cleared: `null` after.
    let input = json!({ "id": id, "expectedVersion": version + 2, "address": null });
    app.data(Some(&admin), UPDATE, json!({ "input": input })).await;
    let cleared = last_records(&app, member_id).await.0;
    assert_eq!(
        cleared,
        json!([
            object(vec![("address", json!(address))]),
            object(vec![("address", Value::Null)])
        ])
    );
}

#[tokio::test]
async fn an_update_that_fails_in_its_write_leaves_neither_an_audit_event_nor_a_change() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let admin = app.admin();
    let id = gid(NodeKind::Member, tree.member("Lê Văn Đức"));
    let other = gid(NodeKind::Member, tree.member("Ngô Văn Đạt"));
    let card = "query($id: ID!) { node(id: $id) { ... on Member { cardNumber } } }";
    let taken = app.data(Some(&admin), card, json!({ "id": other })).await["node"]["cardNumber"].clone();
    assert!(taken.is_string(), "{taken}");
    let version = version_of(&app, &admin, &id).await;
    let records = async || {
        let read = app.data(Some(&admin), MEMBER, json!({ "id": id })).await;
        let feed = app
            .data(Some(&admin), "{ changes(first: 0) { totalCount } }", json!({}))
            .await;
        (
            read["node"]["version"].clone(),
            read["node"]["phone"].clone(),
            read["node"]["history"]["totalCount"].clone(),
            feed["changes"]["totalCount"].clone(),
        )
    };
    let before = records().await;

    // Another member's card number breaks a unique constraint inside the write: the error names the rule, even
    // with a client mutation id (whose own uniqueness is checked in the same statement), and the phone sent
    // with it is not written either.
    for client_mutation_id in [Value::Null, json!("card-1")] {
        let input = json!({ "id": id, "expectedVersion": version, "phone": "0977 000 111", "cardNumber": taken,
            "clientMutationId": client_mutation_id });
        let (_, body) = app.post(Some(&admin), UPDATE, json!({ "input": input })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
        assert_eq!(
            body["errors"][0]["message"], "this card number is already issued to another member",
            "{body}"
        );
        assert_eq!(records().await, before);
    }
    // A version the record is not at: CONFLICT, and nothing recorded.
    let stale = json!({ "id": id, "expectedVersion": version + 1, "phone": "0977 000 222" });
    assert_eq!(
        app.error_code(Some(&admin), UPDATE, json!({ "input": stale })).await,
        "CONFLICT"
    );
    assert_eq!(records().await, before);

    // The same write done right is recorded once.
    let input = json!({ "id": id, "expectedVersion": version, "phone": "0977 000 333", "clientMutationId": "card-1" });
    let done = app.data(Some(&admin), UPDATE, json!({ "input": input })).await;
    assert_eq!(done["updateMember"]["member"]["phone"], "0977000333");
    let after = records().await;
    assert_eq!(after.0, json!(version + 1));
    assert_eq!(after.2, json!(before.2.as_i64().unwrap_or(-1) + 1));
    assert_eq!(after.3, json!(before.3.as_i64().unwrap_or(-1) + 1));
}
