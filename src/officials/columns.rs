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
}
