//! The roster template (danh sách hội viên): one definition of its columns, used by the member export, the
//! sample templates and the importer's header matching, so the three cannot drift apart.

use chrono::NaiveDate;
use entity::member::{MemberType, Sex, WarInvalid};

/// One column of the roster template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// STT: the row number, ignored on import.
    RowNumber,
    FullName,
    BirthDate,
    Sex,
    HomeTown,
    Address,
    Phone,
    EnlistmentDate,
    DischargeDate,
    MilitaryRank,
    LastUnit,
    MemberType,
    JoinedDate,
    PartyMember,
    WarInvalid,
    CardNumber,
    Chapter,
}

impl Column {
    /// Every column, in the template's order.
    pub const ALL: [Column; 17] = [
        Column::RowNumber,
        Column::FullName,
        Column::BirthDate,
        Column::Sex,
        Column::HomeTown,
        Column::Address,
        Column::Phone,
        Column::EnlistmentDate,
        Column::DischargeDate,
        Column::MilitaryRank,
        Column::LastUnit,
        Column::MemberType,
        Column::JoinedDate,
        Column::PartyMember,
        Column::WarInvalid,
        Column::CardNumber,
        Column::Chapter,
    ];

    /// The header as the template writes it.
    pub fn header(self) -> &'static str {
        match self {
            Self::RowNumber => "STT",
            Self::FullName => "Họ và tên",
            Self::BirthDate => "Ngày sinh",
            Self::Sex => "Giới tính",
            Self::HomeTown => "Quê quán",
            Self::Address => "Nơi ở hiện nay",
            Self::Phone => "Số điện thoại",
            Self::EnlistmentDate => "Ngày nhập ngũ",
            Self::DischargeDate => "Ngày xuất ngũ",
            Self::MilitaryRank => "Cấp bậc",
            Self::LastUnit => "Đơn vị khi xuất ngũ",
            Self::MemberType => "Đối tượng",
            Self::JoinedDate => "Ngày vào Hội",
            Self::PartyMember => "Đảng viên",
            Self::WarInvalid => "Thương binh/Bệnh binh",
            Self::CardNumber => "Số thẻ hội viên",
            Self::Chapter => "Chi hội",
        }
    }

    /// English headers accepted on import besides the Vietnamese one.
    pub fn english(self) -> &'static [&'static str] {
        match self {
            Self::RowNumber => &["no", "no.", "#", "row"],
            Self::FullName => &["full name", "name"],
            Self::BirthDate => &["birth date", "date of birth", "birth year"],
            Self::Sex => &["sex", "gender"],
            Self::HomeTown => &["home town", "hometown"],
            Self::Address => &["address", "current address", "residence"],
            Self::Phone => &["phone", "phone number"],
            Self::EnlistmentDate => &["enlistment date", "enlisted"],
            Self::DischargeDate => &["discharge date", "discharged"],
            Self::MilitaryRank => &["rank", "military rank"],
            Self::LastUnit => &["last unit"],
            Self::MemberType => &["member type", "type"],
            Self::JoinedDate => &["joined date", "joined"],
            Self::PartyMember => &["party member"],
            Self::WarInvalid => &["war invalid", "war invalid status"],
            Self::CardNumber => &["card number", "membership card number", "card"],
            Self::Chapter => &["chapter"],
        }
    }

    /// Recognises a header cell: case, diacritics, spacing and punctuation are ignored.
    pub fn from_header(raw: &str) -> Option<Self> {
        let folded = crate::text::fold(raw);
        if folded.is_empty() {
            return None;
        }
        Self::ALL.into_iter().find(|c| {
            crate::text::fold(c.header()) == folded || c.english().iter().any(|e| crate::text::fold(e) == folded)
        })
    }

    /// Whether the column holds personal data (blank in exports outside the personal-data scope).
    pub fn is_personal(self) -> bool {
        !matches!(
            self,
            Self::RowNumber | Self::FullName | Self::Sex | Self::MemberType | Self::Chapter
        )
    }

    /// Whether the column holds dates (written as dates in spreadsheets).
    pub fn is_date(self) -> bool {
        matches!(
            self,
            Self::BirthDate | Self::EnlistmentDate | Self::DischargeDate | Self::JoinedDate
        )
    }

    /// A column width in characters that fits typical content.
    pub fn width(self) -> f64 {
        match self {
            Self::RowNumber => 6.0,
            Self::FullName => 28.0,
            Self::Sex | Self::PartyMember | Self::MemberType => 10.0,
            Self::HomeTown | Self::Address | Self::LastUnit => 30.0,
            Self::WarInvalid => 14.0,
            Self::Chapter | Self::CardNumber | Self::MilitaryRank => 18.0,
            _ => 13.0,
        }
    }
}

/// `Nam` / `Nữ`.
pub fn sex_label(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "Nam",
        Sex::Female => "Nữ",
    }
}

/// `CCB` / `CQN`.
pub fn member_type_label(t: MemberType) -> &'static str {
    match t {
        MemberType::Veteran => "CCB",
        MemberType::ExServiceman => "CQN",
    }
}

/// `TB`, `BB` or empty.
pub fn war_invalid_label(w: WarInvalid) -> &'static str {
    match w {
        WarInvalid::None => "",
        WarInvalid::WarInvalid => "TB",
        WarInvalid::SickSoldier => "BB",
    }
}

/// `dd/mm/yyyy`, the template's date format.
pub fn date_text(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// One cell of an exported row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Cell {
    fn text(s: &str) -> Self {
        if s.is_empty() {
            Self::Empty
        } else {
            Self::Text(s.to_owned())
        }
    }

    fn opt(s: &Option<String>) -> Self {
        s.as_deref().map(Self::text).unwrap_or(Self::Empty)
    }

    fn date(d: Option<NaiveDate>) -> Self {
        d.map(Self::Date).unwrap_or(Self::Empty)
    }

    /// The cell as CSV text.
    pub fn to_csv(&self) -> String {
        match self {
            Self::Empty => String::new(),
            Self::Text(s) => s.clone(),
            Self::Number(n) => format!("{n}"),
            Self::Date(d) => date_text(*d),
        }
    }
}

/// A member's row in the template's column order. Outside the personal-data scope (`personal == false`) the
/// personal columns are empty.
pub fn member_row(row_number: usize, m: &entity::member::Model, chapter_code: &str, personal: bool) -> Vec<Cell> {
    Column::ALL
        .iter()
        .map(|c| {
            if c.is_personal() && !personal {
                return Cell::Empty;
            }
            match c {
                Column::RowNumber => Cell::Number(row_number as f64),
                Column::FullName => Cell::Text(crate::text::full_name(&m.family_name, &m.middle_name, &m.given_name)),
                Column::BirthDate => match (m.birth_date, m.birth_year) {
                    (Some(d), _) => Cell::Date(d),
                    (None, Some(y)) => Cell::Number(f64::from(y)),
                    (None, None) => Cell::Empty,
                },
                Column::Sex => Cell::text(sex_label(m.sex)),
                Column::HomeTown => Cell::opt(&m.home_town),
                Column::Address => Cell::opt(&m.address),
                Column::Phone => Cell::opt(&m.phone),
                Column::EnlistmentDate => Cell::date(m.enlisted_on),
                Column::DischargeDate => Cell::date(m.discharged_on),
                Column::MilitaryRank => Cell::opt(&m.military_rank),
                Column::LastUnit => Cell::opt(&m.last_unit),
                Column::MemberType => Cell::text(member_type_label(m.member_type)),
                Column::JoinedDate => Cell::date(m.joined_on),
                Column::PartyMember => Cell::text(if m.party_member { "x" } else { "" }),
                Column::WarInvalid => Cell::text(war_invalid_label(m.war_invalid)),
                Column::CardNumber => Cell::opt(&m.card_number),
                Column::Chapter => Cell::text(chapter_code),
            }
        })
        .collect()
}

/// What each column takes, for the template's guide sheet and the documentation.
pub fn guide(c: Column) -> &'static str {
    match c {
        Column::RowNumber => "Số thứ tự; không bắt buộc, bị bỏ qua khi nhập.",
        Column::FullName => "Bắt buộc. Họ, tên đệm và tên, ví dụ: Nguyễn Văn An.",
        Column::BirthDate => "dd/mm/yyyy, hoặc chỉ năm sinh (ví dụ 1952).",
        Column::Sex => "Bắt buộc. Nam hoặc Nữ.",
        Column::HomeTown => "Quê quán.",
        Column::Address => "Nơi ở hiện nay.",
        Column::Phone => "Số điện thoại, 8 đến 15 chữ số.",
        Column::EnlistmentDate => "dd/mm/yyyy.",
        Column::DischargeDate => "dd/mm/yyyy; không trước ngày nhập ngũ.",
        Column::MilitaryRank => "Cấp bậc khi xuất ngũ, ví dụ: Thượng úy.",
        Column::LastUnit => "Đơn vị khi xuất ngũ.",
        Column::MemberType => "Bắt buộc. CCB (cựu chiến binh) hoặc CQN (cựu quân nhân).",
        Column::JoinedDate => "Ngày vào Hội, dd/mm/yyyy.",
        Column::PartyMember => "x nếu là đảng viên, để trống nếu không.",
        Column::WarInvalid => "TB (thương binh), BB (bệnh binh) hoặc để trống.",
        Column::CardNumber => {
            "Bắt buộc. Số thẻ hội viên: nhập lại cùng số thẻ sẽ cập nhật hội viên đó, không tạo bản sao."
        }
        Column::Chapter => "Bắt buộc. Mã chi hội hoặc tên chi hội trong phạm vi của người nhập.",
    }
}

/// The empty roster template as an xlsx workbook: the header row (frozen, with widths and date formats on the
/// date columns) and a guide sheet that says what each column takes.
pub fn template_xlsx() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    // A fixed creation time keeps the generated file byte-for-byte stable.
    let created = ExcelDateTime::from_ymd(2026, 1, 1)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(FormatBorder::Thin);
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = wb.add_worksheet();
    ws.set_name("Danh sách hội viên")?;
    for (i, c) in Column::ALL.iter().enumerate() {
        let col = i as u16;
        if c.is_date() {
            ws.set_column_format(col, &date)?;
        }
        ws.set_column_width(col, c.width())?;
        ws.write_string_with_format(0, col, c.header(), &head)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let guide_sheet = wb.add_worksheet();
    guide_sheet.set_name("Hướng dẫn")?;
    guide_sheet.set_column_width(0, 24)?;
    guide_sheet.set_column_width(1, 90)?;
    guide_sheet.write_string_with_format(0, 0, "Cột", &head)?;
    guide_sheet.write_string_with_format(0, 1, "Cách ghi", &head)?;
    for (i, c) in Column::ALL.iter().enumerate() {
        guide_sheet.write_string(i as u32 + 1, 0, c.header())?;
        guide_sheet.write_string(i as u32 + 1, 1, guide(*c))?;
    }
    wb.save_to_buffer()
}

/// The empty roster template as CSV: UTF-8 with a BOM, the header row only.
pub fn template_csv() -> String {
    let headers: Vec<&str> = Column::ALL.iter().map(|c| c.header()).collect();
    format!("\u{FEFF}{}\r\n", headers.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised_whatever_their_case_diacritics_and_spacing() {
        assert_eq!(Column::from_header("  HỌ VÀ  TÊN "), Some(Column::FullName));
        assert_eq!(Column::from_header("Ho va ten"), Some(Column::FullName));
        assert_eq!(Column::from_header("So the hoi vien"), Some(Column::CardNumber));
        assert_eq!(Column::from_header("Thương binh / Bệnh binh"), Some(Column::WarInvalid));
        assert_eq!(Column::from_header("Card number"), Some(Column::CardNumber));
        assert_eq!(Column::from_header("Ghi chú"), None);
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.header()), Some(c), "{c:?}");
        }
    }

    /// The sample templates under `templates/` are generated from these definitions: run with
    /// `UPDATE_TEMPLATES=1` to rewrite them; otherwise this checks that the files in the repository still
    /// carry exactly the template's headers.
    #[test]
    fn the_sample_templates_carry_the_columns_the_importer_reads() {
        use calamine::{Reader, Xlsx};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let xlsx_path = dir.join("roster-template.xlsx");
        let csv_path = dir.join("roster-template.csv");
        if std::env::var_os("UPDATE_TEMPLATES").is_some() {
            std::fs::create_dir_all(&dir).expect("templates directory");
            std::fs::write(&xlsx_path, template_xlsx().expect("template")).expect("write xlsx");
            std::fs::write(&csv_path, template_csv()).expect("write csv");
        }
        let expected: Vec<String> = Column::ALL.iter().map(|c| c.header().to_owned()).collect();
        let bytes = std::fs::read(&xlsx_path).expect("templates/roster-template.xlsx exists");
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
        let range = wb.worksheet_range_at(0).expect("a sheet").expect("readable");
        let header: Vec<String> = range
            .rows()
            .next()
            .expect("header row")
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            header, expected,
            "regenerate with UPDATE_TEMPLATES=1 cargo test --lib sample_templates"
        );
        let csv = std::fs::read_to_string(&csv_path).expect("templates/roster-template.csv exists");
        assert_eq!(
            csv,
            template_csv(),
            "regenerate with UPDATE_TEMPLATES=1 cargo test --lib sample_templates"
        );
    }
}
