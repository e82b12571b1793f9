//! Rules that compare the two sides: a diff of two reads through the two-sided pipeline, and
//! what its counts mean for each rule type.

use crate::eval::columns_of;
use crate::{Context, Found, RuleError};
use cutover_check::diff::Tolerance;
use cutover_check::{DiffOptions, Kind, TableDiff};
use cutover_source::{Connector, ReadRequest};

/// The rule types that judge a cross-side diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judge {
    AggregateMatch,
    HierarchyMatch,
    ReferenceComplete,
}

/// Diffs `source_columns` of `source_table` against `columns` of `table` (the first `key_len`
/// of each are the key); returns the diff, the target column names and what each side ran.
pub(crate) fn compare_keyed(
    cx: &Context<'_>,
    (source_table, source_columns): (&str, &[String]),
    (table, columns): (&str, &[String]),
    key_len: usize,
) -> Result<(TableDiff, Vec<String>, Vec<String>), RuleError> {
    let mut src = cx.open(&cx.sides.source)?;
    let mut tgt = cx.open(&cx.sides.target)?;
    let tcols = columns_of(tgt.as_mut(), Some(table), None, columns)?;
    let scols = columns_of(src.as_mut(), Some(source_table), None, source_columns)?;
    let sreq = cx.request(source_table, None, scols, key_len, None);
    let treq = cx.request(table, None, tcols, key_len, None);
    let tolerances = vec![None; columns.len()];
    let (d, queries) = compare_reads(cx, (src, sreq), (tgt, treq), key_len, tolerances)?;
    Ok((d, columns.to_vec(), queries))
}

/// Diffs two reads, each column compared as the kind both sides agree on; returns the diff and
/// what each side ran. The sessions that described the reads are closed before the diff opens
/// its own.
pub(crate) fn compare_reads(
    cx: &Context<'_>,
    (src, mut sreq): (Box<dyn Connector>, ReadRequest),
    (tgt, mut treq): (Box<dyn Connector>, ReadRequest),
    key_len: usize,
    tolerances: Vec<Option<Tolerance>>,
) -> Result<(TableDiff, Vec<String>), RuleError> {
    for i in 0..sreq.columns.len().min(treq.columns.len()) {
        let k =
            Kind::unify(sreq.columns[i].kind, treq.columns[i].kind).unwrap_or(treq.columns[i].kind);
        sreq.codecs[i].compare = k;
        treq.codecs[i].compare = k;
    }
    if sreq.columns.len() != treq.columns.len() {
        return Err(RuleError::Rule(
            "the two sides have a different number of columns".into(),
        ));
    }
    let queries = vec![src.read_sql(&sreq), tgt.read_sql(&treq)];
    drop((src, tgt));
    let opts = DiffOptions {
        columns: tolerances.len(),
        key_columns: key_len,
        sample_size: cx.sides.sample_size,
        tolerances,
    };
    let d = cx.diff((&cx.sides.source, sreq), (&cx.sides.target, treq), &opts)?;
    Ok((d, queries))
}

/// What a cross-side diff means for each rule type.
pub(crate) fn judge(
    d: &TableDiff,
    names: &[String],
    key_len: usize,
    queries: Vec<String>,
    rule: Judge,
) -> Found {
    let keyed = |key: &[Option<String>],
                 extra: Vec<(String, Option<String>)>|
     -> Vec<(String, Option<String>)> {
        names[..key_len]
            .iter()
            .cloned()
            .zip(key.iter().cloned())
            .chain(extra)
            .collect()
    };
    let mut sample: Vec<Vec<(String, Option<String>)>> = Vec::new();
    for r in &d.samples.missing {
        sample.push(keyed(
            &r.key,
            vec![("finding".into(), Some("only on the source".into()))],
        ));
    }
    if rule != Judge::ReferenceComplete {
        for r in &d.samples.extra {
            sample.push(keyed(
                &r.key,
                vec![("finding".into(), Some("only on the target".into()))],
            ));
        }
    }
    for c in &d.samples.changed {
        let mut extra = vec![("finding".into(), Some("different".into()))];
        for (i, s, t) in &c.columns {
            extra.push((format!("{} (source)", names[*i]), s.clone()));
            extra.push((format!("{} (target)", names[*i]), t.clone()));
        }
        sample.push(keyed(&c.key, extra));
    }
    let (violations, message) = match rule {
        Judge::AggregateMatch => (
            d.missing + d.extra + d.changed,
            format!(
                "{} groups compared: {} differ, {} only on the source, {} only on the target",
                d.source.rows.max(d.target.rows),
                d.changed,
                d.missing,
                d.extra
            ),
        ),
        Judge::HierarchyMatch => (
            d.missing + d.extra + d.changed,
            format!(
                "{} nodes: {} with another parent, {} only on the source, {} only on the target",
                d.source.rows, d.changed, d.missing, d.extra
            ),
        ),
        Judge::ReferenceComplete => (
            d.missing + d.changed,
            format!(
                "{} legacy entries: {} missing from the reference book, {} with another label ({} entries only in the new book)",
                d.source.rows, d.missing, d.changed, d.extra
            ),
        ),
    };
    Found {
        violations,
        checked: Some(d.source.rows),
        message,
        sample,
        queries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_check::{Batch, Cell, ColumnCodec};
    use std::sync::atomic::AtomicBool;

    /// The diff of (code, label) rows.
    fn diff(source: &[(&str, &str)], target: &[(&str, &str)]) -> TableDiff {
        let codec = ColumnCodec::new(Kind::Text, Kind::Text);
        let side = |rows: &[(&str, &str)]| {
            let mut b = Batch::new(2);
            for (code, label) in rows {
                b.push(Cell::Text(code.as_bytes()), codec);
                b.push(Cell::Text(label.as_bytes()), codec);
            }
            vec![Ok::<_, String>(b.hash(1))].into_iter()
        };
        let opts = DiffOptions {
            columns: 2,
            key_columns: 1,
            sample_size: 10,
            tolerances: vec![],
        };
        cutover_check::diff(side(source), side(target), &opts, &AtomicBool::new(false)).unwrap()
    }

    #[test]
    fn each_rule_type_counts_what_it_means() {
        let d = diff(
            &[("CZK", "Koruna"), ("EUR", "Euro"), ("USD", "Dollar")],
            &[("EUR", "Euro"), ("GBP", "Pound"), ("USD", "US Dollar")],
        );
        let names = ["code".to_string(), "label".to_string()];
        // A reference book may hold more than the legacy one: extra entries are not violations.
        let book = judge(&d, &names, 1, vec![], Judge::ReferenceComplete);
        assert_eq!(book.violations, 2, "CZK missing, USD relabelled");
        assert_eq!(book.sample.len(), 2);
        assert!(
            book.message.contains("1 entries only in the new book"),
            "{}",
            book.message
        );
        // Groups or nodes on one side only are violations for the matching rules.
        for kind in [Judge::AggregateMatch, Judge::HierarchyMatch] {
            let f = judge(&d, &names, 1, vec![], kind);
            assert_eq!(f.violations, 3, "{kind:?}");
            assert_eq!(f.sample.len(), 3);
        }
        let changed = &book
            .sample
            .iter()
            .find(|r| r[0].1.as_deref() == Some("USD"))
            .unwrap();
        assert_eq!(
            changed[2],
            ("label (source)".to_string(), Some("Dollar".to_string()))
        );
        assert_eq!(
            changed[3],
            ("label (target)".to_string(), Some("US Dollar".to_string()))
        );
    }
}
