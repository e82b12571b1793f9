//! Plans and runs a check: resolves the config against both sides' live schemas into a
//! [`TablePlan`] per table, then checks tables in parallel, each with both sides read at the
//! same time on threads of their own, hashing on the rayon pool and diffing as a merge join.
//!
//! Memory per table is bounded by the batches in flight: two per side in the channel, one being
//! built, one being diffed. The result, [`Outcome`], is deterministic: tables in config order,
//! samples in key order, whatever the thread count or batch size.

pub mod export;
mod plan;

use cutover_check::{DiffError, DiffOptions, HashedBatch, Side, TableDiff};
use cutover_source::{Connection, ReadRequest, SourceError};
pub use plan::{ColumnPlan, TablePlan};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
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
    /// Where every differing row is exported (CSV and Parquet per table), if anywhere.
    pub export_diffs: Option<std::path::PathBuf>,
}

/// The default of `--memory-limit`: 1 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 1 << 30;

impl Settings {
    /// The URL and CSV options of a side.
    fn side(&self, side: Side) -> (&str, &cutover_config::CsvOptions) {
        match side {
            Side::Source => (&self.source_url, &self.source_csv),
            Side::Target => (&self.target_url, &self.target_csv),
        }
    }

    /// The sort memory of one reader: the limit shared by the two readers of every job.
    pub fn memory_budget(&self) -> usize {
        self.memory_limit / (2 * self.jobs.max(1))
    }
}

/// Receives progress while a run goes on. Implemented by the binary (bars or log lines).
pub trait Progress: Send + Sync {
    /// A table's check started.
    fn table_started(&self, _table: &str) {}
    /// A side has read `rows` rows of `table` so far.
    fn rows_read(&self, _table: &str, _side: Side, _rows: u64) {}
    /// A table's check ended.
    fn table_finished(&self, _table: &str, _result: &TableResult) {}
}

/// A progress sink that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One side as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The URL with the password hidden.
    pub url: String,
    /// The engine.
    pub engine: &'static str,
}

/// A run that could not start at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A side could not be reached.
    #[error("{side} side: {error}", side = .0.name(), error = .1)]
    Connect(Side, SourceError),
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

    /// True when the table matched exactly.
    pub fn is_match(&self) -> bool {
        matches!(self, TableResult::Checked(c) if c.diff.is_match())
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
}

/// A table that could not be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTable {
    /// The target table name.
    pub name: String,
    /// The source table name.
    pub source_name: String,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// True when the run was interrupted before or while this table was checked.
    pub interrupted: bool,
}

/// The result of a run.
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
}

impl Outcome {
    /// GO: the run completed and every table matched exactly.
    pub fn is_go(&self) -> bool {
        self.complete && !self.tables.is_empty() && self.tables.iter().all(TableResult::is_match)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs the whole check. Returns an error only when a side cannot be reached; every per-table
/// problem becomes a [`FailedTable`] and the other tables are still checked.
pub fn run(
    settings: &Settings,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let rt = runtime();
    let (src, tgt) = rt.block_on(async {
        tokio::join!(
            Connection::connect_with(&settings.source_url, &settings.source_csv),
            Connection::connect_with(&settings.target_url, &settings.target_csv)
        )
    });
    let mut src = src.map_err(|e| RunError::Connect(Side::Source, e))?;
    let mut tgt = tgt.map_err(|e| RunError::Connect(Side::Target, e))?;
    let source = EndpointInfo {
        url: cutover_source::redact(&settings.source_url),
        engine: src.engine().name(),
    };
    let target = EndpointInfo {
        url: cutover_source::redact(&settings.target_url),
        engine: tgt.engine().name(),
    };

    let plans: Vec<Result<(TablePlan, String, String), FailedTable>> = settings
        .tables
        .iter()
        .map(|t| {
            rt.block_on(async {
                match &t.source_url {
                    None => plan::plan_table(t, &mut src, &mut tgt, settings).await,
                    Some(url) => match Connection::connect_with(url, &settings.source_csv).await {
                        Ok(mut own) => plan::plan_table(t, &mut own, &mut tgt, settings).await,
                        Err(e) => Err(FailedTable {
                            name: t.name.clone(),
                            source_name: t.source_table().to_string(),
                            message: format!("its source_url cannot be opened: {e}"),
                            hint: None,
                            interrupted: false,
                        }),
                    },
                }
            })
        })
        .collect();
    // One snapshot per side for every table, where the engine can share one (PostgreSQL).
    // The exporting sessions stay open until every table has been read.
    let snapshots = rt.block_on(async {
        let (a, b) = tokio::join!(src.export_snapshot(), tgt.export_snapshot());
        [a.ok().flatten(), b.ok().flatten()]
    });

    let slots: Vec<std::sync::Mutex<Option<TableResult>>> =
        plans.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let jobs = settings.jobs.max(1).min(plans.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(p) = plans.get(i) else { break };
                    let result = match p {
                        Err(failed) => TableResult::Failed(failed.clone()),
                        Ok(_) if cancel.load(Ordering::Relaxed) => {
                            let t = &settings.tables[i];
                            TableResult::Failed(interrupted(&t.name, t.source_table()))
                        }
                        Ok((plan, source_sql, target_sql)) => {
                            progress.table_started(&plan.name);
                            check_table(
                                settings,
                                plan,
                                (source_sql, target_sql),
                                &snapshots,
                                progress,
                                cancel,
                            )
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
    })
}

fn interrupted(name: &str, source_name: &str) -> FailedTable {
    FailedTable {
        name: name.to_string(),
        source_name: source_name.to_string(),
        message: "not checked: the run was interrupted".into(),
        hint: None,
        interrupted: true,
    }
}

/// Diffs two arbitrary reads (tables, queries, files) with the same streaming machinery as a
/// table check: each side on a thread of its own, key-ordered, merge-joined. Rules use it for
/// cross-side comparisons (orphans across sides, hierarchies, aggregates per group).
pub fn diff_requests(
    source: (&str, &cutover_config::CsvOptions),
    target: (&str, &cutover_config::CsvOptions),
    reqs: (ReadRequest, ReadRequest),
    opts: &DiffOptions,
    cancel: &AtomicBool,
) -> Result<TableDiff, String> {
    std::thread::scope(|scope| {
        let src = spawn_reader(
            scope,
            source,
            reqs.0,
            Side::Source,
            "rule",
            &NoProgress,
            cancel,
        );
        let tgt = spawn_reader(
            scope,
            target,
            reqs.1,
            Side::Target,
            "rule",
            &NoProgress,
            cancel,
        );
        cutover_check::diff(src.into_iter(), tgt.into_iter(), opts, cancel)
            .map_err(|e| e.to_string())
    })
}

/// Reads one side on a thread of its own and sends hashed batches to the checker.
fn spawn_reader<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    (url, csv): (&'s str, &'s cutover_config::CsvOptions),
    req: ReadRequest,
    side: Side,
    table: &'s str,
    progress: &'s dyn Progress,
    cancel: &'s AtomicBool,
) -> mpsc::Receiver<Result<HashedBatch, SourceError>> {
    let (tx, rx) = mpsc::sync_channel::<Result<HashedBatch, SourceError>>(2);
    scope.spawn(move || {
        let result = runtime().block_on(async {
            let mut conn = Connection::connect_with(url, csv).await?;
            let mut rows = 0u64;
            let nkey = req.key_columns;
            conn.read(&req, &mut |batch| {
                rows += batch.len() as u64;
                let hashed = batch.hash(nkey);
                progress.rows_read(table, side, rows);
                !cancel.load(Ordering::Relaxed) && tx.send(Ok(hashed)).is_ok()
            })
            .await
        });
        if let Err(e) = result
            && !matches!(e, SourceError::Stopped)
        {
            let _ = tx.send(Err(e));
        }
    });
    rx
}

fn check_table(
    settings: &Settings,
    plan: &TablePlan,
    (source_sql, target_sql): (&str, &str),
    snapshots: &[Option<String>; 2],
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> TableResult {
    let started = Instant::now();
    // A table with a source of its own is not in the run's source snapshot.
    let snapshots = match plan.source_url {
        Some(_) => [None, snapshots[1].clone()],
        None => snapshots.clone(),
    };
    let (src_req, tgt_req) =
        plan.requests(settings.batch_rows, snapshots, settings.memory_budget());
    let opts = DiffOptions {
        columns: plan.columns.len(),
        key_columns: plan.key_len,
        sample_size: settings.sample_size,
        tolerances: plan.columns.iter().map(|c| c.tolerance).collect(),
    };
    let names: Vec<String> = plan.columns.iter().map(|c| c.target.name.clone()).collect();
    let mut exporter = settings
        .export_diffs
        .as_ref()
        .map(|dir| export::Exporter::create(dir, &plan.name, &names, plan.key_len));
    let mut export_error: Option<String> = None;
    let result = std::thread::scope(|scope| {
        let src = spawn_reader(
            scope,
            match &plan.source_url {
                Some(url) => (url.as_str(), &settings.source_csv),
                None => settings.side(Side::Source),
            },
            src_req,
            Side::Source,
            &plan.name,
            progress,
            cancel,
        );
        let tgt = spawn_reader(
            scope,
            settings.side(Side::Target),
            tgt_req,
            Side::Target,
            &plan.name,
            progress,
            cancel,
        );
        match &mut exporter {
            Some(Ok(ex)) => {
                let mut failed = None;
                let mut sink = |d: cutover_check::diff::Difference| {
                    if failed.is_none()
                        && let Err(e) = ex.write(&d)
                    {
                        failed = Some(e);
                    }
                };
                let r = cutover_check::diff::diff_with(
                    src.into_iter(),
                    tgt.into_iter(),
                    &opts,
                    cancel,
                    Some(&mut sink),
                );
                export_error = failed;
                r
            }
            _ => cutover_check::diff(src.into_iter(), tgt.into_iter(), &opts, cancel),
        }
        // Dropping the receivers here stops the readers if the diff ended early.
    });
    let export_error = match exporter {
        Some(Ok(ex)) => export_error.or_else(|| ex.finish().err()),
        Some(Err(e)) => Some(e),
        None => None,
    };
    if let Some(e) = export_error {
        return TableResult::Failed(FailedTable {
            name: plan.name.clone(),
            source_name: plan.source_name.clone(),
            message: format!("cannot export the differences: {e}"),
            hint: Some("check --export-diffs: the folder must be writable".into()),
            interrupted: false,
        });
    }
    match result {
        Ok(diff) => TableResult::Checked(Box::new(CheckedTable {
            plan: plan.clone(),
            diff,
            source_sql: source_sql.to_string(),
            target_sql: target_sql.to_string(),
            elapsed: started.elapsed(),
        })),
        Err(DiffError::Cancelled) => {
            TableResult::Failed(interrupted(&plan.name, &plan.source_name))
        }
        Err(e) => {
            let hint = match &e {
                DiffError::OutOfOrder { .. } => Some(
                    "the engine's key order differs from byte order for this key type; report this with the key's column types"
                        .to_string(),
                ),
                DiffError::Stream(_, SourceError::Query { .. }) => {
                    Some("check the table, column names and any source_where / target_where condition".to_string())
                }
                _ => None,
            };
            TableResult::Failed(FailedTable {
                name: plan.name.clone(),
                source_name: plan.source_name.clone(),
                message: e.to_string(),
                hint,
                interrupted: false,
            })
        }
    }
}
