//! One big table on every core: a table compared in full whose sides share one snapshot each
//! (PostgreSQL) is cut into key ranges, and each range is read on both sides by sessions of
//! its own, in the run's snapshots, and merge-joined on its own thread. The ranges' diffs are
//! appended in key order ([`TableDiff::append`]), so counts, samples and fingerprints are those
//! of one stream.
//!
//! A range is a condition on a single integer key column that both sides declare unique (so
//! NOT NULL: every row falls in exactly one range); the first and last ranges are open, so a
//! key outside the span seen when cutting still falls in one. Other tables, and runs with
//! more tables than jobs (which already use every core), are read as one stream.

use crate::{TableJob, TableResult};
use cutover_check::diff::{DiffError, TableDiffSink};
use cutover_check::{Side, TableDiff};
use cutover_source::checksum::{ChecksumSource, KeyBound, KeyRange, integer_key, ranges_sql};
use cutover_source::dialect::Condition;
use cutover_source::pair::{SideRead, compare};
use cutover_source::{Engine, ReadRequest, SourceError};
use std::sync::atomic::{AtomicU64, Ordering};

/// The fewest estimated rows per range: smaller tables gain less than the extra sessions cost.
pub const RANGE_ROWS: u64 = 250_000;

/// The key ranges to read `job`'s table in at once, or none to read it as one stream.
pub(crate) fn key_ranges(job: &TableJob<'_>) -> Vec<KeyRange> {
    let (settings, plan) = (job.settings, job.plan);
    let tables = settings.tables.len().max(1);
    let jobs = settings.jobs.max(1);
    let mut parts = (jobs / tables.min(jobs)) as u64;
    let rows = plan.estimated_rows.unwrap_or(0);
    parts = parts.min(rows / RANGE_ROWS);
    let engines = job.endpoints.map(|e| Engine::from_url(&e.url));
    let key = plan.columns.first();
    if parts < 2
        || job.export.is_some()
        || job.snapshots.iter().any(Option::is_none)
        || plan.source_query.is_some()
        || plan.key_len != 1
        || !plan.key_unique
    {
        return Vec::new();
    }
    let (Some(key), [Some(se), Some(te)]) = (key, engines) else {
        return Vec::new();
    };
    if !integer_key(&key.source, se) || !integer_key(&key.target, te) {
        return Vec::new();
    }
    // The key's span on the source, in the run's snapshot.
    let d = cutover_source::dialect::of(se);
    let span = ChecksumSource {
        table: &plan.source_name,
        filter: plan.source_where.as_ref(),
        key: &key.source,
        columns: Vec::new(),
        native_hash: false,
    }
    .key_span_sql(d);
    let Ok(mut conn) = cutover_source::open(job.endpoints[0]) else {
        return Vec::new();
    };
    let rows = conn
        .sql()
        .map(|q| q.text_rows(&span, job.snapshots[0].as_deref()));
    let Some(Ok(rows)) = rows else {
        return Vec::new();
    };
    let mut cells = rows.into_iter().next().unwrap_or_default().into_iter();
    let bound = |c: Option<Option<String>>| c.flatten().and_then(|t| KeyBound::parse(&t));
    let (Some(lo), Some(hi)) = (bound(cells.next()), bound(cells.next())) else {
        return Vec::new();
    };
    cut(lo, hi, parts as usize)
}

/// `parts` ranges of about equal width over `lo..=hi`, the outer ones open.
fn cut(lo: KeyBound, hi: KeyBound, parts: usize) -> Vec<KeyRange> {
    let width = ((hi.0 - lo.0) / parts as i128).max(1);
    let inner: Vec<KeyBound> = (1..parts as i128)
        .map(|i| KeyBound(lo.0 + i * width))
        .filter(|b| b.0 <= hi.0)
        .collect();
    if inner.is_empty() {
        return Vec::new();
    }
    (0..=inner.len())
        .map(|i| (i.checked_sub(1).map(|j| inner[j]), inner.get(i).copied()))
        .collect()
}

/// Compares the table range by range, every range at once, and appends the diffs in key order.
pub(crate) fn stream(
    job: &TableJob<'_>,
    ranges: &[KeyRange],
    src_req: ReadRequest,
    tgt_req: ReadRequest,
    mut compared: crate::checksum::Compared,
) -> TableResult {
    let plan = job.plan;
    compared.ranges = ranges.len();
    let opts = job.diff_options();
    let engines = job
        .endpoints
        .map(|e| Engine::from_url(&e.url).unwrap_or(Engine::Postgres));
    let keys = [&plan.columns[0].source, &plan.columns[0].target];
    // Rows read so far per range and side, shown summed.
    let read: Vec<[AtomicU64; 2]> = ranges
        .iter()
        .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
        .collect();
    let diffs: Vec<Result<TableDiff, DiffError<SourceError>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .enumerate()
            .map(|(part, range)| {
                let (opts, read) = (&opts, &read);
                let mut reqs = [src_req.clone(), tgt_req.clone()];
                for (i, req) in reqs.iter_mut().enumerate() {
                    let d = cutover_source::dialect::of(engines[i]);
                    if let Some(cond) = ranges_sql(d, keys[i], std::slice::from_ref(range)) {
                        let mut parts: Vec<Condition> = req.filter.take().into_iter().collect();
                        parts.push(Condition::Built(cond));
                        req.filter = Some(Condition::All(parts));
                    }
                    // The memory for sorting is shared by the ranges read at once.
                    req.memory_budget /= ranges.len();
                }
                scope.spawn(move || {
                    let [src, tgt] = reqs;
                    let on_rows = |side: Side, rows: u64| {
                        let i = side as usize;
                        read[part][i].store(rows, Ordering::Relaxed);
                        let total = read.iter().map(|r| r[i].load(Ordering::Relaxed)).sum();
                        job.progress.rows_read(&plan.name, side, total);
                    };
                    let mut sink = TableDiffSink::new(opts);
                    compare(
                        SideRead {
                            endpoint: job.endpoints[0],
                            request: src,
                        },
                        SideRead {
                            endpoint: job.endpoints[1],
                            request: tgt,
                        },
                        opts,
                        &mut sink,
                        &on_rows,
                        job.cancel,
                    )
                    .map(|()| sink.into_diff())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(DiffError::Stopped)))
            .collect()
    });
    let mut whole: Option<TableDiff> = None;
    for d in diffs {
        match (d, whole.as_mut()) {
            (Err(e), _) => return job.result(Err(e), compared),
            (Ok(d), None) => whole = Some(d),
            (Ok(d), Some(w)) => w.append(d, opts.sample_size),
        }
    }
    match whole {
        Some(diff) => job.result(Ok(diff), compared),
        None => job.result(Err(DiffError::Stopped), compared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_key_once_and_stay_open_at_the_ends() {
        let r = cut(KeyBound(1), KeyBound(1_000_000), 2);
        assert_eq!(
            r,
            [
                (None, Some(KeyBound(500_000))),
                (Some(KeyBound(500_000)), None)
            ]
        );
        let r = cut(KeyBound(-10), KeyBound(10), 4);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].0, None);
        assert_eq!(r[3].1, None);
        for w in r.windows(2) {
            assert_eq!(w[0].1, w[1].0);
        }
        // A span too narrow to cut is one stream.
        assert!(cut(KeyBound(5), KeyBound(5), 2).is_empty());
    }
}
