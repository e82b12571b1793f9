//! What the user typed, resolved in one place: CLI flags win over the environment, which wins
//! over the config file, which wins over the defaults. Rule files and value-map files are read
//! here too, so the libraries never touch the file system for configuration.

use crate::{CommonArgs, hinted};
use anyhow::Context as _;
use cutover_check::Severity;
use cutover_config::Config;
use std::path::{Path, PathBuf};

/// Everything a run needs, resolved from the CLI, the environment and the files.
pub(crate) struct Resolved {
    pub(crate) settings: cutover_run::Settings,
    pub(crate) out: PathBuf,
    pub(crate) rules: Vec<cutover_config::RuleConfig>,
    pub(crate) fail_on: Severity,
    pub(crate) history: Option<PathBuf>,
    pub(crate) label: Option<String>,
    pub(crate) export_diffs: Option<PathBuf>,
    pub(crate) color: crate::ColorWhen,
    pub(crate) format: crate::Format,
}

/// The rehearsal history of a config: `cutover-history.sqlite` beside it, so every report
/// folder of a migration project shares one history.
pub(crate) fn history_beside(config_path: &Path) -> PathBuf {
    base_of(config_path).join("cutover-history.sqlite")
}

/// The folder relative paths of a config are taken from.
fn base_of(config_path: &Path) -> &Path {
    config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks that a URL names a scheme a connector reads (the registry is the only list).
fn check_url(place: &str, url: &str) -> anyhow::Result<()> {
    cutover_source::Engine::check_url(url)
        .map(|_| ())
        .map_err(|m| hinted(format!("{place}: {m}"), cutover_source::URL_HINT).into())
}

/// Reads and parses a config, with its includes and map files loaded and every URL's scheme
/// checked; no connection is made.
pub(crate) fn load(
    config_path: &Path,
) -> anyhow::Result<(Config, Vec<cutover_config::RuleConfig>)> {
    let text = std::fs::read_to_string(config_path).with_context(|| {
        hinted(
            format!("cannot read config file {}", config_path.display()),
            "pass --config PATH, or run `cutover demo` to see an example",
        )
    })?;
    let mut config = Config::parse(&text, &config_path.display().to_string())?;
    let base = base_of(config_path);
    for (side, ep) in [
        ("[source] url", &config.source),
        ("[target] url", &config.target),
    ] {
        if let Some(url) = &ep.url {
            check_url(&format!("{}: {side}", config_path.display()), url)?;
        }
    }
    let rules = load_rules(&mut config, base)?;
    for t in &mut config.tables {
        load_map_files(t, base)?;
        if let Some(url) = &t.source_url {
            check_url(
                &format!("{}: table {}: source_url", config_path.display(), t.name),
                url,
            )?;
        }
        t.source_url = t
            .source_url
            .as_deref()
            .map(|u| cutover_config::absolutise_path(u, base));
    }
    check_sql(&config, &rules)
        .map_err(|e| anyhow::Error::new(e).context(config_path.display().to_string()))?;
    Ok((config, rules))
}

/// Checks every piece of configured SQL in the dialect of the engine that will run it, with no
/// connection: a side named by `url_env` is checked in its variable's engine when it is set,
/// else as PostgreSQL.
fn check_sql(
    config: &Config,
    rules: &[cutover_config::RuleConfig],
) -> Result<(), cutover_source::FragmentError> {
    use cutover_config::RuleSide;
    let engine = |ep: &cutover_config::Endpoint| {
        ep.url
            .clone()
            .or_else(|| ep.url_env.as_deref().and_then(|v| std::env::var(v).ok()))
            .and_then(|u| cutover_source::Engine::from_url(&u))
            .filter(|e| !e.is_file())
    };
    let (source, target) = (engine(&config.source), engine(&config.target));
    let side = |s: RuleSide| match s {
        RuleSide::Source => source,
        RuleSide::Target => target,
    };
    let pieces = config
        .tables
        .iter()
        .flat_map(|t| {
            let own = t
                .source_url
                .as_deref()
                .map(|u| cutover_source::Engine::from_url(u).filter(|e| !e.is_file()));
            t.configured_sql().into_iter().map(move |p| {
                let e = match (p.side, own) {
                    (RuleSide::Source, Some(own)) => own,
                    (s, _) => side(s),
                };
                (e, p)
            })
        })
        .chain(
            rules
                .iter()
                .flat_map(|r| r.configured_sql().into_iter().map(|p| (side(p.side), p))),
        );
    for (engine, p) in pieces {
        let kind = if p.query {
            cutover_source::FragmentKind::Query
        } else {
            cutover_source::FragmentKind::Expression
        };
        cutover_source::dialect::fragment(engine, kind, &p.place, p.text)?;
    }
    Ok(())
}

/// Reads, validates and resolves a config into run settings. CLI flags win over the file.
pub(crate) fn resolve(config_path: &Path, common: &CommonArgs) -> anyhow::Result<Resolved> {
    let (mut config, mut rules) = load(config_path)?;
    if !common.tables.is_empty() {
        select_tables(&mut config, &mut rules, &common.tables)?;
    }
    resolve_loaded(
        config,
        rules,
        base_of(config_path),
        Some(history_beside(config_path)),
        common,
    )
}

/// A config written from command-line arguments (`cutover diff`), checked as a file is.
pub(crate) fn parse_generated(
    text: &str,
) -> anyhow::Result<(Config, Vec<cutover_config::RuleConfig>)> {
    let config = Config::parse(text, "the command line")?;
    for (side, ep) in [
        ("source URL", &config.source),
        ("target URL", &config.target),
    ] {
        if let Some(url) = &ep.url {
            check_url(side, url)?;
        }
    }
    check_sql(&config, &[])?;
    Ok((config, Vec::new()))
}

/// Resolves a loaded config: relative paths from `base`, the history at `--history`, else at
/// `default_history` (none: no history unless asked for).
pub(crate) fn resolve_loaded(
    mut config: Config,
    rules: Vec<cutover_config::RuleConfig>,
    base: &Path,
    default_history: Option<PathBuf>,
    common: &CommonArgs,
) -> anyhow::Result<Resolved> {
    let env = |k: &str| std::env::var(k).ok();
    let source_url = config.source.resolve("source", base, env)?;
    let target_url = config.target.resolve("target", base, env)?;
    check_url("[source] url", &source_url)?;
    check_url("[target] url", &target_url)?;
    let jobs = common
        .jobs
        .or(config.run.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let out = common
        .out
        .clone()
        .or(config.report.out.clone().map(|o| base.join(o)))
        .unwrap_or_else(|| PathBuf::from("cutover-report"));
    let memory_limit = match common
        .memory_limit
        .as_deref()
        .or(config.run.memory_limit.as_deref())
    {
        None => cutover_run::DEFAULT_MEMORY_LIMIT,
        Some(text) => cutover_config::parse_size(text).ok_or_else(|| {
            hinted(
                format!("memory limit {text:?} is not a size of at least 1 MiB"),
                "write it like 512MiB or 2GiB",
            )
        })?,
    };
    let checklist = config.checklist_items();
    let mode = match common.mode.as_deref() {
        Some("checksum") => Some(cutover_config::CompareMode::Checksum),
        Some("auto") => Some(cutover_config::CompareMode::Auto),
        Some(_) => Some(cutover_config::CompareMode::Full),
        None => None,
    };
    for t in &mut config.tables {
        t.mode = mode.or(t.mode).or(config.run.mode);
    }
    let mut settings = cutover_run::Settings {
        source_url,
        target_url,
        tables: std::mem::take(&mut config.tables),
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
        session: cutover_source::SessionLimits {
            lock_timeout_secs: common
                .lock_timeout
                .or(config.run.lock_timeout_secs)
                .unwrap_or(cutover_source::DEFAULT_LOCK_TIMEOUT_SECS),
            statement_timeout_secs: common
                .statement_timeout
                .or(config.run.statement_timeout_secs)
                .unwrap_or(0),
        },
        checklist,
        checkpoints: None,
        checkpoint_rows: config
            .run
            .checkpoint_rows
            .unwrap_or(cutover_run::ranges::CHECKPOINT_ROWS)
            .max(1),
        checksum_statement_secs: config
            .run
            .checksum_statement_ms
            .map_or(cutover_run::checksum::STATEMENT_SECS, |ms| {
                ms.max(1) as f64 / 1000.0
            }),
        storage_order_rows: if config.run.storage_order == Some(false) {
            u64::MAX
        } else {
            cutover_run::storage_order::STORAGE_ORDER_ROWS
        },
    };
    let history_path = common.history.clone().or(default_history);
    // Checksum mode's checkpoint lives beside the history, with or without --no-history.
    let checkpoint = history_path
        .as_ref()
        .map(|h| h.with_extension("checkpoint"));
    settings.checkpoints = match (&checkpoint, common.resume) {
        (Some(path), true) => Some(std::sync::Arc::new(
            cutover_run::checkpoint::Checkpoints::resume(path).map_err(|m| anyhow::anyhow!(m))?,
        )),
        (Some(path), false) => Some(std::sync::Arc::new(
            cutover_run::checkpoint::Checkpoints::new(path),
        )),
        (None, true) => {
            return Err(hinted(
                "--resume needs the folder of the interrupted run's checkpoint",
                "pass the same --config, or --history PATH of that run",
            )
            .into());
        }
        (None, false) => None,
    };
    let history = if common.no_history {
        None
    } else {
        history_path
    };
    Ok(Resolved {
        settings,
        out,
        rules,
        fail_on: common.fail_on,
        history,
        label: common.label.clone(),
        export_diffs: common.export_diffs.clone(),
        color: common.color,
        format: common.format,
    })
}

/// Keeps the tables that `patterns` name and the rules that read only those tables (a rule
/// that only runs queries goes with the whole check). A pattern that names no table is an error.
fn select_tables(
    config: &mut Config,
    rules: &mut Vec<cutover_config::RuleConfig>,
    patterns: &[String],
) -> anyhow::Result<()> {
    let all: Vec<String> = config.tables.iter().map(|t| t.name.clone()).collect();
    for p in patterns {
        if !all.iter().any(|n| cutover_config::glob_match(p, n)) {
            return Err(hinted(
                format!("--table {p} names no table of the config"),
                format!("the config's tables are: {}", all.join(", ")),
            )
            .into());
        }
    }
    let chosen = |name: &str| patterns.iter().any(|p| cutover_config::glob_match(p, name));
    config.tables.retain(|t| chosen(&t.name));
    rules.retain(|r| {
        let tables = r.tables();
        !tables.is_empty() && tables.iter().all(|t| chosen(t))
    });
    Ok(())
}

/// The config's rules followed by those of its `include` files; ids must stay unique.
fn load_rules(config: &mut Config, base: &Path) -> anyhow::Result<Vec<cutover_config::RuleConfig>> {
    let mut rules = std::mem::take(&mut config.rules);
    for file in &config.include {
        let path = base.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| {
            hinted(
                format!("cannot read rule file {}", path.display()),
                "include paths are relative to the config file",
            )
        })?;
        let pack = cutover_config::RuleFile::parse(&text, &path.display().to_string())?;
        for r in &pack.rules {
            config
                .check_rule_checklist(r)
                .map_err(|(m, h)| hinted(format!("{}: {m}", path.display()), h))?;
        }
        rules.extend(pack.rules);
    }
    let mut seen = std::collections::HashSet::new();
    for r in &rules {
        if !seen.insert(r.id.clone()) {
            return Err(hinted(
                format!(
                    "rule id {} is used twice (in the config or its includes)",
                    r.id
                ),
                "give every rule a unique id",
            )
            .into());
        }
    }
    Ok(rules)
}

/// Reads every `map_file` of a table into its column's `map` (entries written in the config win).
fn load_map_files(t: &mut cutover_config::TableConfig, base: &Path) -> anyhow::Result<()> {
    for (column, source) in t.columns.iter_mut() {
        let cutover_config::ColumnSource::Spec(spec) = source else {
            continue;
        };
        let Some(file) = &spec.map_file else { continue };
        let path = base.join(file);
        let place = || {
            hinted(
                format!(
                    "table {}, column {column}: map_file {}",
                    t.name,
                    path.display()
                ),
                "a CSV file with a header line and two columns: source value, target value",
            )
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(&path)
            .map_err(|e| anyhow::Error::new(e).context(place()))?;
        let map = spec.map.get_or_insert_with(Default::default);
        for record in reader.records() {
            let record = record.map_err(|e| anyhow::Error::new(e).context(place()))?;
            if record.len() != 2 {
                return Err(anyhow::anyhow!(
                    "line {} has {} fields, expected 2",
                    record.position().map_or(0, |p| p.line()),
                    record.len()
                )
                .context(place()));
            }
            map.entry(record[0].to_string())
                .or_insert_with(|| record[1].to_string());
        }
    }
    Ok(())
}
