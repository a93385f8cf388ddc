//! De-identification: mask mobile numbers, resident ID numbers and e-mail
//! addresses before a report reaches the database.
//!
//! | what | shape | becomes |
//! | --- | --- | --- |
//! | e-mail address | `name@host.tld` | `[email]` |
//! | resident ID number | 17 digits + a digit or `X` (also written 6-8-4) | `[id-number]` |
//! | mobile number | `1[3-9]` + 9 digits, optionally `+86`, spaces or dashes | `[phone]` |
//!
//! We err on the side of masking. A long run of digits that *contains* something
//! shaped like a phone or ID number is masked too (a 20-digit specimen barcode,
//! say): a number lost from a report is a nuisance, a leaked ID number is a
//! breach. The ID checksum is not verified for the same reason: a mistyped ID
//! number still identifies a person.
//!
//! Order matters: e-mail first (`13812345678@163.com` is an e-mail address
//! whose local part is a phone number), then ID numbers (an 18-digit ID number
//! contains 11-digit runs starting with `1[3-9]`), then phones.
//!
//! The `regex` crate runs in linear time on any input, so a hostile report
//! cannot make masking slow; the price is no look-around, which is why the
//! rules above do not check what sits next to a match.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// The mask written in place of each kind of identifier.
pub const EMAIL_MASK: &str = "[email]";
pub const ID_NUMBER_MASK: &str = "[id-number]";
pub const PHONE_MASK: &str = "[phone]";

struct Rule {
    pattern: Regex,
    mask: &'static str,
}

/// Compiled once, on first use. The patterns are constants, so `expect` can
/// only fire on a typo here, and the unit tests below would catch it.
static RULES: LazyLock<[Rule; 3]> = LazyLock::new(|| {
    let rule = |pattern: &str, mask| Rule {
        pattern: Regex::new(pattern).expect("de-identification pattern must compile"),
        mask,
    };
    [
        rule(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            EMAIL_MASK,
        ),
        rule(r"[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx]", ID_NUMBER_MASK),
        rule(
            r"(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}",
            PHONE_MASK,
        ),
    ]
});

/// Returns `text` with every e-mail address, ID number and mobile number masked.
pub fn mask(text: &str) -> String {
    let mut text = fold_fullwidth(text).into_owned();
    for rule in RULES.iter() {
        if let Cow::Owned(masked) = rule.pattern.replace_all(&text, rule.mask) {
            text = masked;
        }
    }
    text
}

/// True if `text` holds anything [`mask`] would mask. The intake uses it to
/// refuse patient and trial ids that are really phone numbers or ID numbers:
/// ids are stored as they are, so they must not identify anyone.
pub fn contains_pii(text: &str) -> bool {
    let text = fold_fullwidth(text);
    RULES.iter().any(|rule| rule.pattern.is_match(&text))
}

/// Full-width digits, letters and signs (`１３８…`, `＋８６`, `ｚｗ＠`) are common
/// in text typed on Chinese keyboards. Fold them to ASCII so the patterns see
/// them. Chinese punctuation (`，：（）`) is left as the patient typed it.
fn fold_fullwidth(text: &str) -> Cow<'_, str> {
    let is_fullwidth = |c: char| matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '＋' | '＠' | '．' | '－' | '＿' | '％');
    if !text.contains(is_fullwidth) {
        return Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if is_fullwidth(c) {
                // The full-width forms sit at a fixed offset from ASCII.
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_kind_of_identifier() {
        let cases = [
            ("call me on 13812345678", "call me on [phone]"),
            (
                "call me on +86 13912345678 please",
                "call me on [phone] please",
            ),
            ("电话：138-1234-5678", "电话：[phone]"),
            ("电话13812345678谢谢", "电话[phone]谢谢"),
            ("手机 １３８１２３４５６７８", "手机 [phone]"),
            ("tel 86-15012345678.", "tel [phone]."),
            ("mobile 188 1234 5678", "mobile [phone]"),
            ("身份证110105199003071234", "身份证[id-number]"),
            ("ID 11010519900307123X ok", "ID [id-number] ok"),
            ("ID 11010519900307123x", "ID [id-number]"),
            ("ID 110105 19900307 1234", "ID [id-number]"),
            ("mail zhang.wei@example.com.", "mail [email]."),
            ("邮箱zhang_wei+trial@hospital.org.cn", "邮箱[email]"),
            ("13812345678@163.com", "[email]"),
            (
                "邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ，谢谢",
                "邮箱[email]，谢谢",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(mask(input), expected, "masking {input:?}");
        }
    }

    #[test]
    fn leaves_ordinary_clinical_text_alone() {
        let ordinary = [
            "pain 8/10 since 2024-05-13, took 400 mg ibuprofen at 08:30",
            "血压130/85，心率72，体重65公斤",
            "visit 3 of 12, dose 2.5 mg, batch 20240513",
            "no symptoms",
        ];
        for text in ordinary {
            assert_eq!(mask(text), text);
            assert!(!contains_pii(text), "{text:?} is not PII");
        }
    }

    #[test]
    fn errs_on_the_side_of_masking_long_digit_runs() {
        // A 20-digit barcode contains an ID-number-shaped run: masked.
        assert_eq!(
            mask("barcode 12345678901234567890"),
            "barcode [id-number]90"
        );
    }

    #[test]
    fn detects_identifiers_used_as_ids() {
        assert!(contains_pii("13812345678"));
        assert!(contains_pii("11010519900307123X"));
        assert!(contains_pii("a@b.cn"));
        assert!(!contains_pii("SUBJ-0042"));
    }
}
