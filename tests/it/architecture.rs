//! The architecture's invariants (docs/ARCHITECTURE.md), enforced on the dependency graph that
//! `cargo metadata` reports: which crate may depend on what.

use std::collections::BTreeMap;

/// Each workspace crate's normal (not dev, not build) dependencies.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("a name").to_string())
                .collect();
            (p["name"].as_str().expect("a name").to_string(), deps)
        })
        .collect()
}

/// Crates that may depend on `dependency`; every other workspace crate must not.
const ONLY: &[(&str, &[&str])] = &[
    // Async and the database drivers stay in the connector crate (and cutover's own files,
    // which borrow its runtime).
    ("sqlx", &["cutover-source", "cutover-store"]),
    ("tokio", &["cutover-source"]),
    ("futures-util", &["cutover-source"]),
    // Files are read by the connectors and written by the report (the diff export); the
    // binary reads value-map files.
    ("csv", &["cutover-source", "cutover-report", "cutover"]),
    ("parquet", &["cutover-source", "cutover-report"]),
    ("arrow-array", &["cutover-source", "cutover-report"]),
    ("arrow-schema", &["cutover-source", "cutover-report"]),
    ("arrow-cast", &["cutover-source"]),
    ("encoding_rs", &["cutover-source", "cutover-check"]),
    // Only the binary touches the command line, the terminal and untyped errors.
    ("clap", &["cutover"]),
    ("indicatif", &["cutover"]),
    ("anyhow", &["cutover"]),
    ("ctrlc", &["cutover"]),
    // Serialised output is defined in the report crate.
    ("serde_json", &["cutover-report", "cutover-check"]),
];

/// Workspace crates a crate must not depend on.
const NEVER: &[(&str, &[&str])] = &[
    // The pure core depends on no other crate of ours.
    (
        "cutover-check",
        &[
            "cutover-config",
            "cutover-source",
            "cutover-run",
            "cutover-rules",
            "cutover-report",
            "cutover-store",
        ],
    ),
    // The config schema knows only the core's types.
    (
        "cutover-config",
        &[
            "cutover-source",
            "cutover-run",
            "cutover-rules",
            "cutover-report",
            "cutover-store",
        ],
    ),
    // Connectors know no config, no plan, no rule and no report.
    (
        "cutover-source",
        &[
            "cutover-config",
            "cutover-run",
            "cutover-rules",
            "cutover-report",
            "cutover-store",
        ],
    ),
    // Rules sit beside the run, not above it; neither knows the report.
    (
        "cutover-rules",
        &["cutover-run", "cutover-report", "cutover-store"],
    ),
    (
        "cutover-run",
        &["cutover-rules", "cutover-report", "cutover-store"],
    ),
    // The report reads the outcome, never a side.
    ("cutover-report", &["cutover-source", "cutover-store"]),
];

#[test]
fn crates_depend_only_on_what_the_architecture_allows() {
    let deps = dependencies();
    assert!(deps.contains_key("cutover-check"), "{deps:?}");
    let mut broken = Vec::new();
    for (dependency, allowed) in ONLY {
        for (krate, its) in &deps {
            if its.iter().any(|d| d == dependency) && !allowed.contains(&krate.as_str()) {
                broken.push(format!("{krate} depends on {dependency}"));
            }
        }
    }
    for (krate, forbidden) in NEVER {
        let its = deps
            .get(*krate)
            .unwrap_or_else(|| panic!("no crate {krate}"));
        for f in *forbidden {
            if its.iter().any(|d| d == f) {
                broken.push(format!("{krate} depends on {f}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependencies that docs/ARCHITECTURE.md forbids:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_invariant_check_would_catch_a_forbidden_edge() {
    // The check above is only as good as its input: make sure the graph it reads is real.
    let deps = dependencies();
    assert!(deps["cutover-source"].iter().any(|d| d == "sqlx"));
    assert!(deps["cutover"].iter().any(|d| d == "clap"));
    assert!(deps["cutover-rules"].iter().any(|d| d == "cutover-source"));
}
