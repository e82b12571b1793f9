//! The cutover command line: argument parsing, settings resolution, progress display, reports
//! on disk and exit codes. The work itself happens in the library crates.

mod demo;
mod progress;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use cutover_config::Config;
use cutover_report::Report;
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
/// Exit code: interrupted with Ctrl-C; the report so far is written and marked incomplete.
const EXIT_INTERRUPTED: u8 = 130;

/// Proves a data migration is complete and consistent before go-live.
#[derive(Parser)]
#[command(name = "cutover", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare the source and target of a config; exit 0 GO, 1 NO-GO, 2 could not run.
    Check(CheckArgs),
    /// Build a small legacy and new SQLite ERP from the bundled fixtures and check them.
    Demo(DemoArgs),
    /// Check a config and its rule files without connecting to anything.
    Validate(ValidateArgs),
    /// List the runs recorded in a rehearsal history.
    History {
        /// The history file [default: ./cutover-report/history.sqlite].
        #[arg(
            long,
            value_name = "PATH",
            default_value = "cutover-report/history.sqlite"
        )]
        history: PathBuf,
    },
    /// Explain a rule type by code (CO101) or name (foreign_key); without one, list them all.
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
    /// Folder the reports are written to [default: report.out in the config, else ./cutover-report].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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
    /// Rehearsal history file (SQLite) this run is recorded in [default: OUT/history.sqlite].
    #[arg(long, value_name = "PATH")]
    history: Option<PathBuf>,
    /// Export every differing row (not only the samples), per table, as CSV and Parquet to DIR.
    #[arg(long, value_name = "DIR")]
    export_diffs: Option<PathBuf>,
    /// Do not read or record the rehearsal history.
    #[arg(long)]
    no_history: bool,
    /// A label for this run in the history, e.g. "rehearsal 3" [default: run N].
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,
    /// The lowest rule severity that blocks go-live: error (default) or warn.
    #[arg(long, value_name = "SEVERITY", value_parser = ["error", "warn"], default_value = "error")]
    fail_on: String,
    /// Print only the verdict line and errors (no progress, no summary table).
    #[arg(short, long)]
    quiet: bool,
}

/// Everything a run needs, resolved from the CLI, the environment and the files.
pub(crate) struct Resolved {
    settings: cutover_run::Settings,
    out: PathBuf,
    rules: Vec<cutover_config::RuleConfig>,
    table_items: Vec<String>,
    fail_on_warn: bool,
    history: Option<PathBuf>,
    label: Option<String>,
}

static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
        eprintln!(
            "\ninterrupted: finishing the report so far (press Ctrl-C again to quit at once)"
        );
    });
    let result = match cli.command {
        Command::Check(args) => check(&args.config, &args.common),
        Command::Demo(args) => demo::run(args.dir.as_deref(), &args.common),
        Command::Validate(args) => validate(&args),
        Command::Explain { code } => explain(code.as_deref()),
        Command::History { history } => list_history(&history),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            print_error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Prints `error: …`, its causes, and a `hint:` line when the message carries one.
fn print_error(e: &anyhow::Error) {
    let mut chain = e.chain();
    if let Some(first) = chain.next() {
        eprintln!("error: {first}");
    }
    for cause in chain {
        eprintln!("  caused by: {cause}");
    }
}

/// Reads, validates and resolves a config into run settings. CLI flags win over the file.
fn resolve(config_path: &Path, common: &CommonArgs) -> anyhow::Result<Resolved> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read config file {}\nhint: pass --config PATH, or run `cutover demo` to see an example", config_path.display()))?;
    let mut config = Config::parse(&text, &config_path.display().to_string())?;
    let base = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let env = |k: &str| std::env::var(k).ok();
    let source_url = config
        .source
        .resolve("source", base, env)
        .map_err(anyhow::Error::msg)?;
    let target_url = config
        .target
        .resolve("target", base, env)
        .map_err(anyhow::Error::msg)?;
    let jobs = common
        .jobs
        .or(config.run.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let out = common
        .out
        .clone()
        .or(config.report.out.clone().map(|o| base.join(o)))
        .unwrap_or_else(|| PathBuf::from("cutover-report"));
    let memory_limit = match common.memory_limit.as_deref().or(config.run.memory_limit.as_deref()) {
        None => cutover_run::DEFAULT_MEMORY_LIMIT,
        Some(text) => cutover_config::parse_size(text).ok_or_else(|| {
            anyhow::anyhow!("memory limit {text:?} is not a size of at least 1 MiB\nhint: write it like 512MiB or 2GiB")
        })?,
    };
    let rules = load_rules(&mut config, base)?;
    let mut tables = std::mem::take(&mut config.tables);
    for t in &mut tables {
        load_map_files(t, base)?;
        t.source_url = t
            .source_url
            .as_deref()
            .map(|u| cutover_config::absolutise_path(u, base));
    }
    let settings = cutover_run::Settings {
        source_url,
        target_url,
        tables,
        jobs: jobs.max(1),
        batch_rows: common
            .batch_rows
            .or(config.run.batch_rows)
            .unwrap_or(8192)
            .max(1),
        sample_size: common
            .sample_size
            .or(config.report.sample_size)
            .unwrap_or(20),
        source_csv: config.source.csv,
        target_csv: config.target.csv,
        memory_limit,
        defaults: config.defaults,
        export_diffs: common.export_diffs.clone(),
    };
    let table_items = settings
        .tables
        .iter()
        .map(|t| {
            t.checklist
                .clone()
                .unwrap_or_else(|| "historical-data".into())
        })
        .collect();
    let history = (!common.no_history).then(|| {
        common
            .history
            .clone()
            .unwrap_or_else(|| out.join("history.sqlite"))
    });
    Ok(Resolved {
        settings,
        out,
        rules,
        table_items,
        fail_on_warn: common.fail_on == "warn",
        history,
        label: common.label.clone(),
    })
}

/// The config's rules followed by those of its `include` files; ids must stay unique.
fn load_rules(config: &mut Config, base: &Path) -> anyhow::Result<Vec<cutover_config::RuleConfig>> {
    let mut rules = std::mem::take(&mut config.rules);
    for file in &config.include {
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read rule file {}\nhint: include paths are relative to the config file",
                path.display()
            )
        })?;
        rules.extend(cutover_config::RuleFile::parse(&text, &path.display().to_string())?.rules);
    }
    let mut seen = std::collections::HashSet::new();
    for r in &rules {
        if !seen.insert(r.id.clone()) {
            anyhow::bail!(
                "rule id {} is used twice (in the config or its includes)\nhint: give every rule a unique id",
                r.id
            );
        }
    }
    Ok(rules)
}

/// `cutover validate`: parse and check a config, its includes and rule files; no connection.
fn validate(args: &ValidateArgs) -> anyhow::Result<u8> {
    if args.config.is_none() && args.rule_files.is_empty() {
        anyhow::bail!(
            "nothing to validate\nhint: cutover validate --config cutover.toml, or cutover validate rules/*.toml"
        );
    }
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Config::parse(&text, &path.display().to_string())?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tables = config.tables.len();
        let rules = load_rules(&mut config, base)?;
        for t in &mut config.tables {
            load_map_files(t, base)?;
        }
        println!(
            "{}: valid ({tables} tables, {} rules)",
            path.display(),
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
fn record_history(report: &mut Report, path: &Path, label: Option<&str>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut history = cutover_source::history::History::open(path).await?;
        let runs = history.runs().await?.len();
        let previous = history.last().await?;
        let label = label.map_or_else(|| format!("run {}", runs + 1), str::to_string);
        let at = now_rfc3339();
        report.attach_history(&label, &at, previous.as_ref());
        history.record(&report.to_record(&label, &at)).await?;
        Ok::<_, cutover_source::SourceError>(())
    })
    .with_context(|| {
        format!(
            "cannot use the history file {}\nhint: pass --history PATH, or --no-history",
            path.display()
        )
    })
}

/// `cutover history`: the runs recorded, oldest first.
fn list_history(path: &Path) -> anyhow::Result<u8> {
    if !path.exists() {
        anyhow::bail!(
            "no history at {}\nhint: runs are recorded in OUT/history.sqlite; pass --history PATH",
            path.display()
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let runs = rt.block_on(async {
        let mut h = cutover_source::history::History::open(path).await?;
        h.runs().await
    })?;
    println!("{:>4}  {:<20}  {:<6}  label", "run", "at (UTC)", "status");
    for r in runs {
        println!("{:>4}  {:<20}  {:<6}  {}", r.id, r.at, r.status, r.label);
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
            None => anyhow::bail!(
                "no rule type {c:?}\nhint: run `cutover explain` for the list (CO101 … CO110)"
            ),
        },
    }
    Ok(EXIT_GO)
}

/// Reads every `map_file` of a table into its column's `map` (entries written in the config win).
fn load_map_files(t: &mut cutover_config::TableConfig, base: &Path) -> anyhow::Result<()> {
    for (column, source) in t.columns.iter_mut() {
        let cutover_config::ColumnSource::Spec(spec) = source else {
            continue;
        };
        let Some(file) = &spec.map_file else { continue };
        let path = base.join(file);
        let hint = || {
            format!(
                "table {}, column {column}: map_file {}\nhint: a CSV file with a header line and two columns: source value, target value",
                t.name,
                path.display()
            )
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(&path)
            .with_context(hint)?;
        let map = spec.map.get_or_insert_with(Default::default);
        for record in reader.records() {
            let record = record.with_context(hint)?;
            if record.len() != 2 {
                anyhow::bail!(
                    "{}: line {} has {} fields, expected 2",
                    hint(),
                    record.position().map_or(0, |p| p.line()),
                    record.len()
                );
            }
            map.entry(record[0].to_string())
                .or_insert_with(|| record[1].to_string());
        }
    }
    Ok(())
}

/// `cutover check`: run, print the summary, write the reports, return the exit code.
fn check(config_path: &Path, common: &CommonArgs) -> anyhow::Result<u8> {
    let resolved = resolve(config_path, common)?;
    let report = run_and_report(&resolved, common.quiet)?;
    Ok(exit_code(&report))
}

fn exit_code(report: &Report) -> u8 {
    if !report.complete {
        EXIT_INTERRUPTED
    } else if report.is_go() {
        EXIT_GO
    } else {
        EXIT_NO_GO
    }
}

/// Runs the check and writes `report.json` and `report.md` into `out`.
fn run_and_report(resolved: &Resolved, quiet: bool) -> anyhow::Result<Report> {
    let (settings, out) = (&resolved.settings, resolved.out.as_path());
    let progress = progress::for_terminal(quiet);
    let outcome = cutover_run::run(settings, progress.as_ref(), &CANCEL)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(progress);
    if !resolved.rules.is_empty() && !quiet {
        eprintln!("evaluating {} rules", resolved.rules.len());
    }
    let sides = cutover_rules::Sides {
        source: (&settings.source_url, &settings.source_csv),
        target: (&settings.target_url, &settings.target_csv),
        sample_size: settings.sample_size,
        batch_rows: settings.batch_rows,
        memory_budget: settings.memory_budget(),
    };
    let rules = if outcome.complete {
        cutover_rules::evaluate(&resolved.rules, &sides, &CANCEL)
    } else {
        Vec::new()
    };
    let mut report = Report::build(
        &outcome,
        &rules,
        &resolved.table_items,
        resolved.fail_on_warn,
    );
    if let Some(path) = &resolved.history {
        record_history(&mut report, path, resolved.label.as_deref())?;
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the report folder {}", out.display()))?;
    let json = out.join("report.json");
    let md = out.join("report.md");
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("cannot write {}", json.display()))?;
    let html = out.join("report.html");
    std::fs::write(&html, report.to_html())
        .with_context(|| format!("cannot write {}", html.display()))?;
    let junit = out.join("report.junit.xml");
    std::fs::write(&junit, report.to_junit())
        .with_context(|| format!("cannot write {}", junit.display()))?;
    std::fs::write(&md, report.to_markdown())
        .with_context(|| format!("cannot write {}", md.display()))?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let summary = report.to_terminal(color);
    if quiet {
        println!("{}", summary.lines().last().unwrap_or(""));
    } else {
        print!("{summary}");
        println!(
            "reports: {} (open in a browser), {}, {}, {}",
            html.display(),
            md.display(),
            json.display(),
            junit.display()
        );
    }
    Ok(report)
}
