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
    /// Print only the verdict line and errors (no progress, no summary table).
    #[arg(short, long)]
    quiet: bool,
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
fn resolve(
    config_path: &Path,
    common: &CommonArgs,
) -> anyhow::Result<(cutover_run::Settings, PathBuf)> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read config file {}\nhint: pass --config PATH, or run `cutover demo` to see an example", config_path.display()))?;
    let config = Config::parse(&text, &config_path.display().to_string())?;
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
    let mut tables = config.tables;
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
    };
    Ok((settings, out))
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
    let (settings, out) = resolve(config_path, common)?;
    let report = run_and_report(&settings, &out, common.quiet)?;
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
fn run_and_report(
    settings: &cutover_run::Settings,
    out: &Path,
    quiet: bool,
) -> anyhow::Result<Report> {
    let progress = progress::for_terminal(quiet);
    let outcome = cutover_run::run(settings, progress.as_ref(), &CANCEL)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(progress);
    let report = Report::from_outcome(&outcome);
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the report folder {}", out.display()))?;
    let json = out.join("report.json");
    let md = out.join("report.md");
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("cannot write {}", json.display()))?;
    std::fs::write(&md, report.to_markdown())
        .with_context(|| format!("cannot write {}", md.display()))?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let summary = report.to_terminal(color);
    if quiet {
        println!("{}", summary.lines().last().unwrap_or(""));
    } else {
        print!("{summary}");
        println!("reports: {} and {}", md.display(), json.display());
    }
    Ok(report)
}
