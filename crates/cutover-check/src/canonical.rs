//! The one table that turns every engine's value into canonical bytes.
//!
//! Connectors decode the wire format of their engine into a borrowed [`Cell`]; [`encode`]
//! converts the cell to the column's comparison [`Kind`] and appends its canonical encoding:
//! `tag: u8`, `len: u32 LE`, `payload`. The encoding is self-delimiting, so concatenating the
//! cells of a row cannot collide (`'ab','c'` never equals `'a','bc'`).
//!
//! This module is the only place where cross-engine equivalence lives; `docs/canonical-values.md`
//! documents it type by type and must be kept in step with it.

use std::fmt::Write as _;

/// Canonical type tags. A value's tag is part of its encoding, so a NULL never equals an empty
/// string, a zero or the text `NULL`.
pub mod tag {
    /// SQL NULL.
    pub const NULL: u8 = 0;
    /// Boolean: payload one byte, 0 or 1.
    pub const BOOL: u8 = 1;
    /// Exact number (every integer width and every decimal): sign byte, exponent, digits.
    pub const NUMBER: u8 = 2;
    /// Floating point: the IEEE-754 bits of the double, big-endian.
    pub const FLOAT: u8 = 3;
    /// Text: the stored bytes (UTF-8; invalid bytes are kept as they are).
    pub const TEXT: u8 = 4;
    /// Bytes.
    pub const BYTES: u8 = 5;
    /// Date: days since 1970-01-01, i32 big-endian.
    pub const DATE: u8 = 6;
    /// Time of day (or MySQL duration): nanoseconds, i64 big-endian.
    pub const TIME: u8 = 7;
    /// Timestamp: UTC seconds since the epoch (i64 BE) then nanoseconds (u32 BE).
    pub const TIMESTAMP: u8 = 8;
    /// UUID: 16 bytes.
    pub const UUID: u8 = 9;
    /// JSON: serialised with sorted keys and no whitespace.
    pub const JSON: u8 = 10;
}

/// The logical type a column is compared as. Each side maps its engine type to a `Kind`;
/// [`Kind::unify`] chooses the comparison kind of a column from both sides' kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Booleans, including MySQL `tinyint(1)`.
    Bool,
    /// Integers of every width and decimals: compared by exact numeric value.
    Number,
    /// `real`, `double`, `float`.
    Float,
    /// Variable-length text.
    Text,
    /// Fixed-length `CHAR(n)`: pad spaces removed, as the SQL standard compares them.
    Char,
    /// Binary strings.
    Bytes,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Timestamp, with or without time zone (naive ones are taken as they are, as if UTC).
    Timestamp,
    /// UUID.
    Uuid,
    /// JSON document, compared as a value.
    Json,
}

impl Kind {
    /// The kind a column is compared as when one side stores it as `a` and the other as `b`,
    /// or `None` when no value of one could equal a value of the other.
    pub fn unify(a: Kind, b: Kind) -> Option<Kind> {
        use Kind::*;
        let text = |k: Kind| matches!(k, Text | Char);
        Some(match (a, b) {
            (x, y) if x == y => x,
            (x, y) if text(x) && text(y) => Text,
            (Bool, Number) | (Number, Bool) => Bool,
            (Float, Number) | (Number, Float) => Number,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            (Bytes, Uuid) | (Uuid, Bytes) => Uuid,
            (x, other) | (other, x) if text(x) && !matches!(other, Bytes) => other,
            _ => return None,
        })
    }

    /// The kind of a name as [`Kind::name`] gives it (`char` is not accepted: it is a storage form).
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Bool,
            Kind::Number,
            Kind::Float,
            Kind::Text,
            Kind::Bytes,
            Kind::Date,
            Kind::Time,
            Kind::Timestamp,
            Kind::Uuid,
            Kind::Json,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Number => "number",
            Kind::Float => "float",
            Kind::Text => "text",
            Kind::Char => "char",
            Kind::Bytes => "bytes",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::Timestamp => "timestamp",
            Kind::Uuid => "uuid",
            Kind::Json => "json",
        }
    }
}

/// A value as a connector decoded it, borrowed from the connector's buffer.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A decimal in text form, such as `-001.500` or `1.5E+3`.
    DecimalText(&'a [u8]),
    /// A decimal already split into sign, ASCII digits and exponent: value = ±0.digits × 10^exp.
    Decimal {
        negative: bool,
        digits: &'a [u8],
        exp: i32,
    },
    /// A double.
    Float(f64),
    /// A single-precision float (kept at its float32 value).
    Float32(f32),
    /// Text as stored; may hold bytes that are not UTF-8.
    Text(&'a [u8]),
    /// Binary data.
    Bytes(&'a [u8]),
    /// Days since 1970-01-01.
    Date(i32),
    /// Nanoseconds since midnight (may be negative or over a day for MySQL `TIME`).
    Time(i64),
    /// UTC seconds since the epoch and nanoseconds.
    Timestamp { secs: i64, nanos: u32 },
    /// A UUID.
    Uuid([u8; 16]),
    /// JSON text.
    Json(&'a [u8]),
}

/// How a column of one side is encoded: its native kind there, the comparison kind, and the
/// normalisations the config asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnCodec {
    /// The kind the engine stores the column as.
    pub native: Kind,
    /// The kind both sides compare the column as.
    pub compare: Kind,
    /// Normalisations applied on this side (none by default: strict).
    pub norm: Norm,
}

impl ColumnCodec {
    /// A strict codec: no normalisation.
    pub const fn new(native: Kind, compare: Kind) -> ColumnCodec {
        ColumnCodec {
            native,
            compare,
            norm: Norm::NONE,
        }
    }
}

/// Normalisations of one column on one side, applied in the canonical layer so that
/// fingerprints and row diffs agree. Each is off unless the config turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Norm {
    /// Remove leading and trailing white space from text.
    pub trim: bool,
    /// Compare text in lower case.
    pub case_insensitive: bool,
    /// An empty text is NULL.
    pub null_equals_empty: bool,
    /// Round numbers to this many decimal places (half away from zero).
    pub decimal_scale: Option<i16>,
    /// Round floats to this many significant digits.
    pub float_digits: Option<u8>,
    /// Truncate timestamps and times to this unit, in nanoseconds (1000 = microseconds).
    pub time_unit_nanos: Option<u32>,
    /// The zone of naive timestamps on this side; they are converted to UTC.
    pub zone: Option<chrono_tz::Tz>,
}

impl Norm {
    /// No normalisation.
    pub const NONE: Norm = Norm {
        trim: false,
        case_insensitive: false,
        null_equals_empty: false,
        decimal_scale: None,
        float_digits: None,
        time_unit_nanos: None,
        zone: None,
    };
}

/// What went wrong while encoding one value; counted per column, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeNote {
    /// Text that is not valid UTF-8; kept as bytes.
    InvalidUtf8,
    /// A value that could not be converted to the comparison kind; kept as its native value.
    NotConvertible,
}

/// Appends the canonical encoding of `cell`, converted to `codec.compare`, to `out`.
/// Returns a note when the value was kept as it was (invalid UTF-8, not convertible).
pub fn encode(cell: Cell<'_>, codec: ColumnCodec, out: &mut Vec<u8>) -> Option<EncodeNote> {
    let start = out.len();
    let cell = match (cell, codec.norm.zone) {
        (Cell::Timestamp { secs, nanos }, Some(zone)) => {
            let secs = local_to_utc(secs, zone);
            Cell::Timestamp { secs, nanos }
        }
        _ => cell,
    };
    let note = encode_strict(cell, codec, out);
    if codec.norm != Norm::NONE {
        normalise_encoded(out, start, &codec.norm);
    }
    note
}

/// UTC seconds of a wall-clock time (given as seconds as if UTC) in `zone`. A time that does not
/// exist (spring forward) is taken after the gap; an ambiguous one (fall back), the earlier.
/// The IANA time zone of a name (`Europe/Berlin`, `UTC`), if there is one.
pub fn zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}

fn local_to_utc(secs: i64, zone: chrono_tz::Tz) -> i64 {
    use chrono::TimeZone as _;
    let Some(naive) = chrono::DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc()) else {
        return secs;
    };
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.timestamp(),
        chrono::LocalResult::None => zone
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map_or(secs, |t| t.timestamp()),
    }
}

/// Applies the value-level normalisations to the cell just encoded at `out[start..]`.
fn normalise_encoded(out: &mut Vec<u8>, start: usize, n: &Norm) {
    let tag = out[start];
    let payload = out[start + 5..].to_vec();
    match tag {
        tag::TEXT if n.trim || n.case_insensitive || n.null_equals_empty => {
            let mut t: std::borrow::Cow<'_, [u8]> = payload.as_slice().into();
            if n.trim {
                t = match std::str::from_utf8(&t) {
                    Ok(s) => s.trim().as_bytes().to_vec().into(),
                    Err(_) => t.trim_ascii().to_vec().into(),
                };
            }
            if n.case_insensitive {
                t = match std::str::from_utf8(&t) {
                    Ok(s) => s.to_lowercase().into_bytes().into(),
                    Err(_) => t.to_ascii_lowercase().into(),
                };
            }
            out.truncate(start);
            if n.null_equals_empty && t.is_empty() {
                put(out, tag::NULL, &[]);
            } else {
                put(out, tag::TEXT, &t);
            }
        }
        tag::NUMBER if n.decimal_scale.is_some() && payload[0] != 1 => {
            let scale = n.decimal_scale.unwrap_or(0) as i64;
            let exp = i32::from_be_bytes(payload[1..5].try_into().unwrap_or_default()) as i64;
            let digits = &payload[5..];
            let keep = exp + scale;
            if keep >= digits.len() as i64 {
                return;
            }
            out.truncate(start);
            if keep < 0 {
                put_number_digits(out, false, b"0", None);
                return;
            }
            // Round half away from zero on the kept digits.
            let mut kept: Vec<u8> = digits[..keep as usize].to_vec();
            let mut exp = exp as i32;
            if digits[keep as usize] >= b'5' {
                let mut i = kept.len();
                loop {
                    if i == 0 {
                        kept.insert(0, b'1');
                        exp += 1;
                        break;
                    }
                    i -= 1;
                    if kept[i] == b'9' {
                        kept[i] = b'0';
                    } else {
                        kept[i] += 1;
                        break;
                    }
                }
            }
            if kept.is_empty() {
                kept.push(b'0');
            }
            put_number_digits(out, payload[0] == 0, &kept, Some(exp));
        }
        tag::FLOAT if n.float_digits.is_some() => {
            let f = f64::from_bits(u64::from_be_bytes(
                payload[..8].try_into().unwrap_or_default(),
            ));
            if f.is_finite() && f != 0.0 {
                let digits = n.float_digits.unwrap_or(15).clamp(1, 17) as usize;
                let rounded: f64 = format!("{:.*e}", digits - 1, f).parse().unwrap_or(f);
                out.truncate(start);
                put_float(out, rounded);
            }
        }
        tag::TIMESTAMP if n.time_unit_nanos.is_some() => {
            let unit = n.time_unit_nanos.unwrap_or(1).max(1);
            let nanos = u32::from_be_bytes(payload[8..12].try_into().unwrap_or_default());
            out[start + 13..start + 17].copy_from_slice(&(nanos - nanos % unit).to_be_bytes());
        }
        tag::TIME if n.time_unit_nanos.is_some() => {
            let unit = n.time_unit_nanos.unwrap_or(1).max(1) as i64;
            let t = i64::from_be_bytes(payload[..8].try_into().unwrap_or_default());
            out[start + 5..start + 13].copy_from_slice(&(t - t.rem_euclid(unit)).to_be_bytes());
        }
        _ => {}
    }
}

fn encode_strict(cell: Cell<'_>, codec: ColumnCodec, out: &mut Vec<u8>) -> Option<EncodeNote> {
    let mut note = None;
    match (cell, codec.compare) {
        (Cell::Null, _) => put(out, tag::NULL, &[]),
        (Cell::Bool(b), _) => put(out, tag::BOOL, &[b as u8]),
        (Cell::Int(i), Kind::Bool) if i == 0 || i == 1 => put(out, tag::BOOL, &[i as u8]),
        (Cell::UInt(i), Kind::Bool) if i <= 1 => put(out, tag::BOOL, &[i as u8]),
        (Cell::Int(i), Kind::Float) => put_float(out, i as f64),
        (Cell::Int(i), _) => {
            put_number_digits(out, i < 0, digits_of(i.unsigned_abs(), &mut [0; 20]), None)
        }
        (Cell::UInt(i), _) => put_number_digits(out, false, digits_of(i, &mut [0; 20]), None),
        (Cell::DecimalText(t), _) => {
            if !put_decimal_text(out, t) {
                note = Some(EncodeNote::NotConvertible);
                encode_text(t, codec, out, &mut note);
            }
        }
        (
            Cell::Decimal {
                negative,
                digits,
                exp,
            },
            _,
        ) => put_number_digits(out, negative, digits, Some(exp)),
        (Cell::Float(f), Kind::Number) if f.is_finite() => put_float_as_number(out, f),
        (Cell::Float32(f), Kind::Number) if f.is_finite() => put_float_as_number(out, f as f64),
        (Cell::Float(f), _) => put_float(out, f),
        (Cell::Float32(f), _) => put_float(out, f as f64),
        (Cell::Text(t), _) => encode_text(t, codec, out, &mut note),
        (Cell::Bytes(b), Kind::Uuid) if b.len() == 16 => put(out, tag::UUID, b),
        (Cell::Bytes(b), _) => put(out, tag::BYTES, b),
        (Cell::Date(d), Kind::Timestamp) => put_timestamp(out, d as i64 * 86_400, 0),
        (Cell::Date(d), _) => put(out, tag::DATE, &d.to_be_bytes()),
        (Cell::Time(t), _) => put(out, tag::TIME, &t.to_be_bytes()),
        (Cell::Timestamp { secs, nanos }, _) => put_timestamp(out, secs, nanos),
        (Cell::Uuid(u), _) => put(out, tag::UUID, &u),
        (Cell::Json(j), _) => {
            if !put_json(out, j) {
                note = Some(EncodeNote::NotConvertible);
                encode_text(j, codec, out, &mut note);
            }
        }
    }
    note
}

fn encode_text(t: &[u8], codec: ColumnCodec, out: &mut Vec<u8>, note: &mut Option<EncodeNote>) {
    let t = if codec.native == Kind::Char {
        trim_pad(t)
    } else {
        t
    };
    let converted = match codec.compare {
        Kind::Text | Kind::Char | Kind::Bytes => false,
        Kind::Number => put_decimal_text(out, t),
        Kind::Float => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(|f| put_float(out, f))
            .is_some(),
        Kind::Bool => match t {
            b"0" | b"f" | b"false" | b"FALSE" | b"False" => {
                put(out, tag::BOOL, &[0]);
                true
            }
            b"1" | b"t" | b"true" | b"TRUE" | b"True" => {
                put(out, tag::BOOL, &[1]);
                true
            }
            _ => false,
        },
        Kind::Date => parse_date(t)
            .map(|d| put(out, tag::DATE, &d.to_be_bytes()))
            .is_some(),
        Kind::Time => parse_time(t)
            .map(|n| put(out, tag::TIME, &n.to_be_bytes()))
            .is_some(),
        Kind::Timestamp => parse_timestamp_offset(t)
            .map(|(s, n, has_offset)| match codec.norm.zone {
                // Text without an offset is a wall-clock time in the side's zone.
                Some(zone) if !has_offset => put_timestamp(out, local_to_utc(s, zone), n),
                _ => put_timestamp(out, s, n),
            })
            .is_some(),
        Kind::Uuid => parse_uuid(t).map(|u| put(out, tag::UUID, &u)).is_some(),
        Kind::Json => put_json(out, t),
    };
    if converted {
        return;
    }
    if !matches!(codec.compare, Kind::Text | Kind::Char | Kind::Bytes) {
        *note = Some(EncodeNote::NotConvertible);
    }
    if std::str::from_utf8(t).is_err() {
        *note = Some(EncodeNote::InvalidUtf8);
    }
    put(out, tag::TEXT, t);
}

/// Removes the pad spaces that `CHAR(n)` adds.
fn trim_pad(t: &[u8]) -> &[u8] {
    let end = t.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    &t[..end]
}

#[inline]
fn put(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.reserve(5 + payload.len());
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

fn put_float(out: &mut Vec<u8>, f: f64) {
    let f = if f == 0.0 {
        0.0
    } else if f.is_nan() {
        f64::NAN
    } else {
        f
    };
    put(out, tag::FLOAT, &f.to_bits().to_be_bytes());
}

fn put_timestamp(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    let mut p = [0u8; 12];
    p[..8].copy_from_slice(&secs.to_be_bytes());
    p[8..].copy_from_slice(&nanos.to_be_bytes());
    put(out, tag::TIMESTAMP, &p);
}

fn put_float_as_number(out: &mut Vec<u8>, f: f64) {
    // Rust prints the shortest text that reads back as the same double.
    let text = format!("{f:e}");
    let ok = put_decimal_text(out, text.as_bytes());
    debug_assert!(ok, "a finite float always has a decimal text");
}

/// The decimal digits of `v`, written into `buf` without allocating.
fn digits_of(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// Encodes ±0.`digits` × 10^`exp` (or, with `exp = None`, the integer `digits`) canonically:
/// payload = sign (0 negative, 1 zero, 2 positive), exponent i32 BE, significant digits
/// without leading or trailing zeros.
fn put_number_digits(out: &mut Vec<u8>, negative: bool, digits: &[u8], exp: Option<i32>) {
    let lead = digits.iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[lead..];
    let trail = digits.iter().rev().take_while(|&&d| d == b'0').count();
    let sig = &digits[..digits.len() - trail];
    out.reserve(10 + sig.len());
    out.push(tag::NUMBER);
    if sig.is_empty() {
        out.extend_from_slice(&1u32.to_le_bytes());
        out.push(1);
        return;
    }
    // For an integer the point sits after the last digit; for a fraction `exp` says where.
    let exp = match exp {
        None => digits.len() as i32,
        Some(e) => e - lead as i32,
    };
    out.extend_from_slice(&((5 + sig.len()) as u32).to_le_bytes());
    out.push(if negative { 0 } else { 2 });
    out.extend_from_slice(&exp.to_be_bytes());
    out.extend_from_slice(sig);
}

/// Parses decimal text (`-001.50`, `+.5`, `1.5E-3`) and encodes it; false if it is not a number.
fn put_decimal_text(out: &mut Vec<u8>, t: &[u8]) -> bool {
    let mut s = t;
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    let mut negative = false;
    if let [sign @ (b'-' | b'+'), rest @ ..] = s {
        negative = *sign == b'-';
        s = rest;
    }
    let (mantissa, exponent) = match s.iter().position(|&b| b == b'e' || b == b'E') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &mantissa[mantissa.len()..]),
    };
    if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return false;
    }
    let mut e: i64 = 0;
    if let Some(x) = exponent {
        let Some(v) = std::str::from_utf8(x)
            .ok()
            .and_then(|x| x.parse::<i32>().ok())
        else {
            return false;
        };
        e = v as i64;
    }
    let mut digits = Vec::with_capacity(int.len() + frac.len());
    digits.extend_from_slice(int);
    digits.extend_from_slice(frac);
    let exp = int.len() as i64 + e;
    let Ok(exp) = i32::try_from(exp) else {
        return false;
    };
    put_number_digits(out, negative, &digits, Some(exp));
    true
}

fn put_json(out: &mut Vec<u8>, t: &[u8]) -> bool {
    // serde_json's default map is ordered by key, so re-serialising sorts every object; numbers
    // keep their digits (arbitrary_precision) and are rewritten in one exact decimal form, so
    // `1.0` equals `1` and `1e2` equals `100`, but no two different numbers are ever equal.
    match serde_json::from_slice::<serde_json::Value>(t) {
        Ok(mut v) => {
            if !canonical_numbers(&mut v) {
                return false;
            }
            match serde_json::to_vec(&v) {
                Ok(text) => {
                    put(out, tag::JSON, &text);
                    true
                }
                Err(_) => false,
            }
        }
        Err(_) => false,
    }
}

/// Rewrites every number of a JSON value in exact plain decimal form; false if one is not a
/// number cutover can read exactly.
fn canonical_numbers(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            let Some(d) = crate::decimal::Decimal::parse(&n.to_string()) else {
                return false;
            };
            match d.exact_text().parse::<serde_json::Number>() {
                Ok(exact) => {
                    *n = exact;
                    true
                }
                Err(_) => false,
            }
        }
        Value::Array(items) => items.iter_mut().all(canonical_numbers),
        Value::Object(map) => map.values_mut().all(canonical_numbers),
        _ => true,
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(t: &[u8]) -> Option<i64> {
    if t.is_empty() || t.len() > 18 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(t.iter().fold(0i64, |a, &b| a * 10 + (b - b'0') as i64))
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(t: &[u8]) -> Option<i32> {
    let t = t.trim_ascii();
    let (neg, t) = match t {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, t),
    };
    let mut parts = t.splitn(3, |&b| b == b'-');
    let y = num(parts.next()?)?;
    let m = num(parts.next()?)? as u32;
    let d = num(parts.next()?)? as u32;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(if neg { -y } else { y }, m) {
        return None;
    }
    i32::try_from(days_from_civil(if neg { -y } else { y }, m, d)).ok()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `HH:MM:SS[.fffffffff]` into nanoseconds.
pub fn parse_time(t: &[u8]) -> Option<i64> {
    let t = t.trim_ascii();
    let (neg, t) = match t {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, t),
    };
    let (hms, frac) = match t.iter().position(|&b| b == b'.') {
        Some(p) => (&t[..p], &t[p + 1..]),
        None => (t, &t[t.len()..]),
    };
    let mut parts = hms.splitn(3, |&b| b == b':');
    let h = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let s = num(parts.next()?)?;
    if m > 59 || s > 60 || frac.len() > 9 || (!frac.is_empty() && num(frac).is_none()) {
        return None;
    }
    let mut nanos = 0i64;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |&b| (b - b'0') as i64);
    }
    let v = ((h * 60 + m) * 60 + s) * 1_000_000_000 + nanos;
    Some(if neg { -v } else { v })
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.f][Z|±HH[:MM]]` into UTC seconds and nanoseconds.
/// Text without an offset is taken as it is (as if UTC).
pub fn parse_timestamp(t: &[u8]) -> Option<(i64, u32)> {
    parse_timestamp_offset(t).map(|(s, n, _)| (s, n))
}

/// Like [`parse_timestamp`], and says whether the text carried a zone offset.
fn parse_timestamp_offset(t: &[u8]) -> Option<(i64, u32, bool)> {
    let t = t.trim_ascii();
    if t.len() < 10 {
        return None;
    }
    let days = parse_date(&t[..10])? as i64;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some((days * 86_400, 0, false));
    }
    let rest = match rest {
        [b' ' | b'T', r @ ..] => r,
        _ => return None,
    };
    // Split off a zone suffix.
    let (time, offset_secs, has_offset) = if let [r @ .., b'Z'] = rest {
        (r, 0, true)
    } else if let Some(p) = rest
        .iter()
        .rposition(|&b| b == b'+' || b == b'-')
        .filter(|&p| p >= 5)
    {
        let z = &rest[p + 1..];
        let (hh, mm) = match z.iter().position(|&b| b == b':') {
            Some(c) => (num(&z[..c])?, num(&z[c + 1..])?),
            None if z.len() == 4 => (num(&z[..2])?, num(&z[2..])?),
            None => (num(z)?, 0),
        };
        let off = hh * 3600 + mm * 60;
        (&rest[..p], if rest[p] == b'-' { -off } else { off }, true)
    } else {
        (rest, 0, false)
    };
    let nanos_of_day = parse_time(time)?;
    if !(0..86_401 * 1_000_000_000).contains(&nanos_of_day) {
        return None;
    }
    let secs = days * 86_400 + nanos_of_day / 1_000_000_000 - offset_secs;
    Some((secs, (nanos_of_day % 1_000_000_000) as u32, has_offset))
}

/// Parses a UUID in its hyphenated or plain hex form.
pub fn parse_uuid(t: &[u8]) -> Option<[u8; 16]> {
    let t = t.trim_ascii();
    let t = t
        .strip_prefix(b"{")
        .and_then(|t| t.strip_suffix(b"}"))
        .unwrap_or(t);
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut hi: Option<u8> = None;
    for &b in t {
        if b == b'-' {
            continue;
        }
        let v = (b as char).to_digit(16)? as u8;
        match hi.take() {
            None => hi = Some(v),
            Some(h) => {
                *out.get_mut(n)? = h << 4 | v;
                n += 1;
            }
        }
    }
    (n == 16 && hi.is_none()).then_some(out)
}

/// A decoded canonical value, for reports: `None` is NULL.
pub fn display(cell: &[u8]) -> Option<String> {
    let (tag, payload) = split(cell);
    Some(match tag {
        tag::NULL => return None,
        tag::BOOL => (if payload[0] == 1 { "true" } else { "false" }).to_string(),
        tag::NUMBER => display_number(payload),
        tag::FLOAT => {
            let f = f64::from_bits(u64::from_be_bytes(payload.try_into().unwrap_or_default()));
            format!("{f:?}")
        }
        tag::TEXT => display_text(payload),
        tag::BYTES => {
            let mut s = String::from("\\x");
            for b in payload {
                let _ = write!(s, "{b:02x}");
            }
            s
        }
        tag::DATE => {
            let (y, m, d) =
                civil_from_days(i32::from_be_bytes(payload.try_into().unwrap_or_default()) as i64);
            format!("{y:04}-{m:02}-{d:02}")
        }
        tag::TIME => display_time(i64::from_be_bytes(payload.try_into().unwrap_or_default())),
        tag::TIMESTAMP => {
            let secs = i64::from_be_bytes(payload[..8].try_into().unwrap_or_default());
            let nanos = u32::from_be_bytes(payload[8..12].try_into().unwrap_or_default());
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let tod = secs.rem_euclid(86_400) * 1_000_000_000 + nanos as i64;
            format!("{y:04}-{m:02}-{d:02} {}", display_time(tod))
        }
        tag::UUID => {
            let h: String = payload.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )
        }
        tag::JSON => String::from_utf8_lossy(payload).into_owned(),
        _ => format!("<unknown tag {tag}>"),
    })
}

/// Appends the text that checksums in the database hash for one encoded cell: `N` for NULL,
/// `<bytes>:<text>` for text, and `<value>,` for every other kind, where the value is its plain
/// rendering (numbers without trailing zeros, `YYYY-MM-DD HH:MM:SS.fff` with the fraction's
/// trailing zeros dropped, lower-case hex bytes and UUIDs, `0`/`1` for booleans). A row's cells
/// joined this way can be read back one by one when the column kinds are known, so two rows
/// with different values never give the same text. False for floats and JSON, whose renderings
/// differ between engines: those columns are not checksummed.
pub fn checksum_text(cell: &[u8], out: &mut Vec<u8>) -> bool {
    checksum_text_scaled(cell, None, out)
}

/// [`checksum_text`], with numbers written with at least `scale` fraction digits (`1.5` as
/// `1.50` for a scale of 2), as engines print a decimal column of that declared scale, when
/// both sides declare it: the engines then print their values without trimming zeros.
pub fn checksum_text_scaled(cell: &[u8], scale: Option<u32>, out: &mut Vec<u8>) -> bool {
    let (tag, payload) = split(cell);
    match tag {
        tag::NULL => out.push(b'N'),
        tag::TEXT => {
            out.extend_from_slice(payload.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(payload);
        }
        tag::FLOAT | tag::JSON => return false,
        tag::BYTES => {
            for b in payload {
                let _ = write!(HexOut(out), "{b:02x}");
            }
            out.push(b',');
        }
        tag::BOOL => {
            out.push(if payload.first() == Some(&1) {
                b'1'
            } else {
                b'0'
            });
            out.push(b',');
        }
        tag::NUMBER | tag::DATE | tag::TIME | tag::TIMESTAMP | tag::UUID => {
            let Some(mut text) = display(cell) else {
                return false;
            };
            if let (tag::NUMBER, Some(scale)) = (tag, scale.filter(|s| *s > 0))
                && !text.contains('e')
            {
                let have = text.find('.').map_or(0, |p| text.len() - p - 1) as u32;
                if have == 0 {
                    text.push('.');
                }
                text.extend(std::iter::repeat_n(
                    '0',
                    scale.saturating_sub(have) as usize,
                ));
            }
            out.extend_from_slice(text.as_bytes());
            out.push(b',');
        }
        _ => return false,
    }
    true
}

/// Writes formatted text into a byte buffer.
struct HexOut<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for HexOut<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The value of an encoded number or float, for tolerances; `None` for anything else.
pub fn numeric_value(cell: &[u8]) -> Option<f64> {
    match cell.first() {
        Some(&tag::NUMBER) => display(cell)?.parse().ok(),
        Some(&tag::FLOAT) => Some(f64::from_bits(u64::from_be_bytes(
            cell.get(5..13)?.try_into().ok()?,
        ))),
        _ => None,
    }
}

/// The canonical kind name of an encoded cell, for reports.
pub fn tag_name(cell: &[u8]) -> &'static str {
    match cell.first().copied().unwrap_or(tag::NULL) {
        tag::NULL => "null",
        tag::BOOL => "bool",
        tag::NUMBER => "number",
        tag::FLOAT => "float",
        tag::TEXT => "text",
        tag::BYTES => "bytes",
        tag::DATE => "date",
        tag::TIME => "time",
        tag::TIMESTAMP => "timestamp",
        tag::UUID => "uuid",
        tag::JSON => "json",
        _ => "unknown",
    }
}

/// Splits an encoded cell into its tag and payload.
pub fn split(cell: &[u8]) -> (u8, &[u8]) {
    (cell[0], &cell[5..])
}

/// The length of the encoded cell that starts at `buf[0]`.
#[inline]
pub fn cell_len(buf: &[u8]) -> usize {
    5 + u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize
}

fn display_time(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let (s, frac) = (n / 1_000_000_000, n % 1_000_000_000);
    let mut out = format!("{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if frac != 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

fn display_text(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(s) => s.to_string(),
        Err(_) => {
            // Show invalid bytes as \xNN so the report says exactly what is stored.
            let mut out = String::new();
            for chunk in payload.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02X}");
                }
            }
            out
        }
    }
}

fn display_number(p: &[u8]) -> String {
    if p[0] == 1 {
        return "0".to_string();
    }
    let exp = i32::from_be_bytes(p[1..5].try_into().unwrap_or_default()) as i64;
    let digits = std::str::from_utf8(&p[5..]).unwrap_or("?");
    let mut s = String::new();
    if p[0] == 0 {
        s.push('-');
    }
    let n = digits.len() as i64;
    if exp <= 0 {
        if exp < -30 {
            return format!("{s}0.{digits}e{exp}");
        }
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-exp) as usize));
        s.push_str(digits);
    } else if exp >= n {
        if exp - n > 30 {
            return format!("{s}0.{digits}e{exp}");
        }
        s.push_str(digits);
        s.extend(std::iter::repeat_n('0', (exp - n) as usize));
    } else {
        s.push_str(&digits[..exp as usize]);
        s.push('.');
        s.push_str(&digits[exp as usize..]);
    }
    s
}

/// Appends an order-preserving encoding of an encoded cell to `out`: comparing two such
/// encodings byte by byte orders keys the way the engines order them in binary collation
/// (NULL first, numbers by value, text and bytes by bytes, times by instant).
pub fn key_encode(cell: &[u8], out: &mut Vec<u8>) {
    let (tag, p) = split(cell);
    out.push(tag);
    match tag {
        tag::NULL => {}
        tag::NUMBER => match p[0] {
            1 => out.push(1),
            sign => {
                out.push(sign);
                let exp = i32::from_be_bytes(p[1..5].try_into().unwrap_or_default());
                let body = out.len();
                out.extend_from_slice(&((exp as u32) ^ 0x8000_0000).to_be_bytes());
                out.extend_from_slice(&p[5..]);
                out.push(0);
                if sign == 0 {
                    out[body..].iter_mut().for_each(|b| *b = !*b);
                }
            }
        },
        tag::FLOAT => {
            let bits = u64::from_be_bytes(p.try_into().unwrap_or_default());
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits ^ (1 << 63)
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        tag::DATE | tag::TIME | tag::TIMESTAMP => {
            // Signed big-endian integers: flip the sign bit so they sort as unsigned bytes.
            out.push(p[0] ^ 0x80);
            out.extend_from_slice(&p[1..]);
        }
        tag::BOOL | tag::UUID => out.extend_from_slice(p),
        _ => {
            // Text, bytes, JSON: escape 0x00 so a prefix sorts first, then terminate.
            for &b in p {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(cell: Cell<'_>, native: Kind, compare: Kind) -> Vec<u8> {
        let mut out = Vec::new();
        encode(cell, ColumnCodec::new(native, compare), &mut out);
        out
    }

    fn num(text: &str) -> Vec<u8> {
        enc(
            Cell::DecimalText(text.as_bytes()),
            Kind::Number,
            Kind::Number,
        )
    }

    #[test]
    fn checksum_text_reads_back_one_cell_at_a_time() {
        let text = |cell: Vec<u8>, scale: Option<u32>| {
            let mut out = Vec::new();
            assert!(checksum_text_scaled(&cell, scale, &mut out));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(num("1.50"), None), "1.5,");
        assert_eq!(text(num("1.5"), Some(2)), "1.50,");
        assert_eq!(text(num("7"), Some(2)), "7.00,");
        assert_eq!(text(num("-0.5"), Some(2)), "-0.50,");
        assert_eq!(text(num("1.505"), Some(2)), "1.505,", "never cut");
        assert_eq!(text(num("0"), Some(2)), "0.00,");
        let t = |s: &str| enc(Cell::Text(s.as_bytes()), Kind::Text, Kind::Text);
        assert_eq!(text(t("a|b"), None), "3:a|b");
        assert_eq!(text(t(""), None), "0:");
        assert_eq!(text(enc(Cell::Null, Kind::Text, Kind::Text), None), "N");
        assert_eq!(
            text(enc(Cell::Bool(true), Kind::Bool, Kind::Bool), None),
            "1,"
        );
        let ts = Cell::Timestamp {
            secs: 86_400,
            nanos: 500_000_000,
        };
        assert_eq!(
            text(enc(ts, Kind::Timestamp, Kind::Timestamp), None),
            "1970-01-02 00:00:00.5,"
        );
        let mut out = Vec::new();
        let f = enc(Cell::Float(0.5), Kind::Float, Kind::Float);
        assert!(!checksum_text(&f, &mut out), "floats are not checksummed");
    }

    #[test]
    fn decimals_are_scale_normalised() {
        assert_eq!(num("1.50"), num("1.5"));
        assert_eq!(num("001.5"), num("1.5"));
        assert_eq!(num("1.5"), num("15E-1"));
        assert_eq!(num("0"), num("-0.000"));
        assert_eq!(num("100"), enc(Cell::Int(100), Kind::Number, Kind::Number));
        assert_eq!(num("-7"), enc(Cell::Int(-7), Kind::Number, Kind::Number));
        assert_ne!(num("1.5"), num("1.05"));
        assert_ne!(num("10"), num("1"));
        assert_eq!(display(&num("-0012.3400")).unwrap(), "-12.34");
        assert_eq!(display(&num("1200")).unwrap(), "1200");
        assert_eq!(display(&num("0.0012")).unwrap(), "0.0012");
    }

    #[test]
    fn floats_are_exact() {
        assert_eq!(
            enc(Cell::Float(-0.0), Kind::Float, Kind::Float),
            enc(Cell::Float(0.0), Kind::Float, Kind::Float)
        );
        let nan1 = enc(Cell::Float(f64::NAN), Kind::Float, Kind::Float);
        let nan2 = enc(Cell::Float(-f64::NAN), Kind::Float, Kind::Float);
        assert_eq!(nan1, nan2);
        // A real widened to double keeps its float32 value: a difference, not noise.
        assert_ne!(
            enc(Cell::Float32(0.1), Kind::Float, Kind::Float),
            enc(Cell::Float(0.1), Kind::Float, Kind::Float)
        );
        assert_eq!(enc(Cell::Float(0.1), Kind::Float, Kind::Number), num("0.1"));
    }

    #[test]
    fn null_is_not_empty_or_zero() {
        let null = enc(Cell::Null, Kind::Text, Kind::Text);
        assert_ne!(null, enc(Cell::Text(b""), Kind::Text, Kind::Text));
        assert_ne!(null, enc(Cell::Text(b"NULL"), Kind::Text, Kind::Text));
        assert_ne!(null, num("0"));
    }

    #[test]
    fn self_delimiting() {
        let mut a = enc(Cell::Text(b"ab"), Kind::Text, Kind::Text);
        a.extend(enc(Cell::Text(b"c"), Kind::Text, Kind::Text));
        let mut b = enc(Cell::Text(b"a"), Kind::Text, Kind::Text);
        b.extend(enc(Cell::Text(b"bc"), Kind::Text, Kind::Text));
        assert_ne!(a, b);
    }

    #[test]
    fn char_padding_removed_varchar_kept() {
        assert_eq!(
            enc(Cell::Text(b"ab  "), Kind::Char, Kind::Text),
            enc(Cell::Text(b"ab"), Kind::Text, Kind::Text)
        );
        assert_ne!(
            enc(Cell::Text(b"ab "), Kind::Text, Kind::Text),
            enc(Cell::Text(b"ab"), Kind::Text, Kind::Text)
        );
    }

    #[test]
    fn text_converts_to_the_other_sides_kind() {
        assert_eq!(
            enc(Cell::Text(b"2024-02-29"), Kind::Text, Kind::Date),
            enc(
                Cell::Date(days_from_civil(2024, 2, 29) as i32),
                Kind::Date,
                Kind::Date
            )
        );
        let ts = enc(
            Cell::Text(b"2024-01-01 10:00:00.5+02:00"),
            Kind::Text,
            Kind::Timestamp,
        );
        let secs = days_from_civil(2024, 1, 1) * 86_400 + 8 * 3600;
        assert_eq!(
            ts,
            enc(
                Cell::Timestamp {
                    secs,
                    nanos: 500_000_000
                },
                Kind::Timestamp,
                Kind::Timestamp
            )
        );
        assert_eq!(display(&ts).unwrap(), "2024-01-01 08:00:00.5");
        let u = enc(
            Cell::Text(b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            Kind::Text,
            Kind::Uuid,
        );
        assert_eq!(display(&u).unwrap(), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        let j1 = enc(
            Cell::Json(br#"{"b": 1, "a": [1, 2]}"#),
            Kind::Json,
            Kind::Json,
        );
        let j2 = enc(Cell::Text(br#"{"a":[1,2],"b":1}"#), Kind::Text, Kind::Json);
        assert_eq!(j1, j2);
    }

    #[test]
    fn json_numbers_are_compared_exactly() {
        let j = |t: &[u8]| enc(Cell::Json(t), Kind::Json, Kind::Json);
        assert_ne!(
            j(b"123456789012345678901234"),
            j(b"123456789012345678901235")
        );
        assert_ne!(j(b"[0.1000000000000000001]"), j(b"[0.1]"));
        assert_ne!(j(br#"{"a": 1e400}"#), j(br#"{"a": 1e401}"#));
        assert_ne!(j(b"[1e100000]"), j(b"[1e100001]"));
        assert!(display(&j(b"[1e100000]")).unwrap().len() < 100);
        assert_eq!(j(b"[1.0, 1e2, -0.50]"), j(b"[1, 100, -0.5]"));
        assert_eq!(display(&j(br#"{"n": 1.50e1}"#)).unwrap(), r#"{"n":15}"#);
    }

    #[test]
    fn invalid_utf8_is_kept_and_flagged() {
        let mut out = Vec::new();
        let note = encode(
            Cell::Text(b"caf\xe9"),
            ColumnCodec::new(Kind::Text, Kind::Text),
            &mut out,
        );
        assert_eq!(note, Some(EncodeNote::InvalidUtf8));
        assert_eq!(display(&out).unwrap(), "caf\\xE9");
    }

    #[test]
    fn civil_roundtrip() {
        for d in [-800_000i64, -1, 0, 1, 19_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn key_encoding_orders_like_binary_collation() {
        let key = |c: Vec<u8>| {
            let mut k = Vec::new();
            key_encode(&c, &mut k);
            k
        };
        let nums = [
            "-100", "-10.5", "-10", "-1", "0", "0.001", "1", "1.5", "10", "100",
        ];
        let keys: Vec<_> = nums.iter().map(|n| key(num(n))).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
        let texts: [&[u8]; 6] = [b"", b"B", b"_", b"a", b"ab", "é".as_bytes()];
        let keys: Vec<_> = texts
            .iter()
            .map(|t| key(enc(Cell::Text(t), Kind::Text, Kind::Text)))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        let ts: Vec<_> = [-5i64, 0, 7]
            .iter()
            .map(|&s| {
                key(enc(
                    Cell::Timestamp { secs: s, nanos: 0 },
                    Kind::Timestamp,
                    Kind::Timestamp,
                ))
            })
            .collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        let fl: Vec<_> = [-2.5f64, -0.5, 0.0, 0.5, 3.0]
            .iter()
            .map(|&f| key(enc(Cell::Float(f), Kind::Float, Kind::Float)))
            .collect();
        assert!(fl.windows(2).all(|w| w[0] < w[1]));
        assert!(key(enc(Cell::Null, Kind::Number, Kind::Number)) < key(num("-100")));
    }

    #[test]
    fn unify_kinds() {
        assert_eq!(Kind::unify(Kind::Bool, Kind::Number), Some(Kind::Bool));
        assert_eq!(Kind::unify(Kind::Char, Kind::Text), Some(Kind::Text));
        assert_eq!(Kind::unify(Kind::Text, Kind::Date), Some(Kind::Date));
        assert_eq!(Kind::unify(Kind::Bytes, Kind::Date), None);
        assert_eq!(Kind::unify(Kind::Text, Kind::Bytes), None);
        assert_eq!(Kind::unify(Kind::Bytes, Kind::Uuid), Some(Kind::Uuid));
    }

    fn normed(cell: Cell<'_>, native: Kind, compare: Kind, norm: Norm) -> Option<String> {
        let mut out = Vec::new();
        encode(
            cell,
            ColumnCodec {
                native,
                compare,
                norm,
            },
            &mut out,
        );
        display(&out)
    }

    #[test]
    fn decimal_scale_rounds_half_away_from_zero_with_carry() {
        let n = Norm {
            decimal_scale: Some(2),
            ..Norm::NONE
        };
        let r = |t: &str| {
            normed(
                Cell::DecimalText(t.as_bytes()),
                Kind::Number,
                Kind::Number,
                n,
            )
        };
        assert_eq!(r("1.005").as_deref(), Some("1.01"));
        assert_eq!(r("-1.005").as_deref(), Some("-1.01"));
        assert_eq!(r("9.995").as_deref(), Some("10"));
        assert_eq!(r("0.004").as_deref(), Some("0"));
        assert_eq!(r("0.005").as_deref(), Some("0.01"));
        assert_eq!(r("12.5").as_deref(), Some("12.5"));
        let whole = Norm {
            decimal_scale: Some(0),
            ..Norm::NONE
        };
        assert_eq!(
            normed(Cell::DecimalText(b"2.5"), Kind::Number, Kind::Number, whole).as_deref(),
            Some("3")
        );
    }

    #[test]
    fn text_normalisations() {
        let n = Norm {
            trim: true,
            case_insensitive: true,
            null_equals_empty: true,
            ..Norm::NONE
        };
        assert_eq!(
            normed(Cell::Text(" Grüße ".as_bytes()), Kind::Text, Kind::Text, n).as_deref(),
            Some("grüße")
        );
        assert_eq!(normed(Cell::Text(b"   "), Kind::Text, Kind::Text, n), None);
        assert_eq!(
            normed(Cell::Text(b" x "), Kind::Text, Kind::Text, Norm::NONE).as_deref(),
            Some(" x ")
        );
    }

    #[test]
    fn zones_and_precision() {
        let berlin = Norm {
            zone: Some(chrono_tz::Europe::Berlin),
            time_unit_nanos: Some(1_000_000),
            ..Norm::NONE
        };
        let summer = days_from_civil(2024, 7, 1) * 86_400 + 12 * 3600;
        let got = normed(
            Cell::Timestamp {
                secs: summer,
                nanos: 123_456_789,
            },
            Kind::Timestamp,
            Kind::Timestamp,
            berlin,
        );
        assert_eq!(got.as_deref(), Some("2024-07-01 10:00:00.123"));
        let text = normed(
            Cell::Text(b"2024-01-15 12:00:00"),
            Kind::Text,
            Kind::Timestamp,
            berlin,
        );
        assert_eq!(text.as_deref(), Some("2024-01-15 11:00:00"));
        // Text with its own offset is already an instant: the zone does not apply.
        let text = normed(
            Cell::Text(b"2024-01-15 12:00:00Z"),
            Kind::Text,
            Kind::Timestamp,
            berlin,
        );
        assert_eq!(text.as_deref(), Some("2024-01-15 12:00:00"));
        let digits = Norm {
            float_digits: Some(6),
            ..Norm::NONE
        };
        assert_eq!(
            normed(Cell::Float32(0.1), Kind::Float, Kind::Float, digits),
            normed(Cell::Float(0.1), Kind::Float, Kind::Float, digits)
        );
    }
}
