//! `cutover init`: writes a commented config proposed from both live schemas
//! ([`cutover_run::init::propose`]) and checks that it loads.

use crate::{EXIT_GO, hinted};
use cutover_run::init::{Proposal, toml_list, toml_string};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The arguments of `cutover init`.
#[derive(clap::Args)]
pub(crate) struct InitArgs {
    /// The legacy side's URL (sqlite://, postgres://, mysql://, csv://, parquet://).
    #[arg(long, value_name = "URL")]
    source: String,
    /// The new system's URL.
    #[arg(long, value_name = "URL")]
    target: String,
    /// The config file to write.
    #[arg(short, long, value_name = "FILE", default_value = "cutover.toml")]
    output: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    force: bool,
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml_string(k)
    }
}

/// How a side's URL goes into the config: as is, with a relative file path made absolute when
/// the config is written elsewhere, or through an environment variable when it holds a
/// password (which is never written).
fn url_lines(side: &str, url: &str, config_dir: &Path) -> String {
    if cutover_source::redact(url) != url {
        let var = format!("CUTOVER_{}_URL", side.to_uppercase());
        return format!(
            "url_env = \"{var}\"   # the URL holds a password: set {var} where the check runs\n"
        );
    }
    let here = config_dir.as_os_str().is_empty() || config_dir == Path::new(".");
    let file = ["sqlite://", "csv://", "parquet://"]
        .iter()
        .find_map(|s| url.strip_prefix(s).map(|p| (*s, p)));
    let url = match file {
        Some((scheme, path)) if !here && Path::new(path).is_relative() => {
            match std::path::absolute(path) {
                Ok(abs) => format!("{scheme}{}", abs.display()),
                Err(_) => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    format!("url = {}\n", toml_string(&url))
}

/// A side's `[side.csv]` section for what was sniffed from its files.
fn csv_lines(side: &str, f: &Option<cutover_source::CsvFormat>) -> String {
    let Some(f) = f else {
        return String::new();
    };
    let mut o = format!("[{side}.csv]   # guessed from the first export file: check it\n");
    let delimiter = match f.delimiter {
        b'\t' => "\\t".to_string(),
        d => (d as char).to_string(),
    };
    o.push_str(&format!("delimiter = \"{delimiter}\"\n"));
    if let Some(e) = &f.encoding {
        o.push_str(&format!(
            "encoding = \"{e}\"   # the bytes are not UTF-8; or latin-1, windows-1251\n"
        ));
    }
    o
}

/// The config text.
fn render(
    p: &Proposal,
    args: &InitArgs,
    config_dir: &Path,
    csv: [&Option<cutover_source::CsvFormat>; 2],
) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Written by `cutover init` from both schemas ({} source, {} target).\n\
         # The pairings, renames, keys and rules below are proposals, each with its evidence:\n\
         # review them, then `cutover plan` shows what a check will do and `cutover check` runs it.\n",
        p.engines[0], p.engines[1]
    );
    let _ = write!(
        o,
        "[source]\n{}{}\n[target]\n{}{}",
        url_lines("source", &args.source, config_dir),
        csv_lines("source", csv[0]),
        url_lines("target", &args.target, config_dir),
        csv_lines("target", csv[1])
    );
    for t in &p.tables {
        let _ = writeln!(
            o,
            "\n[[table]]\n# paired with {}: {}",
            t.source_name, t.evidence
        );
        let _ = writeln!(o, "name = {}", toml_string(&t.name));
        if t.source_name != t.name {
            let _ = writeln!(o, "source_name = {}", toml_string(&t.source_name));
        }
        match &t.key {
            Some((k, from)) => {
                let _ = writeln!(o, "# key: {} (from {from})", k.join(", "));
                if *from != "the target's primary key" {
                    let _ = writeln!(o, "key = {}", toml_list(k));
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "# no primary key or unique index on either side: set the columns that identify a row\nkey = []"
                );
            }
        }
        if !t.renames.is_empty() {
            let shown: Vec<String> = t
                .renames
                .iter()
                .map(|(tc, sc, _)| format!("{} = {}", key(tc), toml_string(sc)))
                .collect();
            let _ = writeln!(o, "columns = {{ {} }}", shown.join(", "));
            for (tc, sc, why) in &t.renames {
                let _ = writeln!(o, "#   {tc} ← {sc}: {why}");
            }
        }
        if !t.unsourced_key.is_empty() {
            let _ = writeln!(
                o,
                "# key column{} {} of the target {} no source column: map {} in columns = {{ {} = \"SOURCE_COLUMN\" }}",
                if t.unsourced_key.len() == 1 { "" } else { "s" },
                t.unsourced_key.join(", "),
                if t.unsourced_key.len() == 1 {
                    "has"
                } else {
                    "have"
                },
                if t.unsourced_key.len() == 1 {
                    "it"
                } else {
                    "them"
                },
                t.unsourced_key[0]
            );
        }
        if !t.target_only.is_empty() {
            let _ = writeln!(
                o,
                "# target columns no source column fills, left out of the comparison (map them in columns if\n# they come from the source):\nignore = {}",
                toml_list(&t.target_only)
            );
        }
        if !t.source_only.is_empty() {
            let _ = writeln!(
                o,
                "# source columns no target column takes (map them in columns, or drop them if that is agreed):\n# drop = {}",
                toml_list(&t.source_only)
            );
        }
    }
    for (side, names) in [
        ("source", &p.unpaired_source),
        ("target", &p.unpaired_target),
    ] {
        if !names.is_empty() {
            let _ = writeln!(
                o,
                "\n# {side} tables paired with nothing (add a [[table]] with source_name if they belong together):"
            );
            for n in names {
                let _ = writeln!(o, "#   {n}");
            }
        }
    }
    if !p.rules.is_empty() {
        let _ = writeln!(
            o,
            "\n# Starter rules from the target's constraints and column names (cutover explain TYPE\n# documents each)."
        );
    }
    for r in &p.rules {
        let _ = writeln!(
            o,
            "\n[[rule]]\n# {}\nid = {}",
            r.evidence,
            toml_string(&r.id)
        );
        for l in &r.lines {
            let _ = writeln!(o, "{l}");
        }
    }
    o
}

/// `cutover init`: reads both schemas, writes the config, and checks that it loads.
pub(crate) fn run(args: &InitArgs) -> anyhow::Result<u8> {
    if args.output.exists() && !args.force {
        return Err(hinted(
            format!("{} exists", args.output.display()),
            "choose another file with -o, or pass --force to overwrite it",
        )
        .into());
    }
    for (what, url) in [("--source", &args.source), ("--target", &args.target)] {
        cutover_source::Engine::check_url(url).map_err(|e| {
            hinted(
                format!("{what}: {e}"),
                "write a URL like sqlite://legacy.db or postgres://user@host/db",
            )
        })?;
    }
    let config_dir = args.output.parent().unwrap_or(Path::new("")).to_path_buf();
    // A folder of CSV exports: its delimiter and encoding guessed from its first file.
    let endpoint = |url: &str| {
        let mut e = cutover_source::Endpoint::new(url);
        let sniffed = (cutover_source::Engine::from_url(url) == Some(cutover_source::Engine::Csv))
            .then(|| cutover_source::sniff_csv(url))
            .flatten();
        if let Some(f) = &sniffed {
            e.csv = f.clone();
        }
        (e, sniffed)
    };
    let ((source, source_csv), (target, target_csv)) =
        (endpoint(&args.source), endpoint(&args.target));
    let proposal = cutover_run::init::propose(&source, &target)?;
    let text = render(&proposal, args, &config_dir, [&source_csv, &target_csv]);
    std::fs::write(&args.output, &text).map_err(|e| {
        anyhow::Error::new(e).context(hinted(
            format!("cannot write {}", args.output.display()),
            "choose a writable path with -o",
        ))
    })?;
    let (config, rules) = crate::settings::load(&args.output)?;
    println!(
        "{}: {} {} paired, {} starter {}",
        args.output.display(),
        config.tables.len(),
        if config.tables.len() == 1 {
            "table"
        } else {
            "tables"
        },
        rules.len(),
        if rules.len() == 1 { "rule" } else { "rules" },
    );
    for (side, names) in [
        ("source", &proposal.unpaired_source),
        ("target", &proposal.unpaired_target),
    ] {
        if !names.is_empty() {
            println!("  {side} tables paired with nothing: {}", names.join(", "));
        }
    }
    println!(
        "next: review it, then `cutover plan -c {0}` and `cutover check -c {0}`",
        args.output.display()
    );
    Ok(EXIT_GO)
}
