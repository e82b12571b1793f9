//! Diff diagnosis: why values differ. Every changed value of a column is classified (whitespace,
//! letter case, NULL versus empty, rounding, a constant offset or factor, a time-zone shift,
//! truncated fractions or text, mojibake, a consistently mapped code), counted exactly, and
//! turned into words with the option or fix that explains it.

use crate::canonical::{self, tag};
use std::collections::HashMap;

/// A class of difference between a source and a target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Equal once white space is trimmed or collapsed.
    Whitespace,
    /// Equal ignoring letter case.
    LetterCase,
    /// NULL on one side, an empty text on the other.
    NullVersusEmpty,
    /// The target is the source rounded to fewer decimals.
    Rounding,
    /// Timestamps that differ by whole hours.
    HourShift,
    /// The target kept fewer fractional seconds.
    FractionTruncated,
    /// The target text is a shorter prefix of the source.
    TextTruncated,
    /// UTF-8 text read as Windows-1252 (or the reverse).
    Mojibake,
    /// Numbers that differ (a constant offset or factor is detected across rows).
    Numeric,
    /// Texts that differ otherwise (a consistent mapping is detected across rows).
    Other,
}

/// What one column's changed values have in common.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnDiagnosis {
    /// Changed values per class.
    pub counts: HashMap<Class, u64>,
    /// Numeric differences: the offset (target − source) if it was the same for every one.
    offset: Option<Option<f64>>,
    /// Numeric differences: the factor (target / source) if it was the same for every one.
    factor: Option<Option<f64>>,
    /// Numeric differences: the most decimals an input had, to show the offset without f64 noise.
    decimals_seen: u32,
    /// Hour shifts seen, by hours.
    hours: HashMap<i64, u64>,
    /// Decimals the rounded targets had (the most).
    rounded_to: Option<u32>,
    /// Longest truncated target text, in characters.
    truncated_to: usize,
    /// Source → target text pairs of `Other` values (bounded), to detect a code mapping.
    pairs: HashMap<(String, String), u64>,
    /// True once more pairs were seen than are kept.
    pairs_overflow: bool,
}

/// How many distinct value pairs a column keeps to detect a mapping.
const PAIRS_KEPT: usize = 200;

fn text(cell: &[u8]) -> Option<&str> {
    (cell.first() == Some(&tag::TEXT))
        .then(|| std::str::from_utf8(&cell[5..]).ok())
        .flatten()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decimals(s: &str) -> u32 {
    s.split_once('.').map_or(0, |(_, f)| f.len() as u32)
}

/// A number with at most `places` decimals, trailing zeros dropped: `0.010000000002037268`
/// computed from inputs with two decimals shows as `0.01`.
fn tidy(v: f64, places: u32, signed: bool) -> String {
    let s = format!("{:.*}", places.min(15) as usize, v);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    let s = if s == "-0" { "0" } else { s };
    if signed && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s.to_string()
    }
}

/// UTF-8 text as a program that read its bytes as Windows-1252 would show it.
fn as_windows_1252(s: &str) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(s.as_bytes())
        .0
        .into_owned()
}

impl ColumnDiagnosis {
    /// Classifies one changed value pair (encoded cells) and counts it.
    pub fn add(&mut self, source: &[u8], target: &[u8]) {
        let class = self.classify(source, target);
        *self.counts.entry(class).or_default() += 1;
    }

    fn classify(&mut self, a: &[u8], b: &[u8]) -> Class {
        let (ta, tb) = (
            a.first().copied().unwrap_or(tag::NULL),
            b.first().copied().unwrap_or(tag::NULL),
        );
        if (ta == tag::NULL && text(b) == Some("")) || (tb == tag::NULL && text(a) == Some("")) {
            return Class::NullVersusEmpty;
        }
        if let (Some(x), Some(y)) = (text(a), text(b)) {
            if collapse(x) == collapse(y) {
                return Class::Whitespace;
            }
            if x.to_lowercase() == y.to_lowercase() {
                return Class::LetterCase;
            }
            if !y.is_empty() && y.len() < x.len() && x.starts_with(y) {
                self.truncated_to = self.truncated_to.max(y.chars().count());
                return Class::TextTruncated;
            }
            if as_windows_1252(x) == y || as_windows_1252(y) == x {
                return Class::Mojibake;
            }
            // Codes are short; long texts are never kept (a sample may hold megabytes).
            if x.len() > 256 || y.len() > 256 {
                self.pairs_overflow = true;
            } else if self.pairs.len() < PAIRS_KEPT
                || self.pairs.contains_key(&(x.to_string(), y.to_string()))
            {
                *self
                    .pairs
                    .entry((x.to_string(), y.to_string()))
                    .or_default() += 1;
            } else {
                self.pairs_overflow = true;
            }
            return Class::Other;
        }
        if ta == tag::TIMESTAMP && tb == tag::TIMESTAMP {
            let (sa, na) = ts(a);
            let (sb, nb) = ts(b);
            if na == nb && sa != sb && (sb - sa) % 3600 == 0 {
                *self.hours.entry((sb - sa) / 3600).or_default() += 1;
                return Class::HourShift;
            }
            if sa == sb
                && nb < na
                && [1_000_000u32, 1_000, 1_000_000_000]
                    .iter()
                    .any(|u| na - na % u == nb)
            {
                return Class::FractionTruncated;
            }
        }
        if let (Some(x), Some(y)) = (canonical::numeric_value(a), canonical::numeric_value(b)) {
            // Rounding: the target, with its decimals, is the source rounded to them.
            if let (Some(xs), Some(ys)) = (canonical::display(a), canonical::display(b))
                && ta == tag::NUMBER
                && tb == tag::NUMBER
            {
                let (dx, dy) = (decimals(&xs), decimals(&ys));
                self.decimals_seen = self.decimals_seen.max(dx).max(dy);
                if dy < dx
                    && (x - y).abs() <= 0.5 * 10f64.powi(-(dy as i32)) + 1e-12 * x.abs().max(1.0)
                {
                    self.rounded_to = Some(self.rounded_to.map_or(dy, |r| r.max(dy)));
                    return Class::Rounding;
                }
            }
            let same = |seen: &mut Option<Option<f64>>, v: f64| {
                *seen = match *seen {
                    None => Some(Some(v)),
                    Some(Some(prev)) if (prev - v).abs() <= 1e-9 * prev.abs().max(1.0) => {
                        Some(Some(prev))
                    }
                    _ => Some(None),
                };
            };
            same(&mut self.offset, y - x);
            if x != 0.0 {
                same(&mut self.factor, y / x);
            } else {
                self.factor = Some(None);
            }
            return Class::Numeric;
        }
        Class::Other
    }

    /// Decimals to show an offset with: those of the inputs, or (for floats, which have no
    /// written decimals) enough for any ordinary measurement.
    fn offset_places(&self) -> u32 {
        if self.decimals_seen > 0 {
            self.decimals_seen
        } else {
            9
        }
    }

    /// Adds another column's diagnosis into this one.
    pub fn merge(&mut self, other: &ColumnDiagnosis) {
        for (k, v) in &other.counts {
            *self.counts.entry(*k).or_default() += v;
        }
    }

    /// The findings in words, most frequent first: (class name, count, what, suggestion).
    pub fn findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        let mut counts: Vec<(Class, u64)> = self.counts.iter().map(|(k, v)| (*k, *v)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (class, n) in counts {
            let (name, what, fix): (&str, String, String) = match class {
                Class::Whitespace => ("whitespace", "differ only in white space".into(), "set trim = true if the trimming was intended; otherwise fix the migration".into()),
                Class::LetterCase => ("letter case", "differ only in letter case".into(), "set case_insensitive = true if the new system folds case on purpose".into()),
                Class::NullVersusEmpty => ("NULL vs empty", "are NULL on one side and empty on the other".into(), "set null_equals_empty = true if both mean 'no value'".into()),
                Class::Rounding => (
                    "rounding",
                    format!("are the source rounded to {} decimal places", self.rounded_to.unwrap_or(0)),
                    format!("widen the target column's scale, or set decimal_scale = {} if the rounding was agreed", self.rounded_to.unwrap_or(0)),
                ),
                Class::HourShift => {
                    let mut hours: Vec<(i64, u64)> = self.hours.iter().map(|(h, n)| (*h, *n)).collect();
                    hours.sort_by_key(|h| std::cmp::Reverse(h.1));
                    let shown: Vec<String> = hours.iter().map(|(h, n)| format!("{h:+} h ({n})")).collect();
                    (
                        "time-zone shift",
                        format!("are shifted by whole hours: {}", shown.join(", ")),
                        "a time-zone error: set source_timezone / target_timezone to the zone the naive timestamps were written in, or fix the conversion".into(),
                    )
                }
                Class::FractionTruncated => ("fraction truncated", "lost fractional seconds on the target".into(), "widen the target's timestamp precision, or set timestamp_precision if the loss was agreed".into()),
                Class::TextTruncated => (
                    "text truncated",
                    format!("were cut to at most {} characters on the target", self.truncated_to),
                    format!("the target column is too short: widen it beyond {} characters", self.truncated_to),
                ),
                Class::Mojibake => ("mojibake", "are UTF-8 text read as Windows-1252 / Latin-1".into(), "fix the encoding of the export or connection (for CSV set [source.csv] encoding)".into()),
                // One value is no pattern: an offset or factor needs at least two.
                Class::Numeric => match (self.offset.filter(|_| n >= 2), self.factor.filter(|_| n >= 2)) {
                    (Some(Some(off)), _) => ("constant offset", format!("differ by the same amount, {}", tidy(off, self.offset_places(), true)), "a systematic shift: check the conversion of this column in the migration".into()),
                    (_, Some(Some(f))) => ("constant factor", format!("differ by the same factor, × {}", tidy(f, 10, false)), "a unit or currency conversion: check the factor applied in the migration".into()),
                    _ => ("numbers", "are different numbers with no common pattern".into(), "compare the samples; a tolerance may apply if the values are measurements".into()),
                },
                Class::Other => {
                    let consistent = !self.pairs_overflow && {
                        let mut to: HashMap<&str, &str> = HashMap::new();
                        self.pairs.keys().all(|(s, t)| *to.entry(s.as_str()).or_insert(t.as_str()) == t.as_str())
                    };
                    if consistent && !self.pairs.is_empty() && n > self.pairs.len() as u64 {
                        let mut pairs: Vec<(&(String, String), &u64)> = self.pairs.iter().collect();
                        pairs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                        let shown: Vec<String> = pairs.iter().take(5).map(|((s, t), c)| format!("{s} → {t} ({c})")).collect();
                        (
                            "code mapping",
                            format!("map each source value to one target value consistently: {}", shown.join(", ")),
                            "if the codes were translated on purpose, add a value map: map = { … }; otherwise fix the mapping".into(),
                        )
                    } else {
                        ("other", "differ otherwise".into(), "compare the samples".into())
                    }
                }
            };
            out.push(Finding {
                class: name.to_string(),
                count: n,
                what,
                suggestion: fix,
            });
        }
        out
    }
}

/// One diagnosis in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The class, e.g. `time-zone shift`.
    pub class: String,
    /// How many changed values it covers.
    pub count: u64,
    /// What the values have in common.
    pub what: String,
    /// The option or fix that would explain or repair it.
    pub suggestion: String,
}

fn ts(cell: &[u8]) -> (i64, u32) {
    let p = &cell[5..];
    (
        i64::from_be_bytes(p[..8].try_into().unwrap_or_default()),
        u32::from_be_bytes(p[8..12].try_into().unwrap_or_default()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{Cell, ColumnCodec, Kind, encode};

    fn enc(cell: Cell<'_>, kind: Kind) -> Vec<u8> {
        let mut out = Vec::new();
        encode(cell, ColumnCodec::new(kind, kind), &mut out);
        out
    }
    fn t(s: &str) -> Vec<u8> {
        enc(Cell::Text(s.as_bytes()), Kind::Text)
    }
    fn n(s: &str) -> Vec<u8> {
        enc(Cell::DecimalText(s.as_bytes()), Kind::Number)
    }
    fn stamp(secs: i64, nanos: u32) -> Vec<u8> {
        enc(Cell::Timestamp { secs, nanos }, Kind::Timestamp)
    }
    fn classes(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<Finding> {
        let mut d = ColumnDiagnosis::default();
        for (a, b) in pairs {
            d.add(a, b);
        }
        d.findings()
    }

    #[test]
    fn every_class_on_planted_examples() {
        let one = |a: Vec<u8>, b: Vec<u8>| classes(&[(a, b)])[0].class.clone();
        assert_eq!(one(t(" Anna "), t("Anna")), "whitespace");
        assert_eq!(one(t("Anna"), t("ANNA")), "letter case");
        assert_eq!(one(enc(Cell::Null, Kind::Text), t("")), "NULL vs empty");
        assert_eq!(one(n("392.63"), n("392.6")), "rounding");
        assert_eq!(
            one(stamp(3600 * 10, 5), stamp(3600 * 11, 5)),
            "time-zone shift"
        );
        assert_eq!(
            one(stamp(100, 123_456_000), stamp(100, 123_000_000)),
            "fraction truncated"
        );
        assert_eq!(
            one(t("Société Générale"), t("Société Gén")),
            "text truncated"
        );
        assert_eq!(one(t("Müller"), t("MÃ¼ller")), "mojibake");
        let offset = classes(&[
            (n("10"), n("12.5")),
            (n("20"), n("22.5")),
            (n("-3"), n("-0.5")),
        ]);
        assert_eq!(
            (offset[0].class.as_str(), offset[0].count),
            ("constant offset", 3)
        );
        assert!(offset[0].what.contains("+2.5"), "{}", offset[0].what);
        let factor = classes(&[(n("10"), n("1000")), (n("2.5"), n("250"))]);
        assert_eq!(factor[0].class, "constant factor");
        // No f64 noise: 20.38 − 20.37 is 0.010000000002037268 in binary floating point.
        let cents = classes(&[(n("10.01"), n("10.02")), (n("20.37"), n("20.38"))]);
        assert!(
            cents[0].what.ends_with("amount, +0.01"),
            "{}",
            cents[0].what
        );
        let back = classes(&[(n("5"), n("3")), (n("7"), n("5"))]);
        assert!(back[0].what.ends_with("amount, -2"), "{}", back[0].what);
        let vat = classes(&[(n("10"), n("11")), (n("3"), n("3.3"))]);
        assert!(vat[0].what.ends_with("factor, × 1.1"), "{}", vat[0].what);
        let mapping = classes(&[
            (t("A"), t("ACTIVE")),
            (t("A"), t("ACTIVE")),
            (t("I"), t("INACTIVE")),
        ]);
        assert_eq!(mapping[0].class, "code mapping");
        assert!(
            mapping[0].what.contains("A → ACTIVE (2)"),
            "{}",
            mapping[0].what
        );
        let noise = classes(&[(t("x"), t("y")), (t("x"), t("z"))]);
        assert_eq!(noise[0].class, "other");
        let shifted = classes(&[
            (stamp(0, 0), stamp(3600, 0)),
            (stamp(7200, 0), stamp(10800, 0)),
        ]);
        assert!(
            shifted[0].what.contains("+1 h (2)")
                && shifted[0].suggestion.contains("source_timezone")
        );
    }
}
