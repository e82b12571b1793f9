//! The cutover command line: argument parsing, settings resolution, progress display, reports
//! on disk and exit codes. The work itself happens in the library crates.

mod demo;
mod init;
mod progress;
mod quick;
mod settings;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use cutover_check::{Severity, Side, Verdict};
use cutover_report::Report;
use settings::{Resolved, resolve};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code: every table matched.
const EXIT_GO: u8 = 0;
/// Exit code: a difference was found, or a table could not be checked.
const EXIT_NO_GO: u8 = 1;
/// Exit code: the run could not start (bad config, unreachable server, authentication).
const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted (Ctrl-C, SIGINT or SIGTERM); the report so far is written and marked
/// incomplete.
const EXIT_INTERRUPTED: u8 = 130;

/// Proves a data migration is complete and consistent before go-live.
#[derive(Parser)]
#[command(
    name = "cutover",
    version,
    about,
    long_about = None,
    after_help = "Start with:\n  cutover demo\n  cutover init --source URL --target URL -o cutover.toml\n  cutover check -c cutover.toml\n\nSee `cutover COMMAND --help`, `cutover man` and the README."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare the source and target of a config
    ///
    /// Exit 0 GO (with or without warnings), 1 NO-GO, 2 could not run, 130 interrupted.
    #[command(
        after_help = "Examples:\n  cutover check -c cutover.toml --label \"rehearsal 3\"\n  cutover check -c cutover.toml --table 'order*' --format json"
    )]
    Check(CheckArgs),
    /// Compare one table without a config
    ///
    /// The same engine, schema comparison, reports and exit codes as check.
    #[command(
        after_help = "Example:\n  cutover diff sqlite://legacy.db CUST postgres://checker@db/erp customers -k id --column id=CUST_ID",
        mut_arg("tables", |a| a.hide(true))
    )]
    Diff(Box<quick::DiffArgs>),
    /// Show what a check will do, without reading data
    ///
    /// Each table's key, columns and comparison kinds, the SQL each side will run, and the rules;
    /// exit 0 when every table can be checked.
    Plan(CheckArgs),
    /// Compare the two sides' schemas, without comparing rows
    ///
    /// Narrowed types, NOT NULL where the source holds NULLs, lost defaults, keys and indexes on
    /// one side only, and tables no configured table reads; exit 0 when nothing blocks, 1
    /// otherwise.
    Schema(CheckArgs),
    /// Build a small legacy and new SQLite ERP from the bundled fixtures and check them.
    Demo(DemoArgs),
    /// Write a config proposed from both schemas
    ///
    /// Tables paired by name and columns, keys, column renames, ignore and drop candidates, and
    /// starter rules, each with its evidence.
    #[command(
        after_help = "Example:\n  cutover init --source sqlite://legacy.db --target postgres://checker@db/erp -o cutover.toml"
    )]
    Init(init::InitArgs),
    /// Check a config and its rule files without connecting to anything.
    Validate(ValidateArgs),
    /// List the runs recorded in a rehearsal history.
    History {
        /// The config whose history to list (it lives beside it).
        #[arg(short, long, value_name = "FILE", default_value = "cutover.toml")]
        config: PathBuf,
        /// The history file, when it is not beside the config.
        #[arg(long, value_name = "PATH")]
        history: Option<PathBuf>,
    },
    /// Print a shell completion script
    #[command(after_help = "Example:\n  cutover completions bash > /etc/bash_completion.d/cutover")]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages into a folder, or print cutover.1
    Man {
        /// The folder to write them to; without it, cutover.1 is printed.
        #[arg(short, long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Explain a rule type by code (CO101) or name (foreign_key), or list them all
    Explain {
        /// A rule code or type name.
        code: Option<String>,
    },
}

#[derive(Args)]
struct ValidateArgs {
    /// The config file.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Rule files (packs) to validate on their own.
    #[arg(value_name = "RULE_FILE")]
    rule_files: Vec<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    /// The config file.
    #[arg(short, long, value_name = "FILE", default_value = "cutover.toml")]
    config: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct DemoArgs {
    /// Folder for the demo databases and config (default: a new temporary folder, kept).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args, Clone, Default)]
struct CommonArgs {
    /// Check only these tables (target names; `*` and `?` match any text and one character) and
    /// the rules that read them; repeatable.
    #[arg(long = "table", value_name = "NAME")]
    tables: Vec<String>,
    /// Folder the reports are written to [default: report.out in the config, else ./cutover-report].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// How every table's rows are compared: full (every row streamed), checksum (checksums
    /// computed in both databases over key ranges; only differing ranges are streamed) or auto
    /// [default: the table's mode, else run.mode, else full].
    #[arg(long, value_name = "MODE", value_parser = ["full", "checksum", "auto"])]
    mode: Option<String>,
    /// Tables checked at the same time [default: run.jobs in the config, else the number of cores].
    #[arg(short, long, value_name = "N", env = "CUTOVER_JOBS")]
    jobs: Option<usize>,
    /// Rows per batch read from a side [default: run.batch_rows, else 8192].
    #[arg(long, value_name = "N")]
    batch_rows: Option<usize>,
    /// Sample rows kept per kind of difference and table [default: report.sample_size, else 20].
    #[arg(long, value_name = "N")]
    sample_size: Option<usize>,
    /// Memory for sorting unordered sources (CSV files) before spilling to disk, e.g. 512MiB
    /// [default: run.memory_limit, else 1GiB].
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Longest wait of a database session for a lock, in seconds, so a check never queues the
    /// migration's writers [default: run.lock_timeout_secs, else 10].
    #[arg(long, value_name = "SECS")]
    lock_timeout: Option<u64>,
    /// Longest run of one statement, in seconds; 0 is no limit [default:
    /// run.statement_timeout_secs, else 0].
    #[arg(long, value_name = "SECS")]
    statement_timeout: Option<u64>,
    /// Rehearsal history file (SQLite) this run is recorded in [default: cutover-history.sqlite
    /// beside the config, so every --out of a project shares one history].
    #[arg(long, value_name = "PATH")]
    history: Option<PathBuf>,
    /// Export every differing row (not only the samples), per table, as CSV and Parquet to DIR.
    #[arg(long, value_name = "DIR")]
    export_diffs: Option<PathBuf>,
    /// Do not read or record the rehearsal history.
    #[arg(long)]
    no_history: bool,
    /// Continue an interrupted run: tables compared by checksums or read in key ranges keep the
    /// ranges it finished (its checkpoint, beside the history); only the rest is read.
    #[arg(long)]
    resume: bool,
    /// A label for this run in the history, e.g. "rehearsal 3" [default: run N].
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,
    /// The lowest rule severity that blocks go-live: error or warn.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "error")]
    fail_on: Severity,
    /// Colour the summary: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Print only the verdict line and errors (no progress, no summary table).
    #[arg(short, long)]
    quiet: bool,
    /// text: progress and summary for people; json: JSON lines on stdout (table_started,
    /// table_finished, rule_finished, warning, verdict), the summary on stderr.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// What a run prints on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Progress and summary for people.
    #[default]
    Text,
    /// JSON lines for machines.
    Json,
}

/// When the summary is coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    match s {
        "error" => Ok(Severity::Error),
        "warn" => Ok(Severity::Warn),
        _ => Err("use error or warn".into()),
    }
}

/// An error message with what to do about it. The hint is data: [`print_error`] renders it
/// once, after the message and its causes.
#[derive(Debug)]
pub(crate) struct Hinted {
    message: String,
    hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// An error message with a hint.
pub(crate) fn hinted(message: impl Into<String>, hint: impl Into<String>) -> Hinted {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
}

static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
        eprintln!("\ninterrupted: finishing the report so far (interrupt again to quit at once)");
    });
    let result = match cli.command {
        Command::Check(args) => check(&args.config, &args.common),
        Command::Plan(args) => plan(&args.config, &args.common),
        Command::Diff(args) => quick::run(&args),
        Command::Schema(args) => schema(&args.config, &args.common),
        Command::Demo(args) => demo::run(args.dir.as_deref(), &args.common),
        Command::Validate(args) => validate(&args),
        Command::Init(args) => init::run(&args),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "cutover",
                &mut std::io::stdout(),
            );
            Ok(EXIT_GO)
        }
        Command::Man { out } => man(out.as_deref()),
        Command::History { config, history } => {
            list_history(&history.unwrap_or_else(|| settings::history_beside(&config)))
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The hint an error carries, wherever it stands in the chain.
fn hint_of(e: &anyhow::Error) -> Option<String> {
    if let Some(h) = e.downcast_ref::<Hinted>() {
        return Some(h.hint.clone());
    }
    e.chain().find_map(|cause| {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            Some(h.hint.clone())
        } else if let Some(c) = cause.downcast_ref::<cutover_config::ConfigError>() {
            c.hint().map(str::to_string)
        } else if let Some(s) = cause.downcast_ref::<cutover_source::SourceError>() {
            s.hint().map(str::to_string)
        } else if let Some(r) = cause.downcast_ref::<cutover_run::RunError>() {
            r.hint().map(str::to_string)
        } else if cause.is::<cutover_source::FragmentError>() {
            Some(
                "write one read-only SQL expression (or one SELECT for a query), without `;` or comments"
                    .into(),
            )
        } else if let Some(s) = cause.downcast_ref::<cutover_store::StoreError>() {
            s.hint().map(str::to_string)
        } else {
            None
        }
    })
}

/// Prints `error: …`, its causes, and the `hint:` it carries.
fn print_error(e: &anyhow::Error) {
    let mut chain = e.chain();
    if let Some(first) = chain.next() {
        eprintln!("error: {first}");
    }
    for cause in chain {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint_of(e) {
        eprintln!("hint: {hint}");
    }
}

/// `cutover validate`: parse and check a config, its includes and rule files; no connection.
fn validate(args: &ValidateArgs) -> anyhow::Result<u8> {
    if args.config.is_none() && args.rule_files.is_empty() {
        return Err(hinted(
            "nothing to validate",
            "cutover validate --config cutover.toml, or cutover validate rules/*.toml",
        )
        .into());
    }
    if let Some(path) = &args.config {
        let (config, rules) = settings::load(path)?;
        // A URL named by an environment variable must be set where the check will run.
        let base = path.parent().unwrap_or(Path::new("."));
        let env = |k: &str| std::env::var(k).ok();
        // Both sides' problems at once (an unset url_env on each).
        let unresolved: Vec<cutover_config::ConfigError> = [
            config.source.resolve("source", base, env),
            config.target.resolve("target", base, env),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        match unresolved.len() {
            0 => {}
            1 => return Err(unresolved.into_iter().next().expect("one").into()),
            _ => {
                return Err(cutover_config::ConfigError::Several {
                    file: path.display().to_string(),
                    errors: unresolved,
                }
                .into());
            }
        }
        let (source, target) = (
            config.source.resolve("source", base, env)?,
            config.target.resolve("target", base, env)?,
        );
        let problems = inspect_files(&config, base, &source, &target);
        if !problems.is_empty() {
            return Err(hinted(
                format!(
                    "{}: the exports do not hold what the config reads:\n  {}",
                    path.display(),
                    problems.join("\n  ")
                ),
                "fix the table's source_name (a file name or glob) or its column names, or the folder's [source.csv] options",
            )
            .into());
        }
        println!(
            "{}: valid ({} tables, {} rules)",
            path.display(),
            config.tables.len(),
            rules.len()
        );
    }
    for path in &args.rule_files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read rule file {}", path.display()))?;
        let rf = cutover_config::RuleFile::parse(&text, &path.display().to_string())?;
        println!("{}: valid ({} rules)", path.display(), rf.rules.len());
    }
    Ok(EXIT_GO)
}

/// What `validate` can know of a folder of exports without reading a row: for each table read
/// from one, the files its name matches and their columns, the mapped columns the files lack,
/// and what it runs through SQL over the exports. Prints what it found; returns the problems.
fn inspect_files(
    config: &cutover_config::Config,
    base: &Path,
    source: &str,
    target: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for t in &config.tables {
        let source_url = t.source_url.as_deref().map_or_else(
            || source.to_string(),
            |u| cutover_config::absolutise_path(u, base),
        );
        use cutover_config::RuleSide;
        let sides = [
            (
                RuleSide::Source,
                source_url,
                &config.source.csv,
                t.source_table(),
            ),
            (
                RuleSide::Target,
                target.to_string(),
                &config.target.csv,
                t.name.as_str(),
            ),
        ];
        for (which, url, csv, name) in sides {
            let side = if which == RuleSide::Source {
                "source"
            } else {
                "target"
            };
            let mut endpoint = cutover_source::Endpoint::new(url.clone());
            endpoint.csv = cutover_run::csv_format(csv);
            if let Some(o) = &t.csv {
                endpoint
                    .csv
                    .files
                    .push((name.to_string(), cutover_run::csv_override(o)));
            }
            let sql: Vec<String> = t
                .configured_sql()
                .into_iter()
                .filter(|p| p.side == which)
                .map(|p| p.place.rsplit(": ").next().unwrap_or("SQL").to_string())
                .collect();
            if which == RuleSide::Source && t.source_query.is_some() {
                if cutover_source::Engine::from_url(&url).is_some_and(|e| e.is_file()) {
                    println!(
                        "table {}: {side} {}: source_query runs through SQL over the exports",
                        t.name,
                        cutover_source::redact(&url)
                    );
                }
                continue;
            }
            let Some(found) = cutover_source::file_table(&endpoint, name) else {
                continue;
            };
            let (files, columns) = match found {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("table {}: {side}: {e}", t.name));
                    continue;
                }
            };
            let mut line = format!(
                "table {}: {side} reads {} ({} columns)",
                t.name,
                files.join(", "),
                columns.len()
            );
            if !sql.is_empty() {
                line.push_str(&format!(
                    "; runs {} through SQL over the exports",
                    sql.join(", ")
                ));
            }
            println!("{line}");
            if which == RuleSide::Source {
                for (target_column, spec) in &t.columns {
                    let Some(wanted) = spec.name() else { continue };
                    if !columns.iter().any(|c| c.eq_ignore_ascii_case(wanted)) {
                        problems.push(format!(
                            "table {}, column {target_column}: {} has no column {wanted} (its columns: {})",
                            t.name,
                            files[0],
                            columns.join(", ")
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Now, as RFC 3339 UTC (seconds).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = cutover_check::canonical::civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Adds the trend against the previous run to the report, then records this run.
fn record_history(
    report: &mut Report,
    mut history: cutover_store::history::History,
    path: &Path,
    label: Option<&str>,
    at: &str,
) -> anyhow::Result<()> {
    let context = || {
        hinted(
            format!("cannot use the history file {}", path.display()),
            "pass --history PATH, or --no-history",
        )
    };
    let runs = history.runs().with_context(context)?.len();
    let previous = history.last().with_context(context)?;
    let label = label.map_or_else(|| format!("run {}", runs + 1), str::to_string);
    report.attach_history(&label, at, previous.as_ref());
    history
        .record(&report.to_record(&label, at))
        .with_context(context)?;
    Ok(())
}

/// `cutover history`: the runs recorded, oldest first.
fn list_history(path: &Path) -> anyhow::Result<u8> {
    if !path.exists() {
        return Err(hinted(
            format!("no history at {}", path.display()),
            "runs are recorded beside the config (cutover-history.sqlite); pass --config FILE or --history PATH",
        )
        .into());
    }
    let runs = cutover_store::history::History::open(path)?.runs_with_counts()?;
    println!(
        "{:>4}  {:<20}  {:<16}  {:>13}  {:>9}  {:>9}  {:>9}  {:>11}  label",
        "run", "at (UTC)", "status", "tables match", "missing", "extra", "changed", "rules fail"
    );
    for (r, c) in runs {
        println!(
            "{:>4}  {:<20}  {:<16}  {:>13}  {:>9}  {:>9}  {:>9}  {:>11}  {}",
            r.id,
            r.at,
            r.verdict.as_str(),
            format!("{} / {}", c.matched, c.tables),
            c.missing,
            c.extra,
            c.changed,
            format!("{} / {}", c.rules_failed, c.rules),
            r.label
        );
    }
    Ok(EXIT_GO)
}

/// `cutover man`: the man pages, into a folder or cutover.1 on stdout.
fn man(out: Option<&Path>) -> anyhow::Result<u8> {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    match out {
        None => match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            // A pager or `head` that stops reading is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| {
                hinted(
                    format!("cannot create {}", dir.display()),
                    "choose a writable folder with --out",
                )
            })?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            println!(
                "man pages written to {} (man -M {} cutover)",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(EXIT_GO)
}

/// `cutover explain`: a rule type's documentation, or the list of them.
fn explain(code: Option<&str>) -> anyhow::Result<u8> {
    match code {
        None => {
            for r in cutover_rules::catalogue::RULES {
                println!(
                    "{}  {:<18}  {}",
                    r.code,
                    r.name,
                    r.checks.split(". ").next().unwrap_or("")
                );
            }
            println!("\nRun `cutover explain CODE` for one rule's documentation.");
        }
        Some(c) => match cutover_rules::catalogue::find(c) {
            Some(doc) => print!("{}", cutover_rules::catalogue::explain(doc)),
            None => {
                return Err(hinted(
                    format!("no rule type {c:?}"),
                    "run `cutover explain` for the list (CO101 … CO110)",
                )
                .into());
            }
        },
    }
    Ok(EXIT_GO)
}

/// Refuses `--format json` where a command prints only text, rather than ignoring it.
fn text_only(command: &str, common: &CommonArgs) -> anyhow::Result<()> {
    if common.format == Format::Json {
        return Err(hinted(
            format!("cutover {command} prints text only; --format json applies to check, diff and demo"),
            "run `cutover check --format json` for JSON lines; the schema findings are in its report.json",
        )
        .into());
    }
    Ok(())
}

/// Both sides of a plan: engine, URL (password hidden) and transport.
fn print_sides(planned: &cutover_run::Planned) {
    for (side, e) in [("source", &planned.source), ("target", &planned.target)] {
        println!("{side}: {} {} ({})", e.engine, e.url, e.transport);
    }
}

/// A table that cannot be planned: `table T ← S: CANNOT BE {what}: why`, and the hint.
fn print_failed(f: &cutover_run::FailedTable, what: &str) {
    println!(
        "table {} ← {}: CANNOT BE {what}: {}",
        f.name, f.source_name, f.message
    );
    if let Some(h) = &f.hint {
        println!("  hint: {h}");
    }
}

/// `cutover plan`: what a check of this config will do, read from both live schemas; no row is
/// read and nothing is written.
fn plan(config_path: &Path, common: &CommonArgs) -> anyhow::Result<u8> {
    text_only("plan", common)?;
    let resolved = resolve(config_path, common)?;
    let planned = cutover_run::plan(&resolved.settings, false)?;
    print_sides(&planned);
    let mut failed = 0;
    for table in &planned.tables {
        println!();
        match table {
            cutover_run::PlannedTable::Failed(f) => {
                failed += 1;
                print_failed(f, "CHECKED");
            }
            cutover_run::PlannedTable::Ready(p) => {
                let key: Vec<&str> = p.columns[..p.key_len]
                    .iter()
                    .map(|c| c.target.name.as_str())
                    .collect();
                println!(
                    "table {} ← {} (key {} from the {}; closes {})",
                    p.name,
                    p.source_name,
                    key.join(", "),
                    p.key_origin,
                    p.checklist
                );
                let width = p
                    .columns
                    .iter()
                    .map(|c| c.target.name.len())
                    .max()
                    .unwrap_or(0);
                for c in &p.columns {
                    let from = match &c.source.expr {
                        Some(e) => format!("({})", e.as_str()),
                        None => c.source.name.clone(),
                    };
                    println!(
                        "  {:<width$} ← {from}: {} → {}, compared as {}{}",
                        c.target.name,
                        c.source.type_name,
                        c.target.type_name,
                        c.compare.name(),
                        if c.incompatible {
                            " (types cannot hold equal values)"
                        } else {
                            ""
                        }
                    );
                }
                if let Some(how) = cutover_run::checksum::planned_mode(&resolved.settings, p) {
                    println!("  {how}");
                }
                let heap = cutover_run::storage_order::planned(&resolved.settings, p);
                if let Some((how, _)) = &heap {
                    println!("  {how}");
                }
                if !p.ignored.is_empty() {
                    println!("  ignored target columns: {}", p.ignored.join(", "));
                }
                if !p.unmapped_source.is_empty() {
                    println!(
                        "  source columns not compared: {}",
                        p.unmapped_source.join(", ")
                    );
                }
                let [src_sql, tgt_sql] = heap.map(|(_, sql)| sql).unwrap_or_default();
                println!(
                    "  source runs: {}",
                    src_sql.as_ref().unwrap_or(&p.source_sql)
                );
                println!(
                    "  target runs: {}",
                    tgt_sql.as_ref().unwrap_or(&p.target_sql)
                );
            }
        }
    }
    if !resolved.rules.is_empty() {
        println!("\nrules:");
        for r in &resolved.rules {
            let doc = cutover_rules::catalogue::find(r.spec.type_name());
            println!(
                "  {} {:<18} {} ({}, closes {})",
                doc.map_or("", |d| d.code),
                r.spec.type_name(),
                r.id,
                r.severity,
                r.checklist_item()
            );
        }
    }
    Ok(if failed == 0 { EXIT_GO } else { EXIT_NO_GO })
}

/// `cutover schema`: the schema comparison of every table, read from both live catalogues;
/// NULLs are counted on the source where the target rejects them, no other row is read.
fn schema(config_path: &Path, common: &CommonArgs) -> anyhow::Result<u8> {
    use cutover_check::schema::SchemaLevel;
    text_only("schema", common)?;
    let resolved = resolve(config_path, common)?;
    let planned = cutover_run::plan(&resolved.settings, true)?;
    print_sides(&planned);
    let (mut errors, mut warnings, mut failed, mut blocking) = (0, 0, 0, false);
    for table in &planned.tables {
        println!();
        match table {
            cutover_run::PlannedTable::Failed(f) => {
                failed += 1;
                print_failed(f, "COMPARED");
            }
            cutover_run::PlannedTable::Ready(p) => {
                let count = |l: SchemaLevel| p.schema.iter().filter(|f| f.level == l).count();
                let (e, w) = (count(SchemaLevel::Error), count(SchemaLevel::Warn));
                errors += e;
                warnings += w;
                blocking |= e > 0 || (w > 0 && resolved.fail_on == Severity::Warn);
                let head = match (e, w) {
                    (0, 0) if p.schema.is_empty() => "the same".to_string(),
                    (0, 0) => "nothing to fix".to_string(),
                    _ => format!(
                        "{e} {}, {w} {}",
                        if e == 1 { "error" } else { "errors" },
                        if w == 1 { "warning" } else { "warnings" }
                    ),
                };
                println!("table {} ← {}: {head}", p.name, p.source_name);
                let mut findings = p.schema.clone();
                findings.sort_by_key(|f| f.level);
                for f in &findings {
                    println!("  {:<5}  {}", f.level.as_str(), f.line());
                }
            }
        }
    }
    for (side, list) in ["source", "target"].iter().zip(&planned.unpaired) {
        match list {
            Some(names) if !names.is_empty() => {
                println!(
                    "\ntables on the {side} that no configured table reads: {}",
                    names.join(", ")
                );
            }
            _ => {}
        }
    }
    println!(
        "\nschema: {errors} {}, {warnings} {}, {failed} {} not compared",
        if errors == 1 { "error" } else { "errors" },
        if warnings == 1 { "warning" } else { "warnings" },
        if failed == 1 { "table" } else { "tables" }
    );
    Ok(if blocking || failed > 0 {
        EXIT_NO_GO
    } else {
        EXIT_GO
    })
}

/// `cutover check`: run, print the summary, write the reports, return the exit code.
fn check(config_path: &Path, common: &CommonArgs) -> anyhow::Result<u8> {
    let resolved = match resolve(config_path, common) {
        Ok(r) => r,
        Err(e) => {
            // A broken config must not leave an earlier run's verdict where a pipeline reads it.
            let out = common
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("cutover-report"));
            for name in REPORT_FILES {
                let _ = std::fs::remove_file(out.join(name));
            }
            return Err(e);
        }
    };
    let report = run_and_report(&resolved, common.quiet)?;
    Ok(exit_code(&report))
}

/// The exit code of a report: 130 for an interrupted run, else 0 for GO and 1 for NO-GO.
fn exit_code(report: &Report) -> u8 {
    match (report.complete, report.status) {
        (false, _) => EXIT_INTERRUPTED,
        (true, Verdict::Go | Verdict::GoWithWarnings) => EXIT_GO,
        (true, Verdict::NoGo) => EXIT_NO_GO,
    }
}

/// The report files a run writes into `out`.
const REPORT_FILES: [&str; 4] = [
    "report.json",
    "report.md",
    "report.html",
    "report.junit.xml",
];

/// Before anything is read: the report folder exists and is writable, reports of an earlier run
/// are gone (so a run that fails later never leaves an old GO behind), and the history file
/// opens.
fn prepare_outputs(resolved: &Resolved) -> anyhow::Result<Option<cutover_store::history::History>> {
    let out = resolved.out.as_path();
    let hint = "choose a writable folder with --out";
    std::fs::create_dir_all(out).with_context(|| {
        hinted(
            format!("cannot create the report folder {}", out.display()),
            hint,
        )
    })?;
    let probe = out.join(".cutover-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| hinted(format!("cannot write into {}", out.display()), hint))?;
    for name in REPORT_FILES {
        let path = out.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(hinted(
                    format!("cannot remove the earlier report {}", path.display()),
                    "remove it by hand, or choose another --out",
                )));
            }
        }
    }
    resolved
        .history
        .as_deref()
        .map(|path| {
            cutover_store::history::History::open(path).with_context(|| {
                hinted(
                    format!("cannot use the history file {}", path.display()),
                    "pass --history PATH, or --no-history",
                )
            })
        })
        .transpose()
}

/// Writes a report file whole or not at all: to a temporary name, then renamed.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(anyhow::Error::new(e).context(format!("cannot write {}", path.display())));
    }
    Ok(())
}

/// Runs the check and its rules, records the history, and writes every report into `out`.
fn run_and_report(resolved: &Resolved, quiet: bool) -> anyhow::Result<Report> {
    let history = prepare_outputs(resolved)?;
    let started_at = now_rfc3339();
    let (settings, out) = (&resolved.settings, resolved.out.as_path());
    let json_lines = resolved.format == Format::Json;
    let progress = progress::for_run(quiet, json_lines);
    let export = resolved
        .export_diffs
        .clone()
        .map(cutover_report::export::ExportDir);
    if let Some(c) = &settings.checkpoints
        && !c.resuming()
        && c.path().exists()
    {
        progress.warning(&format!(
            "an interrupted run left the checkpoint {}; this run starts over and replaces it (pass --resume to continue that run instead)",
            c.path().display()
        ));
    }
    let outcome = cutover_run::run_with_export(
        settings,
        progress.as_ref() as &dyn cutover_run::Progress,
        &CANCEL,
        export
            .as_ref()
            .map(|e| e as &dyn cutover_run::ExportFactory),
    )?;
    if let Some(c) = &settings.checkpoints {
        let failed = outcome
            .tables
            .iter()
            .any(|t| matches!(t, cutover_run::TableResult::Failed(_)));
        if outcome.complete && !failed {
            c.finish();
        } else if c.path().exists() {
            progress.warning(&format!(
                "the key ranges finished so far are kept in {}: run the same check with --resume to continue",
                c.path().display()
            ));
        }
    }
    if !resolved.rules.is_empty() {
        progress.rules_started(resolved.rules.len());
    }
    let sides = cutover_rules::Sides {
        source: settings.endpoint(Side::Source),
        target: settings.endpoint(Side::Target),
        sample_size: settings.sample_size,
        batch_rows: settings.batch_rows,
        memory_budget: settings.memory_budget(),
    };
    let rules = if outcome.complete {
        let n = resolved.rules.len();
        cutover_rules::evaluate_with(&resolved.rules, &sides, &CANCEL, &|i, r| {
            progress.rule_finished(i + 1, n, r)
        })
    } else {
        Vec::new()
    };
    drop(progress);
    let mut report = Report::build(&outcome, &rules, resolved.fail_on);
    report.run = cutover_report::RunInfo {
        label: resolved.label.clone(),
        at: Some(started_at.clone()),
    };
    if let (Some(history), Some(path)) = (history, &resolved.history) {
        record_history(
            &mut report,
            history,
            path,
            resolved.label.as_deref(),
            &started_at,
        )?;
    }
    let [json, md, html, junit] = REPORT_FILES.map(|name| out.join(name));
    write_atomically(&json, &report.to_json())?;
    write_atomically(&html, &report.to_html())?;
    write_atomically(&junit, &report.to_junit())?;
    write_atomically(&md, &report.to_markdown())?;
    let color = match resolved.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let summary = report.to_terminal(color);
    let mut human = String::new();
    if quiet {
        // The verdict is the last paragraph (two lines when it does not fit in one).
        human = format!(
            "{}\n",
            summary.trim_end().rsplit("\n\n").next().unwrap_or("")
        );
    } else {
        human.push_str(&summary);
        // One report per line when they do not fit in 80 columns together.
        let shown = [
            format!("{} (open in a browser)", html.display()),
            md.display().to_string(),
            json.display().to_string(),
            junit.display().to_string(),
        ];
        let line = format!("reports: {}", shown.join(", "));
        if line.chars().count() <= 80 {
            human.push_str(&line);
            human.push('\n');
        } else {
            human.push_str("reports:\n");
            for r in &shown {
                human.push_str(&format!("  {r}\n"));
            }
        }
    }
    if json_lines {
        // Machines read stdout; people read the summary on stderr.
        eprint!("{human}");
        let event = cutover_report::events::verdict(
            &report,
            exit_code(&report),
            [
                ("json", &json),
                ("markdown", &md),
                ("html", &html),
                ("junit", &junit),
            ],
        );
        println!("{event}");
    } else {
        print!("{human}");
    }
    Ok(report)
}
