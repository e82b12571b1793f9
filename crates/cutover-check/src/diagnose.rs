//! Diff diagnosis: why values differ. Every changed value of a column is classified (whitespace,
//! letter case, NULL versus empty, rounding, a constant offset or factor, a time-zone shift,
//! truncated or rounded fractions, truncated text, mojibake, undecodable bytes, single-precision
//! floats, a consistently mapped code), counted exactly, and
//! turned into words with the option or fix that explains it.

use crate::canonical::{self, tag};
use std::collections::HashMap;

/// A class of difference between a source and a target value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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
    /// The target rounded (not cut) the fractional seconds to a coarser unit.
    FractionRounded,
    /// The target text is a shorter prefix of the source.
    TextTruncated,
    /// UTF-8 text read as Windows-1252 or ISO-8859-1 (or the reverse).
    Mojibake,
    /// Bytes that were not UTF-8 on one side: replaced by U+FFFD, or kept as bytes.
    Undecodable,
    /// A double stored as a 4-byte float (`real`) on one side.
    SinglePrecision,
    /// Numbers that differ (a constant offset or factor is detected across rows).
    Numeric,
    /// Texts that differ otherwise (a consistent mapping is detected across rows).
    Other,
}

/// What one column's changed values have in common.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnDiagnosis {
    /// Changed values per class.
    pub counts: HashMap<Class, u64>,
    /// Numeric differences: the offset (target − source) if it was the same for every one.
    #[serde(with = "seen_value")]
    offset: Option<Option<f64>>,
    /// Numeric differences: the factor (target / source) if it was the same for every one.
    #[serde(with = "seen_value")]
    factor: Option<Option<f64>>,
    /// Numeric differences: the most decimals an input had, to show the offset without f64 noise.
    decimals_seen: u32,
    /// Hour shifts seen, by hours.
    hours: HashMap<i64, u64>,
    /// Whether any numeric input had a fraction (a float or written decimals): ids and counts
    /// have none, and get no advice about measurement tolerances.
    fractions_seen: bool,
    /// The coarsest unit timestamps were rounded to, in nanoseconds.
    rounded_unit: u32,
    /// Decimals the rounded targets had (the most).
    rounded_to: Option<u32>,
    /// Longest truncated target text, in characters.
    truncated_to: usize,
    /// Source → target text pairs of `Other` values (bounded), to detect a code mapping.
    #[serde(with = "pair_list")]
    pairs: HashMap<(String, String), u64>,
    /// True once more pairs were seen than are kept.
    pairs_overflow: bool,
}

/// A value seen the same every time (its shortest decimal text, which reads back exactly),
/// different ones (`"varies"`), or none (`null`).
mod seen_value {
    pub(super) fn serialize<S: serde::Serializer>(
        v: &Option<Option<f64>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(None) => s.serialize_some("varies"),
            Some(Some(x)) => s.serialize_some(&x.to_string()),
        }
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<f64>>, D::Error> {
        let seen: Option<String> = serde::Deserialize::deserialize(d)?;
        seen.map(|t| match t.as_str() {
            "varies" => Ok(None),
            x => x.parse().map(Some).map_err(serde::de::Error::custom),
        })
        .transpose()
    }
}

/// The value pairs as a list: a pair is not a JSON object key.
mod pair_list {
    use std::collections::HashMap;

    type Pairs = HashMap<(String, String), u64>;

    pub(super) fn serialize<S: serde::Serializer>(pairs: &Pairs, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        let list: Vec<((String, String), u64)> = serde::Deserialize::deserialize(d)?;
        Ok(list.into_iter().collect())
    }
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

/// The stored bytes of a text or binary cell, UTF-8 or not.
fn raw(cell: &[u8]) -> Option<&[u8]> {
    matches!(cell.first(), Some(&tag::TEXT) | Some(&tag::BYTES)).then(|| canonical::split(cell).1)
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

/// UTF-8 text as a program that read its bytes as ISO-8859-1 would show it (each byte one
/// character; unlike Windows-1252, 0x80–0x9F become C1 controls).
fn as_latin1(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

/// Whether one text is the other read in the wrong 8-bit encoding.
fn misread(x: &str, y: &str) -> bool {
    as_windows_1252(x) == y || as_windows_1252(y) == x || as_latin1(x) == y || as_latin1(y) == x
}

/// Whether undecodable bytes on one side explain the text on the other: the bytes read as
/// Windows-1252 or ISO-8859-1 give that text, or that text has U+FFFD where the bytes were.
fn undecodable(bytes: &[u8], text: &str) -> bool {
    std::str::from_utf8(bytes).is_err()
        && (encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            == text
            || bytes.iter().map(|b| char::from(*b)).collect::<String>() == text
            || String::from_utf8_lossy(bytes) == text)
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
            if misread(x, y) {
                return Class::Mojibake;
            }
            if x.contains('\u{FFFD}') != y.contains('\u{FFFD}') {
                return Class::Undecodable;
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
        if let (Some(ra), Some(y)) = (raw(a), text(b))
            && undecodable(ra, y)
        {
            return Class::Undecodable;
        }
        if let (Some(x), Some(rb)) = (text(a), raw(b))
            && undecodable(rb, x)
        {
            return Class::Undecodable;
        }
        if ta == tag::TIMESTAMP && tb == tag::TIMESTAMP {
            let (sa, na) = ts(a);
            let (sb, nb) = ts(b);
            // Rounded to a coarser unit: the target is a multiple of it, within half of it.
            let (fa, fb) = (
                sa as i128 * 1_000_000_000 + na as i128,
                sb as i128 * 1_000_000_000 + nb as i128,
            );
            if let Some(u) = [1_000u32, 1_000_000, 1_000_000_000].into_iter().find(|u| {
                let u = *u as i128;
                fb % u == 0 && fa % u != 0 && 2 * (fa - fb).abs() <= u
            }) && fb > fa
            {
                self.rounded_unit = self.rounded_unit.max(u);
                return Class::FractionRounded;
            }
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
            let float = ta == tag::FLOAT || tb == tag::FLOAT;
            // A double kept as a 4-byte float: one side is the other at f32 precision.
            if x != y
                && (float || x.fract() != 0.0)
                && (x as f32 as f64 == y || y as f32 as f64 == x)
            {
                self.fractions_seen = true;
                return Class::SinglePrecision;
            }
            self.fractions_seen |= float;
            // Rounding: the target, with its decimals, is the source rounded to them.
            if let (Some(xs), Some(ys)) = (canonical::display(a), canonical::display(b))
                && ta == tag::NUMBER
                && tb == tag::NUMBER
            {
                let (dx, dy) = (decimals(&xs), decimals(&ys));
                self.decimals_seen = self.decimals_seen.max(dx).max(dy);
                self.fractions_seen |= dx > 0 || dy > 0;
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

    /// Adds another column's diagnosis into this one: the diagnosis of both sets of value
    /// pairs, as if they had been added one after the other.
    pub fn merge(&mut self, other: &ColumnDiagnosis) {
        for (k, v) in &other.counts {
            *self.counts.entry(*k).or_default() += v;
        }
        let same = |mine: Option<Option<f64>>, theirs: Option<Option<f64>>| match (mine, theirs) {
            (None, t) => t,
            (m, None) => m,
            (Some(Some(a)), Some(Some(b))) if (a - b).abs() <= 1e-9 * a.abs().max(1.0) => {
                Some(Some(a))
            }
            _ => Some(None),
        };
        self.offset = same(self.offset, other.offset);
        self.factor = same(self.factor, other.factor);
        self.decimals_seen = self.decimals_seen.max(other.decimals_seen);
        for (h, n) in &other.hours {
            *self.hours.entry(*h).or_default() += n;
        }
        self.fractions_seen |= other.fractions_seen;
        self.rounded_unit = self.rounded_unit.max(other.rounded_unit);
        self.rounded_to = match (self.rounded_to, other.rounded_to) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.truncated_to = self.truncated_to.max(other.truncated_to);
        self.pairs_overflow |= other.pairs_overflow;
        for (pair, n) in &other.pairs {
            if let Some(mine) = self.pairs.get_mut(pair) {
                *mine += n;
            } else if self.pairs.len() < PAIRS_KEPT {
                self.pairs.insert(pair.clone(), *n);
            } else {
                self.pairs_overflow = true;
            }
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
                    format!("are the source rounded to {} decimal {}", self.rounded_to.unwrap_or(0), if self.rounded_to == Some(1) { "place" } else { "places" }),
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
                Class::FractionRounded => (
                    "fraction rounded",
                    format!("were rounded to whole {} on the target", match self.rounded_unit { 1_000 => "microseconds", 1_000_000 => "milliseconds", _ => "seconds" }),
                    "the target's timestamp precision is coarser and rounds: widen it; timestamp_precision cannot hide a rounding (it cuts both sides)".into(),
                ),
                Class::Mojibake => ("mojibake", "are UTF-8 text read as Windows-1252 / ISO-8859-1".into(), "fix the encoding of the export or connection (for CSV set [source.csv] encoding); a value map would hide the defect".into()),
                Class::Undecodable => ("undecodable text", "hold bytes that are not UTF-8 on one side (replaced by � or kept as bytes)".into(), "the export or column is in an 8-bit encoding: set [source.csv] encoding = \"windows-1252\" (or the file's encoding), or fix the connection's character set".into()),
                Class::SinglePrecision => ("single precision", "were kept as a 4-byte float on one side (about 7 digits)".into(), "the column is real / float4 on one side: make it double precision, or set relative_tolerance = 1e-7 if the loss was agreed".into()),
                // One value is no pattern: an offset or factor needs at least two.
                Class::Numeric => match (self.offset.filter(|_| n >= 2), self.factor.filter(|_| n >= 2)) {
                    (Some(Some(off)), _) => ("constant offset", format!("differ by the same amount, {}", tidy(off, self.offset_places(), true)), "a systematic shift: check the conversion of this column in the migration".into()),
                    (_, Some(Some(f))) => ("constant factor", format!("differ by the same factor, × {}", tidy(f, 10, false)), "a unit or currency conversion: check the factor applied in the migration".into()),
                    _ if !self.fractions_seen => ("numbers", "differ as whole numbers with no common pattern".into(), "if this is an id or a reference, rows point to other records: check the key mapping of the migration".into()),
                    _ => ("numbers", "differ with no common pattern".into(), "compare the samples; a tolerance may apply if the values are measurements".into()),
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
                what: if n == 1 { singular(&what) } else { what },
                suggestion: fix,
            });
        }
        out
    }
}

/// A finding's words for one value: "are shifted" → "is shifted" ("1 value is shifted").
fn singular(what: &str) -> String {
    let (verb, rest) = what.split_once(' ').unwrap_or((what, ""));
    let one = match verb {
        "are" => "is",
        "were" => "was",
        "differ" => "differs",
        "hold" => "holds",
        "map" => "maps",
        other => other,
    };
    if rest.is_empty() {
        one.to_string()
    } else {
        format!("{one} {rest}")
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
    fn t_raw(b: &[u8]) -> Vec<u8> {
        enc(Cell::Text(b), Kind::Text)
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
    fn diagnoses_merged_are_the_diagnosis_of_all_their_pairs() {
        let pairs = [
            (n("1.5"), n("2.5")),
            (n("10.25"), n("11.25")),
            (stamp(0, 0), stamp(7200, 0)),
            (n("3.456"), n("3.46")),
            (t("A"), t("alpha")),
            (t("Anna"), t("Anna ")),
            (n("7"), n("8")),
            (stamp(3600, 0), stamp(10800, 0)),
            (t("B"), t("beta")),
            (n("2"), n("4")),
        ];
        let whole = {
            let mut d = ColumnDiagnosis::default();
            pairs.iter().for_each(|(a, b)| d.add(a, b));
            d
        };
        for split in 0..=pairs.len() {
            let (mut first, mut second) = (ColumnDiagnosis::default(), ColumnDiagnosis::default());
            pairs[..split].iter().for_each(|(a, b)| first.add(a, b));
            pairs[split..].iter().for_each(|(a, b)| second.add(a, b));
            first.merge(&second);
            assert_eq!(first, whole, "split at {split}");
            let json = serde_json::to_string(&first).unwrap();
            assert_eq!(
                serde_json::from_str::<ColumnDiagnosis>(&json).unwrap(),
                whole
            );
            assert_eq!(first.findings(), whole.findings());
        }
        // One offset for all, and none seen, survive a checkpoint too.
        let mut same = ColumnDiagnosis::default();
        same.add(&n("1.5"), &n("2.5"));
        same.add(&n("10.25"), &n("11.25"));
        assert_eq!(same.offset, Some(Some(1.0)));
        for d in [same, ColumnDiagnosis::default()] {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<ColumnDiagnosis>(&json).unwrap(), d);
        }
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
        // UTF-8 read as ISO-8859-1 (not Windows-1252) is mojibake, not a code mapping.
        let latin1 = classes(&[
            (t("Erdős"), t("ErdÅ\u{91}s")),
            (t("Erdős"), t("ErdÅ\u{91}s")),
        ]);
        assert_eq!(latin1[0].class, "mojibake");
        assert!(latin1[0].suggestion.contains("hide the defect"));
        // Latin-1 bytes that are not UTF-8 against the text they mean, or against U+FFFD.
        assert_eq!(one(t("Müller"), t_raw(b"M\xfcller")), "undecodable text");
        assert_eq!(one(t_raw(b"M\xfcller"), t("Müller")), "undecodable text");
        assert_eq!(one(t("Müller"), t("M\u{FFFD}ller")), "undecodable text");
        // A double kept as real; a timestamp rounded (not cut) to whole seconds.
        let real = enc(Cell::Float32(0.1), Kind::Float);
        assert_eq!(
            one(enc(Cell::Float(0.1), Kind::Float), real),
            "single precision"
        );
        let rounded = classes(&[
            (stamp(100, 700_000_000), stamp(101, 0)),
            (stamp(5, 999_000), stamp(5, 1_000_000)),
        ]);
        assert_eq!(rounded[0].class, "fraction rounded");
        assert!(
            rounded[0].what.contains("whole seconds"),
            "{}",
            rounded[0].what
        );
        // Whole numbers that differ get no advice about measurement tolerances.
        let ids = classes(&[(n("17"), n("4")), (n("18"), n("90"))]);
        assert!(
            ids[0].suggestion.contains("key mapping"),
            "{}",
            ids[0].suggestion
        );
        // One value reads in the singular ("1 value is …"), and one decimal place is one.
        let single = classes(&[(n("392.63"), n("392.6"))]);
        assert_eq!(single[0].what, "is the source rounded to 1 decimal place");
        assert_eq!(
            classes(&[(n("1"), n("9"))])[0].what,
            "differs as whole numbers with no common pattern"
        );
        let amounts = classes(&[(n("17.5"), n("4")), (n("18"), n("90"))]);
        assert!(
            amounts[0].suggestion.contains("tolerance"),
            "{}",
            amounts[0].suggestion
        );
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
