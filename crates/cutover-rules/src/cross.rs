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
