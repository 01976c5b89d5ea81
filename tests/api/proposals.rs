//! Award proposals through HTTP: a proposal travels up the tree, is decided only by a level allowed to grant its
//! kind, creates its award in the approving step, and is seen by the levels it passed through and nobody else.

use hoi_ccb::auth::{Role, ScopeNode};
use hoi_ccb::ids::NodeKind;
use serde_json::{Value, json};

use crate::fixture::Tree;
use crate::helpers::{TestApp, gid};

const FIELDS: &str = "id status level kind recipientName year movement version decidedBy rejectionReason award { id kind grantingLevel grantingBody decisionNumber decisionDate recipientName }";

fn mutation(name: &str, input: &str) -> String {
    format!("mutation($input: {input}!) {{ {name}(input: $input) {{ clientMutationId proposal {{ {FIELDS} }} }} }}")
}

fn propose_input(kind: &str, recipient: &str) -> Value {
    json!({ "input": { "kind": kind, "recipientId": recipient, "year": 2024, "movement": "CCB gương mẫu", "citation": "Gương mẫu trong phong trào" } })
}

pub(crate) struct Api<'a> {
    pub(crate) app: &'a TestApp,
}

impl Api<'_> {
    pub(crate) async fn propose(&self, token: &str, kind: &str, recipient: &str) -> Value {
        let data = self
            .app
            .data(
                Some(token),
                &mutation("proposeAward", "ProposeAwardInput"),
                propose_input(kind, recipient),
            )
            .await;
        data["proposeAward"]["proposal"].clone()
    }

    pub(crate) async fn step(&self, token: &str, name: &str, input_type: &str, input: Value) -> (u16, Value) {
        self.app
            .post(Some(token), &mutation(name, input_type), json!({ "input": input }))
            .await
    }

    pub(crate) async fn forward(&self, token: &str, p: &Value) -> Value {
        let (_, body) = self
            .step(
                token,
                "forwardProposal",
                "ForwardProposalInput",
                json!({ "id": p["id"], "expectedVersion": p["version"], "note": "Đủ tiêu chuẩn" }),
            )
            .await;
        body
    }

    pub(crate) async fn approve(&self, token: &str, p: &Value, number: &str) -> Value {
        let (_, body) = self
            .step(
                token,
                "approveProposal",
                "ApproveProposalInput",
                json!({ "id": p["id"], "expectedVersion": p["version"], "decisionNumber": number, "decisionDate": "2024-12-12", "event": "Hội nghị BCH lần thứ 7" }),
            )
            .await;
        body
    }

    async fn node(&self, token: &str, id: &Value) -> Value {
        let query = format!(
            "query($id: ID!) {{ node(id: $id) {{ ... on Proposal {{ {FIELDS} history {{ nodes {{ action actorRole reason }} }} }} }} }}"
        );
        self.app.data(Some(token), &query, json!({ "id": id })).await["node"].clone()
    }

    async fn count(&self, token: &str, filter: Value) -> i64 {
        let data = self
            .app
            .data(
                Some(token),
                "query($f: ProposalFilter) { proposals(filter: $f) { totalCount nodes { id } } }",
                json!({ "f": filter }),
            )
            .await;
        data["proposals"]["totalCount"].as_i64().unwrap_or(-1)
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("no error")
}

async fn awards_of(app: &TestApp, token: &str, member: &str) -> i64 {
    let data = app
        .data(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on Member { awards { totalCount } } } }",
            json!({ "id": member }),
        )
        .await;
    data["node"]["awards"]["totalCount"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn a_chapter_proposal_forwarded_to_the_province_and_approved_there_creates_the_award() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let sibling_base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let other_province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["HP"]));
    let admin = app.admin();
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let awards_before = awards_of(&app, &admin, &dung).await;

    let proposed = api.propose(&leader, "CERTIFICATE_OF_MERIT", &dung).await;
    assert_eq!(proposed["status"], "PENDING");
    assert_eq!(proposed["level"], "BASE");
    assert_eq!(proposed["recipientName"], "Trần Thị Dung");
    assert_eq!(proposed["award"], Value::Null);
    assert_eq!(
        awards_of(&app, &admin, &dung).await,
        awards_before,
        "no award before approval"
    );

    // The base sees it, the province not yet, a sibling base never.
    assert_eq!(api.node(&base, &proposed["id"]).await["status"], "PENDING");
    assert_eq!(api.node(&province, &proposed["id"]).await, Value::Null);
    assert_eq!(api.node(&sibling_base, &proposed["id"]).await, Value::Null);
    assert_eq!(api.count(&sibling_base, json!({})).await, 0);
    assert_eq!(api.count(&province, json!({})).await, 0);

    // A Bằng khen is not the base's to grant.
    assert_eq!(code(&api.approve(&base, &proposed, "1/QĐ-CCB-A1").await), "FORBIDDEN");
    // Nor may the chapter leader move it on.
    assert_eq!(code(&api.forward(&leader, &proposed).await), "FORBIDDEN");

    let forwarded = api.forward(&base, &proposed).await;
    let forwarded = &forwarded["data"]["forwardProposal"]["proposal"];
    assert_eq!(forwarded["level"], "PROVINCE");
    assert_eq!(forwarded["status"], "PENDING");
    // Forwarding again from the version read before is stale.
    assert_eq!(code(&api.forward(&base, &proposed).await), "CONFLICT");

    assert_eq!(
        api.count(&province, json!({ "status": "PENDING", "year": 2024 })).await,
        1
    );
    assert_eq!(api.count(&other_province, json!({})).await, 0);
    assert_eq!(api.count(&sibling_base, json!({})).await, 0);
    // The base still sees what it sent up; a wrong kind in the filter finds nothing.
    assert_eq!(api.count(&base, json!({ "kind": "CERTIFICATE_OF_MERIT" })).await, 1);
    assert_eq!(api.count(&base, json!({ "kind": "EMULATION_FLAG" })).await, 0);
    assert_eq!(
        api.count(&province, json!({ "unitId": gid(NodeKind::Base, tree.bases["A1"]) }))
            .await,
        1
    );
    assert_eq!(
        api.count(&province, json!({ "unitId": gid(NodeKind::Base, tree.bases["A2"]) }))
            .await,
        0
    );
    // The other province cannot decide it either.
    assert_eq!(
        code(&api.approve(&other_province, forwarded, "9/QĐ-CCBT").await),
        "NOT_FOUND"
    );

    let approved = api.approve(&province, forwarded, "14/QĐ-CCBT").await;
    let approved = &approved["data"]["approveProposal"]["proposal"];
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(approved["award"]["kind"], "CERTIFICATE_OF_MERIT");
    assert_eq!(approved["award"]["grantingLevel"], "PROVINCE");
    assert_eq!(
        approved["award"]["grantingBody"],
        "Ban Chấp hành Hội CCB tỉnh Quảng Ninh"
    );
    assert_eq!(approved["award"]["decisionNumber"], "14/QĐ-CCBT");
    assert_eq!(approved["award"]["decisionDate"], "2024-12-12");
    assert_eq!(awards_of(&app, &admin, &dung).await, awards_before + 1);

    // A decided proposal takes no further step.
    assert_eq!(code(&api.approve(&province, approved, "15/QĐ-CCBT").await), "CONFLICT");

    // Every step is in its history, by the level that took it, and the chapter still sees the outcome.
    let seen = api.node(&leader, &proposed["id"]).await;
    assert_eq!(seen["status"], "APPROVED");
    let actions: Vec<(&str, &str)> = seen["history"]["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["action"].as_str().unwrap_or(""),
                        e["actorRole"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        actions,
        vec![
            ("APPROVE_PROPOSAL", "PROVINCE_OFFICIAL"),
            ("FORWARD_PROPOSAL", "BASE_OFFICIAL"),
            ("PROPOSE_AWARD", "CHAPTER_LEADER"),
        ]
    );
    assert_eq!(seen["history"]["nodes"][1]["reason"], "Đủ tiêu chuẩn");
}

#[tokio::test]
async fn a_base_approves_a_giay_khen_proposed_by_its_chapter_and_rejects_with_a_reason() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let chapter = gid(NodeKind::Chapter, tree.chapters["A1a"]);

    let proposed = api.propose(&leader, "CERTIFICATE_OF_COMMENDATION", &dung).await;
    // Nobody above the base grants a Giấy khen, so it cannot be forwarded.
    assert_eq!(code(&api.forward(&base, &proposed).await), "BAD_USER_INPUT");
    let approved = api.approve(&base, &proposed, "3/QĐ-CCB-A1").await;
    let award = &approved["data"]["approveProposal"]["proposal"]["award"];
    assert_eq!(award["grantingLevel"], "BASE");
    assert_eq!(award["grantingBody"], "Ban Chấp hành Hội CCB Phường Đông Triều");

    let second = api.propose(&leader, "CERTIFICATE_OF_MERIT", &chapter).await;
    let (_, missing_reason) = api
        .step(
            &base,
            "rejectProposal",
            "RejectProposalInput",
            json!({ "id": second["id"], "expectedVersion": second["version"], "reason": "  " }),
        )
        .await;
    assert_eq!(code(&missing_reason), "BAD_USER_INPUT");
    let (_, rejected) = api
        .step(
            &base,
            "rejectProposal",
            "RejectProposalInput",
            json!({ "id": second["id"], "expectedVersion": second["version"], "reason": "Chưa đủ thành tích" }),
        )
        .await;
    let rejected = &rejected["data"]["rejectProposal"]["proposal"];
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["rejectionReason"], "Chưa đủ thành tích");
    assert_eq!(rejected["award"], Value::Null);
    assert_eq!(code(&api.approve(&base, rejected, "4/QĐ-CCB-A1").await), "CONFLICT");
    assert_eq!(api.count(&leader, json!({ "status": "REJECTED" })).await, 1);
    assert_eq!(api.count(&leader, json!({ "status": "APPROVED" })).await, 1);
}

#[tokio::test]
async fn a_chapter_leader_cannot_propose_outside_their_chapter_nor_break_the_award_rules() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let member = app.token(Role::Member, ScopeNode::Member(tree.member("Trần Thị Dung")));
    let query = mutation("proposeAward", "ProposeAwardInput");
    let in_other_chapter = gid(NodeKind::Member, tree.member("Vũ Văn Bình"));
    let other_chapter = gid(NodeKind::Chapter, tree.chapters["A1b"]);
    let own_base = gid(NodeKind::Base, tree.bases["A1"]);
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let own_chapter = gid(NodeKind::Chapter, tree.chapters["A1a"]);

    let cases = [
        (&leader, "CERTIFICATE_OF_MERIT", &in_other_chapter, "NOT_FOUND"),
        (&leader, "CERTIFICATE_OF_MERIT", &other_chapter, "FORBIDDEN"),
        (&leader, "CERTIFICATE_OF_MERIT", &own_base, "FORBIDDEN"),
        (&leader, "EMULATION_FLAG", &dung, "BAD_USER_INPUT"),
        // A base grants Giấy khen itself; proposing one upward is pointless.
        (&base, "CERTIFICATE_OF_COMMENDATION", &dung, "BAD_USER_INPUT"),
        (&member, "CERTIFICATE_OF_MERIT", &dung, "FORBIDDEN"),
    ];
    for (token, kind, recipient, expected) in cases {
        assert_eq!(
            app.error_code(Some(token), &query, propose_input(kind, recipient))
                .await,
            expected,
            "{kind} for {recipient}"
        );
    }
    assert_eq!(
        app.error_code(None, &query, propose_input("CERTIFICATE_OF_MERIT", &own_chapter))
            .await,
        "UNAUTHENTICATED"
    );
    // A Cờ thi đua for the chapter is fine: the central committee may grant it.
    let api = Api { app: &app };
    let flag = api.propose(&leader, "EMULATION_FLAG", &own_chapter).await;
    assert_eq!(flag["status"], "PENDING");
    // One open proposal per achievement.
    assert_eq!(
        app.error_code(Some(&leader), &query, propose_input("EMULATION_FLAG", &own_chapter))
            .await,
        "CONFLICT"
    );
    // Members and the public see no proposals.
    assert_eq!(api.count(&member, json!({})).await, 0);
}

#[tokio::test]
async fn a_repeated_client_mutation_id_returns_the_first_result_and_only_the_proposer_withdraws() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let api = Api { app: &app };
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let mut input = propose_input("CERTIFICATE_OF_MERIT", &dung);
    input["input"]["clientMutationId"] = json!("propose-dung-2024");
    let query = mutation("proposeAward", "ProposeAwardInput");
    let first = app.data(Some(&leader), &query, input.clone()).await;
    let again = app.data(Some(&leader), &query, input).await;
    assert_eq!(first["proposeAward"]["clientMutationId"], "propose-dung-2024");
    assert_eq!(
        first["proposeAward"]["proposal"]["id"],
        again["proposeAward"]["proposal"]["id"]
    );
    assert_eq!(api.count(&leader, json!({})).await, 1);

    let proposal = &first["proposeAward"]["proposal"];
    let withdraw = json!({ "id": proposal["id"], "expectedVersion": proposal["version"], "reason": "Nhầm năm" });
    let (w, ty) = ("withdrawProposal", "WithdrawProposalInput");
    assert_eq!(code(&api.step(&base, w, ty, withdraw.clone()).await.1), "FORBIDDEN");
    let (_, withdrawn) = api.step(&leader, w, ty, withdraw.clone()).await;
    assert_eq!(withdrawn["data"]["withdrawProposal"]["proposal"]["status"], "WITHDRAWN");
    assert_eq!(code(&api.step(&leader, w, ty, withdraw).await.1), "CONFLICT");
}

pub(crate) const RECORD_RATING: &str = "mutation($input: RecordYearlyRatingInput!) { recordYearlyRating(input: $input) { clientMutationId rating { id kind year achieved subjectName version base { id } member { id } } } }";
pub(crate) const UPDATE_RATING: &str = "mutation($input: UpdateYearlyRatingInput!) { updateYearlyRating(input: $input) { rating { achieved note version history { nodes { action } } } } }";
const RATINGS: &str = "query($f: YearlyRatingFilter) { yearlyRatings(filter: $f) { totalCount } }";

pub(crate) fn rating_input(kind: &str, subject: &str, achieved: bool) -> Value {
    json!({ "input": { "kind": kind, "subjectId": subject, "year": 2024, "achieved": achieved } })
}

async fn ratings_count(app: &TestApp, token: &str, filter: Value) -> i64 {
    app.data(Some(token), RATINGS, json!({ "f": filter })).await["yearlyRatings"]["totalCount"]
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn yearly_ratings_are_recorded_once_per_year_by_the_level_above_and_counted_per_unit() {
    let app = TestApp::spawn().await;
    let tree = Tree::build(&app).await;
    let base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A1"]));
    let sibling_base = app.token(Role::BaseOfficial, ScopeNode::Base(tree.bases["A2"]));
    let province = app.token(Role::ProvinceOfficial, ScopeNode::Province(tree.provinces["QN"]));
    let leader = app.token(Role::ChapterLeader, ScopeNode::Chapter(tree.chapters["A1a"]));
    let a1 = gid(NodeKind::Base, tree.bases["A1"]);
    let dung = gid(NodeKind::Member, tree.member("Trần Thị Dung"));
    let truong = gid(NodeKind::Member, tree.member("Nguyễn Văn Trường"));

    // A base's rating is the province's to give, not the base's own.
    assert_eq!(
        app.error_code(Some(&base), RECORD_RATING, rating_input("STRONG_BASE", &a1, true))
            .await,
        "FORBIDDEN"
    );
    let strong = app
        .data(Some(&province), RECORD_RATING, rating_input("STRONG_BASE", &a1, true))
        .await;
    assert_eq!(strong["recordYearlyRating"]["rating"]["base"]["id"], a1);
    // Kinds rate their own kind of subject; chapter leaders and other bases do not record.
    assert_eq!(
        app.error_code(Some(&base), RECORD_RATING, rating_input("MODEL_MEMBER", &a1, true))
            .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&leader), RECORD_RATING, rating_input("MODEL_MEMBER", &dung, true))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(
            Some(&sibling_base),
            RECORD_RATING,
            rating_input("MODEL_MEMBER", &dung, true)
        )
        .await,
        "NOT_FOUND"
    );

    let mut first = rating_input("MODEL_MEMBER", &dung, true);
    first["input"]["clientMutationId"] = json!("rate-dung");
    let recorded = app.data(Some(&base), RECORD_RATING, first.clone()).await;
    let replayed = app.data(Some(&base), RECORD_RATING, first).await;
    let rating = &recorded["recordYearlyRating"]["rating"];
    assert_eq!(rating["subjectName"], "Trần Thị Dung");
    assert_eq!(rating["id"], replayed["recordYearlyRating"]["rating"]["id"]);
    app.data(Some(&base), RECORD_RATING, rating_input("MODEL_MEMBER", &truong, false))
        .await;
    app.data(Some(&base), RECORD_RATING, rating_input("CULTURED_FAMILY", &dung, true))
        .await;
    // Once per subject, kind and year.
    assert_eq!(
        app.error_code(Some(&base), RECORD_RATING, rating_input("MODEL_MEMBER", &dung, false))
            .await,
        "CONFLICT"
    );

    // Share of model members in the base: one of two rated.
    let model = json!({ "kind": "MODEL_MEMBER", "year": 2024, "unitId": a1 });
    assert_eq!(ratings_count(&app, &province, model.clone()).await, 2);
    let mut achieved = model.clone();
    achieved["achieved"] = json!(true);
    assert_eq!(ratings_count(&app, &province, achieved).await, 1);
    assert_eq!(ratings_count(&app, &sibling_base, json!({})).await, 0);
    assert_eq!(ratings_count(&app, &leader, json!({ "kind": "MODEL_MEMBER" })).await, 2);

    // The year-end statistics count the ratings earned, for the province and per base.
    let stats = app
        .data(
            Some(&province),
            "query($id: ID!) { yearEndStatistics(unitId: $id, year: 2024) { totals { strongBases modelMembers culturedFamilies } breakdown { figures { strongBases modelMembers } } } }",
            json!({ "id": gid(NodeKind::Province, tree.provinces["QN"]) }),
        )
        .await;
    let totals = &stats["yearEndStatistics"]["totals"];
    assert_eq!(totals["strongBases"], 1);
    assert_eq!(totals["modelMembers"], 1);
    assert_eq!(totals["culturedFamilies"], 1);
    let per_base = stats["yearEndStatistics"]["breakdown"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(per_base.iter().filter(|b| b["figures"]["strongBases"] == 1).count(), 1);

    // Changing a rating is versioned and audited.
    let change = json!({ "input": { "id": rating["id"], "expectedVersion": rating["version"], "achieved": false, "note": "Xét lại" } });
    let changed = app.data(Some(&base), UPDATE_RATING, change.clone()).await;
    assert_eq!(changed["updateYearlyRating"]["rating"]["achieved"], false);
    assert_eq!(
        changed["updateYearlyRating"]["rating"]["history"]["nodes"][0]["action"],
        "UPDATE_YEARLY_RATING"
    );
    assert_eq!(app.error_code(Some(&base), UPDATE_RATING, change).await, "CONFLICT");
}
