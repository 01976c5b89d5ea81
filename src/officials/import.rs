//! Roster import (`importMembers`): reads a sheet in the roster template (xlsx with calamine, csv with the csv
//! crate), tolerant of real sheets (title rows above the header, merged title cells, serial dates, numbers
//! stored as text, NFD names, stray spaces) and strict about meaning: every problem is reported with its sheet
//! row, its column header and a message an official understands. A plan says, row by row, what would be
//! created, updated or left unchanged (the card number is the key); a real run applies the plan in one
//! transaction with an audit event per member, and only when the whole file is free of errors.

use std::collections::HashMap;

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{Datelike, NaiveDate, Utc};
use entity::member::{MemberStatus, MemberType, Sex, WarInvalid};
use entity::{chapter, member};
use sea_orm::{DatabaseConnection, SqliteTransactionMode, TransactionOptions, TransactionTrait};

use super::columns::Column;
use crate::audit::{self, Event};
use crate::auth::policy::{Capability, Position, Subtree, authorize};
use crate::auth::{Principal, Viewer};
use crate::error::{AppError, AppResult};
use crate::ids::NodeKind;
use crate::input;
use crate::store::officials as store;
use crate::store::write::{self, MemberData};
use crate::text;

/// The largest file accepted (a 10,000-row roster in xlsx is about 1 MB).
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// The most data rows one import takes.
pub const MAX_ROWS: usize = 10_000;
/// The most bytes one part of an xlsx (a sheet, the shared strings) may unpack to, counted while inflating:
/// a 10,000-row roster's sheet is about 10 MB.
pub const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// The most bytes all parts of an xlsx together may unpack to, counted while inflating.
pub const MAX_UNPACKED_BYTES: u64 = 128 * 1024 * 1024;
/// The most parts an xlsx may hold (a workbook from Excel has a dozen or two).
pub const MAX_PARTS: usize = 1000;
/// The most columns a row may use: the template has 17; empty cells further right are ignored.
pub const MAX_COLUMNS: usize = 64;
/// How far down the header row is looked for (title rows above it are skipped).
const HEADER_SEARCH_ROWS: usize = 30;
/// The most errors reported; the first ones are what an official fixes first.
pub const MAX_ERRORS: usize = 500;

/// A problem with one cell or row; `row` is the sheet's row number (1-based), 0 for the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: Option<String>,
    pub message: String,
}

/// A cell as read, before it is given meaning.
#[derive(Clone, Debug, PartialEq)]
pub enum Raw {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Formula,
    Error(String),
}

impl Raw {
    fn is_empty(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text: numbers stored as numbers come back without a trailing `.0`.
    fn text(&self) -> String {
        match self {
            Self::Empty | Self::Formula | Self::Error(_) => String::new(),
            Self::Text(s) => text::clean(s),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Self::Number(n) => n.to_string(),
            Self::Date(d) => super::columns::date_text(*d),
        }
    }
}

/// A sheet as rows of cells, with each row's number in the sheet.
pub struct Table {
    pub rows: Vec<(usize, Vec<Raw>)>,
}

fn file_error(message: impl Into<String>) -> AppError {
    AppError::bad_input("file", message)
}

/// Reads an uploaded file: xlsx (by its zip signature) or csv (UTF-8, BOM optional, comma or semicolon).
pub fn read_table(bytes: &[u8]) -> AppResult<Table> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_error(format!(
            "the file is larger than {} MB; split the roster by chapter",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if bytes.is_empty() {
        return Err(file_error("the file is empty"));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Err(file_error(
            "this is an old Excel (.xls) file; save it as .xlsx (Excel Workbook) and import again",
        ))
    } else {
        read_csv(bytes)
    }
}

const MB: u64 = 1024 * 1024;

fn unpack_limits() -> String {
    format!(
        "an .xlsx may unpack to at most {} MB per part and {} MB in all",
        MAX_PART_BYTES / MB,
        MAX_UNPACKED_BYTES / MB
    )
}

/// Inflates every part of the archive once, counting the bytes that actually come out (not the sizes the
/// archive declares, which a crafted file can fake), and refuses the file as soon as one part passes
/// [`MAX_PART_BYTES`] or all of them [`MAX_UNPACKED_BYTES`]. Nothing is kept: the bytes go to a small buffer
/// and are dropped, so a bomb costs at most the limits' worth of inflating, never the memory.
fn check_unpacked_size(bytes: &[u8]) -> AppResult<()> {
    use std::io::Read;
    let not_xlsx = || file_error("not a readable .xlsx file");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    if archive.len() > MAX_PARTS {
        return Err(file_error(format!(
            "the .xlsx file holds {} parts, more than the {MAX_PARTS} any workbook has; it was not read",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(|_| not_xlsx())?;
        let name = part
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("number {}", i + 1));
        let declared = part.size();
        let mut inflated: u64 = 0;
        loop {
            let n = match part.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // The zip reader stops a part at its declared size; the text says so.
                Err(e) if e.to_string().contains("declared") => return Err(lying_part(&name, declared)),
                Err(_) => return Err(not_xlsx()),
            };
            inflated += n;
            total += n;
            if inflated > MAX_PART_BYTES {
                return Err(file_error(format!(
                    "the .xlsx part \"{name}\" unpacks to more than {} MB, the limit per part (a compressed bomb, \
                     not a roster); it was not read",
                    MAX_PART_BYTES / MB
                )));
            }
            if total > MAX_UNPACKED_BYTES {
                return Err(file_error(format!(
                    "the .xlsx file unpacks to more than {} MB in all, the limit (a compressed bomb, not a roster); \
                     it was not read",
                    MAX_UNPACKED_BYTES / MB
                )));
            }
        }
        if inflated != declared {
            return Err(lying_part(&name, declared));
        }
    }
    Ok(())
}

fn lying_part(name: &str, declared: u64) -> AppError {
    file_error(format!(
        "the .xlsx part \"{name}\" does not unpack to the {declared} bytes its header declares (a crafted or \
         damaged archive); it was not read ({})",
        unpack_limits()
    ))
}

/// The cell of a column far right of the roster's columns.
fn beyond_columns(row: usize, column: usize) -> AppError {
    file_error(format!(
        "row {row} has a value in column {}, beyond the {MAX_COLUMNS} columns a roster may use; delete what is \
         right of the roster",
        column + 1
    ))
}

/// Collects the rows of a sheet read cell by cell, keeping only rows with a value: empty rows, however many,
/// cost nothing but reading them, and the rows kept are capped as they come.
#[derive(Default)]
struct Rows {
    rows: Vec<(usize, Vec<Raw>)>,
}

impl Rows {
    /// Keeps a row (its 1-based sheet number and cells) unless it is empty.
    fn push(&mut self, row: usize, cells: Vec<Raw>) -> AppResult<()> {
        if cells.iter().all(Raw::is_empty) {
            return Ok(());
        }
        if self.rows.len() >= MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(too_many_rows());
        }
        self.rows.push((row, cells));
        Ok(())
    }
}

fn raw_of(cell: calamine::DataRef<'_>) -> Raw {
    match Data::from(cell) {
        Data::Empty => Raw::Empty,
        Data::String(s) => Raw::Text(s),
        Data::Int(n) => Raw::Number(n as f64),
        Data::Float(f) => Raw::Number(f),
        Data::Bool(b) => Raw::Text(if b { "x".into() } else { String::new() }),
        cell @ (Data::DateTime(_) | Data::DateTimeIso(_)) => {
            cell.as_date().map(Raw::Date).unwrap_or(Raw::Error("not a date".into()))
        }
        Data::DurationIso(s) => Raw::Text(s),
        Data::Error(e) => Raw::Error(format!("{e:?}")),
    }
}

/// Reads the first sheet cell by cell, in one pass over its XML (the sheet is never loaded as a grid, so
/// a sheet claiming a million rows or columns costs only the cells it really has).
fn read_xlsx(bytes: &[u8]) -> AppResult<Table> {
    check_unpacked_size(bytes)?;
    let not_xlsx = || file_error("not a readable .xlsx file");
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    let name = workbook.sheet_names().first().cloned().ok_or_else(not_xlsx)?;
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(|_| not_xlsx())?;
    let mut rows = Rows::default();
    let mut current: Option<(u32, Vec<Raw>)> = None;
    while let Some(record) = reader.next_cell_with_formula_metadata().map_err(|_| not_xlsx())? {
        let (row, column) = record.pos;
        let is_formula = match &record.formula {
            None => false,
            Some(calamine::XlsxFormulaMetadata::Normal { formula }) => !formula.is_empty(),
            Some(_) => true,
        };
        let raw = if is_formula { Raw::Formula } else { raw_of(record.value) };
        if current.as_ref().is_some_and(|(r, _)| *r != row)
            && let Some((r, cells)) = current.take()
        {
            rows.push(r as usize + 1, cells)?;
        }
        if raw.is_empty() {
            continue;
        }
        let column = column as usize;
        if column >= MAX_COLUMNS {
            return Err(beyond_columns(row as usize + 1, column));
        }
        let (_, cells) = current.get_or_insert_with(|| (row, Vec::new()));
        if cells.len() <= column {
            cells.resize(column + 1, Raw::Empty);
        }
        cells[column] = raw;
    }
    if let Some((r, cells)) = current {
        rows.push(r as usize + 1, cells)?;
    }
    Ok(Table { rows: rows.rows })
}

fn too_many_rows() -> AppError {
    file_error(format!(
        "more than {MAX_ROWS} rows; import the roster in parts (one file per base)"
    ))
}

fn read_csv(bytes: &[u8]) -> AppResult<Table> {
    let body = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    let content = std::str::from_utf8(body).map_err(|_| {
        file_error("neither an .xlsx file nor UTF-8 text (.csv); save the sheet as .xlsx or as CSV UTF-8")
    })?;
    if content.contains('\0') {
        return Err(file_error("not a spreadsheet: binary content"));
    }
    let first_line = content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(content.as_bytes());
    let mut rows = Rows::default();
    let mut record = csv::StringRecord::new();
    let mut line = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(file_error(format!("not a readable CSV file: {e}"))),
        }
        line += 1;
        if record.iter().all(|s| s.trim().is_empty()) {
            continue;
        }
        let row = record.position().map(|p| p.line() as usize).unwrap_or(line);
        if let Some(far) = record.iter().skip(MAX_COLUMNS).position(|s| !s.trim().is_empty()) {
            return Err(beyond_columns(row, MAX_COLUMNS + far));
        }
        let cells: Vec<Raw> = record
            .iter()
            .take(MAX_COLUMNS)
            .map(|s| Raw::Text(s.to_owned()))
            .collect();
        rows.push(row, cells)?;
    }
    Ok(Table { rows: rows.rows })
}

/// One parsed row of the roster.
#[derive(Clone, Debug)]
pub struct RosterRow {
    pub row: usize,
    pub full_name: String,
    pub data: MemberData,
    pub chapter: String,
}

/// Where each column sits in the sheet.
struct Header {
    row: usize,
    index: usize,
    columns: HashMap<Column, usize>,
}

const REQUIRED: [Column; 5] = [
    Column::FullName,
    Column::Sex,
    Column::MemberType,
    Column::CardNumber,
    Column::Chapter,
];

fn find_header(table: &Table) -> Result<Header, RowError> {
    for (index, (row, cells)) in table.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let mut columns = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if let Raw::Text(s) = cell
                && let Some(c) = Column::from_header(s)
            {
                columns.entry(c).or_insert(i);
            }
        }
        if columns.contains_key(&Column::FullName) && columns.len() >= 3 {
            if let Some(missing) = REQUIRED.iter().find(|c| !columns.contains_key(c)) {
                return Err(RowError {
                    row: *row,
                    column: Some(missing.header().to_owned()),
                    message: format!("the header row has no column \"{}\"", missing.header()),
                });
            }
            return Ok(Header {
                row: *row,
                index,
                columns,
            });
        }
    }
    Err(RowError {
        row: 0,
        column: None,
        message: format!(
            "no header row found in the first {HEADER_SEARCH_ROWS} rows: the roster template needs at least the columns {}",
            REQUIRED.map(|c| format!("\"{}\"", c.header())).join(", ")
        ),
    })
}

/// Parses a date cell: a date, a spreadsheet serial, or text as `dd/mm/yyyy` (also `d/m/yyyy`, `dd-mm-yyyy`,
/// `dd.mm.yyyy`, `yyyy-mm-dd`). With `year_ok`, a bare year is accepted (returned as `Err(year)`).
fn parse_date(raw: &Raw, year_ok: bool) -> Result<Option<Result<NaiveDate, i32>>, String> {
    let this_year = Utc::now().year();
    let year_of =
        |n: i64| -> Option<i32> { (year_ok && (1900..=i64::from(this_year)).contains(&n)).then_some(n as i32) };
    match raw {
        Raw::Empty => Ok(None),
        Raw::Date(d) => Ok(Some(Ok(*d))),
        Raw::Formula => Err("a formula; type the value instead".into()),
        Raw::Error(e) => Err(format!("a spreadsheet error ({e})")),
        Raw::Number(n) => {
            if n.fract() == 0.0
                && let Some(y) = year_of(*n as i64)
            {
                return Ok(Some(Err(y)));
            }
            // A spreadsheet serial date (days since 1899-12-30).
            let base = NaiveDate::from_ymd_opt(1899, 12, 30);
            match base.and_then(|b| b.checked_add_days(chrono::Days::new(n.trunc().max(0.0) as u64))) {
                Some(d) if *n >= 1.0 && *n < 100_000.0 => Ok(Some(Ok(d))),
                _ => Err("not a date: write it as dd/mm/yyyy".into()),
            }
        }
        Raw::Text(s) => {
            let s = text::clean(s);
            if s.is_empty() {
                return Ok(None);
            }
            if let Ok(n) = s.parse::<i64>() {
                if let Some(y) = year_of(n) {
                    return Ok(Some(Err(y)));
                }
                return parse_date(&Raw::Number(n as f64), year_ok);
            }
            for format in ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"] {
                if let Ok(d) = NaiveDate::parse_from_str(&s, format) {
                    return Ok(Some(Ok(d)));
                }
            }
            Err(if year_ok {
                format!("\"{s}\" is not a date: write dd/mm/yyyy, or just the year")
            } else {
                format!("\"{s}\" is not a date: write dd/mm/yyyy")
            })
        }
    }
}

/// Parses the data rows under the header into roster rows and errors.
pub fn parse(table: &Table) -> (Vec<RosterRow>, Vec<RowError>) {
    let header = match find_header(table) {
        Ok(h) => h,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let _ = header.row;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (row, cells) in table.rows.iter().skip(header.index + 1) {
        match parse_row(*row, cells, &header) {
            Ok(r) => rows.push(r),
            Err(mut e) => errors.append(&mut e),
        }
        if errors.len() >= MAX_ERRORS {
            break;
        }
    }
    if rows.len() + errors.len() > MAX_ROWS {
        errors.insert(
            0,
            RowError {
                row: 0,
                column: None,
                message: too_many_rows().message(),
            },
        );
    }
    (rows, errors)
}

fn parse_row(row: usize, cells: &[Raw], header: &Header) -> Result<RosterRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let cell = |c: Column| -> &Raw {
        header
            .columns
            .get(&c)
            .and_then(|i| cells.get(*i))
            .unwrap_or(&Raw::Empty)
    };
    let mut err = |c: Column, message: String| {
        errors.push(RowError {
            row,
            column: Some(c.header().to_owned()),
            message,
        })
    };
    // Formulas and spreadsheet errors anywhere in the row are refused: the value must be what is seen.
    for (&c, &i) in &header.columns {
        match cells.get(i) {
            Some(Raw::Formula) if c != Column::RowNumber => err(c, "a formula; type the value instead".into()),
            Some(Raw::Error(e)) => err(c, format!("a spreadsheet error ({e})")),
            _ => {}
        }
    }
    let text_of = |c: Column| cell(c).text();

    let full_name = text_of(Column::FullName);
    let words: Vec<&str> = full_name.split(' ').filter(|w| !w.is_empty()).collect();
    let (family, middle, given) = match words.as_slice() {
        [] => {
            err(Column::FullName, "required".into());
            (String::new(), String::new(), String::new())
        }
        [_] => {
            err(
                Column::FullName,
                "write the full name: family name, middle name and given name".into(),
            );
            (String::new(), String::new(), String::new())
        }
        [f, rest @ .., g] => ((*f).to_owned(), rest.join(" "), (*g).to_owned()),
    };
    let mut name_part = |raw: &str, required: bool| match input::name_part(Column::FullName.header(), raw, required) {
        Ok(v) => v,
        Err(e) => {
            err(Column::FullName, strip_field(&e));
            String::new()
        }
    };
    let family = name_part(&family, !words.is_empty());
    let middle = name_part(&middle, false);
    let given = name_part(&given, !words.is_empty());

    let sex = match text::fold(&text_of(Column::Sex)).as_str() {
        "nam" | "male" | "m" => Some(Sex::Male),
        "nu" | "female" | "f" => Some(Sex::Female),
        "" => {
            err(Column::Sex, "required: Nam or Nữ".into());
            None
        }
        other => {
            err(Column::Sex, format!("\"{other}\" is not Nam or Nữ"));
            None
        }
    };
    let member_type = match text::fold(&text_of(Column::MemberType)).as_str() {
        "ccb" | "cuu chien binh" | "veteran" => Some(MemberType::Veteran),
        "cqn" | "cuu quan nhan" | "ex serviceman" => Some(MemberType::ExServiceman),
        "" => {
            err(Column::MemberType, "required: CCB or CQN".into());
            None
        }
        other => {
            err(Column::MemberType, format!("\"{other}\" is not CCB or CQN"));
            None
        }
    };
    let party_member = match text::fold(&text_of(Column::PartyMember)).as_str() {
        "" | "0" | "khong" | "no" => false,
        "x" | "1" | "co" | "yes" | "dang vien" => true,
        other => {
            err(
                Column::PartyMember,
                format!("\"{other}\": write x for a party member, or leave it empty"),
            );
            false
        }
    };
    let war_invalid = match text::fold(&text_of(Column::WarInvalid)).as_str() {
        "" => WarInvalid::None,
        "tb" | "thuong binh" => WarInvalid::WarInvalid,
        "bb" | "benh binh" => WarInvalid::SickSoldier,
        other => {
            err(
                Column::WarInvalid,
                format!("\"{other}\": write TB, BB or leave it empty"),
            );
            WarInvalid::None
        }
    };
    let mut date = |c: Column, year_ok: bool| match parse_date(cell(c), year_ok) {
        Ok(v) => v,
        Err(m) => {
            err(c, m);
            None
        }
    };
    let (birth_date, birth_year) = match date(Column::BirthDate, true) {
        Some(Ok(d)) => (Some(d), Some(d.year())),
        Some(Err(y)) => (None, Some(y)),
        None => (None, None),
    };
    let mut plain_date = |c: Column| date(c, false).and_then(Result::ok);
    let enlisted_on = plain_date(Column::EnlistmentDate);
    let discharged_on = plain_date(Column::DischargeDate);
    let joined_on = plain_date(Column::JoinedDate);
    let mut check = |c: Column, r: AppResult<Option<String>>| match r {
        Ok(v) => v,
        Err(e) => {
            err(c, strip_field(&e));
            None
        }
    };
    let header_of = |c: Column| c.header();
    let home_town = check(
        Column::HomeTown,
        input::opt_text(header_of(Column::HomeTown), Some(&text_of(Column::HomeTown)), 200),
    );
    let address = check(
        Column::Address,
        input::opt_text(header_of(Column::Address), Some(&text_of(Column::Address)), 200),
    );
    let mut phone_text = text_of(Column::Phone);
    // A phone stored as a number has lost its leading zero.
    if matches!(cell(Column::Phone), Raw::Number(_)) && phone_text.len() == 9 {
        phone_text.insert(0, '0');
    }
    let phone = check(Column::Phone, input::phone(header_of(Column::Phone), Some(&phone_text)));
    let military_rank = check(
        Column::MilitaryRank,
        input::opt_text(
            header_of(Column::MilitaryRank),
            Some(&text_of(Column::MilitaryRank)),
            50,
        ),
    );
    let last_unit = check(
        Column::LastUnit,
        input::opt_text(header_of(Column::LastUnit), Some(&text_of(Column::LastUnit)), 200),
    );
    let card_text = text_of(Column::CardNumber);
    let card_number = if card_text.is_empty() {
        err(
            Column::CardNumber,
            "required: the card number is what makes a later import update this member instead of adding a copy".into(),
        );
        None
    } else {
        check(
            Column::CardNumber,
            input::code(header_of(Column::CardNumber), &card_text, 30).map(Some),
        )
    };
    let chapter = text_of(Column::Chapter);
    if chapter.is_empty() {
        err(Column::Chapter, "required: the chapter's code or name".into());
    }
    // The same checks as admitMember, reported against the sheet's columns.
    let today = Utc::now().date_naive();
    for (c, d) in [
        (Column::BirthDate, birth_date),
        (Column::EnlistmentDate, enlisted_on),
        (Column::DischargeDate, discharged_on),
        (Column::JoinedDate, joined_on),
    ] {
        if let Some(d) = d {
            if d > today {
                err(c, "must not be in the future".into());
            } else if d.year() < 1900 {
                err(c, "must not be before 1900".into());
            }
        }
    }
    if let (Some(e), Some(d)) = (enlisted_on, discharged_on)
        && d < e
    {
        err(Column::DischargeDate, "is before the enlistment date".into());
    }
    if let (Some(b), Some(e)) = (birth_year, enlisted_on)
        && e.year() < b + 14
    {
        err(Column::EnlistmentDate, "is too soon after the birth year".into());
    }
    match (sex, member_type) {
        (Some(sex), Some(member_type)) if errors.is_empty() => Ok(RosterRow {
            row,
            full_name: text::full_name(&family, &middle, &given),
            chapter,
            data: MemberData {
                family_name: family,
                middle_name: middle,
                given_name: given,
                sex,
                birth_date,
                birth_year,
                home_town,
                address,
                phone,
                enlisted_on,
                discharged_on,
                military_rank,
                last_unit,
                member_type,
                joined_on,
                party_member,
                war_invalid,
                card_number,
            },
        }),
        _ => Err(errors),
    }
}

/// The message of an input error without its field prefix (the column is reported separately).
fn strip_field(e: &AppError) -> String {
    match e {
        AppError::BadUserInput { message, .. } => message.clone(),
        other => other.message(),
    }
}

/// What the import does with one row.
#[derive(Clone, Debug)]
pub enum Action {
    Create {
        chapter: chapter::Model,
        data: MemberData,
    },
    Update {
        current: Box<member::Model>,
        data: MemberData,
    },
    Unchanged {
        member_id: i64,
    },
}

/// The plan of an import: one action per valid row, and every error.
pub struct Plan {
    pub actions: Vec<(usize, Action)>,
    pub errors: Vec<RowError>,
}

impl Plan {
    pub fn count(&self, f: fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|(_, a)| f(a)).count()
    }
}

fn same(a: &MemberData, b: &MemberData) -> bool {
    a.family_name == b.family_name
        && a.middle_name == b.middle_name
        && a.given_name == b.given_name
        && a.sex == b.sex
        && a.birth_date == b.birth_date
        && a.birth_year == b.birth_year
        && a.home_town == b.home_town
        && a.address == b.address
        && a.phone == b.phone
        && a.enlisted_on == b.enlisted_on
        && a.discharged_on == b.discharged_on
        && a.military_rank == b.military_rank
        && a.last_unit == b.last_unit
        && a.member_type == b.member_type
        && a.joined_on == b.joined_on
        && a.party_member == b.party_member
        && a.war_invalid == b.war_invalid
        && a.card_number == b.card_number
}

/// The subtree a principal's role is bound to.
fn write_subtree(scope: crate::auth::ScopeNode) -> Subtree {
    use crate::auth::ScopeNode as N;
    match scope {
        N::Everything => Subtree::All,
        N::Province(id) => Subtree::Province(id),
        N::Base(id) => Subtree::Base(id),
        N::Chapter(id) => Subtree::Chapter(id),
        N::Member(id) => Subtree::Member(id),
    }
}

/// Plans an import for `viewer`: resolves chapters inside the viewer's scope, matches card numbers against the
/// registry and decides create, update or unchanged for every valid row.
pub async fn plan(
    db: &DatabaseConnection,
    viewer: &Viewer,
    rows: Vec<RosterRow>,
    mut errors: Vec<RowError>,
) -> AppResult<Plan> {
    let principal = crate::auth::policy::require_account(viewer)?;
    // The open chapters the principal may write members into.
    let chapters = store::open_chapters(db, write_subtree(principal.scope)).await?;
    let by_code: HashMap<String, &chapter::Model> = chapters.iter().map(|c| (c.code.to_lowercase(), c)).collect();
    let mut by_name: HashMap<String, Vec<&chapter::Model>> = HashMap::new();
    for c in &chapters {
        by_name.entry(text::fold(&c.name)).or_default().push(c);
    }
    // Existing members by card number, in batches.
    let cards: Vec<String> = rows.iter().filter_map(|r| r.data.card_number.clone()).collect();
    let mut existing: HashMap<String, member::Model> = HashMap::new();
    for chunk in cards.chunks(500) {
        let found = store::members_by_card(db, chunk).await?;
        for m in found {
            if let Some(card) = m.card_number.clone() {
                existing.insert(card, m);
            }
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut actions = Vec::new();
    let chapter_col = Some(Column::Chapter.header().to_owned());
    let card_col = Some(Column::CardNumber.header().to_owned());
    for r in rows {
        let mut fail = |column: &Option<String>, message: String| {
            errors.push(RowError {
                row: r.row,
                column: column.clone(),
                message,
            })
        };
        let chapter = match by_code.get(&r.chapter.to_lowercase()) {
            Some(c) => Some(*c),
            None => match by_name.get(&text::fold(&r.chapter)).map(Vec::as_slice) {
                Some([c]) => Some(*c),
                Some([_, _, ..]) => {
                    fail(
                        &chapter_col,
                        format!("several chapters are named \"{}\"; use the chapter's code", r.chapter),
                    );
                    None
                }
                _ => {
                    fail(
                        &chapter_col,
                        format!("no open chapter \"{}\" in your scope (by code or name)", r.chapter),
                    );
                    None
                }
            },
        };
        let Some(chapter) = chapter else { continue };
        if let Err(e) = authorize(viewer, Capability::ManageMembers, &Position::chapter(chapter)) {
            fail(&chapter_col, e.message());
            continue;
        }
        let card = r.data.card_number.clone().unwrap_or_default();
        if let Some(first) = seen.insert(card.clone(), r.row) {
            fail(&card_col, format!("the same card number is on row {first}"));
            continue;
        }
        match existing.get(&card) {
            None => actions.push((
                r.row,
                Action::Create {
                    chapter: chapter.clone(),
                    data: r.data,
                },
            )),
            Some(current) => {
                let visible = write_subtree(principal.scope).contains_member(
                    current.province_id,
                    current.base_id,
                    current.chapter_id,
                    current.id,
                );
                if !visible {
                    fail(
                        &card_col,
                        "this card number is already issued to a member outside your scope".into(),
                    );
                    continue;
                }
                if current.status != MemberStatus::Active {
                    fail(
                        &card_col,
                        "this card belongs to a member who is no longer active".into(),
                    );
                    continue;
                }
                if current.chapter_id != chapter.id {
                    fail(
                        &chapter_col,
                        "the member with this card is in another chapter; move or transfer them first".into(),
                    );
                    continue;
                }
                let now = MemberData::of(current);
                let mut data = r.data;
                // A name that reads the same keeps its stored split (compound family names survive a round trip).
                if text::full_name(&now.family_name, &now.middle_name, &now.given_name) == r.full_name {
                    data.family_name = now.family_name.clone();
                    data.middle_name = now.middle_name.clone();
                    data.given_name = now.given_name.clone();
                }
                // A year-only cell over a full stored date of that year is the same birth date.
                if data.birth_date.is_none() && data.birth_year.is_some() && data.birth_year == now.birth_year {
                    data.birth_date = now.birth_date;
                }
                if same(&now, &data) {
                    actions.push((r.row, Action::Unchanged { member_id: current.id }));
                } else {
                    actions.push((
                        r.row,
                        Action::Update {
                            current: Box::new(current.clone()),
                            data,
                        },
                    ));
                }
            }
        }
    }
    errors.sort_by_key(|e| e.row);
    errors.truncate(MAX_ERRORS);
    Ok(Plan { actions, errors })
}

/// Applies a plan with no errors in one transaction: each created or updated member gets the same audit event
/// as `admitMember` / `updateMember`. Any failure rolls everything back.
pub async fn apply(db: &DatabaseConnection, actor: &Principal, plan: &Plan) -> AppResult<()> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(options).await?;
    let reason = Some("roster import");
    for (_, action) in &plan.actions {
        match action {
            Action::Unchanged { .. } => {}
            Action::Create { chapter, data } => {
                let created = write::insert_member(&txn, chapter, data.clone())
                    .await
                    .map_err(crate::graphql::mutation::map_write_error)?;
                let (before, after) = audit::diff(None, Some(&created));
                let event = Event {
                    action: "ADMIT_MEMBER",
                    target: (NodeKind::Member, created.id),
                    position: Position::member(&created),
                    before,
                    after,
                    reason,
                    client_mutation_id: None,
                    member: Some(&created),
                };
                audit::record(&txn, actor, event).await?;
            }
            Action::Update { current, data } => {
                let changes = member::ActiveModel {
                    updated_at: sea_orm::ActiveValue::Set(Utc::now()),
                    ..data.clone().into_roster()
                };
                let updated =
                    crate::graphql::mutation::update_member(&txn, current.id, current.version, changes).await?;
                let (before, after) = audit::diff(Some(current.as_ref()), Some(&updated));
                let event = Event {
                    action: "UPDATE_MEMBER",
                    target: (NodeKind::Member, updated.id),
                    position: Position::member(&updated),
                    before,
                    after,
                    reason,
                    client_mutation_id: None,
                    member: Some(&updated),
                };
                audit::record(&txn, actor, event).await?;
            }
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Reads an upload into memory, refusing more than [`MAX_FILE_BYTES`] without reading it all.
pub fn read_upload(content: impl std::io::Read) -> AppResult<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    content
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| file_error("the upload could not be read"))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_error(format!(
            "the file is larger than {} MB; split the roster by chapter",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    Ok(bytes)
}
