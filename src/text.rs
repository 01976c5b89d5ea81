//! Vietnamese text: NFC storage form, diacritic-insensitive folding for search, and the byte-ordered sort key
//! that makes SQL `ORDER BY` follow the Vietnamese alphabet (docs/domain.md §4).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC with runs of white space collapsed to one space and the ends trimmed: the form every stored text takes.
pub fn clean(input: &str) -> String {
    let nfc: String = input.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Folds text for search: decomposes, drops combining marks, maps đ/Đ to d (they have no decomposition),
/// lowercases, keeps letters and digits, and collapses everything else to single spaces.
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The Vietnamese alphabet with the Latin letters it lacks (f, j, w, z) in their Latin places.
const ALPHABET: [&str; 33] = [
    "a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "ô", "ơ", "p", "q",
    "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z",
];

/// Symbols of the key in byte order: `0` separates the parts of a name (so a shorter name sorts first), `1`
/// prefixes a digit, letters start at `2`.
const SYMBOLS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Splits one lowercase NFC letter into its base letter (with its vowel shape: ă, â, ê, ô, ơ, ư, đ) and tone
/// rank in dictionary order: level, grave (huyền), hook (hỏi), tilde (ngã), acute (sắc), dot (nặng).
fn letter_and_tone(c: char) -> (String, u8) {
    let mut base = String::new();
    let mut tone = 0;
    for d in c.to_string().nfd() {
        match d {
            '\u{0300}' => tone = 1,
            '\u{0309}' => tone = 2,
            '\u{0303}' => tone = 3,
            '\u{0301}' => tone = 4,
            '\u{0323}' => tone = 5,
            // Shape marks stay with the letter: breve, circumflex, horn.
            _ => base.push(d),
        }
    }
    (base.nfc().collect(), tone)
}

/// A key whose byte order is Vietnamese alphabetical order of `parts` compared part by part: within a part,
/// letters first (đ after d, ă and â after a, …), then the tones of its syllables as the tie-breaker
/// (level, grave, hook, tilde, acute, dot); case is ignored. "Hòa" and "Hoà" (the tone mark placed on another
/// vowel of the same syllable) get the same key. Only `[0-9a-z]` is used, so the order is the same under any
/// SQL collation.
pub fn sort_key(parts: &[&str]) -> String {
    let mut key = String::new();
    for part in parts {
        let lower: String = part.nfc().flat_map(char::to_lowercase).collect();
        let mut tones = String::new();
        for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let mut word_tone = 0;
            for c in word.chars() {
                let (base, tone) = letter_and_tone(c);
                word_tone = word_tone.max(tone);
                if let Some(index) = ALPHABET.iter().position(|l| *l == base) {
                    key.push(SYMBOLS[index + 2] as char);
                } else if c.is_ascii_digit() {
                    // Digits in unit names ("Khu 5") sort before letters.
                    key.push('1');
                    key.push(c);
                }
            }
            tones.push(SYMBOLS[word_tone as usize] as char);
        }
        key.push('0');
        key.push_str(&tones);
    }
    key
}

/// Sort key of a person's name: given name first, then family name, then middle name.
pub fn person_sort_key(family: &str, middle: &str, given: &str) -> String {
    sort_key(&[given, family, middle])
}

/// The full name in Vietnamese order: family, middle, given.
pub fn full_name(family: &str, middle: &str, given: &str) -> String {
    [family, middle, given]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_diacritics_and_maps_d_with_stroke() {
        assert_eq!(fold("Trường"), "truong");
        assert_eq!(fold("  Đông   Triều "), "dong trieu");
        assert_eq!(fold("Hòa"), fold("Hoà"));
        assert_eq!(fold("NGUYỄN Văn-Đức"), "nguyen van duc");
    }

    #[test]
    fn clean_composes_to_nfc() {
        let decomposed = "Hoa\u{0300}";
        assert_eq!(clean(decomposed), "Hoà");
        assert_eq!(clean(" a \t b "), "a b");
    }

    #[test]
    fn d_with_stroke_sorts_after_every_d() {
        assert!(sort_key(&["Dung"]) < sort_key(&["Đa"]));
        assert!(sort_key(&["Dy"]) < sort_key(&["Đa"]));
        assert!(sort_key(&["Đa"]) < sort_key(&["E"]));
    }

    #[test]
    fn vowel_shapes_are_letters_and_tones_break_ties() {
        assert!(sort_key(&["Anh"]) < sort_key(&["Ăn"]));
        assert!(sort_key(&["Ăn"]) < sort_key(&["Ân"]));
        assert!(sort_key(&["Ma"]) < sort_key(&["Mà"]));
        assert!(sort_key(&["Mà"]) < sort_key(&["Má"]));
        assert!(sort_key(&["Má"]) < sort_key(&["Mb"]));
        assert_eq!(sort_key(&["Hòa"]), sort_key(&["Hoà"]));
    }

    #[test]
    fn person_key_orders_by_given_then_family_then_middle() {
        let an = person_sort_key("Trần", "Văn", "An");
        let binh = person_sort_key("Lê", "Văn", "Bình");
        let an2 = person_sort_key("Vũ", "Thị", "An");
        assert!(an < an2 && an2 < binh);
        assert!(person_sort_key("Lê", "", "An") < person_sort_key("Lê", "Văn", "An"));
    }
}
