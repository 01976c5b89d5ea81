//! A small, known tree for tests: two provinces, four bases, five chapters, twelve members whose names
//! exercise Vietnamese folding and ordering.

use std::collections::HashMap;

use entity::award::AwardKind;
use entity::base::BaseKind;
use entity::member::{MemberType, Sex};
use hoi_ccb::store::write::{self, MemberData};
use sea_orm::{ActiveModelTrait, Set};

use crate::helpers::TestApp;

pub struct Tree {
    pub provinces: HashMap<&'static str, i64>,
    pub bases: HashMap<&'static str, i64>,
    pub chapters: HashMap<&'static str, i64>,
    /// By full name.
    pub members: HashMap<String, i64>,
    pub awards: HashMap<&'static str, i64>,
    /// A pending transfer from base A3 (Quảng Ninh) to base B1 (Hải Phòng).
    pub transfer: i64,
}

/// (chapter key, family, middle, given, sex)
const MEMBERS: &[(&str, &str, &str, &str, Sex)] = &[
    ("A1a", "Nguyễn", "Văn", "Trường", Sex::Male),
    ("A1a", "Trần", "Thị", "Dung", Sex::Female),
    ("A1a", "Lê", "Văn", "Đức", Sex::Male),
    ("A1a", "Phạm", "Văn", "Dũng", Sex::Male),
    ("A1a", "Hoàng", "Văn", "An", Sex::Male),
    ("A1b", "Vũ", "Văn", "Bình", Sex::Male),
    ("A1b", "Đặng", "Thị", "Hoà", Sex::Female),
    ("A2a", "Bùi", "Văn", "Hòa", Sex::Male),
    ("A2a", "Ngô", "Văn", "Đạt", Sex::Male),
    ("A3a", "Đỗ", "Văn", "Cường", Sex::Male),
    ("B1a", "Lý", "Văn", "Trung", Sex::Male),
    ("B1a", "Nguyễn", "Thị", "Lan", Sex::Female),
];

impl Tree {
    pub async fn build(app: &TestApp) -> Self {
        Self::build_in(app.db()).await
    }

    pub async fn build_in(db: &sea_orm::DatabaseConnection) -> Self {
        let qn = write::insert_province(db, "QN", "Quảng Ninh").await.expect("province");
        let hp = write::insert_province(db, "HP", "Hải Phòng").await.expect("province");
        let a1 = write::insert_base(db, qn.id, "QN-A1", "Phường Đông Triều", BaseKind::Ward)
            .await
            .expect("base");
        let a2 = write::insert_base(db, qn.id, "QN-A2", "Xã Tiên Yên", BaseKind::Commune)
            .await
            .expect("base");
        let a3 = write::insert_base(db, qn.id, "QN-A3", "Công ty Than Hà Lầm", BaseKind::Enterprise)
            .await
            .expect("base");
        let b1 = write::insert_base(db, hp.id, "HP-B1", "Phường Hồng Bàng", BaseKind::Ward)
            .await
            .expect("base");
        let mut chapters = HashMap::new();
        let mut chapter_models = HashMap::new();
        for (key, base, name) in [
            ("A1a", &a1, "Chi hội Khu 1"),
            ("A1b", &a1, "Chi hội Khu 2"),
            ("A2a", &a2, "Chi hội Thôn Đông"),
            ("A3a", &a3, "Chi hội Phân xưởng 1"),
            ("B1a", &b1, "Chi hội Tổ 5"),
        ] {
            let c = write::insert_chapter(db, base, &format!("{}-{key}", base.code), name)
                .await
                .expect("chapter");
            chapters.insert(key, c.id);
            chapter_models.insert(key, c);
        }
        let mut members = HashMap::new();
        for (i, (chapter, family, middle, given, sex)) in MEMBERS.iter().enumerate() {
            let mut data = MemberData::named(family, middle, given, *sex, MemberType::Veteran);
            data.phone = Some(format!("09000000{i:02}"));
            data.birth_year = Some(1950 + i as i32);
            data.card_number = Some(format!("CARD-{i:03}"));
            data.address = Some("Tổ 1, khu 2".into());
            let m = write::insert_member(db, &chapter_models[chapter], data)
                .await
                .expect("member");
            members.insert(format!("{family} {middle} {given}"), m.id);
        }
        // Awards: a Cờ thi đua to base A1, Bằng khen to a member of A1a and to one of B1a.
        let central = write::GrantingBody::central();
        let mut awards = HashMap::new();
        for (key, recipient, kind, number) in [
            (
                "flag-A1",
                write::Recipient::Base(a1.id),
                AwardKind::EmulationFlag,
                "1/QĐ-CCB",
            ),
            (
                "merit-truong",
                write::Recipient::Member(members["Nguyễn Văn Trường"]),
                AwardKind::CertificateOfMerit,
                "2/QĐ-CCB",
            ),
            (
                "merit-trung",
                write::Recipient::Member(members["Lý Văn Trung"]),
                AwardKind::CertificateOfMerit,
                "3/QĐ-CCB",
            ),
        ] {
            let resolved = write::resolve_recipient(db, recipient)
                .await
                .expect("lookup")
                .expect("recipient exists");
            let data = write::AwardData {
                kind,
                year: 2024,
                movement: "CCB gương mẫu".into(),
                decision_number: number.into(),
                decision_date: None,
                event: None,
                citation: None,
            };
            let award = write::insert_award(db, &central, &resolved, data).await.expect("award");
            awards.insert(key, award.id);
        }
        // A pending transfer of Đỗ Văn Cường (base A3, Quảng Ninh) to base B1 (Hải Phòng).
        let cuong = members["Đỗ Văn Cường"];
        let transfer = entity::transfer::ActiveModel {
            member_id: Set(cuong),
            member_name: Set("Đỗ Văn Cường".into()),
            from_province_id: Set(qn.id),
            from_base_id: Set(a3.id),
            from_chapter_id: Set(chapter_models["A3a"].id),
            to_province_id: Set(hp.id),
            to_base_id: Set(b1.id),
            to_chapter_id: Set(None),
            status: Set(entity::transfer::TransferStatus::Pending),
            note: Set(None),
            released_at: Set(chrono::Utc::now()),
            released_by: Set("fixture".into()),
            decided_at: Set(None),
            decided_by: Set(None),
            decision_reason: Set(None),
            version: Set(1),
            ..Default::default()
        }
        .insert(db)
        .await
        .expect("transfer");
        Self {
            transfer: transfer.id,
            awards,
            provinces: HashMap::from([("QN", qn.id), ("HP", hp.id)]),
            bases: HashMap::from([("A1", a1.id), ("A2", a2.id), ("A3", a3.id), ("B1", b1.id)]),
            chapters,
            members,
        }
    }

    pub fn member(&self, full_name: &str) -> i64 {
        self.members[full_name]
    }
}
