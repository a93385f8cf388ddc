//! De-identification, as a table: each row is a way a patient might write a
//! phone number, a resident ID number or an e-mail address into a report,
//! and exactly what must be stored instead. Then texts that must come back
//! untouched: dates, blood pressures, doses, trial ids, times, counts.
//!
//! The rows come from the classes that got through in issue 10 (separators
//! other than an ASCII space or dash, legacy 15-digit and grouped 18-digit ID
//! numbers, full-width and ideographic punctuation in e-mail addresses,
//! internationalised, IP-literal and single-label addresses). A failure lists
//! every wrong row at once, with a count, so a regression shows its extent.

use playground::pipeline::deidentified;
use playground::pipeline::deidentify::{contains_pii, mask};

/// `(what the patient wrote, what is stored)`. One row a line: easier to
/// read than rustfmt's layout.
#[rustfmt::skip]
const MASKED: &[(&str, &str)] = &[
    // Mobile numbers: every separator class, and invisible characters.
    ("call 13812345678 today",                      "call [phone] today"),
    ("call 138.1234.5678 today",                    "call [phone] today"),
    ("call 138 1234 5678 today",                    "call [phone] today"),
    ("call 138-1234-5678 today",                    "call [phone] today"),
    ("call (138) 1234-5678 today",                  "call [phone] today"),
    ("call (138)1234-5678 today",                   "call [phone] today"),
    ("call 138/1234/5678 today",                    "call [phone] today"),
    ("call 138 / 1234 / 5678 today",                "call [phone] today"),
    ("call 138\t1234\t5678 today",                  "call [phone] today"),
    ("call 138\n1234\n5678 today",                  "call [phone] today"),
    ("call 138\r\n1234\r\n5678 today",              "call [phone] today"),
    ("call 138  1234  5678 today",                  "call [phone] today"),
    ("call 138 - 1234 - 5678 today",                "call [phone] today"),
    ("call 1 3 8 1 2 3 4 5 6 7 8 today",            "call [phone] today"),
    ("call 1 3 8  1 2 3 4  5 6 7 8 today",          "call [phone] today"),
    ("call 138\u{3000}1234\u{3000}5678 today",      "call [phone] today"),
    ("call 138\u{a0}1234\u{a0}5678 today",          "call [phone] today"),
    ("call 138\u{202f}1234\u{202f}5678 today",      "call [phone] today"),
    ("call 138\u{200b}1234\u{200b}5678 today",      "call [phone] today"),
    ("call 1\u{200b}3\u{200c}8\u{200d}12345678 today", "call [phone] today"),
    ("call 138\u{feff}1234\u{2060}5678 today",      "call [phone] today"),
    ("call 138\u{ad}1234\u{ad}5678 today",          "call [phone] today"),
    ("call 138\u{2013}1234\u{2013}5678 today",      "call [phone] today"),
    ("call 138\u{2014}1234\u{2014}5678 today",      "call [phone] today"),
    ("call 138\u{2012}1234\u{2212}5678 today",      "call [phone] today"),
    ("call 138·1234·5678 today",                    "call [phone] today"),
    ("call 138。1234。5678 today",                  "call [phone] today"),
    ("call 138_1234_5678 today",                    "call [phone] today"),
    ("call 1-3-8-1-2-3-4-5-6-7-8 today",            "call [phone] today"),
    ("call 1381234 5678 today",                     "call [phone] today"),
    ("call 138 12345678 today",                     "call [phone] today"),
    ("call 1381 234 5678 today",                    "call [phone] today"),
    ("call １３８１２３４５６７８ today",            "call [phone] today"),
    ("call １３８－１２３４－５６７８ today",        "call [phone] today"),
    ("call ＋８６ １３８ １２３４ ５６７８ today",   "call [phone] today"),
    ("call +86 138 1234 5678 today",                "call [phone] today"),
    ("call (+86) 138-1234-5678 today",              "call [phone] today"),
    ("call +86-13812345678 today",                  "call [phone] today"),
    ("call 0086 13812345678 today",                 "call [phone] today"),
    ("call 8613812345678 today",                    "call [phone] today"),
    ("tel:+8613812345678;",                         "tel:[phone];"),
    ("电话：138.1234.5678，谢谢",                   "电话：[phone]，谢谢"),
    ("电话13812345678谢谢",                         "电话[phone]谢谢"),
    ("手机（１３８）１２３４　５６７８。",          "手机[phone]。"),
    // Resident ID numbers: 18 digits (a digit or X last), grouped or not; 15 digits.
    ("ID 110105199003071234 ok",                    "ID [id-number] ok"),
    ("ID 11010519900307123X ok",                    "ID [id-number] ok"),
    ("ID 11010519900307123x ok",                    "ID [id-number] ok"),
    ("ID 110105 19900307 1234 ok",                  "ID [id-number] ok"),
    ("ID 110105 1990 0307 1234 ok",                 "ID [id-number] ok"),
    ("ID 110105-19900307-123X ok",                  "ID [id-number] ok"),
    ("ID 110105.19900307.1234 ok",                  "ID [id-number] ok"),
    ("ID 110105.1990.0307.123X ok",                 "ID [id-number] ok"),
    ("ID 110105\u{a0}19900307\u{a0}1234 ok",        "ID [id-number] ok"),
    ("ID 110105\u{a0}1990\u{a0}0307\u{a0}1234 ok",  "ID [id-number] ok"),
    ("ID 110105\u{3000}19900307\u{3000}1234 ok",    "ID [id-number] ok"),
    ("ID 110105\u{200b}19900307\u{200b}1234 ok",    "ID [id-number] ok"),
    ("ID 110105\u{2013}1990\u{2013}0307\u{2013}1234 ok", "ID [id-number] ok"),
    ("ID 110105/19900307/1234 ok",                  "ID [id-number] ok"),
    ("ID 110105_19900307_1234 ok",                  "ID [id-number] ok"),
    ("ID 110105900307123 ok",                       "ID [id-number] ok"),
    ("ID 110105 900307 123 ok",                     "ID [id-number] ok"),
    ("身份证号110105900307123。",                   "身份证号[id-number]。"),
    ("身份证１１０１０５１９９００３０７１２３Ｘ，谢谢", "身份证[id-number]，谢谢"),
    // E-mail addresses.
    ("mail zhang.wei@example.com.",                 "mail [email]."),
    ("mail zhang.wei@example。com today",           "mail [email] today"),
    ("mail zhang.wei@example｡com today",            "mail [email] today"),
    ("mail zhang.wei@example．com today",           "mail [email] today"),
    ("mail zhang.wei＠example.com today",           "mail [email] today"),
    ("mail zhang.wei﹫example.com today",           "mail [email] today"),
    ("邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ，谢谢", "邮箱[email]，谢谢"),
    ("mail 张伟@例子.中国 today",                   "mail [email] today"),
    ("mail zhang@例子.中国 today",                  "mail [email] today"),
    ("mail 张伟@example.com today",                 "mail [email] today"),
    ("mail josé.garcía@correo.es today",            "mail [email] today"),
    ("mail müller@bücher.de today",                 "mail [email] today"),
    ("mail zhang@[192.168.1.20] today",             "mail [email] today"),
    ("mail zhang@[IPv6:2001:db8::1] today",         "mail [email] today"),
    ("mail zhang@192.168.1.20 today",               "mail [email] today"),
    ("mail root@localhost today",                   "mail [email] today"),
    ("mail nurse@intranet, today",                  "mail [email], today"),
    ("mail zhang\u{200b}wei@example.com today",     "mail [email] today"),
    ("邮箱zhang_wei+trial@hospital.org.cn",         "邮箱[email]"),
    ("mail zhang@163.com谢谢",                      "mail [email]谢谢"),
    ("13812345678@163.com",                         "[email]"),
    // Two at once, and a long digit run: masked, never half-shown.
    ("call 138 1234 5678 or zhang@example.com",     "call [phone] or [email]"),
    ("barcode 12345678901234567890",                "barcode [id-number]90"),
];

/// Texts a patient writes that hold no identifier: stored exactly as sent.
#[rustfmt::skip]
const UNTOUCHED: &[&str] = &[
    "visit on 2026-12-02 at 09:00",
    "next visit 2026/12/02 09:30, then 2026.12.09",
    "visits 2026-12-02 2026-12-09 2026-12-16",
    "BP 128/82, HR 72",
    "BP 128/82 135/85 125/80 130/82 this week",
    "血压128/82，心率72，体重65公斤",
    "took 500 mg paracetamol twice, 1000 mg in total",
    "took 500mg at 08:00 and 500mg at 14:00",
    "trial EPRO-2024-07, NCT01234567, batch 20240513",
    "at 13:45 and again at 14:30",
    "walked 12,345 steps, 3 times a day",
    "weight 65.5 kg, height 172 cm, temp 37.2°C",
    "glucose 5.6 mmol/L, HbA1c 6.1%",
    "pain 8/10 since 2024-05-13, took 400 mg ibuprofen at 08:30",
    "visit 3 of 12, dose 2.5 mg",
    "email me later @ the clinic",
    "no symptoms",
];

#[test]
fn every_way_of_writing_an_identifier_is_masked() {
    assert!(
        MASKED.len() >= 60,
        "the table has {} variants",
        MASKED.len()
    );
    let wrong: Vec<String> = MASKED
        .iter()
        .filter_map(|&(input, expected)| {
            let got = mask(input);
            (&*got != expected)
                .then(|| format!("  {input:?}\n    stored {got:?}\n    wanted {expected:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} variants stored wrongly:\n{}",
        wrong.len(),
        MASKED.len(),
        wrong.join("\n")
    );
}

#[test]
fn ordinary_clinical_text_is_left_alone() {
    let wrong: Vec<String> = UNTOUCHED
        .iter()
        .filter_map(|&text| {
            let got = mask(text);
            (&*got != text || contains_pii(text)).then(|| format!("  {text:?} became {got:?}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} ordinary texts were changed:\n{}",
        wrong.len(),
        UNTOUCHED.len(),
        wrong.join("\n")
    );
}

#[test]
fn identifiers_used_as_ids_are_detected() {
    for id in [
        "13812345678",
        "138_1234_5678",
        "1-3-8-1-2-3-4-5-6-7-8",
        "110105900307123",
        "11010519900307123X",
        "110105-1990-0307-1234",
    ] {
        assert!(contains_pii(id), "{id} identifies a person");
    }
    for id in [
        "SUBJ-0042",
        "EPRO-2024-07",
        "S1",
        "NCT01234567",
        "site_12-visit_3",
    ] {
        assert!(!contains_pii(id), "{id} is a pseudonym");
    }
}

#[test]
fn cleaning_twice_changes_nothing() {
    // The durable intake cleans a report before writing it to the inbox, and
    // the pipeline cleans it again: the second pass must find nothing. So
    // must cleaning after tidying: a NUL between digits is dropped by the
    // tidy-up, and what is left is masked all the same.
    let extra = ["call 138\u{0}1234\u{0}5678 today", "a\r\n13812345678\u{7}"];
    let texts = MASKED.iter().map(|(text, _)| *text).chain(extra);
    for text in texts {
        let once = deidentified(text.to_owned());
        assert_eq!(deidentified(once.clone()), once, "{text:?}");
        assert!(!contains_pii(&once), "{text:?} became {once:?}");
    }
}
