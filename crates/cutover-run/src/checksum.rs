//! Checksum mode: both databases sum the md5 of every row's canonical text per bucket of key
//! ranges; only the buckets whose checksums differ are streamed through the ordinary merge
//! join. The counts, samples and diagnoses are those of a full compare; the rows that travel
//! are the differing buckets' only.
//!
//! Key ranges come from quantiles of the source's keys, so every bucket holds about the same
//! number of rows whatever the key's spread. One statement per chunk of buckets returns all
//! their checksums at once (`GROUP BY` bucket), so no range is scanned twice, and chunks run on
//! several sessions per side at a time. Chunks are sized to a time target, as pt-table-checksum
//! does: each statement takes about [`STATEMENT_SECS`] on the slower side, so no statement holds
//! a production server for long, and fast servers are not slowed by many small statements.

use crate::{TableJob, TableResult};
use cutover_check::{Kind, Side};
use cutover_config::CompareMode;
use cutover_source::checksum::{
    ChecksumSource, KeyBound, KeyRange, RowHash, declared_scale, integer_key, ranges_sql, text_key,
};
use cutover_source::{ColumnInfo, Connector, Endpoint, Engine, SourceError};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Rows per bucket: the most rows streamed again for one differing row.
pub const BUCKET_ROWS: u64 = 1024;
/// Buckets whose checksums the first statement returns; later ones follow the time target.
const FIRST_CHUNK_BUCKETS: usize = 16;
/// The most buckets of one statement.
const MAX_CHUNK_BUCKETS: usize = 1024;
/// The most bytes of SQL one checksum statement takes.
const MAX_STATEMENT_BYTES: usize = 2 << 20;
/// The time one checksum statement aims at, in seconds.
pub const STATEMENT_SECS: f64 = 0.5;
/// More differing ranges than this are not worth a filter: the whole table is streamed.
const MAX_RANGES: usize = 256;
/// The size from which `mode = "auto"` uses checksums on a remote server.
pub const AUTO_ROWS: u64 = 1_000_000;

/// What a checksum compare did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChecksumStats {
    /// Checksum statements per side.
    pub chunks: usize,
    /// Key-range buckets.
    pub buckets: usize,
    /// Buckets whose row count or checksum differed.
    pub differing_buckets: usize,
    /// Rows each side checksummed in the database (source, target).
    pub rows_checksummed: [u64; 2],
    /// Rows each side streamed to cutover (source, target).
    pub rows_streamed: [u64; 2],
    /// True when so many buckets differed that the whole table was streamed.
    pub streamed_all: bool,
    /// How each key range's rows were hashed: `md5-range` (md5 of the rows joined in key
    /// order, with an integer key), `md5` (the sum of each row's md5 slice, with a text key), or
    /// `hashtextextended` (between PostgreSQL servers of the same major version).
    pub hash: &'static str,
}

/// How a table's rows were compared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compared {
    /// Set when the table was compared by checksums.
    pub checksum: Option<ChecksumStats>,
    /// Why a table that asked for checksums was compared in full; which key ranges an
    /// interrupted run checksummed and when.
    pub note: Option<String>,
    /// Key ranges a full compare read one after the other, each checkpointed (0: one stream).
    pub ranges: usize,
}

impl Compared {
    /// `checksum` or `full`.
    pub fn mode(&self) -> &'static str {
        if self.checksum.is_some() {
            "checksum"
        } else {
            "full"
        }
    }
}

/// The checksum statements' ingredients of both sides.
pub(crate) struct Sources {
    key: [ColumnInfo; 2],
    columns: [Vec<(ColumnInfo, Kind, Option<u32>)>; 2],
    engines: [Engine; 2],
    /// The key is text (on both sides), not an integer.
    text_key: bool,
}

impl Sources {
    fn side<'a>(
        &'a self,
        i: usize,
        plan: &'a crate::TablePlan,
        hash: RowHash,
    ) -> ChecksumSource<'a> {
        ChecksumSource {
            table: if i == 0 {
                &plan.source_name
            } else {
                &plan.name
            },
            filter: if i == 0 {
                plan.source_where.as_ref()
            } else {
                plan.target_where.as_ref()
            },
            key: &self.key[i],
            columns: self.columns[i]
                .iter()
                .map(|(c, k, s)| (c, *k, *s))
                .collect(),
            hash,
            key_primary: plan.key_primary[i],
        }
    }
}

/// Full, with the reason checksums were not used when they were asked for, or checksums.
pub(crate) enum Choice {
    Full(Option<String>),
    Checksum(Sources),
}

/// Chooses how a table is compared from its `mode`, its columns and its sides.
pub(crate) fn choose(job: &TableJob<'_>) -> Choice {
    choose_for(job.plan, job.endpoints)
}

/// How `cutover plan` says a table will be compared, for a table whose mode is not `full`.
pub fn planned_mode(settings: &crate::Settings, plan: &crate::TablePlan) -> Option<String> {
    let mode = plan.mode.filter(|m| *m != CompareMode::Full)?;
    let source = settings.endpoint(Side::Source);
    let source = match &plan.source_url {
        Some(u) => source.with_url(u),
        None => source,
    };
    let target = settings.endpoint(Side::Target);
    Some(match choose_for(plan, [&source, &target]) {
        Choice::Checksum(_) => {
            "compared by checksums in both databases; only differing key ranges are streamed"
                .to_string()
        }
        Choice::Full(Some(note)) => note,
        Choice::Full(None) => format!(
            "{}: compared in full (checksums are for tables of {AUTO_ROWS} rows or more on a server that is not on this machine)",
            mode.name()
        ),
    })
}

fn choose_for(plan: &crate::TablePlan, endpoints: [&Endpoint; 2]) -> Choice {
    let mode = plan.mode.unwrap_or(CompareMode::Full);
    if mode == CompareMode::Full {
        return Choice::Full(None);
    }
    let sources = match eligible(plan, endpoints) {
        Ok(s) => s,
        // auto stays silent: streaming is its answer for any table checksums cannot take.
        Err(_) if mode == CompareMode::Auto => return Choice::Full(None),
        Err(why) => {
            return Choice::Full(Some(format!("Compared in full, not by checksums: {why}")));
        }
    };
    if mode == CompareMode::Auto {
        let rows = plan.estimated_rows.unwrap_or(0);
        let remote = endpoints.iter().any(|e| !cutover_source::is_local(&e.url));
        if rows < AUTO_ROWS || !remote {
            return Choice::Full(None);
        }
    }
    Choice::Checksum(sources)
}

/// The checksum statements' ingredients, or what checksums would need that this table lacks.
fn eligible(plan: &crate::TablePlan, endpoints: [&Endpoint; 2]) -> Result<Sources, String> {
    let mut engines = [Engine::Postgres; 2];
    for (i, e) in endpoints.iter().enumerate() {
        engines[i] = Engine::from_url(&e.url)
            .filter(|e| matches!(e, Engine::Postgres | Engine::MySql))
            .ok_or_else(|| {
                let name = Engine::from_url(&e.url).map_or("this", Engine::name);
                format!(
                    "checksums need PostgreSQL or MySQL/MariaDB on both sides; the {} side is {name}, which has no md5 in SQL",
                    Side::ALL[i].name()
                )
            })?;
    }
    if plan.source_query.is_some() {
        return Err("checksums need a source table; this source is a query".into());
    }
    if plan.key_len != 1 {
        return Err(format!(
            "checksums need a single integer or text key column; this key has {} columns",
            plan.key_len
        ));
    }
    if !plan.key_unique {
        return Err(
            "checksums need a key both sides declare unique (a primary key or unique index), so no duplicate key hides in equal checksums"
                .into(),
        );
    }
    let key = &plan.columns[0];
    let sides = [(&key.source, engines[0]), (&key.target, engines[1])];
    let integer = sides.iter().all(|(c, e)| integer_key(c, *e));
    let text = sides.iter().all(|(c, e)| text_key(c, *e));
    if !integer && !text {
        let (a, b) = (&key.source, &key.target);
        return Err(format!(
            "checksums need a single key column that is an integer on both sides or text (char, varchar, text) on both sides; {} is {} and {}",
            a.name, a.type_name, b.type_name
        ));
    }
    for c in &plan.columns {
        let name = &c.target.name;
        let why = if c.incompatible {
            Some("its two types have no value in common")
        } else if c.map.is_some() {
            Some("its value map is applied by cutover, not in SQL")
        } else if c.source.expr.is_some() {
            Some("it is an expression, and checksums read stored columns")
        } else if c.tolerance.is_some() {
            Some("it has a tolerance, and checksums compare exact values")
        } else if c.source_norm != Default::default() || c.target_norm != Default::default() {
            Some(
                "its normalisations (trim, case, rounding, zone) are applied by cutover, not in SQL",
            )
        } else {
            None
        };
        if let Some(why) = why {
            return Err(format!("column {name}: {why}"));
        }
    }
    let dialects = engines.map(cutover_source::dialect::of);
    // A decimal scale both sides declare is printed as it is, with no trimming of zeros.
    let scales: Vec<Option<u32>> = plan
        .columns
        .iter()
        .map(|c| {
            let s = declared_scale(&c.source.type_name);
            (c.compare == Kind::Number && s.is_some() && s == declared_scale(&c.target.type_name))
                .then_some(s)
                .flatten()
        })
        .collect();
    for (c, scale) in plan.columns.iter().zip(&scales) {
        for (i, col) in [&c.source, &c.target].into_iter().enumerate() {
            dialects[i].checksum_value(col, c.compare, *scale)?;
        }
    }
    Ok(Sources {
        key: [key.source.clone(), key.target.clone()],
        columns: [
            plan.columns
                .iter()
                .zip(&scales)
                .map(|(c, s)| (c.source.clone(), c.compare, *s))
                .collect(),
            plan.columns
                .iter()
                .zip(&scales)
                .map(|(c, s)| (c.target.clone(), c.compare, *s))
                .collect(),
        ],
        engines,
        text_key: text,
    })
}

/// One bucket's result on one side: rows and the two sums.
use crate::checkpoint::BucketSum;

/// Compares a table by checksums; falls back to streaming it in full when a checksum statement
/// fails (the report says why).
pub(crate) fn run(job: &TableJob<'_>, sources: Sources) -> TableResult {
    match checksums(job, &sources) {
        Ok(Some(result)) => result,
        Ok(None) => TableResult::Failed(crate::interrupted(job.plan)),
        Err(e) => {
            let (src_req, tgt_req) = job.requests();
            job.stream(
                src_req,
                tgt_req,
                Compared {
                    checksum: None,
                    note: Some(match e {
                        NotUsed::Unsuited(why) => {
                            format!("Compared in full, not by checksums: {why}")
                        }
                        NotUsed::Failed(e) => {
                            format!("Compared in full: the checksums failed: {e}")
                        }
                    }),
                    ranges: 0,
                },
            )
        }
    }
}

/// A side's error, named by its side.
fn side_err(i: usize) -> impl Fn(SourceError) -> String {
    move |e| format!("{} side: {e}", Side::ALL[i].name())
}

/// A new session on side `i`.
fn open_side(job: &TableJob<'_>, i: usize) -> Result<Box<dyn Connector>, String> {
    cutover_source::open(job.endpoints[i]).map_err(side_err(i))
}

fn checksums(job: &TableJob<'_>, sources: &Sources) -> Result<Option<TableResult>, NotUsed> {
    let plan = job.plan;
    let dialects = sources.engines.map(cutover_source::dialect::of);
    let open = |i: usize| open_side(job, i);
    // One pair of sessions asks the versions and the bounds, then serves the first worker.
    let mut first: Vec<Box<dyn Connector>> = vec![open(0)?, open(1)?];
    // PostgreSQL's own text hash is several times cheaper than md5, but it may change between
    // major versions: both sides must run the same one.
    let native_hash = sources.engines == [Engine::Postgres; 2] && {
        let mut majors = Vec::new();
        for (i, s) in first.iter_mut().enumerate() {
            let rows = s
                .require_sql("compute checksums")
                .and_then(|q| q.text_rows("SELECT current_setting('server_version_num')", None))
                .map_err(side_err(i))?;
            let num: u64 = rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            majors.push(num / 10_000);
        }
        majors[0] == majors[1] && majors[0] >= 11
    };
    // An integer key orders rows alike on every engine: one md5 per key range of rows joined in
    // key order. A text key's collations may not: the order-free sum of every row's md5.
    let hashes: &[RowHash] = if native_hash {
        &[RowHash::Native]
    } else if sources.text_key {
        &[RowHash::Md5Sum]
    } else {
        &[RowHash::Md5Range, RowHash::Md5Sum]
    };
    // What identifies this table's checksums in a checkpoint: its statements and servers.
    let fingerprint = |hash: RowHash| -> Result<String, String> {
        let mut parts = vec![plan.name.clone()];
        for (i, (d, end)) in dialects.iter().zip(job.endpoints).enumerate() {
            parts.push(cutover_source::redact(&end.url));
            parts.push(
                sources
                    .side(i, plan, hash)
                    .buckets_sql(*d, (None, None), &[])?,
            );
        }
        Ok(crate::checkpoint::fingerprint(
            parts.iter().map(String::as_str),
        ))
    };
    // The hash an interrupted run used, when resuming one.
    let checkpoints = job.settings.checkpoints.as_deref();
    let mut chosen = None;
    let mut refused = None;
    for &hash in hashes {
        let f = fingerprint(hash)?;
        match checkpoints.map(|c| c.earlier(&plan.name, &f)) {
            Some(Err(message)) => {
                refused.get_or_insert(message);
            }
            Some(Ok(earlier)) => {
                chosen = Some((hash, f, earlier));
                break;
            }
            None => {
                chosen = Some((hash, f, None));
                break;
            }
        }
    }
    let Some((hash, f, earlier)) = chosen else {
        let message = refused.unwrap_or_default();
        return Ok(Some(job.failed(message, None)));
    };
    match hashed(job, sources, hash, &f, earlier, first, None) {
        // A key range too long for one md5 on MySQL (cut at `max_allowed_packet`), or any
        // other failure of the joined form: the sum of every row's md5 needs no long text.
        Err(NotUsed::Failed(e)) if hash == RowHash::Md5Range => {
            let note = format!(
                "md5 of each key range's joined rows failed ({e}); the rows' md5 were summed instead"
            );
            let first = vec![open(0)?, open(1)?];
            let f = fingerprint(RowHash::Md5Sum)?;
            hashed(job, sources, RowHash::Md5Sum, &f, None, first, Some(note))
        }
        other => other,
    }
}

/// Compares a table by checksums of `hash`, resuming `earlier`, starting with the `first`
/// sessions; `why` says why this is not the first hash tried.
fn hashed(
    job: &TableJob<'_>,
    sources: &Sources,
    hash: RowHash,
    fingerprint: &str,
    earlier: Option<crate::checkpoint::Earlier>,
    first: Vec<Box<dyn Connector>>,
    why: Option<String>,
) -> Result<Option<TableResult>, NotUsed> {
    let plan = job.plan;
    let dialects = sources.engines.map(cutover_source::dialect::of);
    let open = |i: usize| open_side(job, i);
    let mut first = first;
    let checkpoints = job.settings.checkpoints.as_deref();
    let bounds = match &earlier {
        Some(e) => e.bounds.clone(),
        None => bucket_bounds(job, sources, hash, first[0].as_mut())?,
    };
    let buckets = bounds.len() + 1;
    let range_of = |i: usize| -> KeyRange {
        (
            i.checked_sub(1).map(|j| bounds[j].clone()),
            bounds.get(i).cloned(),
        )
    };
    let statements = AtomicUsize::new(0);
    // MySQL's statement names every key range's rows once (it has no LATERAL): a few
    // megabytes at most, well within `max_allowed_packet`.
    let mut most_buckets = MAX_CHUNK_BUCKETS;
    if hash == RowHash::Md5Range {
        for (i, d) in dialects.iter().enumerate() {
            if d.engine() == Engine::MySql {
                let row = sources.side(i, plan, hash).row_sql(*d)?;
                most_buckets = most_buckets
                    .min(MAX_STATEMENT_BYTES / (row.len() + 200))
                    .max(1);
            }
        }
    }
    let per_statement = AtomicUsize::new(FIRST_CHUNK_BUCKETS.min(most_buckets));
    let mut sums = [vec![None; buckets], vec![None; buckets]];
    // Buckets the interrupted run finished, and when.
    let mut done = vec![false; buckets];
    let mut resumed_at: Vec<i64> = Vec::new();
    for chunk in earlier.iter().flat_map(|e| &e.chunks) {
        for (i, side) in chunk.sums.iter().enumerate() {
            sums[i][chunk.first..chunk.first + side.len()].copy_from_slice(side);
        }
        done[chunk.first..chunk.first + chunk.sums[0].len()].fill(true);
        resumed_at.push(chunk.at);
    }
    let resumed = done.iter().filter(|d| **d).count();
    let rows_of = |s: &[Option<BucketSum>]| s.iter().flatten().map(|b| b.0).sum::<u64>();
    let checksummed = [
        AtomicU64::new(rows_of(&sums[0])),
        AtomicU64::new(rows_of(&sums[1])),
    ];
    let sums = sums.map(Mutex::new);
    let checkpoint = crate::checkpoint::TableWriter::begin(
        checkpoints,
        job.progress,
        &plan.name,
        fingerprint,
        &bounds,
    );
    let this_run_at = Mutex::new(Vec::new());
    // The next buckets to checksum: up to `size` consecutive ones not finished before.
    let cursor = Mutex::new(0usize);
    let claim = |size: usize| -> Option<(usize, usize)> {
        let mut c = cursor.lock().expect("bucket cursor");
        while *c < buckets && done[*c] {
            *c += 1;
        }
        let first = *c;
        let mut end = first;
        while end < buckets && end - first < size && !done[end] {
            end += 1;
        }
        *c = end;
        (end > first).then(|| (first, end - 1))
    };
    let failed: Mutex<Option<String>> = Mutex::new(None);
    let first = Mutex::new(Some(first));
    let workers = job
        .settings
        .jobs
        .clamp(1, 4)
        .min((buckets - resumed).div_ceil(FIRST_CHUNK_BUCKETS).max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let opened = first.lock().expect("first sessions").take();
                let mut sessions = match opened.map_or_else(|| Ok(vec![open(0)?, open(1)?]), Ok) {
                    Ok(s) => s,
                    Err(e) => {
                        failed.lock().expect("failure slot").get_or_insert(e);
                        return;
                    }
                };
                loop {
                    if job.cancel.load(Ordering::Relaxed)
                        || failed.lock().expect("failure slot").is_some()
                    {
                        return;
                    }
                    let Some((first, last)) = claim(per_statement.load(Ordering::Relaxed)) else {
                        return;
                    };
                    statements.fetch_add(1, Ordering::Relaxed);
                    let started = std::time::Instant::now();
                    let range = (range_of(first).0, range_of(last).1);
                    let inner = &bounds[first..last];
                    let results: Vec<Result<Vec<(usize, BucketSum)>, String>> =
                        std::thread::scope(|s| {
                            let handles: Vec<_> = sessions
                                .iter_mut()
                                .enumerate()
                                .map(|(i, session)| {
                                    let source = sources.side(i, plan, hash);
                                    let snapshot = job.snapshots[i].as_deref();
                                    let d = dialects[i];
                                    let range = range.clone();
                                    s.spawn(move || {
                                        let sql = source.buckets_sql(d, range, inner)?;
                                        let rows = session
                                            .require_sql("compute checksums")
                                            .and_then(|q| q.text_rows(&sql, snapshot))
                                            .map_err(side_err(i))?;
                                        parse_buckets(rows, inner.len(), hash)
                                    })
                                })
                                .collect();
                            handles
                                .into_iter()
                                .map(|h| {
                                    h.join().unwrap_or_else(|_| {
                                        Err("a checksum thread panicked".into())
                                    })
                                })
                                .collect()
                        });
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    let mut found = Vec::with_capacity(2);
                    for r in results {
                        match r {
                            Ok(f) => found.push(f),
                            Err(e) => {
                                failed.lock().expect("failure slot").get_or_insert(e);
                                return;
                            }
                        }
                    }
                    let mut most = 0;
                    let mut chunk = crate::checkpoint::Chunk {
                        at: crate::checkpoint::now(),
                        first,
                        sums: [vec![None; last + 1 - first], vec![None; last + 1 - first]],
                    };
                    for (i, found) in found.into_iter().enumerate() {
                        let mut slots = sums[i].lock().expect("checksum slots");
                        let mut rows = 0;
                        for (b, sum) in found {
                            rows += sum.0;
                            slots[first + b] = Some(sum);
                            chunk.sums[i][b] = Some(sum);
                        }
                        most = most.max(rows);
                        let total = checksummed[i].fetch_add(rows, Ordering::Relaxed) + rows;
                        job.progress.rows_read(&plan.name, Side::ALL[i], total);
                    }
                    this_run_at.lock().expect("chunk times").push(chunk.at);
                    checkpoint.chunk(&chunk);
                    // The next statements aim at the time target, at the rate just measured.
                    let rate = most as f64 / secs;
                    let want = (job.settings.checksum_statement_secs * rate / BUCKET_ROWS as f64)
                        .round() as usize;
                    per_statement.store(want.clamp(1, most_buckets), Ordering::Relaxed);
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("failure slot") {
        return Err(NotUsed::Failed(e));
    }
    if job.cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let [src_sums, tgt_sums] = sums.map(|m| m.into_inner().expect("checksum slots"));
    let differing: Vec<usize> = (0..buckets)
        .filter(|&b| src_sums[b] != tgt_sums[b])
        .collect();
    let totals = [rows_of(&src_sums), rows_of(&tgt_sums)];
    if sources.text_key {
        every_row_counted_once(job, sources, &dialects, totals)?;
    }
    // Adjacent differing buckets become one range.
    let mut ranges: Vec<KeyRange> = Vec::new();
    let mut prev: Option<usize> = None;
    for &b in &differing {
        let r = range_of(b);
        match (prev, ranges.last_mut()) {
            (Some(p), Some(last)) if p + 1 == b => last.1 = r.1,
            _ => ranges.push(r),
        }
        prev = Some(b);
    }
    let streamed_all = ranges.len() > MAX_RANGES;
    let mut stats = ChecksumStats {
        chunks: statements.into_inner(),
        buckets,
        differing_buckets: differing.len(),
        rows_checksummed: totals,
        rows_streamed: [0, 0],
        streamed_all,
        hash: hash.name(),
    };
    let (mut src_req, mut tgt_req) = job.requests();
    if !streamed_all {
        // No differing bucket: an empty range list streams nothing.
        let only = |req: &mut cutover_source::ReadRequest, i: usize| {
            let cond = if ranges.is_empty() {
                Some("1 = 0".to_string())
            } else {
                ranges_sql(dialects[i], &sources.key[i], &ranges)
            };
            if let Some(cond) = cond {
                req.and_where(cond);
            }
        };
        only(&mut src_req, 0);
        only(&mut tgt_req, 1);
    }
    let mut notes: Vec<String> = why.into_iter().collect();
    if resumed > 0 {
        notes.push(crate::checkpoint::resumed_note(
            "checksummed",
            &sources.key[0].name,
            &done,
            &bounds,
            &resumed_at,
            &this_run_at.into_inner().expect("chunk times"),
        ));
    }
    if streamed_all {
        notes.push(format!(
            "{} of {buckets} key ranges differed: the whole table was streamed",
            differing.len()
        ));
    }
    let mut result = job.stream(
        src_req,
        tgt_req,
        Compared {
            checksum: None,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            ranges: 0,
        },
    );
    if let TableResult::Checked(c) = &mut result {
        let d = &mut c.diff;
        stats.rows_streamed = [d.source.rows, d.target.rows];
        if !streamed_all {
            // Rows of equal buckets are equal on both sides: same count, same checksums.
            d.matched += totals[0].saturating_sub(d.source.rows);
            d.source.rows = totals[0];
            d.target.rows = totals[1];
        }
        c.compared.checksum = Some(stats);
    }
    Ok(Some(result))
}

/// Why checksums gave no result: a statement failed, or the table turned out not to suit them.
enum NotUsed {
    Failed(String),
    Unsuited(String),
}

impl From<String> for NotUsed {
    fn from(e: String) -> Self {
        NotUsed::Failed(e)
    }
}

/// Text key ranges are compared in each database's own collation, so that the key's index
/// serves them, and the bounds are the source's keys in the source's order. Whatever order a
/// side compares in, every row falls in at least one of its statements' ranges (they share
/// their ends), so a side whose buckets counted exactly its rows counted each row once; one
/// whose collation disagrees with the bounds' order may count a row twice, and then the table
/// is compared in full. (Buckets that differ only because the two collations place a key
/// differently are streamed like any differing bucket.)
fn every_row_counted_once(
    job: &TableJob<'_>,
    sources: &Sources,
    dialects: &[&'static dyn cutover_source::dialect::Dialect; 2],
    totals: [u64; 2],
) -> Result<(), NotUsed> {
    let counted: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                s.spawn(move || -> Result<u64, String> {
                    let side = Side::ALL[i].name();
                    let sql = sources
                        .side(i, job.plan, RowHash::Md5Sum)
                        .count_sql(dialects[i]);
                    let rows = cutover_source::open(job.endpoints[i])
                        .and_then(|mut c| {
                            c.require_sql("compute checksums")?
                                .text_rows(&sql, job.snapshots[i].as_deref())
                        })
                        .map_err(|e| format!("{side} side: {e}"))?;
                    rows.first()
                        .and_then(|r| r.first().cloned().flatten())
                        .and_then(|v| v.trim().parse().ok())
                        .ok_or_else(|| format!("{side} side: unexpected row count {rows:?}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a count thread panicked".into()))
            })
            .collect()
    });
    for (i, c) in counted.into_iter().enumerate() {
        let rows = c?;
        if rows != totals[i] {
            return Err(NotUsed::Unsuited(format!(
                "the {} side's key ranges counted {} rows but it has {rows}: its collation orders the text key {} unlike the source's (or the table changed during the check)",
                Side::ALL[i].name(),
                totals[i],
                sources.key[i].name
            )));
        }
    }
    Ok(())
}

/// The bounds of buckets of about [`BUCKET_ROWS`] source rows. Dense keys (at most twice as
/// many key values between the smallest and the largest as the estimated rows) are split
/// evenly from two index lookups; other keys at every `BUCKET_ROWS`-th key in key order, which
/// reads every key once (a few seconds per ten million rows).
fn bucket_bounds(
    job: &TableJob<'_>,
    sources: &Sources,
    hash: RowHash,
    src: &mut dyn Connector,
) -> Result<Vec<KeyBound>, String> {
    let d = cutover_source::dialect::of(sources.engines[0]);
    let source = sources.side(0, job.plan, hash);
    let mut query = |sql: &str| {
        src.require_sql("compute checksums")
            .and_then(|s| s.text_rows(sql, job.snapshots[0].as_deref()))
            .map_err(|e| format!("source side: {e}"))
    };
    let key = |text: Option<String>| -> Result<Option<KeyBound>, String> {
        match text {
            None => Ok(None),
            Some(t) if sources.text_key => Ok(Some(KeyBound::Text(t))),
            Some(t) => KeyBound::parse(&t)
                .map(Some)
                .ok_or_else(|| format!("unexpected key {t:?}")),
        }
    };
    if let Some(estimate) = job
        .plan
        .estimated_rows
        .filter(|e| *e > 0 && !sources.text_key)
    {
        let span = query(&source.key_span_sql(d))?;
        let mut cells = span.into_iter().next().unwrap_or_default().into_iter();
        let (Some(lo), Some(hi)) = (key(cells.next().flatten())?, key(cells.next().flatten())?)
        else {
            return Ok(Vec::new());
        };
        let (Some(lo), Some(hi)) = (lo.int(), hi.int()) else {
            return Err("unexpected integer key bounds".into());
        };
        let values = (hi - lo + 1) as u128;
        if values <= 2 * estimate as u128 {
            let buckets = estimate.div_ceil(BUCKET_ROWS).max(1) as u128;
            let width = values.div_ceil(buckets).max(1) as i128;
            return Ok((1..)
                .map(|i| lo + i * width)
                .take_while(|b| *b <= hi)
                .map(KeyBound::Int)
                .collect());
        }
    }
    let rows = query(&source.quantiles_sql(d, BUCKET_ROWS))?;
    let mut bounds = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(b) = key(r.into_iter().next().flatten())? {
            bounds.push(b);
        }
    }
    // The source's key order: an integer's, or a text key's collation (kept as read).
    if !sources.text_key {
        bounds.sort_unstable();
    }
    bounds.dedup();
    Ok(bounds)
}

/// Parses a bucket statement's rows: bucket (0..=inner), rows, and two sums, or an md5 in hex
/// (read as its two 64-bit halves).
fn parse_buckets(
    rows: Vec<Vec<Option<String>>>,
    inner: usize,
    hash: RowHash,
) -> Result<Vec<(usize, BucketSum)>, String> {
    rows.into_iter()
        .map(|r| {
            let field = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let bad = || format!("unexpected checksum row {r:?}");
            let bucket: usize = field(0).trim().parse().map_err(|_| bad())?;
            if bucket > inner {
                return Err(bad());
            }
            let count: u64 = field(1).trim().parse().map_err(|_| bad())?;
            let (a, b) = if hash == RowHash::Md5Range {
                let md5 = field(2);
                let half = |h: &str| u64::from_str_radix(h, 16).map(i128::from);
                match (md5.len(), md5.get(..16), md5.get(16..)) {
                    (32, Some(hi), Some(lo)) => {
                        (half(hi).map_err(|_| bad())?, half(lo).map_err(|_| bad())?)
                    }
                    _ => return Err(bad()),
                }
            } else {
                (
                    field(2).trim().parse().map_err(|_| bad())?,
                    field(3).trim().parse().map_err(|_| bad())?,
                )
            };
            Ok((bucket, (count, a, b)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rows_are_read_exactly_or_refused() {
        let row = |v: [&str; 4]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
        let parsed = parse_buckets(
            vec![
                row(["0", "3", "123", "456"]),
                row(["2", "1", "1180591620717411303424", "7"]),
            ],
            2,
            RowHash::Md5Sum,
        )
        .unwrap();
        assert_eq!(parsed[1], (2, (1, 1 << 70, 7)));
        let negative = parse_buckets(
            vec![row(["0", "2", "-9223372036854775809", "-1"])],
            0,
            RowHash::Md5Sum,
        );
        assert_eq!(negative.unwrap()[0].1, (2, -9223372036854775809, -1));
        assert!(parse_buckets(vec![row(["3", "1", "1", "1"])], 2, RowHash::Md5Sum).is_err());
        assert!(parse_buckets(vec![row(["0", "1", "1.5", "1"])], 2, RowHash::Md5Sum).is_err());
        // An md5 is read as its two 64-bit halves, and nothing else passes for one.
        let md5 = parse_buckets(
            vec![row(["1", "1024", "ffffffffffffffff0000000000000001", "0"])],
            1,
            RowHash::Md5Range,
        );
        assert_eq!(md5.unwrap()[0], (1, (1024, u64::MAX as i128, 1)));
        for bad in ["ffff", "g0000000000000000000000000000000", "123"] {
            let r = parse_buckets(vec![row(["0", "1", bad, "0"])], 0, RowHash::Md5Range);
            assert!(r.is_err(), "{bad}");
        }
    }
}
