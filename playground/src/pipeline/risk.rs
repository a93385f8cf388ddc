//! The risk scorer: a transparent stand-in for the article's AI model.
//!
//! It adds up the weights of the rules a report matches. At [`THRESHOLD`] or
//! above the report is *flagged*: its status says so and an alert row records
//! the score and the reasons, so a trainer can say exactly why.
//!
//! | rule | weight | matches (case-insensitive) |
//! | --- | ---: | --- |
//! | suicidal thoughts | 10 | suicid…, kill myself, 自杀, 轻生 |
//! | severe bleeding | 6 | severe/heavy bleeding, 大出血, 出血不止 |
//! | chest pain | 5 | chest pain, 胸痛, 胸口痛 |
//! | seizure | 5 | seizure, 抽搐, 癫痫发作 |
//! | fainted | 4 | fainted, passed out, 晕倒, 昏厥, 晕厥 |
//! | pain score 8–10 | 4 | `pain 8/10`, `pain score: 9`, `疼痛评分9分`, `疼痛 10` |
//! | shortness of breath | 3 | shortness of breath, can't breathe, 呼吸困难 |
//!
//! Threshold 5: chest pain alone is flagged; fainting alone is not, fainting
//! with a pain score of 8 is.
//!
//! It is deliberately naive, and that is a teaching point: "no chest pain"
//! still scores 5, because keyword rules do not understand negation. A real
//! model would; it would also be slower, which is why scoring runs in the
//! background and not in the request.

use std::sync::LazyLock;

use regex::Regex;

/// A report scoring this much or more is flagged.
pub const THRESHOLD: u32 = 5;

struct Rule {
    reason: &'static str,
    weight: u32,
    terms: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        reason: "suicidal thoughts",
        weight: 10,
        terms: &["suicid", "kill myself", "自杀", "轻生"],
    },
    Rule {
        reason: "severe bleeding",
        weight: 6,
        terms: &["severe bleeding", "heavy bleeding", "大出血", "出血不止"],
    },
    Rule {
        reason: "chest pain",
        weight: 5,
        terms: &["chest pain", "胸痛", "胸口痛"],
    },
    Rule {
        reason: "seizure",
        weight: 5,
        terms: &["seizure", "抽搐", "癫痫发作"],
    },
    Rule {
        reason: "fainted",
        weight: 4,
        terms: &["fainted", "passed out", "晕倒", "昏厥", "晕厥"],
    },
    Rule {
        reason: "shortness of breath",
        weight: 3,
        terms: &["shortness of breath", "can't breathe", "呼吸困难"],
    },
];

const HIGH_PAIN_WEIGHT: u32 = 4;

/// "pain 8/10", "pain score: 9", "疼痛评分9分", "疼痛 10".
static PAIN_SCORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:pain|疼痛)\s*(?:score|level|评分|程度)?\s*[:：=]?\s*([0-9]{1,2})(?:[^0-9]|$)")
        .expect("pain score pattern must compile")
});

/// A report's score and the reasons behind it, e.g. `chest pain (+5)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub score: u32,
    pub reasons: Vec<String>,
}

impl Risk {
    pub fn is_flagged(&self) -> bool {
        self.score >= THRESHOLD
    }
}

/// Scores a (de-identified) report.
pub fn score(text: &str) -> Risk {
    let text = text.to_lowercase();
    let mut risk = Risk {
        score: 0,
        reasons: Vec::new(),
    };
    for rule in RULES {
        if rule.terms.iter().any(|term| text.contains(term)) {
            risk.score += rule.weight;
            risk.reasons
                .push(format!("{} (+{})", rule.reason, rule.weight));
        }
    }
    let worst_pain = PAIN_SCORE
        .captures_iter(&text)
        .filter_map(|c| c[1].parse::<u32>().ok())
        .filter(|&p| p <= 10)
        .max();
    if let Some(pain) = worst_pain.filter(|&p| p >= 8) {
        risk.score += HIGH_PAIN_WEIGHT;
        risk.reasons
            .push(format!("pain score {pain}/10 (+{HIGH_PAIN_WEIGHT})"));
    }
    risk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_table() {
        let cases: &[(&str, u32, bool)] = &[
            ("slept well, mild headache", 0, false),
            ("Chest pain since this morning", 5, true),
            ("胸痛，呼吸困难", 8, true),
            ("I fainted at work", 4, false),
            ("fainted, pain 8/10", 8, true),
            ("pain score: 9", 4, false),
            ("疼痛评分9分，晕倒一次", 8, true),
            ("pain 7/10", 0, false),
            ("pain 80", 0, false), // not a 0-10 score
            ("sometimes I think about suicide", 10, true),
            ("heavy bleeding after the injection", 6, true),
            // The naive part, on purpose: negation is not understood.
            ("no chest pain today", 5, true),
        ];
        for &(text, expected, flagged) in cases {
            let risk = score(text);
            assert_eq!(
                risk.score, expected,
                "score of {text:?}: {:?}",
                risk.reasons
            );
            assert_eq!(risk.is_flagged(), flagged, "flagged for {text:?}");
        }
    }

    #[test]
    fn reasons_explain_the_score() {
        let risk = score("chest pain, pain 9/10");
        assert_eq!(risk.reasons, ["chest pain (+5)", "pain score 9/10 (+4)"]);
    }
}
