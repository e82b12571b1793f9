//! Exact decimal arithmetic for the few places where two numbers are compared with a
//! tolerance: `|a - b| ≤ absolute` or `|a - b| ≤ relative × max(|a|, |b|)`, computed on the
//! numbers' decimal digits, never through f64 (which makes 12345678901234567.89 and .80 equal).

use crate::canonical::{self, tag};
use std::cmp::Ordering;

/// The most digits an aligned operand may have; beyond it a comparison is answered "not within
/// the tolerance", which reports a difference rather than hides one.
const MAX_DIGITS: usize = 4096;

/// A decimal number: ±0.digits × 10^exp, with no leading or trailing zero digit (zero has no
/// digit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// ASCII digits.
    digits: Vec<u8>,
    exp: i32,
}

impl Decimal {
    /// The number of an encoded canonical NUMBER cell.
    pub fn from_cell(cell: &[u8]) -> Option<Decimal> {
        if cell.first() != Some(&tag::NUMBER) {
            return None;
        }
        let p = cell.get(5..)?;
        match p.first()? {
            1 => Some(Decimal::zero()),
            sign @ (0 | 2) => Some(Decimal {
                negative: *sign == 0,
                exp: i32::from_be_bytes(p.get(1..5)?.try_into().ok()?),
                digits: p.get(5..)?.to_vec(),
            }),
            _ => None,
        }
    }

    /// The number a decimal text (`-12.50`, `1.5E-3`) or the shortest text of a float stands for.
    pub fn parse(text: &str) -> Option<Decimal> {
        let mut cell = Vec::new();
        let codec = crate::ColumnCodec::new(crate::Kind::Number, crate::Kind::Number);
        match canonical::encode(
            canonical::Cell::DecimalText(text.as_bytes()),
            codec,
            &mut cell,
        ) {
            None => Decimal::from_cell(&cell),
            Some(_) => None,
        }
    }

    /// The exact value of a float (through its shortest round-trip text); `None` for NaN and
    /// infinities.
    pub fn from_f64(f: f64) -> Option<Decimal> {
        f.is_finite()
            .then(|| Decimal::parse(&f.to_string()))
            .flatten()
    }

    /// An exact text of the number: plain decimal notation, or `±0.DIGITSeEXP` when the plain
    /// form would be longer than a thousand digits.
    pub fn exact_text(&self) -> String {
        if self.exp.unsigned_abs() <= 1000 {
            return self.to_string();
        }
        format!(
            "{}0.{}e{}",
            if self.negative { "-" } else { "" },
            String::from_utf8_lossy(&self.digits),
            self.exp
        )
    }

    fn zero() -> Decimal {
        Decimal {
            negative: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// The integer mantissa (decimal digits, most significant first) and the power of ten.
    fn mantissa(&self) -> (Vec<u8>, i64) {
        if self.digits.is_empty() {
            return (vec![0], 0);
        }
        let digits = self.digits.iter().map(|d| d - b'0').collect();
        (digits, self.exp as i64 - self.digits.len() as i64)
    }
}

impl std::fmt::Display for Decimal {
    /// Plain decimal notation: `-12.5`, `0.001`, `1200`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        let digits = std::str::from_utf8(&self.digits).map_err(|_| std::fmt::Error)?;
        let sign = if self.negative { "-" } else { "" };
        let exp = self.exp as i64;
        let len = digits.len() as i64;
        if exp <= 0 {
            write!(f, "{sign}0.{}{digits}", "0".repeat((-exp) as usize))
        } else if exp >= len {
            write!(f, "{sign}{digits}{}", "0".repeat((exp - len) as usize))
        } else {
            let (int, frac) = digits.split_at(exp as usize);
            write!(f, "{sign}{int}.{frac}")
        }
    }
}

/// An unsigned integer as decimal digit values (most significant first), without leading zeros.
fn trim(mut v: Vec<u8>) -> Vec<u8> {
    let lead = v
        .iter()
        .take_while(|&&d| d == 0)
        .count()
        .min(v.len().saturating_sub(1));
    v.drain(..lead);
    v
}

fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn add(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let (mut i, mut j, mut carry) = (a.len(), b.len(), 0u8);
    while i > 0 || j > 0 || carry > 0 {
        let x = if i > 0 {
            i -= 1;
            a[i]
        } else {
            0
        };
        let y = if j > 0 {
            j -= 1;
            b[j]
        } else {
            0
        };
        let s = x + y + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    out.reverse();
    trim(out)
}

/// `a - b` for `a >= b`.
fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let (mut i, mut j, mut borrow) = (a.len(), b.len(), 0i8);
    while i > 0 {
        i -= 1;
        let y = if j > 0 {
            j -= 1;
            b[j] as i8
        } else {
            0
        };
        let mut d = a[i] as i8 - y - borrow;
        borrow = i8::from(d < 0);
        if d < 0 {
            d += 10;
        }
        out.push(d as u8);
    }
    out.reverse();
    trim(out)
}

fn mul(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut acc = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate().rev() {
        for (j, &y) in b.iter().enumerate().rev() {
            acc[i + j + 1] += x as u32 * y as u32;
        }
    }
    for k in (1..acc.len()).rev() {
        acc[k - 1] += acc[k] / 10;
        acc[k] %= 10;
    }
    trim(acc.into_iter().map(|d| d as u8).collect())
}

/// The mantissa shifted to the power `to` (≤ its own power), or `None` past the size bound.
fn align((digits, power): (Vec<u8>, i64), to: i64) -> Option<Vec<u8>> {
    let shift = usize::try_from(power - to).ok()?;
    if digits.len() + shift > MAX_DIGITS {
        return None;
    }
    let mut v = digits;
    v.extend(std::iter::repeat_n(0, shift));
    Some(trim(v))
}

/// True when `|a - b| ≤ absolute` or `|a - b| ≤ relative × max(|a|, |b|)`, exactly.
pub fn within(a: &Decimal, b: &Decimal, absolute: &Decimal, relative: &Decimal) -> bool {
    let (ma, mb) = (a.mantissa(), b.mantissa());
    let (mt, mr) = (absolute.mantissa(), relative.mantissa());
    // |a - b| at the finer power of a and b.
    let p = ma.1.min(mb.1);
    let (Some(x), Some(y)) = (align(ma.clone(), p), align(mb.clone(), p)) else {
        return false;
    };
    let diff = if a.negative == b.negative {
        if cmp(&x, &y) == Ordering::Less {
            sub(&y, &x)
        } else {
            sub(&x, &y)
        }
    } else {
        add(&x, &y)
    };
    // Absolute: diff × 10^p ≤ t × 10^pt.
    let q = p.min(mt.1);
    if let (Some(d), Some(t)) = (align((diff.clone(), p), q), align(mt, q))
        && cmp(&d, &t) != Ordering::Greater
    {
        return true;
    }
    // Relative: diff × 10^p ≤ r × max × 10^(pr + pm).
    if relative.digits.is_empty() {
        return false;
    }
    let larger = if cmp_abs(a, b) == Ordering::Less {
        mb
    } else {
        ma
    };
    let bound = (mul(&mr.0, &larger.0), mr.1 + larger.1);
    let q = p.min(bound.1);
    match (align((diff, p), q), align(bound, q)) {
        (Some(d), Some(r)) => cmp(&d, &r) != Ordering::Greater,
        _ => false,
    }
}

/// Compares magnitudes.
fn cmp_abs(a: &Decimal, b: &Decimal) -> Ordering {
    match (a.digits.is_empty(), b.digits.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.exp.cmp(&b.exp).then_with(|| a.digits.cmp(&b.digits)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Decimal {
        Decimal::parse(t).unwrap_or_else(|| panic!("{t}"))
    }

    #[test]
    fn differences_beyond_double_precision_are_seen() {
        let zero = d("0");
        assert!(!within(
            &d("12345678901234567.89"),
            &d("12345678901234567.80"),
            &d("0.01"),
            &zero
        ));
        assert!(within(
            &d("12345678901234567.89"),
            &d("12345678901234567.88"),
            &d("0.01"),
            &zero
        ));
        assert!(
            within(&d("1.005"), &d("1.015"), &d("0.01"), &zero),
            "exactly the tolerance"
        );
        assert!(!within(&d("1.005"), &d("1.0150001"), &d("0.01"), &zero));
        assert!(within(&d("-1"), &d("1"), &d("2"), &zero));
        assert!(!within(&d("-1"), &d("1"), &d("1.9999"), &zero));
        assert!(within(&d("0"), &d("0"), &zero, &zero));
        assert!(within(
            &d("1e30"),
            &d("1.0000000001e30"),
            &zero,
            &d("1e-10")
        ));
        assert!(!within(
            &d("1e30"),
            &d("1.0000000002e30"),
            &zero,
            &d("1e-10")
        ));
        assert!(
            !within(&d("1e-3000"), &d("1e3000"), &d("1"), &zero),
            "too far apart to align"
        );
    }

    #[test]
    fn display_and_floats() {
        for t in ["0", "-12.5", "0.001", "1200", "123.456"] {
            assert_eq!(d(t).to_string(), t);
        }
        assert_eq!(Decimal::from_f64(0.01).unwrap(), d("0.01"));
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        assert_eq!(d("1.50").to_string(), "1.5");
    }
}
