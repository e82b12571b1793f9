//! Plans and runs a check: resolves the config against both sides' live schemas into a
//! [`TablePlan`] per table, then checks tables in parallel through the two-sided read pipeline
//! of `cutover-source` (both sides read at once, hashed on the rayon pool, merge-joined into a
//! [`TableDiffSink`] and, with `--export-diffs`, an exporter).
//!
//! Memory per table is bounded by the batches in flight. The result, [`Outcome`], is
//! deterministic: tables in config order, samples in key order, whatever the thread count or
//! batch size.

pub mod checkpoint;
pub mod checksum;
pub mod init;
mod plan;
pub mod ranges;
mod schema;
pub mod storage_order;

use cutover_check::diff::Tee;
use cutover_check::{
    DiffError, DiffOptions, DiffSink, Side, TableDiff, TableDiffSink, TableStatus,
};
use cutover_source::pair::{SideRead, compare};
use cutover_source::{Connector, CsvFormat, Endpoint, ReadRequest, SessionLimits, SourceError};
pub use plan::{ColumnPlan, TablePlan};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a run needs, resolved from the CLI, the environment and the config file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Source URL (may hold a password; never shown).
    pub source_url: String,
    /// Target URL.
    pub target_url: String,
    /// Tables to compare.
    pub tables: Vec<cutover_config::TableConfig>,
    /// Tables checked at once.
    pub jobs: usize,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Samples kept per kind of difference.
    pub sample_size: usize,
    /// How the source's CSV files are read (for a `csv://` source).
    pub source_csv: cutover_config::CsvOptions,
    /// How the target's CSV files are read.
    pub target_csv: cutover_config::CsvOptions,
    /// Memory for sorting unordered sources, in bytes, shared by all readers at once.
    pub memory_limit: usize,
    /// Normalisations for every table (`[defaults]`).
    pub defaults: cutover_config::Normalize,
    /// Timeouts of every database session.
    pub session: SessionLimits,
    /// The go-live checklist items (id, title): the built-in four and the config's own.
    pub checklist: Vec<(String, String)>,
    /// Where checksum mode records finished chunks, and what an interrupted run finished
    /// (`--resume`); none: no checkpoints.
    pub checkpoints: Option<std::sync::Arc<checkpoint::Checkpoints>>,
    /// Rows per checkpointed key range of a full compare ([`ranges::CHECKPOINT_ROWS`]).
    pub checkpoint_rows: u64,
    /// The time one checksum statement aims at, in seconds ([`checksum::STATEMENT_SECS`]).
    pub checksum_statement_secs: f64,
    /// Estimated rows from which a PostgreSQL side of a full compare is read in its storage
    /// order ([`storage_order::STORAGE_ORDER_ROWS`]).
    pub storage_order_rows: u64,
}

/// The default of `--memory-limit`: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

/// How CSV files are read, from the config's options (validated when the config was parsed),
/// with their per-file options.
pub fn csv_format(o: &cutover_config::CsvOptions) -> CsvFormat {
    let d = CsvFormat::default();
    let over = csv_override(o);
    CsvFormat {
        delimiter: over.delimiter.unwrap_or(d.delimiter),
        quote: over.quote.unwrap_or(d.quote),
        header: over.header.unwrap_or(d.header),
        encoding: over.encoding,
        decimal_comma: over.decimal_comma.unwrap_or(false),
        null: over.null.unwrap_or(d.null),
        date_format: over.date_format,
        timestamp_format: over.timestamp_format,
        files: o
            .files
            .iter()
            .map(|(pattern, f)| (pattern.clone(), csv_override(f)))
            .collect(),
    }
}

/// The keys a CSV section sets, as an override of another's.
pub fn csv_override(o: &cutover_config::CsvOptions) -> cutover_source::CsvOverride {
    let char_of = |v: &Option<String>| v.as_deref().and_then(cutover_config::csv_char);
    cutover_source::CsvOverride {
        delimiter: char_of(&o.delimiter),
        quote: char_of(&o.quote),
        header: o.header,
        encoding: o.encoding.clone(),
        decimal_comma: o.decimal_comma,
        null: o.null.clone(),
        date_format: o.date_format.clone(),
        timestamp_format: o.timestamp_format.clone(),
    }
}

impl Settings {
    /// Where a side is. A table's own CSV options apply to its files (its source name, or
    /// its name on the target) over the side's.
    pub fn endpoint(&self, side: Side) -> Endpoint {
        let (url, options) = match side {
            Side::Source => (&self.source_url, &self.source_csv),
            Side::Target => (&self.target_url, &self.target_csv),
        };
        let mut csv = csv_format(options);
        for t in &self.tables {
            let files = match side {
                Side::Source if t.source_query.is_none() => t.source_table(),
                Side::Source => continue,
                Side::Target => &t.name,
            };
            if let Some(o) = &t.csv {
                csv.files.push((files.to_string(), csv_override(o)));
            }
        }
        Endpoint {
            url: url.clone(),
            csv,
            session: self.session,
            memory_budget: self.memory_budget(),
        }
    }

    /// The sort memory of one reader: the limit shared by the two readers of every job.
    pub fn memory_budget(&self) -> usize {
        self.memory_limit / (2 * self.jobs.max(1))
    }
}

/// Receives progress while a run goes on. Implemented by the binary (bars or log lines).
pub trait Progress: Send + Sync {
    /// A table's check started; `estimated_rows` is the engines' estimate of its rows (the
    /// larger side), when they keep one.
    fn table_started(&self, _table: &str, _estimated_rows: Option<u64>) {}
    /// A side has read `rows` rows of `table` so far.
    fn rows_read(&self, _table: &str, _side: Side, _rows: u64) {}
    /// A table's check ended.
    fn table_finished(&self, _table: &str, _result: &TableResult) {}
    /// Something the user should know that does not change the verdict.
    fn warning(&self, _message: &str) {}
}

/// A progress sink that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A sink that receives every difference of one table besides the report (the export of
/// `--export-diffs`), and is closed when the table is done.
pub trait Exporter: DiffSink + Send {
    /// Flushes and closes what it wrote; the error says why it could not.
    fn close(self: Box<Self>) -> Result<(), String>;
    /// The first write error, when the exporter stopped the join.
    fn error(&self) -> Option<String>;
}

/// Makes an [`Exporter`] per table.
pub trait ExportFactory: Sync {
    /// An exporter for rows of `columns` (target names, key first) of `table`.
    fn create(
        &self,
        table: &str,
        columns: &[String],
        key_columns: usize,
    ) -> Result<Box<dyn Exporter>, String>;
}

/// One side as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The URL with the password hidden.
    pub url: String,
    /// The engine.
    pub engine: &'static str,
    /// Whether the session was encrypted, and what was verified.
    pub transport: &'static str,
}

/// A run that could not start at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A side could not be reached.
    #[error("{side} side: {error}", side = .0.name(), error = .1)]
    Connect(Side, SourceError),
}

impl RunError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&str> {
        match self {
            RunError::Connect(_, e) => e.hint(),
        }
    }
}

/// The result of one table.
#[derive(Debug, Clone)]
pub enum TableResult {
    /// Compared row by row.
    Checked(Box<CheckedTable>),
    /// Could not be compared; the run is NO-GO.
    Failed(FailedTable),
}

impl TableResult {
    /// The target table name.
    pub fn name(&self) -> &str {
        match self {
            TableResult::Checked(c) => &c.plan.name,
            TableResult::Failed(f) => &f.name,
        }
    }

    /// How the comparison ended.
    pub fn status(&self) -> TableStatus {
        match self {
            TableResult::Checked(c) if c.diff.is_match() => TableStatus::Match,
            TableResult::Checked(_) => TableStatus::Differ,
            TableResult::Failed(f) if f.interrupted => TableStatus::Interrupted,
            TableResult::Failed(_) => TableStatus::Error,
        }
    }

    /// The checklist item this comparison closes.
    pub fn checklist(&self) -> &str {
        match self {
            TableResult::Checked(c) => &c.plan.checklist,
            TableResult::Failed(f) => &f.checklist,
        }
    }
}

/// A table that was compared.
#[derive(Debug, Clone)]
pub struct CheckedTable {
    /// What was compared.
    pub plan: TablePlan,
    /// The exact differences.
    pub diff: TableDiff,
    /// The statement run on the source.
    pub source_sql: String,
    /// The statement run on the target.
    pub target_sql: String,
    /// Wall time.
    pub elapsed: Duration,
    /// How the rows were compared: in full, or by checksums and the ranges that differed.
    pub compared: checksum::Compared,
}

/// A table that could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTable {
    /// The target table name.
    pub name: String,
    /// The source table name.
    pub source_name: String,
    /// The checklist item the comparison would have closed.
    pub checklist: String,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// True when the run was interrupted before or while this table was checked.
    pub interrupted: bool,
}

impl FailedTable {
    /// A failure of the table `t` with a message and a hint.
    pub fn of(
        t: &cutover_config::TableConfig,
        message: String,
        hint: Option<String>,
    ) -> FailedTable {
        FailedTable {
            name: t.name.clone(),
            source_name: t.source_table().to_string(),
            checklist: t.checklist_item().to_string(),
            message,
            hint,
            interrupted: false,
        }
    }
}

/// The result of the table comparisons of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The source side.
    pub source: EndpointInfo,
    /// The target side.
    pub target: EndpointInfo,
    /// One result per configured table, in config order.
    pub tables: Vec<TableResult>,
    /// False when the run was interrupted.
    pub complete: bool,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The go-live checklist items (id, title) the report closes or opens; empty: the built-in
    /// four.
    pub checklist: Vec<(String, String)>,
}

impl Outcome {
    /// The status of every table, in config order.
    pub fn statuses(&self) -> Vec<TableStatus> {
        self.tables.iter().map(TableResult::status).collect()
    }

    /// True when every table matched and the run completed (the verdict of the table
    /// comparisons alone, by [`cutover_check::outcome::verdict`]).
    pub fn is_go(&self) -> bool {
        let v = cutover_check::outcome::verdict(
            self.complete,
            &self.statuses(),
            &[],
            cutover_check::Severity::Error,
        );
        v.is_go()
    }
}

/// Runs the whole check. Returns an error only when a side cannot be reached; every per-table
/// problem becomes a [`FailedTable`] and the other tables are still checked.
pub fn run(
    settings: &Settings,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Outcome, RunError> {
    run_with_export(settings, progress, cancel, None)
}

/// The sessions a run opens on both sides, and the sides as reports show them.
struct Sessions {
    source_end: Endpoint,
    target_end: Endpoint,
    src: Box<dyn Connector>,
    tgt: Box<dyn Connector>,
    source: EndpointInfo,
    target: EndpointInfo,
}

impl Sessions {
    fn open(settings: &Settings) -> Result<Sessions, RunError> {
        let (source_end, target_end) = (
            settings.endpoint(Side::Source),
            settings.endpoint(Side::Target),
        );
        let src =
            cutover_source::open(&source_end).map_err(|e| RunError::Connect(Side::Source, e))?;
        let tgt =
            cutover_source::open(&target_end).map_err(|e| RunError::Connect(Side::Target, e))?;
        let source = EndpointInfo {
            url: cutover_source::redact(&settings.source_url),
            engine: src.engine().name(),
            transport: src.transport().describe(),
        };
        let target = EndpointInfo {
            url: cutover_source::redact(&settings.target_url),
            engine: tgt.engine().name(),
            transport: tgt.transport().describe(),
        };
        Ok(Sessions {
            source_end,
            target_end,
            src,
            tgt,
            source,
            target,
        })
    }
}

/// Every table planned against both live schemas (a table with a source of its own is planned
/// against it).
fn plan_tables(
    settings: &Settings,
    source_end: &Endpoint,
    src: &mut dyn Connector,
    tgt: &mut dyn Connector,
    count_nulls: bool,
) -> Vec<Result<TablePlan, plan::PlanError>> {
    let plan_one =
        |t: &cutover_config::TableConfig, src: &mut dyn Connector, tgt: &mut dyn Connector| {
            let mut plan = plan::plan_table(t, src, tgt, settings)?;
            let found = schema::findings(t, &plan, src, tgt, count_nulls);
            (
                plan.schema,
                plan.estimated_rows,
                plan.key_unique,
                plan.key_primary,
            ) = found;
            // A unique key orders without a rule for NULLs.
            plan.show_sql(settings, src, tgt);
            Ok(plan)
        };
    settings
        .tables
        .iter()
        .map(|t| match &t.source_url {
            None => plan_one(t, src, tgt),
            Some(url) => match cutover_source::open(&source_end.with_url(url)) {
                Ok(mut own) => plan_one(t, own.as_mut(), tgt),
                Err(e) => Err(plan::PlanError {
                    message: format!("its source_url cannot be opened: {e}"),
                    hint: e.hint().map(str::to_string),
                }),
            },
        })
        .collect()
}

/// What a check will do, found without reading a row: both sides, and each table's plan (its
/// columns, key, comparison kinds and the statements each side will run) or why it cannot be
/// checked.
#[derive(Debug)]
pub struct Planned {
    /// The source side.
    pub source: EndpointInfo,
    /// The target side.
    pub target: EndpointInfo,
    /// One entry per configured table, in config order.
    pub tables: Vec<PlannedTable>,
    /// The tables each side holds that no configured table reads (`None`: the side cannot
    /// list its tables).
    pub unpaired: [Option<Vec<String>>; 2],
}

/// A table as `cutover plan` shows it.
#[derive(Debug)]
pub enum PlannedTable {
    /// It can be checked, like this.
    Ready(Box<TablePlan>),
    /// It cannot be checked, and why.
    Failed(FailedTable),
}

/// Plans every table against both live schemas without reading data (`cutover plan`); with
/// `count_nulls` (`cutover schema`), NULLs are counted on the source where the target column
/// rejects them.
pub fn plan(settings: &Settings, count_nulls: bool) -> Result<Planned, RunError> {
    let Sessions {
        source_end,
        mut src,
        mut tgt,
        source,
        target,
        ..
    } = Sessions::open(settings)?;
    let tables = plan_tables(
        settings,
        &source_end,
        src.as_mut(),
        tgt.as_mut(),
        count_nulls,
    )
    .into_iter()
    .zip(&settings.tables)
    .map(|(p, t)| match p {
        Ok(p) => PlannedTable::Ready(Box::new(p)),
        Err(e) => PlannedTable::Failed(e.of(t)),
    })
    .collect();
    let used = |name: &str, side: Side| {
        settings.tables.iter().any(|t| {
            let n = match side {
                Side::Source if t.source_query.is_some() || t.source_url.is_some() => return false,
                Side::Source => t.source_table(),
                Side::Target => &t.name,
            };
            n.eq_ignore_ascii_case(name)
        })
    };
    let mut unpaired = [None, None];
    for (i, (side, conn)) in [(Side::Source, &mut src), (Side::Target, &mut tgt)]
        .into_iter()
        .enumerate()
    {
        unpaired[i] = conn.tables().ok().map(|all| {
            all.into_iter()
                .filter(|n| !used(n, side))
                .collect::<Vec<_>>()
        });
    }
    Ok(Planned {
        source,
        target,
        tables,
        unpaired,
    })
}

/// [`run`], handing every difference of every table to an exporter as well.
pub fn run_with_export(
    settings: &Settings,
    progress: &dyn Progress,
    cancel: &AtomicBool,
    export: Option<&dyn ExportFactory>,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let Sessions {
        source_end,
        target_end,
        mut src,
        mut tgt,
        source,
        target,
    } = Sessions::open(settings)?;
    let plans = plan_tables(settings, &source_end, src.as_mut(), tgt.as_mut(), true);
    // One snapshot per side for every table, where the engine can share one (PostgreSQL).
    // The exporting sessions stay open until every table has been read.
    let snapshots = [
        snapshot(src.as_mut(), Side::Source, progress),
        snapshot(tgt.as_mut(), Side::Target, progress),
    ];

    let slots: Vec<std::sync::Mutex<Option<TableResult>>> =
        plans.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let jobs = settings.jobs.max(1).min(plans.len().max(1));
    let ends = [&source_end, &target_end];
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(p) = plans.get(i) else { break };
                    let result = match p {
                        Err(failed) => TableResult::Failed(failed.clone().of(&settings.tables[i])),
                        Ok(plan) if cancel.load(Ordering::Relaxed) => {
                            TableResult::Failed(interrupted(plan))
                        }
                        Ok(plan) => {
                            progress.table_started(&plan.name, plan.estimated_rows);
                            check_table(settings, plan, ends, &snapshots, progress, cancel, export)
                        }
                    };
                    progress.table_finished(result.name(), &result);
                    *slots[i].lock().expect("result slot") = Some(result);
                }
            });
        }
    });
    drop((src, tgt));
    let tables: Vec<TableResult> = slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .expect("result slot")
                .expect("every table ran")
        })
        .collect();
    let complete = !cancel.load(Ordering::Relaxed);
    Ok(Outcome {
        source,
        target,
        tables,
        complete,
        elapsed: started.elapsed(),
        checklist: settings.checklist.clone(),
    })
}

/// A snapshot every table of a side is read in, where the engine can share one. When the
/// export fails (a standby server cannot export one), each table is read in a snapshot of its
/// own, as on engines without exportable snapshots, and the user is told.
fn snapshot(side: &mut dyn Connector, which: Side, progress: &dyn Progress) -> Option<String> {
    match side.sql().map(|s| s.export_snapshot()) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(id))) => Some(id),
        Some(Err(e)) => {
            progress.warning(&format!(
                "{} side: cannot share one snapshot between tables, each table is read in its own: {e}",
                which.name()
            ));
            None
        }
    }
}

fn interrupted(plan: &TablePlan) -> FailedTable {
    FailedTable {
        name: plan.name.clone(),
        source_name: plan.source_name.clone(),
        checklist: plan.checklist.clone(),
        message: "not checked: the run was interrupted".into(),
        hint: None,
        interrupted: true,
    }
}

fn check_table(
    settings: &Settings,
    plan: &TablePlan,
    [source_end, target_end]: [&Endpoint; 2],
    snapshots: &[Option<String>; 2],
    progress: &dyn Progress,
    cancel: &AtomicBool,
    export: Option<&dyn ExportFactory>,
) -> TableResult {
    let started = Instant::now();
    // A table with a source of its own is not in the run's source snapshot.
    let own_source = plan.source_url.as_ref().map(|u| source_end.with_url(u));
    let snapshots = match own_source {
        Some(_) => [None, snapshots[1].clone()],
        None => snapshots.clone(),
    };
    let job = TableJob {
        settings,
        plan,
        endpoints: [own_source.as_ref().unwrap_or(source_end), target_end],
        snapshots,
        progress,
        cancel,
        export,
        started,
    };
    match checksum::choose(&job) {
        checksum::Choice::Full(note) => {
            let (src_req, tgt_req) = job.requests();
            let compared = checksum::Compared {
                checksum: None,
                note,
                ranges: 0,
            };
            if let Some(e) = ranges::eligible(&job) {
                ranges::run(&job, e, src_req, tgt_req, compared)
            } else if let Some(sides) = storage_order::sides(&job) {
                storage_order::run(&job, sides, src_req, tgt_req, compared)
            } else {
                job.stream(src_req, tgt_req, compared)
            }
        }
        checksum::Choice::Checksum(sources) => checksum::run(&job, sources),
    }
}

/// One table's check: what it needs from the run.
pub(crate) struct TableJob<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) plan: &'a TablePlan,
    /// The source's and the target's endpoints.
    pub(crate) endpoints: [&'a Endpoint; 2],
    /// The snapshots each side reads in, where shared.
    pub(crate) snapshots: [Option<String>; 2],
    pub(crate) progress: &'a dyn Progress,
    pub(crate) cancel: &'a AtomicBool,
    pub(crate) export: Option<&'a dyn ExportFactory>,
    pub(crate) started: Instant,
}

impl TableJob<'_> {
    /// The read requests of both sides, in the run's snapshots.
    pub(crate) fn requests(&self) -> (ReadRequest, ReadRequest) {
        self.plan.requests(
            self.settings.batch_rows,
            self.snapshots.clone(),
            self.settings.memory_budget(),
        )
    }

    /// Streams both requests through the merge join; the result says how the table was compared.
    pub(crate) fn stream(
        &self,
        src_req: ReadRequest,
        tgt_req: ReadRequest,
        compared: checksum::Compared,
    ) -> TableResult {
        let TableJob {
            plan,
            progress,
            cancel,
            export,
            ..
        } = *self;
        let opts = self.diff_options();
        let fail = |message: String, hint: Option<String>| self.failed(message, hint);
        let export_hint = || Some("check --export-diffs: the folder must be writable".to_string());
        let mut exporter = match export {
            None => None,
            Some(f) => {
                let names: Vec<String> =
                    plan.columns.iter().map(|c| c.target.name.clone()).collect();
                match f.create(&plan.name, &names, plan.key_len) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        return fail(format!("cannot export the differences: {e}"), export_hint());
                    }
                }
            }
        };
        let mut summary = TableDiffSink::new(&opts);
        let (source, target) = self.reads(src_req, tgt_req);
        let on_rows = |side: Side, rows: u64| progress.rows_read(&plan.name, side, rows);
        let joined = match &mut exporter {
            Some(ex) => compare(
                source,
                target,
                &opts,
                &mut Tee(&mut summary, ex.as_mut()),
                &on_rows,
                cancel,
            ),
            None => compare(source, target, &opts, &mut summary, &on_rows, cancel),
        };
        if let Some(ex) = exporter {
            let failed = ex.error();
            if let Some(e) = failed.or_else(|| ex.close().err()) {
                return fail(format!("cannot export the differences: {e}"), export_hint());
            }
        }
        self.result(joined.map(|()| summary.into_diff()), compared)
    }

    /// Reads of `source` and `target` at the table's endpoints.
    pub(crate) fn reads(
        &self,
        source: ReadRequest,
        target: ReadRequest,
    ) -> (SideRead<'_>, SideRead<'_>) {
        let [s, t] = self.endpoints;
        (
            SideRead {
                endpoint: s,
                request: source,
            },
            SideRead {
                endpoint: t,
                request: target,
            },
        )
    }

    /// How the table's rows are diffed.
    pub(crate) fn diff_options(&self) -> DiffOptions {
        let plan = self.plan;
        DiffOptions {
            columns: plan.columns.len(),
            key_columns: plan.key_len,
            sample_size: self.settings.sample_size,
            tolerances: plan.columns.iter().map(|c| c.tolerance.clone()).collect(),
        }
    }

    /// The table failed: `message`, and what to do about it.
    pub(crate) fn failed(&self, message: String, hint: Option<String>) -> TableResult {
        let plan = self.plan;
        TableResult::Failed(FailedTable {
            name: plan.name.clone(),
            source_name: plan.source_name.clone(),
            checklist: plan.checklist.clone(),
            message,
            hint,
            interrupted: false,
        })
    }

    /// The table's result from its diff, or from why the diff stopped.
    pub(crate) fn result(
        &self,
        joined: Result<cutover_check::TableDiff, DiffError<SourceError>>,
        compared: checksum::Compared,
    ) -> TableResult {
        let plan = self.plan;
        let fail = |message: String, hint: Option<String>| self.failed(message, hint);
        match joined {
            Ok(diff) => TableResult::Checked(Box::new(CheckedTable {
                plan: plan.clone(),
                diff,
                source_sql: plan.source_sql.clone(),
                target_sql: plan.target_sql.clone(),
                elapsed: self.started.elapsed(),
                compared,
            })),
            Err(DiffError::Cancelled) => TableResult::Failed(interrupted(plan)),
            Err(e) => {
                let hint = match &e {
                    DiffError::OutOfOrder { .. } => Some(
                        "the engine's key order differs from byte order for this key type; report this with the key's column types"
                            .to_string(),
                    ),
                    DiffError::Stream(_, SourceError::Query { .. }) => {
                        Some("check the table, column names and any source_where / target_where condition".to_string())
                    }
                    DiffError::Stream(_, s) => s.hint().map(str::to_string),
                    _ => None,
                };
                fail(e.to_string(), hint)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_options_become_a_format_with_the_defaults_filled_in() {
        let f = csv_format(&cutover_config::CsvOptions::default());
        assert_eq!(f, CsvFormat::default());
        let f = csv_format(&cutover_config::CsvOptions {
            delimiter: Some("\\t".into()),
            quote: Some("'".into()),
            header: Some(false),
            encoding: Some("latin-1".into()),
            decimal_comma: Some(true),
            null: Some(vec!["\\N".into()]),
            date_format: Some("%d.%m.%Y".into()),
            timestamp_format: None,
            files: [(
                "CUST*".to_string(),
                cutover_config::CsvOptions {
                    encoding: Some("utf-8".into()),
                    delimiter: Some(",".into()),
                    ..Default::default()
                },
            )]
            .into(),
        });
        assert_eq!((f.delimiter, f.quote, f.header), (b'\t', b'\'', false));
        assert_eq!(f.encoding.as_deref(), Some("latin-1"));
        assert!(f.decimal_comma);
        assert_eq!(f.null, ["\\N"]);
        // A file's own options replace the side's keys they set, and only for its files.
        let cust = f.for_file("Customers.CSV");
        assert_eq!(
            (cust.encoding.as_deref(), cust.delimiter),
            (Some("utf-8"), b',')
        );
        assert_eq!((cust.quote, cust.decimal_comma), (b'\'', true));
        assert_eq!(
            f.for_file("orders.csv").encoding.as_deref(),
            Some("latin-1")
        );
    }

    #[test]
    fn the_sort_memory_is_shared_by_every_reader() {
        let s = Settings {
            source_url: "sqlite://a".into(),
            target_url: "csv://b".into(),
            tables: vec![],
            jobs: 4,
            batch_rows: 10,
            sample_size: 1,
            source_csv: Default::default(),
            target_csv: cutover_config::CsvOptions {
                delimiter: Some(";".into()),
                ..Default::default()
            },
            memory_limit: 1 << 30,
            defaults: Default::default(),
            session: Default::default(),
            checklist: Vec::new(),
            checkpoints: None,
            checkpoint_rows: ranges::CHECKPOINT_ROWS,
            checksum_statement_secs: checksum::STATEMENT_SECS,
            storage_order_rows: storage_order::STORAGE_ORDER_ROWS,
        };
        assert_eq!(s.memory_budget(), (1 << 30) / 8);
        assert_eq!(s.endpoint(Side::Target).csv.delimiter, b';');
        assert_eq!(s.endpoint(Side::Source).url, "sqlite://a");
    }

    #[test]
    fn a_failed_table_keeps_its_checklist_item_and_status() {
        let mut t = cutover_config::TableConfig {
            name: "orders".into(),
            source_name: Some("ORD".into()),
            key: None,
            columns: Default::default(),
            source_query: None,
            checklist: Some("reference-books".into()),
            normalize: Default::default(),
            source_url: None,
            ignore: vec![],
            drop: vec![],
            source_where: None,
            target_where: None,
            mode: None,
            csv: None,
        };
        let failed = TableResult::Failed(FailedTable::of(&t, "gone".into(), None));
        assert_eq!(failed.status(), TableStatus::Error);
        assert_eq!(failed.checklist(), "reference-books");
        t.checklist = None;
        let mut f = FailedTable::of(&t, "stopped".into(), None);
        assert_eq!(f.checklist, "historical-data");
        f.interrupted = true;
        assert_eq!(TableResult::Failed(f).status(), TableStatus::Interrupted);
    }
}
