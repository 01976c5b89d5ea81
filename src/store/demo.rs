//! The demo data set (docs/domain.md §5): a deterministic Quảng Ninh with 263 bases (170 territorial, 93 in the
//! agency/enterprise bloc), 1,802 chapters, nearly 55,700 active members with Vietnamese names in their real
//! distribution, and the award fixture of the founding report (12 Dec 2024: 4 Cờ thi đua + 7 Bằng khen from the
//! central committee, 6 Bằng khen from the province, "CCB gương mẫu" 2024) plus an award history for 2019–2023.
//! The same seed always gives the same data; rows are written with multi-row INSERTs in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait, Value};

use crate::sql::{Sql, literal};
use crate::text;
use entity::award::RecipientType;

/// Counts of the founding report (docs/domain.md §5).
pub const BASES: usize = 263;
pub const TERRITORIAL_BASES: usize = 170;
pub const CHAPTERS: usize = 1_802;
pub const ACTIVE_MEMBERS: usize = 55_694;
/// Members no longer active (deceased or removed) kept on record, as a real roster has them.
pub const INACTIVE_MEMBERS: usize = 907;
const SEED: u64 = 20_241_212;
pub const PROVINCE_NAME: &str = "Quảng Ninh";
pub const MOVEMENT: &str = "CCB gương mẫu";
pub const CENTRAL_BODY: &str = "Ban Chấp hành Trung ương Hội CCB Việt Nam";
pub const PROVINCE_BODY: &str = "Ban Chấp hành Hội CCB tỉnh Quảng Ninh";
const FIXTURE_EVENT: &str =
    "Hội nghị lần thứ 7 Ban Chấp hành Hội CCB tỉnh Quảng Ninh khóa VII, nhiệm kỳ 2022-2027 (Hạ Long, 12/12/2024)";

/// What `seed` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub provinces: usize,
    pub bases: usize,
    pub chapters: usize,
    pub members: usize,
    pub awards: usize,
}

/// Whether the database already holds a tree (seeding is only for an empty registry).
pub async fn is_seeded(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(Sql::new("SELECT COUNT(*) FROM provinces").build(db.get_database_backend()))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0) > 0)
}

const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 50),
    ("Phan", 45),
    ("Vũ", 40),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 19),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đào", 10),
    ("Đinh", 10),
    ("Đoàn", 9),
    ("Hà", 8),
    ("Lương", 7),
    ("Mai", 7),
    ("Trịnh", 8),
    ("Tạ", 5),
    ("Lưu", 5),
    ("Tô", 5),
    ("Vương", 4),
    ("Cao", 6),
    ("Chu", 4),
    ("Triệu", 4),
    ("Nông", 4),
    ("La", 3),
];
const MIDDLE_MALE: &[(&str, u32)] = &[
    ("Văn", 600),
    ("Đức", 60),
    ("Quang", 50),
    ("Minh", 50),
    ("Hữu", 50),
    ("Xuân", 40),
    ("Ngọc", 30),
    ("Thanh", 30),
    ("Công", 30),
    ("Đình", 30),
    ("Mạnh", 20),
    ("Trọng", 10),
];
const MIDDLE_FEMALE: &[(&str, u32)] = &[
    ("Thị", 800),
    ("Thu", 50),
    ("Thanh", 50),
    ("Ngọc", 50),
    ("Minh", 30),
    ("Kim", 20),
];
const GIVEN_MALE: &[&str] = &[
    "Hùng",
    "Dũng",
    "Tuấn",
    "Trường",
    "Thắng",
    "Hải",
    "Sơn",
    "Long",
    "Bình",
    "Cường",
    "Minh",
    "Quang",
    "Thành",
    "Tâm",
    "Toàn",
    "Đức",
    "Hòa",
    "Hiếu",
    "Kiên",
    "Lâm",
    "Nam",
    "Phong",
    "Quân",
    "Tiến",
    "Trung",
    "Việt",
    "Vinh",
    "An",
    "Bảo",
    "Chiến",
    "Đạt",
    "Định",
    "Đông",
    "Giang",
    "Hậu",
    "Huy",
    "Khánh",
    "Lợi",
    "Mạnh",
    "Nghĩa",
    "Phúc",
    "Quý",
    "Tài",
    "Thịnh",
    "Thuận",
    "Tùng",
    "Vượng",
    "Xuân",
    "Ánh",
    "Ẩn",
    "Sáu",
    "Bảy",
    "Thức",
    "Yên",
];
const GIVEN_FEMALE: &[&str] = &[
    "Lan", "Hương", "Hoa", "Mai", "Hạnh", "Thảo", "Hà", "Nga", "Loan", "Hằng", "Dung", "Yến", "Nhung", "Liên", "Tuyết",
    "Oanh", "Đào",
];
const RANKS_VETERAN: &[&str] = &[
    "Binh nhì",
    "Binh nhất",
    "Hạ sĩ",
    "Trung sĩ",
    "Thượng sĩ",
    "Thiếu úy",
    "Trung úy",
    "Thượng úy",
    "Đại úy",
    "Thiếu tá",
    "Trung tá",
    "Thượng tá",
    "Đại tá",
];
const RANKS_EX: &[&str] = &["Binh nhì", "Binh nhất", "Hạ sĩ", "Trung sĩ", "Thượng sĩ"];
const UNITS: &[&str] = &[
    "Sư đoàn 3, Quân khu 3",
    "Sư đoàn 395, Quân khu 3",
    "Trung đoàn 42",
    "Trung đoàn 244",
    "Bộ đội Biên phòng tỉnh Quảng Ninh",
    "Lữ đoàn 170, Hải quân",
    "Vùng 1 Hải quân",
    "Bộ CHQS tỉnh Quảng Ninh",
    "Sư đoàn 325",
    "Sư đoàn 304",
    "Quân đoàn 1",
    "Quân đoàn 2",
    "Bộ Tư lệnh Công binh",
    "Sư đoàn 356",
];
const HOME_PROVINCES: &[&str] = &[
    "Quảng Ninh",
    "Quảng Ninh",
    "Quảng Ninh",
    "Quảng Ninh",
    "Hải Phòng",
    "Thái Bình",
    "Nam Định",
    "Hải Dương",
    "Hưng Yên",
    "Bắc Giang",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Nội",
    "Ninh Bình",
    "Lạng Sơn",
];
/// Real ward and commune names first, then generated ones from common place-name syllables.
const PLACES: &[&str] = &[
    "Hồng Gai",
    "Bãi Cháy",
    "Vân Đồn",
    "Cô Tô",
    "Hà Tu",
    "Hà Khẩu",
    "Cao Xanh",
    "Hà Lầm",
    "Hà Trung",
    "Hà Phong",
    "Hồng Hà",
    "Hồng Hải",
    "Cao Thắng",
    "Giếng Đáy",
    "Hùng Thắng",
    "Tuần Châu",
    "Việt Hưng",
    "Đại Yên",
    "Trần Hưng Đạo",
    "Yết Kiêu",
    "Bạch Đằng",
    "Hoành Bồ",
    "Cẩm Phả",
    "Cẩm Đông",
    "Cẩm Tây",
    "Cẩm Sơn",
    "Cẩm Thạch",
    "Cẩm Thủy",
    "Cẩm Trung",
    "Cẩm Bình",
    "Cửa Ông",
    "Mông Dương",
    "Quang Hanh",
    "Uông Bí",
    "Vàng Danh",
    "Thanh Sơn",
    "Bắc Sơn",
    "Nam Khê",
    "Phương Đông",
    "Phương Nam",
    "Yên Thanh",
    "Móng Cái",
    "Trà Cổ",
    "Hải Hòa",
    "Ka Long",
    "Ninh Dương",
    "Hải Yên",
    "Đông Triều",
    "Mạo Khê",
    "Tràng An",
    "Hồng Phong",
    "Đức Chính",
    "Xuân Sơn",
    "Quảng Yên",
    "Phong Cốc",
    "Hà An",
    "Nam Hòa",
    "Yên Giang",
    "Cộng Hòa",
    "Tiên Yên",
    "Đông Ngũ",
    "Hải Lạng",
    "Bình Liêu",
    "Hoành Mô",
    "Đồng Văn",
    "Ba Chẽ",
    "Thanh Lâm",
    "Đạp Thanh",
    "Đầm Hà",
    "Quảng Tân",
    "Dực Yên",
    "Hải Hà",
    "Quảng Hà",
    "Đường Hoa",
    "Quảng Đức",
    "Cái Chiên",
    "Minh Châu",
    "Quan Lạn",
    "Bản Sen",
    "Thắng Lợi",
    "Đông Xá",
    "Hạ Long",
    "Thống Nhất",
    "Lê Lợi",
    "Sơn Dương",
    "Đồng Lâm",
    "Kỳ Thượng",
];
const SYLLABLES: &[&str] = &[
    "Hồng", "Bình", "An", "Tân", "Thắng", "Lợi", "Hải", "Đông", "Tây", "Nam", "Bắc", "Yên", "Thịnh", "Phong", "Hòa",
    "Long", "Quang", "Minh", "Đức", "Thanh", "Sơn", "Hưng", "Phú", "Vĩnh", "Xuân", "Trung", "Kim", "Lâm",
];
const AGENCIES: &[&str] = &[
    "Sở Tài chính",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Xây dựng",
    "Sở Công Thương",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Nông nghiệp và Môi trường",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Văn phòng Tỉnh ủy",
    "Văn phòng UBND tỉnh",
    "Ban Tổ chức Tỉnh ủy",
    "Ban Tuyên giáo và Dân vận Tỉnh ủy",
    "Ủy ban Kiểm tra Tỉnh ủy",
    "Tòa án nhân dân tỉnh",
    "Viện Kiểm sát nhân dân tỉnh",
    "Kho bạc Nhà nước tỉnh",
    "Bảo hiểm xã hội tỉnh",
    "Thuế tỉnh",
    "Cục Hải quan tỉnh",
    "Đài Phát thanh và Truyền hình tỉnh",
    "Báo Quảng Ninh",
    "Bệnh viện Đa khoa tỉnh",
    "Trường Chính trị Nguyễn Văn Cừ",
    "Đại học Hạ Long",
    "Ngân hàng Nhà nước chi nhánh Quảng Ninh",
    "Liên đoàn Lao động tỉnh",
    "Hội Nông dân tỉnh",
    "Tỉnh đoàn",
];
const COAL_MINES: &[&str] = &[
    "Hà Lầm",
    "Mông Dương",
    "Vàng Danh",
    "Núi Béo",
    "Hạ Long",
    "Quang Hanh",
    "Dương Huy",
    "Hòn Gai",
    "Cọc Sáu",
    "Cao Sơn",
    "Đèo Nai",
    "Khe Chàm",
    "Thống Nhất",
    "Mạo Khê",
    "Uông Bí",
    "Nam Mẫu",
    "Hà Tu",
    "Tây Nam Đá Mài",
];
const ENTERPRISE_KINDS: &[&str] = &[
    "Công ty Cổ phần Xi măng",
    "Công ty Cổ phần Cảng",
    "Công ty Nhiệt điện",
    "Công ty Cổ phần Vận tải",
    "Công ty Cổ phần Xây dựng",
    "Công ty Cổ phần Nước sạch",
    "Công ty Cổ phần Du lịch",
    "Công ty TNHH Đóng tàu",
];
const OTHER_MOVEMENTS: &[&str] = &[
    "Cựu chiến binh giúp nhau giảm nghèo, làm kinh tế giỏi",
    "Toàn dân đoàn kết xây dựng đời sống văn hóa",
    "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
];

fn weighted<'a, R: Rng>(rng: &mut R, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, w) in items {
        if pick < *w {
            return item;
        }
        pick -= w;
    }
    items[0].0
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn random_date<R: Rng>(rng: &mut R, year: i32) -> NaiveDate {
    // Day 1..=28 exists in every month.
    date(year, rng.random_range(1..=12), rng.random_range(1..=28))
}

struct Unit {
    id: i64,
    name: String,
    code: String,
}

/// Collects rows into multi-row INSERTs of at most `rows_per_statement` rows.
struct Inserter {
    head: String,
    columns: usize,
    rows_per_statement: usize,
    rows: Vec<Vec<Value>>,
    statements: Vec<Sql>,
}

impl Inserter {
    fn new(table: &str, columns: &[&str]) -> Self {
        // SQLite allows 32,766 bound values per statement, PostgreSQL 65,535.
        let rows_per_statement = (30_000 / columns.len()).max(1);
        Self {
            head: format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")),
            columns: columns.len(),
            rows_per_statement,
            rows: Vec::new(),
            statements: Vec::new(),
        }
    }

    fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns);
        self.rows.push(values);
        if self.rows.len() == self.rows_per_statement {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let mut sql = Sql::new(&self.head);
        for (i, row) in self.rows.drain(..).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(&row);
        }
        self.statements.push(sql);
    }

    async fn run<C: ConnectionTrait>(mut self, db: &C) -> Result<(), DbErr> {
        self.flush();
        let backend = db.get_database_backend();
        for sql in self.statements {
            db.execute_raw(sql.build(backend)).await?;
        }
        Ok(())
    }
}

fn s(v: &str) -> Value {
    Value::from(v.to_owned())
}

fn opt_s(v: Option<String>) -> Value {
    Value::String(v)
}

fn opt_d(v: Option<NaiveDate>) -> Value {
    Value::ChronoDate(v)
}

/// Writes the demo data set into an empty, migrated database.
pub async fn seed(db: &DatabaseConnection) -> Result<Summary, DbErr> {
    if is_seeded(db).await? {
        return Err(DbErr::Custom(
            "the database already holds data; seed-demo only fills an empty registry".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let created: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).single().unwrap_or_default();
    let txn = db.begin().await?;

    let mut provinces = Inserter::new(
        "provinces",
        &["id", "code", "name", "name_search", "sort_key", "created_at"],
    );
    provinces.row(vec![
        1i64.into(),
        s("QN"),
        s(PROVINCE_NAME),
        s(&text::fold(PROVINCE_NAME)),
        s(&text::sort_key(&[PROVINCE_NAME])),
        created.into(),
    ]);
    provinces.run(&txn).await?;

    // Bases: territorial (2 special zones, wards, communes), then the bloc.
    let mut place_names: Vec<String> = PLACES.iter().map(|p| p.to_string()).collect();
    let mut seen: HashSet<String> = place_names.iter().cloned().collect();
    'outer: for a in SYLLABLES {
        for b in SYLLABLES {
            if place_names.len() >= TERRITORIAL_BASES {
                break 'outer;
            }
            let name = format!("{a} {b}");
            if a != b && seen.insert(name.clone()) {
                place_names.push(name);
            }
        }
    }
    let mut bases: Vec<(Unit, bool)> = Vec::with_capacity(BASES);
    let mut base_rows = Inserter::new(
        "bases",
        &[
            "id",
            "province_id",
            "code",
            "name",
            "name_search",
            "sort_key",
            "kind",
            "created_at",
        ],
    );
    for (i, place) in place_names
        .iter()
        .take(BASES)
        .chain(std::iter::repeat(&String::new()))
        .take(BASES)
        .enumerate()
    {
        let id = (i + 1) as i64;
        let (name, kind) = if i < TERRITORIAL_BASES {
            match place.as_str() {
                "Vân Đồn" | "Cô Tô" => (format!("Đặc khu {place}"), "SPECIAL_ZONE"),
                _ if i % 7 < 3 => (format!("Phường {place}"), "WARD"),
                _ => (format!("Xã {place}"), "COMMUNE"),
            }
        } else {
            let j = i - TERRITORIAL_BASES;
            if j < AGENCIES.len() {
                (AGENCIES[j].to_string(), "AGENCY")
            } else if j < AGENCIES.len() + COAL_MINES.len() {
                (format!("Công ty Than {}", COAL_MINES[j - AGENCIES.len()]), "ENTERPRISE")
            } else {
                let k = j - AGENCIES.len() - COAL_MINES.len();
                let kind = ENTERPRISE_KINDS[k % ENTERPRISE_KINDS.len()];
                (format!("{kind} {}", PLACES[(k * 7) % PLACES.len()]), "ENTERPRISE")
            }
        };
        let code = format!("QN-{id:03}");
        base_rows.row(vec![
            id.into(),
            1i64.into(),
            s(&code),
            s(&name),
            s(&text::fold(&name)),
            s(&text::sort_key(&[&name])),
            s(kind),
            created.into(),
        ]);
        bases.push((Unit { id, name, code }, i < TERRITORIAL_BASES));
    }
    base_rows.run(&txn).await?;

    // Chapters: every base gets at least 3, the rest spread at random (≈ 6.9 per base).
    let mut per_base = vec![3usize; BASES];
    for _ in 0..(CHAPTERS - 3 * BASES) {
        per_base[rng.random_range(0..BASES)] += 1;
    }
    let mut chapters: Vec<(Unit, i64)> = Vec::with_capacity(CHAPTERS);
    let mut chapter_rows = Inserter::new(
        "chapters",
        &[
            "id",
            "province_id",
            "base_id",
            "code",
            "name",
            "name_search",
            "sort_key",
            "created_at",
        ],
    );
    for ((base, territorial), count) in bases.iter().zip(&per_base) {
        for n in 1..=*count {
            let id = (chapters.len() + 1) as i64;
            let name = if *territorial {
                if base.name.starts_with("Phường") {
                    format!("Chi hội Khu {n}")
                } else {
                    format!("Chi hội Thôn {n}")
                }
            } else {
                format!("Chi hội {} số {n}", base.name)
            };
            let code = format!("{}-{n:02}", base.code);
            chapter_rows.row(vec![
                id.into(),
                1i64.into(),
                base.id.into(),
                s(&code),
                s(&name),
                s(&text::fold(&name)),
                s(&text::sort_key(&[&name])),
                created.into(),
            ]);
            chapters.push((Unit { id, name, code }, base.id));
        }
    }
    chapter_rows.run(&txn).await?;

    // Members: spread over chapters with realistic variation (≈ 30.9 per chapter).
    let weights: Vec<u32> = (0..CHAPTERS).map(|_| rng.random_range(15..=47)).collect();
    let weight_sum: u32 = weights.iter().sum();
    let total = ACTIVE_MEMBERS + INACTIVE_MEMBERS;
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| (*w as usize * total) / weight_sum as usize)
        .collect();
    let mut short = total - sizes.iter().sum::<usize>();
    let mut i = 0;
    while short > 0 {
        sizes[i % CHAPTERS] += 1;
        short -= 1;
        i += 1;
    }
    let mut statuses = vec!["ACTIVE"; ACTIVE_MEMBERS];
    statuses.extend(std::iter::repeat_n("DECEASED", INACTIVE_MEMBERS - 95));
    statuses.extend(std::iter::repeat_n("REMOVED", 95));
    statuses.shuffle(&mut rng);

    let member_columns = [
        "id",
        "province_id",
        "base_id",
        "chapter_id",
        "family_name",
        "middle_name",
        "given_name",
        "search_name",
        "sort_key",
        "sex",
        "birth_date",
        "birth_year",
        "home_town",
        "address",
        "phone",
        "enlisted_on",
        "discharged_on",
        "military_rank",
        "last_unit",
        "member_type",
        "joined_on",
        "party_member",
        "war_invalid",
        "card_number",
        "status",
        "created_at",
        "updated_at",
        "left_on",
        "left_reason",
    ];
    let mut member_rows = Inserter::new("members", &member_columns);
    // (member id, base id, chapter id, full name) of active members, for individual awards.
    let mut active_members: Vec<(i64, i64, i64, String)> = Vec::with_capacity(ACTIVE_MEMBERS);
    let mut next_id = 1i64;
    for ((chapter, base_id), size) in chapters.iter().zip(&sizes) {
        for _ in 0..*size {
            let id = next_id;
            next_id += 1;
            let female = rng.random_bool(0.10);
            let family = weighted(&mut rng, FAMILY);
            let middle = if female {
                weighted(&mut rng, MIDDLE_FEMALE)
            } else {
                weighted(&mut rng, MIDDLE_MALE)
            };
            let given = if female {
                *GIVEN_FEMALE.choose(&mut rng).unwrap_or(&"Lan")
            } else {
                *GIVEN_MALE.choose(&mut rng).unwrap_or(&"Hùng")
            };
            let veteran = rng.random_bool(0.80);
            let birth_year = if veteran {
                rng.random_range(1945..=1965)
            } else {
                rng.random_range(1966..=2000)
            };
            let birth_date = rng.random_bool(0.7).then(|| random_date(&mut rng, birth_year));
            let enlisted_year = birth_year + rng.random_range(18..=21);
            let service = if veteran {
                rng.random_range(3..=25)
            } else {
                rng.random_range(2..=5)
            };
            let discharged_year = (enlisted_year + service).min(2023);
            let joined_year = (discharged_year + rng.random_range(0..=12)).clamp(1990, 2024);
            let status = statuses[(id - 1) as usize];
            let full = text::full_name(family, middle, given);
            let left_year = rng.random_range(2015..=2024);
            let left_on = (status != "ACTIVE").then(|| random_date(&mut rng, left_year));
            let rank = if veteran {
                RANKS_VETERAN.choose(&mut rng)
            } else {
                RANKS_EX.choose(&mut rng)
            };
            let war_invalid = match rng.random_range(0..100) {
                0..6 if veteran => "WAR_INVALID",
                6..9 if veteran => "SICK_SOLDIER",
                _ => "NONE",
            };
            let party = rng.random_bool(if veteran { 0.45 } else { 0.25 });
            let phone = rng
                .random_bool(0.85)
                .then(|| format!("09{:08}", rng.random_range(0..100_000_000u32)));
            let home = HOME_PROVINCES.choose(&mut rng).copied().unwrap_or(PROVINCE_NAME);
            let unit = UNITS.choose(&mut rng).copied().unwrap_or("Quân khu 3");
            let base_name = &bases[(*base_id - 1) as usize].0.name;
            member_rows.row(vec![
                id.into(),
                1i64.into(),
                (*base_id).into(),
                chapter.id.into(),
                s(family),
                s(middle),
                s(given),
                s(&text::fold(&full)),
                s(&text::person_sort_key(family, middle, given)),
                s(if female { "FEMALE" } else { "MALE" }),
                opt_d(birth_date),
                Value::Int(Some(birth_year)),
                s(&format!("tỉnh {home}")),
                s(&format!(
                    "{}, {base_name}, tỉnh Quảng Ninh",
                    chapter.name.trim_start_matches("Chi hội ")
                )),
                opt_s(phone),
                opt_d(Some(random_date(&mut rng, enlisted_year))),
                opt_d(Some(random_date(&mut rng, discharged_year))),
                opt_s(rank.map(|r| r.to_string())),
                s(unit),
                s(if veteran { "VETERAN" } else { "EX_SERVICEMAN" }),
                opt_d(Some(random_date(&mut rng, joined_year))),
                party.into(),
                s(war_invalid),
                s(&format!("{}-{id:06}", chapter.code.get(..6).unwrap_or("QN"))),
                s(status),
                created.into(),
                created.into(),
                opt_d(left_on),
                opt_s((status == "REMOVED").then(|| "Tự nguyện xin ra khỏi Hội".to_owned())),
            ]);
            if status == "ACTIVE" {
                active_members.push((id, *base_id, chapter.id, full));
            }
        }
    }
    member_rows.run(&txn).await?;

    let awards = seed_awards(&txn, &mut rng, &bases, &chapters, &active_members, created).await?;

    if txn.get_database_backend() == DbBackend::Postgres {
        // Explicit ids were written; move the identity sequences past them.
        for table in ["provinces", "bases", "chapters", "members", "awards"] {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .await?;
        }
    }
    txn.commit().await?;
    Ok(Summary {
        provinces: 1,
        bases: BASES,
        chapters: CHAPTERS,
        members: (next_id - 1) as usize,
        awards,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Province,
    Base(usize),
    Chapter(usize),
    Member(usize),
}

async fn seed_awards<C: ConnectionTrait>(
    db: &C,
    rng: &mut ChaCha8Rng,
    bases: &[(Unit, bool)],
    chapters: &[(Unit, i64)],
    members: &[(i64, i64, i64, String)],
    created: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let columns = [
        "id",
        "kind",
        "granting_level",
        "granting_body",
        "granting_body_key",
        "recipient_type",
        "recipient_id",
        "recipient_name",
        "province_id",
        "base_id",
        "chapter_id",
        "member_id",
        "year",
        "movement",
        "movement_key",
        "decision_number",
        "decision_date",
        "event",
        "citation",
        "created_at",
    ];
    let mut rows = Inserter::new("awards", &columns);
    let mut next_id = 1i64;
    let mut used: HashSet<(u8, usize, &str, i32, &str)> = HashSet::new();
    let mut add = |rows: &mut Inserter,
                   who: Who,
                   kind: &'static str,
                   level: &'static str,
                   body: (String, String),
                   year: i32,
                   movement: &'static str,
                   decision: String,
                   decision_date: NaiveDate,
                   event: Option<&str>|
     -> bool {
        let (tag, index) = match who {
            Who::Province => (0u8, 0),
            Who::Base(i) => (1, i),
            Who::Chapter(i) => (2, i),
            Who::Member(i) => (3, i),
        };
        if !used.insert((tag, index, kind, year, movement)) {
            return false;
        }
        let (rtype, rid, rname, base_id, chapter_id, member_id) = match who {
            Who::Province => ("PROVINCE", 1, format!("Hội CCB tỉnh {PROVINCE_NAME}"), None, None, None),
            Who::Base(i) => {
                let b = &bases[i].0;
                ("BASE", b.id, format!("Hội CCB {}", b.name), Some(b.id), None, None)
            }
            Who::Chapter(i) => {
                let (c, base_id) = &chapters[i];
                let base = &bases[(*base_id - 1) as usize].0.name;
                (
                    "CHAPTER",
                    c.id,
                    format!("{} ({base})", c.name),
                    Some(*base_id),
                    Some(c.id),
                    None,
                )
            }
            Who::Member(i) => {
                let (id, base_id, chapter_id, name) = &members[i];
                (
                    "MEMBER",
                    *id,
                    format!("Ông/bà {name}"),
                    Some(*base_id),
                    Some(*chapter_id),
                    Some(*id),
                )
            }
        };
        let citation = format!("Đã có thành tích xuất sắc trong phong trào thi đua \"{movement}\" năm {year}");
        rows.row(vec![
            next_id.into(),
            s(kind),
            s(level),
            s(&body.0),
            s(&body.1),
            s(rtype),
            rid.into(),
            s(&rname),
            1i64.into(),
            Value::BigInt(base_id),
            Value::BigInt(chapter_id),
            Value::BigInt(member_id),
            Value::Int(Some(year)),
            s(movement),
            s(&text::fold(movement)),
            s(&decision),
            opt_d(Some(decision_date)),
            opt_s(event.map(str::to_owned)),
            s(&citation),
            created.into(),
        ]);
        next_id += 1;
        true
    };
    let central = || (CENTRAL_BODY.to_owned(), "CENTRAL".to_owned());
    let province = || (PROVINCE_BODY.to_owned(), "PROVINCE:1".to_owned());
    let base_body = |i: usize| {
        (
            format!("Ban Chấp hành Hội CCB {}", bases[i].0.name),
            format!("BASE:{}", bases[i].0.id),
        )
    };

    // The founding report's fixture: 12 Dec 2024 in Hạ Long.
    let mut decision = 1100;
    let mut next_decision = |suffix: &str| {
        decision += 1;
        format!("{decision}/QĐ-{suffix}")
    };
    let flags = [
        Who::Province,
        Who::Base(0),
        Who::Base(45),
        Who::Base(TERRITORIAL_BASES + 31),
    ];
    for who in flags {
        add(
            &mut rows,
            who,
            "EMULATION_FLAG",
            "CENTRAL",
            central(),
            2024,
            MOVEMENT,
            next_decision("CCB"),
            date(2024, 12, 5),
            Some(FIXTURE_EVENT),
        );
    }
    let central_merit = [
        Who::Base(12),
        Who::Chapter(140),
        Who::Chapter(905),
        Who::Member(100),
        Who::Member(7_300),
        Who::Member(21_000),
        Who::Member(40_400),
    ];
    for who in central_merit {
        add(
            &mut rows,
            who,
            "CERTIFICATE_OF_MERIT",
            "CENTRAL",
            central(),
            2024,
            MOVEMENT,
            next_decision("CCB"),
            date(2024, 12, 5),
            Some(FIXTURE_EVENT),
        );
    }
    let province_merit = [
        Who::Base(77),
        Who::Chapter(1_500),
        Who::Member(3_000),
        Who::Member(15_500),
        Who::Member(33_333),
        Who::Member(52_000),
    ];
    for who in province_merit {
        add(
            &mut rows,
            who,
            "CERTIFICATE_OF_MERIT",
            "PROVINCE",
            province(),
            2024,
            MOVEMENT,
            next_decision("CCBT"),
            date(2024, 12, 9),
            Some(FIXTURE_EVENT),
        );
    }

    // History 2019–2023 (and base-level commendations for 2024): central, provincial and base awards.
    for year in 2019..=2024 {
        let mut decision_no = 200;
        let mut number = |suffix: &str| {
            decision_no += 1;
            format!("{decision_no}/QĐ-{suffix}")
        };
        if year < 2024 {
            for _ in 0..3 {
                let who = Who::Base(rng.random_range(0..bases.len()));
                add(
                    &mut rows,
                    who,
                    "EMULATION_FLAG",
                    "CENTRAL",
                    central(),
                    year,
                    MOVEMENT,
                    number("CCB"),
                    date(year, 12, 10),
                    None,
                );
            }
            for _ in 0..6 {
                let who = if rng.random_bool(0.5) {
                    Who::Chapter(rng.random_range(0..chapters.len()))
                } else {
                    Who::Member(rng.random_range(0..members.len()))
                };
                add(
                    &mut rows,
                    who,
                    "CERTIFICATE_OF_MERIT",
                    "CENTRAL",
                    central(),
                    year,
                    MOVEMENT,
                    number("CCB"),
                    date(year, 12, 10),
                    None,
                );
            }
            for _ in 0..12 {
                let who = if rng.random_bool(0.3) {
                    Who::Base(rng.random_range(0..bases.len()))
                } else {
                    Who::Member(rng.random_range(0..members.len()))
                };
                let movement = *[MOVEMENT, OTHER_MOVEMENTS[0], OTHER_MOVEMENTS[2]]
                    .choose(rng)
                    .unwrap_or(&MOVEMENT);
                add(
                    &mut rows,
                    who,
                    "CERTIFICATE_OF_MERIT",
                    "PROVINCE",
                    province(),
                    year,
                    movement,
                    number("CCBT"),
                    date(year, 12, 15),
                    None,
                );
            }
        }
        // Giấy khen: each base commends a few of its own chapters and members.
        for commendation_no in 1..=120 {
            let m = rng.random_range(0..members.len());
            let base_index = (members[m].1 - 1) as usize;
            let movement = *[MOVEMENT, OTHER_MOVEMENTS[0], OTHER_MOVEMENTS[1]]
                .choose(rng)
                .unwrap_or(&MOVEMENT);
            let who = if rng.random_bool(0.8) {
                Who::Member(m)
            } else {
                Who::Chapter((members[m].2 - 1) as usize)
            };
            let n = commendation_no;
            add(
                &mut rows,
                who,
                "CERTIFICATE_OF_COMMENDATION",
                "BASE",
                base_body(base_index),
                year,
                movement,
                format!("{n}/QĐ-CCB-{}", bases[base_index].0.code),
                date(year, 12, 20),
                None,
            );
        }
    }
    rows.run(db).await?;
    Ok((next_id - 1) as usize)
}

/// The 34 provinces and centrally governed cities since 1 July 2025, after Quảng Ninh (the demo province):
/// (code, name). Codes are the prefixes of their bases' and chapters' codes.
const OTHER_PROVINCES: [(&str, &str); 33] = [
    ("HN", "Hà Nội"),
    ("HCM", "Hồ Chí Minh"),
    ("HP", "Hải Phòng"),
    ("DNG", "Đà Nẵng"),
    ("CT", "Cần Thơ"),
    ("HUE", "Huế"),
    ("LCH", "Lai Châu"),
    ("DB", "Điện Biên"),
    ("SL", "Sơn La"),
    ("LS", "Lạng Sơn"),
    ("TH", "Thanh Hóa"),
    ("NA", "Nghệ An"),
    ("HT", "Hà Tĩnh"),
    ("CB", "Cao Bằng"),
    ("TQ", "Tuyên Quang"),
    ("LCA", "Lào Cai"),
    ("TN", "Thái Nguyên"),
    ("PT", "Phú Thọ"),
    ("BN", "Bắc Ninh"),
    ("HY", "Hưng Yên"),
    ("NB", "Ninh Bình"),
    ("QT", "Quảng Trị"),
    ("QNG", "Quảng Ngãi"),
    ("GL", "Gia Lai"),
    ("KH", "Khánh Hòa"),
    ("LD", "Lâm Đồng"),
    ("DL", "Đắk Lắk"),
    ("DN", "Đồng Nai"),
    ("TNI", "Tây Ninh"),
    ("VL", "Vĩnh Long"),
    ("DT", "Đồng Tháp"),
    ("CM", "Cà Mau"),
    ("AG", "An Giang"),
];

/// How much of the country `seed-demo` fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// One province, Quảng Ninh: 263 bases, 1,802 chapters, 56,601 members.
    Province,
    /// All 34 provinces (about 1.9 million members): the load-test set.
    National,
}

/// Seeds the demo province, then, at national scale, 33 more provinces shaped like it.
pub async fn seed_scale(db: &DatabaseConnection, scale: Scale) -> Result<Summary, DbErr> {
    let province = seed(db).await?;
    match scale {
        Scale::Province => Ok(province),
        Scale::National => add_provinces(db, &province, OTHER_PROVINCES.len()).await,
    }
}

/// Adds `count` provinces (at most 33) shaped like the demo province, which `demo` describes and which must be
/// the only one so far, in one transaction.
pub async fn add_provinces(db: &DatabaseConnection, demo: &Summary, count: usize) -> Result<Summary, DbErr> {
    let txn = db.begin().await?;
    let created: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).single().unwrap_or_default();
    let span = Span {
        bases: demo.bases as i64,
        chapters: demo.chapters as i64,
        members: demo.members as i64,
        awards: max_id(&txn, "awards").await?,
    };
    for (i, (code, name)) in OTHER_PROVINCES.iter().take(count).enumerate() {
        replicate_province(&txn, &span, (i + 2) as i64, code, name, created).await?;
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        for table in ["provinces", "bases", "chapters", "members", "awards"] {
            txn.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .await?;
        }
    }
    txn.commit().await?;
    // Fresh statistics, so the planner knows the registry's new size.
    db.execute_unprepared("ANALYZE").await?;
    let copies = count.min(OTHER_PROVINCES.len()) + 1;
    Ok(Summary {
        provinces: copies,
        bases: demo.bases * copies,
        chapters: demo.chapters * copies,
        members: demo.members * copies,
        awards: span.awards as usize * copies,
    })
}

/// The id ranges of the demo province's rows (ids 1..=n in each table).
struct Span {
    bases: i64,
    chapters: i64,
    members: i64,
    awards: i64,
}

async fn max_id<C: ConnectionTrait>(db: &C, table: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Sql::new(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).build(db.get_database_backend()))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0))
}

/// `INSERT INTO table (c, …) SELECT expr, …`: every column of `E` copied from alias `m` unless `expr` gives
/// another expression for it (which may bind values into `sql`).
fn copy_columns<E: sea_orm::EntityTrait>(sql: &mut Sql, expr: impl Fn(&str, &mut Sql) -> bool) {
    use sea_orm::{IdenStatic, Iterable};
    let table = E::default();
    let columns: Vec<&str> = E::Column::iter().map(|c| c.as_str()).collect();
    sql.push(&format!(
        "INSERT INTO {} ({}) SELECT ",
        table.table_name(),
        columns.join(", ")
    ));
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        if !expr(column, sql) {
            sql.push(&format!("m.{column}"));
        }
    }
}

/// Writes province `id` as a copy of the demo province's tree, members and awards: every id moved past the
/// earlier copies, codes under the province's own prefix, place names rewritten, and each member given the
/// name (and sex) of another member of the demo province by a fixed permutation, so that every province has
/// the demo's name distribution but not its exact roster.
async fn replicate_province<C: ConnectionTrait>(
    db: &C,
    span: &Span,
    id: i64,
    code: &str,
    name: &str,
    created: DateTime<Utc>,
) -> Result<(), DbErr> {
    use entity::{award, base, chapter, member};
    let backend = db.get_database_backend();
    let copy = id - 1;
    let (base_off, chapter_off, member_off, award_off) = (
        copy * span.bases,
        copy * span.chapters,
        copy * span.members,
        copy * span.awards,
    );
    let folded_name = text::fold(name);

    let mut provinces = Inserter::new(
        "provinces",
        &["id", "code", "name", "name_search", "sort_key", "created_at"],
    );
    provinces.row(vec![
        id.into(),
        s(code),
        s(name),
        s(&folded_name),
        s(&text::sort_key(&[name])),
        created.into(),
    ]);
    provinces.run(db).await?;

    let unit = |off: i64| {
        move |column: &str, sql: &mut Sql| {
            match column {
                "id" => sql.push("m.id + ").bind(off),
                "province_id" => sql.bind(id),
                "base_id" => sql.push("m.base_id + ").bind(base_off),
                "code" => sql.bind(code.to_owned()).push(" || substr(m.code, 3)"),
                _ => return false,
            };
            true
        }
    };
    let mut bases = Sql::new("");
    copy_columns::<base::Entity>(&mut bases, unit(base_off));
    bases.push(" FROM bases m WHERE m.province_id = 1");
    db.execute_raw(bases.build(backend)).await?;
    let mut chapters = Sql::new("");
    copy_columns::<chapter::Entity>(&mut chapters, unit(chapter_off));
    chapters.push(" FROM chapters m WHERE m.province_id = 1");
    db.execute_raw(chapters.build(backend)).await?;

    // A multiplier coprime with the member count makes `(i * p + id) mod n` a permutation of the members.
    let n = span.members.max(1);
    let p = [7_919i64, 7_927, 7_933, 7_937, 7_949, 7_951]
        .into_iter()
        .find(|p| gcd(*p, n) == 1)
        .unwrap_or(1);
    let mut members = Sql::new("");
    copy_columns::<member::Entity>(&mut members, |column, sql| {
        match column {
            "id" => sql.push("m.id + ").bind(member_off),
            "province_id" => sql.bind(id),
            "base_id" => sql.push("m.base_id + ").bind(base_off),
            "chapter_id" => sql.push("m.chapter_id + ").bind(chapter_off),
            "family_name" | "middle_name" | "given_name" | "search_name" | "sort_key" | "sex" => {
                sql.push(&format!("n.{column}"))
            }
            "card_number" => sql
                .bind(code.to_owned())
                .push(" || '-' || CAST(m.id + ")
                .bind(member_off)
                .push(" AS TEXT)"),
            "address" => sql
                .push("replace(m.address, 'Quảng Ninh', ")
                .bind(name.to_owned())
                .push(")"),
            _ => return false,
        };
        true
    });
    members
        .push(" FROM members m JOIN members n ON n.id = ((m.id * ")
        .bind(p)
        .push(" + ")
        .bind(id)
        .push(") % ")
        .bind(n)
        .push(") + 1 WHERE m.province_id = 1");
    db.execute_raw(members.build(backend)).await?;

    let mut awards = Sql::new("");
    copy_columns::<award::Entity>(&mut awards, |column, sql| {
        match column {
            "id" => sql.push("m.id + ").bind(award_off),
            "province_id" => sql.bind(id),
            "base_id" => sql.push("m.base_id + ").bind(base_off),
            "chapter_id" => sql.push("m.chapter_id + ").bind(chapter_off),
            "member_id" => sql.push("m.member_id + ").bind(member_off),
            "recipient_id" => sql
                .push(&format!(
                    "CASE m.recipient_type WHEN {} THEN ",
                    literal(RecipientType::Province)
                ))
                .bind(id)
                .push(&format!(
                    " WHEN {} THEN m.recipient_id + ",
                    literal(RecipientType::Base)
                ))
                .bind(base_off)
                .push(&format!(
                    " WHEN {} THEN m.recipient_id + ",
                    literal(RecipientType::Chapter)
                ))
                .bind(chapter_off)
                .push(" ELSE m.recipient_id + ")
                .bind(member_off)
                .push(" END"),
            "recipient_name" => sql
                .push(&format!(
                    "CASE WHEN m.recipient_type = {} THEN (SELECT 'Ông/bà ' || CASE WHEN x.middle_name = '' \
                     THEN x.family_name || ' ' || x.given_name \
                     ELSE x.family_name || ' ' || x.middle_name || ' ' || x.given_name END \
                     FROM members x WHERE x.id = m.member_id + ",
                    literal(RecipientType::Member)
                ))
                .bind(member_off)
                .push(") ELSE replace(m.recipient_name, 'Quảng Ninh', ")
                .bind(name.to_owned())
                .push(") END"),
            "granting_body" | "event" | "citation" => sql
                .push(&format!("replace(m.{column}, 'Quảng Ninh', "))
                .bind(name.to_owned())
                .push(")"),
            "granting_body_key" => sql
                .push("replace(m.granting_body_key, 'quang ninh', ")
                .bind(folded_name.clone())
                .push(")"),
            "decision_number" => sql.push("m.decision_number || '/' || ").bind(code.to_owned()),
            _ => return false,
        };
        true
    });
    awards.push(" FROM awards m WHERE m.province_id = 1");
    db.execute_raw(awards.build(backend)).await?;
    Ok(())
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}
