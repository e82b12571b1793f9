//! A big table compared in full is read in key ranges, one after the other, and each compared
//! range's exact diff is checkpointed, so `--resume` compares only the ranges an interrupted
//! run had not finished.
//!
//! A table whose sides are PostgreSQL (one shared snapshot each) or MySQL/MariaDB (a snapshot per
//! range, since sessions cannot share one there), keyed by a single integer column
//! both sides declare unique (so NOT NULL: every row falls in exactly one range), and estimated
//! at twice `run.checkpoint_rows` ([`CHECKPOINT_ROWS`]) or more, is cut into key ranges of about
//! that many rows; the first and last are open, so a key outside the span seen when cutting
//! still falls in one. Each range is read on both sides in the run's snapshots and merge-joined,
//! and the ranges' diffs are appended in key order ([`TableDiff::append`]), so counts, samples
//! and fingerprints are those of one stream. Reading two ranges at once measured 3 % slower
//! than one at a time with both servers on the same two cores, so ranges are read one at a
//! time.
//!
//! Other tables, runs without checkpoints and runs that export every difference are read as one
//! stream.

use crate::checkpoint::RangeDone;
use crate::{TableJob, TableResult};
use cutover_check::diff::{DiffError, TableDiffSink};
use cutover_check::{Side, TableDiff};
use cutover_source::checksum::{ChecksumSource, KeyBound, KeyRange, integer_key, ranges_sql};
use cutover_source::pair::compare;
use cutover_source::{Engine, ReadRequest};

/// Rows per range by default: the most an interruption makes a resumed run read again. Each
/// range opens its own sessions and starts its reads anew, so ranges are large: on 10M rows
/// (both servers on this 2-core machine), ten ranges of 1M cost 18 % over one stream and two of
/// 5M 7 %; at 20M rows a range, a table is cut only from 40M rows up.
pub const CHECKPOINT_ROWS: u64 = 20_000_000;

/// A table read in key ranges: its estimated rows.
pub(crate) struct Eligible {
    rows: u64,
}

/// Whether `job`'s table is read in key ranges (no I/O).
pub(crate) fn eligible(job: &TableJob<'_>) -> Option<Eligible> {
    let plan = job.plan;
    let rows = plan.estimated_rows.unwrap_or(0);
    let key = plan.columns.first()?;
    let [Some(se), Some(te)] = job.endpoints.map(|e| Engine::from_url(&e.url)) else {
        return None;
    };
    let ok = job.settings.checkpoints.is_some()
        && rows >= 2 * job.settings.checkpoint_rows
        && job.export.is_none()
        // A PostgreSQL side reads every range in the run's shared snapshot; MySQL and MariaDB
        // cannot share one between sessions, so each range reads in its own there.
        && job
            .snapshots
            .iter()
            .zip([se, te])
            .all(|(s, e)| s.is_some() || e == Engine::MySql)
        && plan.source_query.is_none()
        && plan.key_len == 1
        && plan.key_unique
        && integer_key(&key.source, se)
        && integer_key(&key.target, te);
    ok.then_some(Eligible { rows })
}

/// The inner bounds of `parts` ranges of about equal width over `lo..=hi`.
fn cut(lo: i128, hi: i128, parts: usize) -> Vec<KeyBound> {
    let width = ((hi - lo) / parts.max(1) as i128).max(1);
    (1..parts as i128)
        .map(|i| lo + i * width)
        .filter(|b| *b <= hi)
        .map(KeyBound::Int)
        .collect()
}

/// Range `i` of those cut at `bounds`.
fn range_of(bounds: &[KeyBound], i: usize) -> KeyRange {
    (
        i.checked_sub(1).map(|j| bounds[j].clone()),
        bounds.get(i).cloned(),
    )
}

/// The key's span on the source in the run's snapshot, cut into ranges; none when it cannot be
/// read or is too narrow to cut.
fn bounds(job: &TableJob<'_>, e: &Eligible) -> Vec<KeyBound> {
    let plan = job.plan;
    let engine = Engine::from_url(&job.endpoints[0].url).unwrap_or(Engine::Postgres);
    let span = ChecksumSource {
        table: &plan.source_name,
        filter: plan.source_where.as_ref(),
        key: &plan.columns[0].source,
        columns: Vec::new(),
        hash: cutover_source::checksum::RowHash::Md5Sum,
        key_primary: false,
    }
    .key_span_sql(cutover_source::dialect::of(engine));
    let Ok(mut conn) = cutover_source::open(job.endpoints[0]) else {
        return Vec::new();
    };
    let Some(Ok(rows)) = conn
        .sql()
        .map(|q| q.text_rows(&span, job.snapshots[0].as_deref()))
    else {
        return Vec::new();
    };
    let mut cells = rows.into_iter().next().unwrap_or_default().into_iter();
    let bound = |c: Option<Option<String>>| {
        c.flatten()
            .and_then(|t| KeyBound::parse(&t))
            .and_then(|b| b.int())
    };
    let (Some(lo), Some(hi)) = (bound(cells.next()), bound(cells.next())) else {
        return Vec::new();
    };
    cut(
        lo,
        hi,
        ((e.rows / job.settings.checkpoint_rows.max(1)) as usize).max(2),
    )
}

/// Compares the table range by range, checkpointing each compared range, and appends the diffs
/// in key order.
pub(crate) fn run(
    job: &TableJob<'_>,
    e: Eligible,
    src_req: ReadRequest,
    tgt_req: ReadRequest,
    mut compared: crate::checksum::Compared,
) -> TableResult {
    let plan = job.plan;
    let opts = job.diff_options();
    let fingerprint = {
        let urls = job.endpoints.map(|e| cutover_source::redact(&e.url));
        let shape = format!(
            "{:?} {:?} {:?}",
            src_req.codecs, tgt_req.codecs, opts.tolerances
        );
        crate::checkpoint::fingerprint([
            "full",
            plan.name.as_str(),
            &urls[0],
            &urls[1],
            &plan.source_sql,
            &plan.target_sql,
            &shape,
        ])
    };
    let checkpoints = job.settings.checkpoints.as_deref();
    let earlier = match checkpoints.map(|c| c.earlier(&plan.name, &fingerprint)) {
        Some(Err(message)) => return job.failed(message, None),
        Some(Ok(earlier)) => earlier,
        None => None,
    };
    let bounds = match &earlier {
        Some(earlier) => earlier.bounds.clone(),
        None => bounds(job, &e),
    };
    if bounds.is_empty() {
        return job.stream(src_req, tgt_req, compared);
    }
    let count = bounds.len() + 1;
    let mut diffs: Vec<Option<TableDiff>> = vec![None; count];
    let mut resumed_at = Vec::new();
    for done in earlier.into_iter().flat_map(|e| e.ranges) {
        resumed_at.push(done.at);
        diffs[done.index] = Some(done.diff);
    }
    let done: Vec<bool> = diffs.iter().map(Option::is_some).collect();
    let resumed = done.iter().filter(|d| **d).count();
    let writer = crate::checkpoint::TableWriter::begin(
        checkpoints,
        job.progress,
        &plan.name,
        &fingerprint,
        &bounds,
    );
    let engines = job
        .endpoints
        .map(|e| Engine::from_url(&e.url).unwrap_or(Engine::Postgres));
    let keys = [&plan.columns[0].source, &plan.columns[0].target];
    // Rows of the finished ranges, and of the range being read, shown summed.
    let mut before = [0u64; 2];
    let mut whole: Option<TableDiff> = None;
    let mut this_run_at = Vec::new();
    for (index, earlier) in diffs.into_iter().enumerate() {
        let diff = match earlier {
            Some(d) => d,
            None => {
                let range = range_of(&bounds, index);
                let mut reqs = [src_req.clone(), tgt_req.clone()];
                for (i, req) in reqs.iter_mut().enumerate() {
                    let d = cutover_source::dialect::of(engines[i]);
                    if let Some(cond) = ranges_sql(d, keys[i], std::slice::from_ref(&range)) {
                        req.and_where(cond);
                    }
                }
                let [src, tgt] = reqs;
                let on_rows = |side: Side, rows: u64| {
                    job.progress
                        .rows_read(&plan.name, side, before[side as usize] + rows)
                };
                let mut sink = TableDiffSink::new(&opts);
                let (source, target) = job.reads(src, tgt);
                let joined = compare(source, target, &opts, &mut sink, &on_rows, job.cancel);
                if let Err(err) = joined {
                    return job.result(Err(err), compared);
                }
                let finished = RangeDone {
                    at: crate::checkpoint::now(),
                    index,
                    diff: sink.into_diff(),
                };
                this_run_at.push(finished.at);
                writer.range(&finished);
                finished.diff
            }
        };
        before[0] += diff.source.rows;
        before[1] += diff.target.rows;
        match whole.as_mut() {
            None => whole = Some(diff),
            Some(w) => w.append(diff, opts.sample_size),
        }
    }
    compared.ranges = count;
    if resumed > 0 {
        let note = crate::checkpoint::resumed_note(
            "compared",
            &keys[0].name,
            &done,
            &bounds,
            &resumed_at,
            &this_run_at,
        );
        compared.note = Some(match compared.note.take() {
            Some(n) => format!("{n}; {note}"),
            None => note,
        });
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
        let b = cut(1, 1_000_000, 2);
        assert_eq!(b, [KeyBound::Int(500_000)]);
        assert_eq!(range_of(&b, 0), (None, Some(KeyBound::Int(500_000))));
        assert_eq!(range_of(&b, 1), (Some(KeyBound::Int(500_000)), None));
        let b = cut(-10, 10, 4);
        assert_eq!(b, [KeyBound::Int(-5), KeyBound::Int(0), KeyBound::Int(5)]);
        // A span too narrow to cut is one stream.
        assert!(cut(5, 5, 2).is_empty());
    }
}
