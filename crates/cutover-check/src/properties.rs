//! Property tests of the canonical layer, thousands of generated cases each: the key encoding
//! orders exactly as the values do, displayed values read back to the same encoding, and exact
//! decimal comparison agrees with integer arithmetic.

use crate::canonical::{self, Cell, ColumnCodec, Kind, display, encode, key_encode};
use crate::decimal::{Decimal, within};
use proptest::prelude::*;
use std::cmp::Ordering;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 4000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn enc(cell: Cell<'_>, kind: Kind) -> Vec<u8> {
    let mut out = Vec::new();
    encode(cell, ColumnCodec::new(kind, kind), &mut out);
    out
}

fn key(cell: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    key_encode(cell, &mut out);
    out
}

/// A decimal text `mantissa × 10^-scale` and its value as i128 at scale 6.
fn decimal_text(mantissa: i64, scale: u32) -> (String, i128) {
    let digits = mantissa.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if mantissa < 0 { "-" } else { "" };
    let text = if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    };
    (text, mantissa as i128 * 10i128.pow(6 - scale as u32))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn number_keys_order_as_the_numbers(a in any::<i64>(), sa in 0u32..=6, b in any::<i64>(), sb in 0u32..=6) {
        let ((ta, va), (tb, vb)) = (decimal_text(a, sa), decimal_text(b, sb));
        let (ka, kb) = (
            key(&enc(Cell::DecimalText(ta.as_bytes()), Kind::Number)),
            key(&enc(Cell::DecimalText(tb.as_bytes()), Kind::Number)),
        );
        prop_assert_eq!(ka.cmp(&kb), va.cmp(&vb), "{} vs {}", ta, tb);
    }

    #[test]
    fn integer_and_decimal_forms_of_a_number_are_one_value(a in any::<i64>(), zeros in 0usize..4) {
        let int = enc(Cell::Int(a), Kind::Number);
        let text = format!("{a}.{}", "0".repeat(zeros));
        let dec = enc(Cell::DecimalText(text.trim_end_matches('.').as_bytes()), Kind::Number);
        prop_assert_eq!(&int, &dec);
        // The displayed value reads back to the same encoding.
        let shown = display(&int).unwrap();
        prop_assert_eq!(enc(Cell::DecimalText(shown.as_bytes()), Kind::Number), int);
    }

    #[test]
    fn text_and_bytes_keys_order_as_their_bytes(a in proptest::collection::vec(any::<u8>(), 0..24), b in proptest::collection::vec(any::<u8>(), 0..24)) {
        for kind in [Kind::Text, Kind::Bytes] {
            let cell = |v: &[u8]| if kind == Kind::Text { enc(Cell::Text(v), kind) } else { enc(Cell::Bytes(v), kind) };
            prop_assert_eq!(key(&cell(&a)).cmp(&key(&cell(&b))), a.cmp(&b));
        }
    }

    #[test]
    fn null_sorts_before_every_value(a in any::<i64>(), t in "[a-z]{0,5}") {
        let null = key(&enc(Cell::Null, Kind::Number));
        prop_assert!(null < key(&enc(Cell::Int(a), Kind::Number)));
        prop_assert!(null < key(&enc(Cell::Text(t.as_bytes()), Kind::Text)));
    }

    #[test]
    fn timestamp_keys_order_as_instants(a in -4_000_000_000i64..4_000_000_000, na in 0u32..1_000_000_000, b in -4_000_000_000i64..4_000_000_000, nb in 0u32..1_000_000_000) {
        let ka = key(&enc(Cell::Timestamp { secs: a, nanos: na }, Kind::Timestamp));
        let kb = key(&enc(Cell::Timestamp { secs: b, nanos: nb }, Kind::Timestamp));
        prop_assert_eq!(ka.cmp(&kb), (a, na).cmp(&(b, nb)));
        // A timestamp reads back from its display.
        let cell = enc(Cell::Timestamp { secs: a, nanos: na }, Kind::Timestamp);
        let shown = display(&cell).unwrap();
        prop_assert_eq!(enc(Cell::Text(shown.as_bytes()), Kind::Timestamp), cell, "{}", shown);
    }

    #[test]
    fn date_keys_order_as_days_and_read_back(a in -700_000i32..700_000, b in -700_000i32..700_000) {
        let (ca, cb) = (enc(Cell::Date(a), Kind::Date), enc(Cell::Date(b), Kind::Date));
        prop_assert_eq!(key(&ca).cmp(&key(&cb)), a.cmp(&b));
        let shown = display(&ca).unwrap();
        prop_assert_eq!(enc(Cell::Text(shown.as_bytes()), Kind::Date), ca, "{}", shown);
    }

    #[test]
    fn float_keys_order_as_the_floats(a in -1e300f64..1e300, b in -1e300f64..1e300) {
        let (ka, kb) = (key(&enc(Cell::Float(a), Kind::Float)), key(&enc(Cell::Float(b), Kind::Float)));
        let expected = if a == b { Ordering::Equal } else { a.partial_cmp(&b).unwrap() };
        prop_assert_eq!(ka.cmp(&kb), expected);
    }

    #[test]
    fn exact_tolerance_agrees_with_integer_arithmetic(a in -10i64.pow(15)..10i64.pow(15), sa in 0u32..=6, b in -10i64.pow(15)..10i64.pow(15), sb in 0u32..=6, t in 0i64..10i64.pow(9), st in 0u32..=6) {
        let ((ta, va), (tb, vb), (tt, vt)) = (decimal_text(a, sa), decimal_text(b, sb), decimal_text(t, st));
        let d = |x: &str| Decimal::parse(x).unwrap();
        prop_assert_eq!(
            within(&d(&ta), &d(&tb), &d(&tt), &d("0")),
            (va - vb).abs() <= vt,
            "{} {} {}", ta, tb, tt
        );
    }

    #[test]
    fn any_bytes_as_any_kind_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40), k in 0usize..11) {
        let kinds = [Kind::Bool, Kind::Number, Kind::Float, Kind::Text, Kind::Char, Kind::Bytes, Kind::Date, Kind::Time, Kind::Timestamp, Kind::Uuid, Kind::Json];
        let kind = kinds[k];
        for cell in [Cell::Text(&bytes), Cell::DecimalText(&bytes), Cell::Json(&bytes)] {
            let mut out = Vec::new();
            encode(cell, ColumnCodec::new(Kind::Text, kind), &mut out);
            let _ = display(&out);
            let _ = key(&out);
            prop_assert_eq!(canonical::cell_len(&out), out.len());
        }
    }
}
