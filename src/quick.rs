//! `cutover diff`: one table compared without a config file, with the same engine, reports and
//! exit codes as `cutover check`.

use crate::{CommonArgs, hinted};
use cutover_run::init::{toml_list, toml_string};
use std::path::Path;

/// The arguments of `cutover diff`.
#[derive(clap::Args)]
pub(crate) struct DiffArgs {
    /// The legacy side: sqlite://, postgres://, mysql://, csv:// or parquet:// URL.
    source_url: String,
    /// The table on the source (`name` or `schema.name`; a file's name on a file side).
    source_table: String,
    /// The new side's URL.
    target_url: String,
    /// The table on the target [default: the source table's name].
    target_table: Option<String>,
    /// A key column (target name); repeat for a composite key [default: the target's primary
    /// key].
    #[arg(short, long = "key", value_name = "COLUMN")]
    keys: Vec<String>,
    /// A target column read from a source column of another name, as TARGET=SOURCE; repeatable.
    #[arg(long = "column", value_name = "TARGET=SOURCE")]
    columns: Vec<String>,
    /// A target column left out of the comparison; repeatable.
    #[arg(long, value_name = "COLUMN")]
    ignore: Vec<String>,
    /// An SQL condition on the source rows (the migration depth).
    #[arg(long, value_name = "SQL")]
    source_where: Option<String>,
    /// An SQL condition on the target rows.
    #[arg(long, value_name = "SQL")]
    target_where: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

/// The config the arguments stand for, as TOML.
fn config_text(a: &DiffArgs) -> anyhow::Result<String> {
    let target_table = a.target_table.as_deref().unwrap_or(&a.source_table);
    let mut t = format!(
        "[source]\nurl = {}\n[target]\nurl = {}\n\n[[table]]\nname = {}\n",
        toml_string(&a.source_url),
        toml_string(&a.target_url),
        toml_string(target_table)
    );
    if a.source_table != target_table {
        t.push_str(&format!("source_name = {}\n", toml_string(&a.source_table)));
    }
    if !a.keys.is_empty() {
        t.push_str(&format!("key = {}\n", toml_list(&a.keys)));
    }
    if !a.ignore.is_empty() {
        t.push_str(&format!("ignore = {}\n", toml_list(&a.ignore)));
    }
    for (key, value) in [
        ("source_where", &a.source_where),
        ("target_where", &a.target_where),
    ] {
        if let Some(v) = value {
            t.push_str(&format!("{key} = {}\n", toml_string(v)));
        }
    }
    if !a.columns.is_empty() {
        let mut pairs = Vec::new();
        for c in &a.columns {
            let Some((target, source)) = c.split_once('=') else {
                return Err(hinted(
                    format!("--column {c}: not TARGET=SOURCE"),
                    "write --column full_name=NAME for a target column read from a source column of another name",
                )
                .into());
            };
            pairs.push(format!(
                "{} = {}",
                toml_string(target.trim()),
                toml_string(source.trim())
            ));
        }
        t.push_str(&format!("columns = {{ {} }}\n", pairs.join(", ")));
    }
    Ok(t)
}

/// `cutover diff`: builds the one-table config, then runs it as `cutover check` does. The
/// history is kept only with `--history PATH`.
pub(crate) fn run(a: &DiffArgs) -> anyhow::Result<u8> {
    if !a.common.tables.is_empty() {
        return Err(hinted(
            "--table does not apply to cutover diff",
            "name the table as an argument: cutover diff SOURCE_URL TABLE TARGET_URL [TABLE]",
        )
        .into());
    }
    let (config, rules) = crate::settings::parse_generated(&config_text(a)?)?;
    let resolved = crate::settings::resolve_loaded(config, rules, Path::new("."), None, &a.common)?;
    let report = crate::run_and_report(&resolved, a.common.quiet)?;
    Ok(crate::exit_code(&report))
}
