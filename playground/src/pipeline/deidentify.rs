//! De-identification: mask mobile numbers, resident ID numbers and e-mail
//! addresses before a report reaches the database.
//!
//! | what | shape | becomes |
//! | --- | --- | --- |
//! | e-mail address | `name@host`, `名字@例子.中国`, `name@[192.0.2.1]` | `[email]` |
//! | resident ID number | 18 digits (the last may be `X`): whole, 6-8-4 or 6-4-4-4; 15 digits (the old form): whole or 6-6-3 | `[id-number]` |
//! | mobile number | `1[3-9]` + 9 digits: whole, 3-4-4, 3-8, 7-4, 4-3-4 or digit by digit, after an optional `+86`, `0086` or `86` | `[phone]` |
//!
//! Between the groups, any separator a patient's keyboard offers: spaces of
//! every kind (tab, newline, U+3000, no-break), dots (`.`, `·`, `。`), dashes
//! (`-`, `–`, `—`, `−`), slashes, parentheses and underscores, one to three
//! of them. A number is not always grouped the way we expect, but a
//! separator-anywhere rule would mask blood pressures (`135/85 125/80 130`
//! holds eleven digits starting with `13`); fixed groupings do not.
//!
//! **Match a normalised view, mask the original.** A patient types
//! `１３８　１２３４　５６７８` on a Chinese keyboard, or pastes a number with a
//! zero-width space inside. The patterns read a *view* of the text with
//! compatibility forms folded (Unicode NFKC, from the `unicode-normalization`
//! crate: full-width `１` is `1`, `＠` is `@`, U+3000 is a space) and
//! invisible characters dropped (Unicode's Default_Ignorable_Code_Point, from
//! the `regex` crate's tables). Each byte of the view remembers which
//! character of the original it came from, so a match is masked in the
//! original: the stored text keeps the patient's words as typed, and loses
//! only the identifier.
//!
//! We err on the side of masking. A long run of digits that *contains*
//! something shaped like an identifier is masked too (a 20-digit specimen
//! barcode, say): a number lost from a report is a nuisance, a leaked ID
//! number is a breach. The ID checksum is not verified for the same reason.
//! And where an internationalised address runs into the words before it
//! without a space (`邮箱张伟@例子.中国`), nothing says where the name starts,
//! so the whole run is masked.
//!
//! **Cheap when there is nothing to find.** Every report goes through here, in
//! the pipeline's hot path. Anything we mask holds an `@` or at least eleven
//! digits, so a text with neither is returned as it is, borrowed. Plain ASCII
//! text is searched as it is; only text with full-width or invisible
//! characters in it pays for a view.
//!
//! The `regex` crate runs in linear time on any input, so a hostile report
//! cannot make masking slow; the price is no look-around, which is why the
//! e-mail rules tell scripts apart instead (`zhang@163.com谢谢` ends at `com`).

use std::borrow::Cow;
use std::iter;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::char::decompose_compatible;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The mask written in place of each kind of identifier.
pub const EMAIL_MASK: &str = "[email]";
pub const ID_NUMBER_MASK: &str = "[id-number]";
pub const PHONE_MASK: &str = "[phone]";

/// The fewest digits an identifier without an `@` has: a mobile number's.
const FEWEST_DIGITS: usize = 11;

/// The three patterns, searched for together in one pass. Where several
/// match at the same position, the first listed wins: e-mail first
/// (`13812345678@163.com` is an address whose name is a phone number), then
/// ID numbers (an 18-digit one holds 11-digit runs starting with `1[3-9]`),
/// then phone numbers.
static IDENTIFIERS: LazyLock<Identifiers> = LazyLock::new(|| {
    // In these shapes `D` is a digit and `_` a separator: one to three
    // spaces, dots, dashes, slashes, parentheses or underscores.
    let sep = r"[\s.·。\-\x{2010}-\x{2015}\x{2212}/()_・]{1,3}";
    let shapes = |shapes: &[&str]| {
        let shapes: Vec<String> = shapes
            .iter()
            .map(|shape| shape.replace('D', "[0-9]").replace('_', sep))
            .collect();
        shapes.join("|")
    };
    let id_number = shapes(&[
        "D{17}[0-9Xx]",               // 110105199003071234
        "D{6}_D{8}_D{3}[0-9Xx]",      // 110105 19900307 1234
        "D{6}_D{4}_D{4}_D{3}[0-9Xx]", // 110105 1990 0307 1234
        "D{15}",                      // 110105900307123 (before 1999)
        "D{6}_D{6}_D{3}",             // 110105 900307 123
    ]);
    let phone = shapes(&[
        "1[3-9]D{9}",           // 13812345678
        "1[3-9]D_D{4}_D{4}",    // 138 1234 5678, (138) 1234-5678
        "1[3-9]D_D{8}",         // 138 12345678
        "1[3-9]D{5}_D{4}",      // 1381234 5678
        "1[3-9]D{2}_D{3}_D{4}", // 1381 234 5678
        "1_[3-9](?:_D){9}",     // 1 3 8 1 2 3 4 5 6 7 8
    ]);
    let country = shapes(&[r"\(?(?:\+|00)?86(?:_)?"]); // +86, (+86), 0086, 86
    let phone = format!(r"(?:{country})?\(?(?:{phone})");
    // The name: Latin letters (`zhang.wei`, `josé`), or a run ending in a
    // letter of another script (`张伟`). So `邮箱zhang@…` masks from `z`.
    let name = concat!(
        r"[\p{Latin}\p{M}0-9._%+\-]+",
        r"|[\p{L}\p{M}\p{N}._%+\-]*[\p{L}&&[^\p{Latin}]]",
    );
    // A host label is in one script or the other, never both, so an address
    // ends where Chinese text runs on after it: `zhang@163.com谢谢`.
    let label = concat!(
        r"[\p{Latin}0-9][\p{Latin}\p{M}0-9\-]*",
        r"|[\p{L}\p{N}&&[^\p{Latin}]][\p{L}\p{M}\p{N}\-&&[^\p{Latin}]]*",
    );
    let host = format!(r"\[[0-9A-Za-z:.]+\]|(?:{label})(?:[.。](?:{label}))*");
    let email = format!("(?:{name})@(?:{host})");
    Identifiers::new_many(&[email, id_number, phone])
        .expect("the de-identification patterns must compile")
});

/// A pattern set: each match says which pattern it is, without the cost of
/// capture groups (`regex_automata` is the engine under the `regex` crate).
type Identifiers = regex_automata::meta::Regex;

/// The masks, in the order of the patterns.
const MASKS: [&str; 3] = [EMAIL_MASK, ID_NUMBER_MASK, PHONE_MASK];

/// Characters that show nothing: zero-width spaces and joiners, the soft
/// hyphen, byte-order marks, direction marks, variation selectors.
static INVISIBLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\p{Default_Ignorable_Code_Point}+").expect("the pattern must compile")
});

/// Text that is nothing but blanks, control characters and invisible ones.
static BLANK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\A[\s\p{Cc}\p{Default_Ignorable_Code_Point}]*\z")
        .expect("the pattern must compile")
});

/// Returns `text` with every e-mail address, ID number and mobile number
/// masked; borrowed when there was none.
pub fn mask(text: &str) -> Cow<'_, str> {
    let Some(view) = View::of(text) else {
        return Cow::Borrowed(text);
    };
    let mut masked = String::new();
    // Up to where `text` has been copied into `masked`.
    let mut copied = 0;
    for found in IDENTIFIERS.find_iter(view.text.as_ref()) {
        let original = view.original(found.range());
        // Two matches inside one original character (`⑴` is `(1)`) mask it once.
        let start = original.start.max(copied);
        masked.push_str(&text[copied..start]);
        if original.end > start {
            masked.push_str(MASKS[found.pattern().as_usize()]);
            copied = original.end;
        }
    }
    if masked.is_empty() && copied == 0 {
        return Cow::Borrowed(text);
    }
    masked.push_str(&text[copied..]);
    Cow::Owned(masked)
}

/// True if `text` holds anything [`mask`] would mask. The intake uses it to
/// refuse patient and trial ids that are really phone numbers or ID numbers:
/// ids are stored as they are, so they must not identify anyone.
pub fn contains_pii(text: &str) -> bool {
    View::of(text).is_some_and(|view| IDENTIFIERS.is_match(view.text.as_ref()))
}

/// True if `text` shows nothing once NULs, control characters, blanks and
/// invisible characters are gone: such a field is empty, whatever its length.
pub fn is_blank(text: &str) -> bool {
    BLANK.is_match(text)
}

/// What the patterns read: `text` with compatibility forms folded and
/// invisible characters dropped, and where each byte of it came from.
struct View<'a> {
    original: &'a str,
    text: Cow<'a, str>,
    /// For each byte of `text`, the offset in `original` of the character it
    /// came from. Empty when `text` is `original` unchanged.
    from: Vec<u32>,
}

impl<'a> View<'a> {
    /// The view of `text`, or `None` if it cannot hold an identifier.
    fn of(text: &'a str) -> Option<View<'a>> {
        if text.is_ascii() {
            // Nothing to fold: ASCII is its own view.
            let bytes = text.as_bytes();
            let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
            if digits < FEWEST_DIGITS && !bytes.contains(&b'@') {
                return None;
            }
            return Some(View::unchanged(text));
        }
        // Count the digits and `@` the view will have, and see if it differs.
        // A character's compatibility decomposition (NFKD) is one table
        // look-up and holds the same digits and `@` as its NFKC form.
        let mut digits = 0;
        let mut at = false;
        let mut folds = false;
        for c in text.chars() {
            if c.is_ascii() {
                digits += usize::from(c.is_ascii_digit());
                at |= c == '@';
                continue;
            }
            decompose_compatible(c, |part| {
                folds |= part != c;
                digits += usize::from(part.is_ascii_digit());
                at |= part == '@';
            });
        }
        if digits < FEWEST_DIGITS && !at {
            return None;
        }
        let mut invisible = INVISIBLE.find_iter(text).map(|m| m.range()).peekable();
        if !folds && invisible.peek().is_none() {
            return Some(View::unchanged(text));
        }

        let mut view = String::with_capacity(text.len());
        let mut from = Vec::with_capacity(text.len());
        for (offset, c) in text.char_indices() {
            while invisible.next_if(|run| run.end <= offset).is_some() {}
            if invisible.peek().is_some_and(|run| run.contains(&offset)) {
                continue;
            }
            if c.is_ascii() || is_nfkc_quick(iter::once(c)) == IsNormalized::Yes {
                view.push(c);
            } else {
                view.extend(iter::once(c).nfkc());
            }
            // Reports are capped far below 4 GiB; `u32` halves the table.
            let offset = u32::try_from(offset).unwrap_or(u32::MAX);
            from.resize(view.len(), offset);
        }
        Some(View {
            original: text,
            text: Cow::Owned(view),
            from,
        })
    }

    fn unchanged(text: &'a str) -> View<'a> {
        View {
            original: text,
            text: Cow::Borrowed(text),
            from: Vec::new(),
        }
    }

    /// Where `span` of the view is in the original: from the start of the
    /// character its first byte came from to the end of the one its last
    /// byte came from.
    fn original(&self, span: Range<usize>) -> Range<usize> {
        if self.from.is_empty() || span.is_empty() {
            return span;
        }
        let start = self.from[span.start] as usize;
        let last = self.from[span.end - 1] as usize;
        let last_len = self.original[last..]
            .chars()
            .next()
            .map_or(0, char::len_utf8);
        start..last + last_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The full table of variants is in tests/deidentify.rs; these check the
    // machinery underneath it.

    #[test]
    fn plain_text_without_candidates_is_borrowed() {
        for text in [
            "no symptoms",
            "血压128/82，心率72",
            "visit 2026-12-02 09:00",
        ] {
            assert!(matches!(mask(text), Cow::Borrowed(_)), "{text}");
        }
        // Candidates, but nothing to mask: still borrowed.
        let text = "visits 2026-12-02 2026-12-09 2026-12-16";
        assert!(matches!(mask(text), Cow::Borrowed(_)));
    }

    #[test]
    fn a_match_is_mapped_back_to_the_original_characters() {
        let text = "手机１３８\u{200b}１２３４５６７８！";
        let view = View::of(text).unwrap();
        assert_eq!(view.text, "手机13812345678!");
        let found = IDENTIFIERS.find(view.text.as_ref()).unwrap();
        let original = view.original(found.range());
        assert_eq!(&text[original], "１３８\u{200b}１２３４５６７８");
    }

    #[test]
    fn blank_means_nothing_visible() {
        for blank in ["", " \n\t", "\u{0}\u{7}", "\u{200b}\u{feff}\u{3000}\u{a0}"] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for text in ["a", "\u{200b}痛", "0"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }
}
