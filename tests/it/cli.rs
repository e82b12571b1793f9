//! The command line end to end: exit codes, report files, error messages.

use crate::common::*;
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

pub(crate) fn cutover() -> Command {
    let mut c = Command::cargo_bin("cutover").unwrap();
    c.env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("NO_COLOR", "1");
    c
}

/// Writes `cutover.toml` into `dir`: the two URLs, then `rest` (run settings and tables).
pub(crate) fn pair_config(
    dir: &Path,
    source: &str,
    target: &str,
    rest: &str,
) -> std::path::PathBuf {
    let config = dir.join("cutover.toml");
    std::fs::write(
        &config,
        format!("[source]\nurl = \"{source}\"\n[target]\nurl = \"{target}\"\n{rest}"),
    )
    .unwrap();
    config
}

/// What `cutover plan` prints for `config`.
pub(crate) fn plan_of(config: &Path) -> String {
    let plan = cutover().args(["plan", "-c"]).arg(config).output().unwrap();
    String::from_utf8_lossy(&plan.stdout).into_owned()
}

/// `cutover check --no-history` on `config`, its reports written to `out`.
pub(crate) fn check_into(config: &Path, out: &Path) -> std::process::Output {
    cutover()
        .args(["check", "--no-history", "-c"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// A project folder whose `cutover check` runs are interrupted and resumed: its config, its
/// checkpoint beside the (default) history, and its report folders.
pub(crate) struct Rehearsal {
    pub(crate) dir: tempfile::TempDir,
    jobs: &'static str,
}

impl Rehearsal {
    /// A folder whose runs use `jobs` jobs.
    pub(crate) fn new(jobs: &'static str) -> Rehearsal {
        Rehearsal {
            dir: tempfile::tempdir().unwrap(),
            jobs,
        }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("cutover.toml")
    }

    /// Writes the config.
    pub(crate) fn write_config(&self, text: &str) {
        std::fs::write(self.config(), text).unwrap();
    }

    /// The checkpoint file.
    pub(crate) fn checkpoint(&self) -> std::path::PathBuf {
        self.dir.path().join("cutover-history.checkpoint")
    }

    /// The checkpoint's lines that start with `prefix`.
    pub(crate) fn checkpointed(&self, prefix: &str) -> Vec<String> {
        std::fs::read_to_string(self.checkpoint())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    /// The arguments of `cutover check` with its reports in `out`.
    fn args(&self, out: &str) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = [
            "check",
            "--no-history",
            "--quiet",
            "--jobs",
            self.jobs,
            "-c",
        ]
        .map(Into::into)
        .into();
        args.extend([
            self.config().into(),
            "--out".into(),
            self.dir.path().join(out).into(),
        ]);
        args
    }

    /// `cutover check`, its reports in `out`, resuming or not.
    pub(crate) fn check(&self, out: &str, resume: bool) -> std::process::Output {
        let mut c = cutover();
        c.args(self.args(out));
        if resume {
            c.arg("--resume");
        }
        c.output().unwrap()
    }

    /// The JSON report in `out`, validated.
    pub(crate) fn report(&self, out: &str) -> serde_json::Value {
        validate_report(&self.dir.path().join(out).join("report.json"))
    }

    /// Starts `cutover check`, waits until the checkpoint holds a line that starts with
    /// `prefix` (a finished chunk or range), and kills the run (SIGKILL: no chance to clean
    /// up), failing when the run finished first.
    pub(crate) fn kill_once_checkpointed(&self, prefix: &str) {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(self.args("killed"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while self.checkpointed(prefix).is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run finished before anything was checkpointed"
            );
            assert!(
                started.elapsed().as_secs() < 120,
                "nothing was checkpointed"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), None, "killed before it finished: {status:?}");
    }
}

pub(crate) fn validate_report(path: &Path) -> serde_json::Value {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match docs/report.schema.json:\n{}",
        errors.join("\n")
    );
    report
}

/// Validates a JUnit report against docs/junit.xsd with xmllint (required in CI).
pub(crate) fn validate_junit(path: &Path) -> String {
    let xml = std::fs::read_to_string(path).unwrap();
    match std::process::Command::new("xmllint")
        .args([
            "--noout",
            "--schema",
            concat!(env!("CARGO_MANIFEST_DIR"), "/docs/junit.xsd"),
        ])
        .arg(path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if std::env::var("CUTOVER_REQUIRE_DB").as_deref() == Ok("1") => {
            panic!("xmllint is required in CI: {e}")
        }
        Err(e) => eprintln!(
            "SKIPPED: JUnit XSD validation, xmllint not found ({e}); apt-get install libxml2-utils"
        ),
    }
    xml
}

/// A config that compares table `t` of one database with itself.
fn same_db_config(dir: &Path, url: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!("[source]\nurl = \"{url}\"\n[target]\nurl = \"{url}\"\n[[table]]\nname = \"t\"\n"),
    )
}

pub(crate) fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("cutover.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn demo_runs_as_designed_and_writes_valid_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    cutover()
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NO-GO: 1 of 7 tables match"))
        .stdout(predicate::str::contains("demo: as designed"));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["status"], "NO-GO");
    assert_eq!(report["tables"][5]["name"], "orders");
    let diagnosis: Vec<(String, String, u64)> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            t["diagnosis"].as_array().unwrap().iter().map(|d| {
                (
                    d["column"].as_str().unwrap().to_string(),
                    d["class"].as_str().unwrap().to_string(),
                    d["count"].as_u64().unwrap(),
                )
            })
        })
        .collect();
    for expected in [
        ("email", "letter case", 3),
        ("total", "rounding", 2),
        ("created_at", "time-zone shift", 4),
    ] {
        assert!(
            diagnosis.contains(&(expected.0.to_string(), expected.1.to_string(), expected.2)),
            "{expected:?} in {diagnosis:?}"
        );
    }
    let junit = validate_junit(&out.join("report.junit.xml"));
    assert!(
        junit.contains(r#"<testsuite name="cutover.tables" tests="7" failures="6" errors="0""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="cutover.tables" name="products""#),
        "{junit}"
    );
    assert!(
        junit.contains("changed: id=11801 total: 392.63 -&gt; 392.6"),
        "{junit}"
    );
    assert!(
        junit.contains(r#"name="orders-have-customers (CO101 foreign_key, error)""#),
        "{junit}"
    );
    assert!(
        junit.contains("<system-out>"),
        "the warn rule passes with its finding: {junit}"
    );
    assert_eq!(
        report["tables"][5]["source_where"],
        "ORD_DT >= '2015-01-01'"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# Migration check: NO-GO"), "{md}");
    assert!(
        md.contains("| orders | differ | 1956 | 1954 | 1947 | 3 | 1 | 6 | 0 |"),
        "{md}"
    );
    assert!(md.contains("| id=11801 | total | 392.63 | 392.6 |"), "{md}");
}

#[test]
fn go_exits_0_and_no_go_exits_1() {
    let (Some(pg), Some(my)) = (TestDb::postgres("cli"), TestDb::mariadb("cli")) else {
        return;
    };
    pg.exec("CREATE TABLE items (id int PRIMARY KEY, label text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g;");
    my.exec(
        "CREATE TABLE ITEMS_OLD (ITEM_ID int PRIMARY KEY, LABEL_TXT varchar(50));
         INSERT INTO ITEMS_OLD WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 500) SELECT g, CONCAT('item ', g) FROM s;",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl_env = \"CUTOVER_TEST_SOURCE\"\n[target]\nurl = \"{}\"\n\n[[table]]\nname = \"items\"\nsource_name = \"ITEMS_OLD\"\ncolumns = {{ id = \"ITEM_ID\", label = \"LABEL_TXT\" }}\n",
            pg.url
        ),
    );
    let out = dir.path().join("r");
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .env("CUTOVER_TEST_SOURCE", &my.url)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("GO: 1 of 1 tables match"));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["status"], "GO");
    assert_eq!(report["tables"][0]["counts"]["matched"], 500);

    my.exec("UPDATE ITEMS_OLD SET LABEL_TXT = 'renamed' WHERE ITEM_ID = 7");
    cutover()
        .args(["check", "--quiet", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .env("CUTOVER_TEST_SOURCE", &my.url)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "NO-GO: 0 of 1 tables match, 1 differ",
        ));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(
        report["tables"][0]["samples"]["changed"][0]["columns"][0]["source"],
        "renamed"
    );
}

#[test]
fn a_config_typo_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[source]\nurl = \"sqlite://a.db\"\n[target]\nurl = \"sqlite://b.db\"\n[[table]]\nname = \"t\"\nkee = [\"id\"]\n",
    );
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cutover.toml"))
        .stderr(predicate::str::contains("line 7"))
        .stderr(predicate::str::contains("unknown field `kee`"));
}

#[test]
fn an_unknown_url_scheme_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[source]\nurl = \"oracle://x\"\n[target]\nurl = \"sqlite://b.db\"\n[[table]]\nname = \"t\"\n",
    );
    for command in ["check", "validate"] {
        cutover()
            .args([command, "--config"])
            .arg(&cfg)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "[source] url: unsupported scheme `oracle`",
            ))
            .stderr(predicate::str::contains("hint: use sqlite://"));
    }
}

#[test]
fn validate_knows_what_it_can_without_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[source]\nurl = \"postgres://u@h/db\"\n[target]\nurl = \"mysql://u@h/db\"\n[[table]]\nname = \"t\"\n";
    for (extra, expected) in [
        (
            "source_where = \"id > 0); DELETE FROM t; SELECT (1\"\n",
            "table t: source_where: holds `;`",
        ),
        (
            "target_where = \"1=1 # comment\"\n",
            "table t: target_where: holds a comment",
        ),
        (
            "columns = { v = { expr = \"pg_terminate_backend(1)\" } }\n",
            "table t, column v: expr: calls pg_terminate_backend()",
        ),
        (
            "normalize = { source_timezone = \"Europe/Berln\" }\n",
            "source_timezone = \"Europe/Berln\" is not a time zone",
        ),
        (
            "[[rule]]\nid = \"r\"\ntype = \"sql\"\nquery = \"SELECT * FROM t FOR UPDATE\"\n",
            "rule r: query: uses FOR UPDATE",
        ),
    ] {
        let cfg = write_config(dir.path(), &format!("{base}{extra}"));
        cutover()
            .args(["validate", "--config"])
            .arg(&cfg)
            .env_remove("RUST_BACKTRACE")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("hint:"));
    }
    let cfg = write_config(
        dir.path(),
        "[source]\nurl_env = \"CUTOVER_TEST_UNSET_URL\"\n[target]\nurl = \"sqlite://b.db\"\n[[table]]\nname = \"t\"\n",
    );
    cutover()
        .args(["validate", "--config"])
        .arg(&cfg)
        .env_remove("CUTOVER_TEST_UNSET_URL")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "CUTOVER_TEST_UNSET_URL, which is not set",
        ))
        .stderr(predicate::str::contains(
            "hint: export CUTOVER_TEST_UNSET_URL=",
        ));
}

#[test]
fn an_unreachable_server_exits_2_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[source]\nurl = \"postgres://migrator:s3cret@127.0.0.1:1/legacy\"\n[target]\nurl = \"sqlite://new.db\"\n[[table]]\nname = \"t\"\n",
    );
    let assert = cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr
            .contains("source side: cannot connect to postgres://migrator:***@127.0.0.1:1/legacy"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: is the server running"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn missing_inputs_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    cutover()
        .args(["check", "--config"])
        .arg(dir.path().join("nope.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read config file"))
        .stderr(predicate::str::contains("hint:"));
    let cfg = write_config(
        dir.path(),
        "[source]\nurl_env = \"CUTOVER_UNSET_VAR\"\n[target]\nurl = \"sqlite://b.db\"\n[[table]]\nname = \"t\"\n",
    );
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .env_remove("CUTOVER_UNSET_VAR")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "CUTOVER_UNSET_VAR, which is not set",
        ));
    // A SQLite file that does not exist is not created: reading is read-only.
    let cfg = write_config(
        dir.path(),
        "[source]\nurl = \"sqlite://missing.db\"\n[target]\nurl = \"sqlite://missing.db\"\n[[table]]\nname = \"t\"\n",
    );
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check the SQLite file path"));
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn a_missing_table_is_no_go_and_the_others_are_still_checked() {
    let a = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"t\"\n[[table]]\nname = \"gone\"\n",
            a.url
        ),
    );
    let out = dir.path().join("r");
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "gone: table gone does not exist on the target",
        ))
        .stdout(predicate::str::contains(
            "NO-GO: 1 of 2 tables match, 0 differ, 1 not checked",
        ));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["tables"][1]["status"], "error");
}

#[test]
fn ctrl_c_writes_the_report_so_far_marked_incomplete() {
    let Some(pg) = TestDb::postgres("sigint") else {
        return;
    };
    pg.exec(
        "CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;
         CREATE TABLE small (id int PRIMARY KEY); INSERT INTO small VALUES (1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"big\"\n[[table]]\nname = \"small\"\n",
            pg.url
        ),
    );
    // SIGTERM (a CI job cancelled, a container stopped) is handled like Ctrl-C.
    for signal in ["-INT", "-TERM"] {
        let out = dir.path().join(format!("r{signal}"));
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
            .args(["check", "--jobs", "1", "--batch-rows", "256", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .env_remove("RUST_BACKTRACE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("INCOMPLETE"), "{stdout}");
        let report = validate_report(&out.join("report.json"));
        assert_eq!(report["complete"], false);
        assert_eq!(report["status"], "NO-GO");
        assert_eq!(report["tables"][0]["status"], "interrupted");
        assert_eq!(report["tables"][1]["status"], "interrupted");
        assert!(!out.join("report.partial").exists());
    }
}

#[test]
fn a_run_that_cannot_finish_leaves_no_earlier_verdict_behind() {
    let db = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let good = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"t\"\n",
            db.url
        ),
    );
    let go = |cfg: &Path| {
        cutover()
            .args(["check", "--no-history", "--config"])
            .arg(cfg)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(0);
        assert!(out.join("report.json").exists());
    };
    // A server that cannot be reached.
    go(&good);
    let unreachable = dir.path().join("unreachable.toml");
    std::fs::write(
        &unreachable,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"postgres://nobody@127.0.0.1:1/none\"\n[[table]]\nname = \"t\"\n",
            db.url
        ),
    )
    .unwrap();
    cutover()
        .args(["check", "--no-history", "--config"])
        .arg(&unreachable)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    for name in [
        "report.json",
        "report.md",
        "report.html",
        "report.junit.xml",
    ] {
        assert!(
            !out.join(name).exists(),
            "{name} of the earlier GO is still there"
        );
    }
    // A config that does not parse.
    go(&good);
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[source]\nurl = \"sqlite://x\"\n[[table]]\nnmae = \"t\"\n",
    )
    .unwrap();
    cutover()
        .args(["check", "--config"])
        .arg(&broken)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    assert!(!out.join("report.json").exists());
    // A report folder that cannot be written is found before any table is read.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    cutover()
        .args(["check", "--no-history", "--config"])
        .arg(&good)
        .arg("--out")
        .arg(blocked.join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot create the report folder"))
        .stderr(predicate::str::contains("hint: choose a writable folder"));
}

#[test]
fn explain_lists_and_explains_every_rule_type() {
    cutover()
        .arg("explain")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("CO101  foreign_key"))
        .stdout(predicate::str::contains("CO110  sql"));
    cutover()
        .args(["explain", "co106"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("CO106 hierarchy"))
        .stdout(predicate::str::contains("How to fix:"));
    cutover()
        .args(["explain", "CO999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no rule type \"CO999\""));
}

#[test]
fn validate_checks_configs_and_rule_packs_without_a_connection() {
    let dir = tempfile::tempdir().unwrap();
    let packs = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let cfg = write_config(
        dir.path(),
        &format!(
            "include = [\"{packs}/org-structure.toml\"]\n[source]\nurl = \"postgres://nobody:secret@127.0.0.1:1/none\"\n[target]\nurl_env = \"NOT_SET_ANYWHERE\"\n[[table]]\nname = \"t\"\n"
        ),
    );
    // The variable must be set where the check runs; nothing connects to what it names.
    cutover()
        .args(["validate", "--config"])
        .arg(&cfg)
        .env("NOT_SET_ANYWHERE", "postgres://nobody@127.0.0.1:1/none")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("valid (1 tables, 4 rules)"));
    let packs: Vec<std::path::PathBuf> = std::fs::read_dir(packs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cutover()
        .arg("validate")
        .args(&packs)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("reference-books.toml: valid"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"x\"\ntype = \"foreign_key\"\ntable = \"orders\"\n",
    )
    .unwrap();
    cutover()
        .arg("validate")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rule x: missing field `columns`"))
        .stderr(predicate::str::contains("hint: `cutover explain`"));
    std::fs::write(&bad, "[[rule]]\nid = \"x\"\ntype = \"foreign_kee\"\n").unwrap();
    cutover()
        .arg("validate")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"))
        .stderr(predicate::str::contains(
            "rule x: unknown variant `foreign_kee`",
        ));
    // A key of another rule type is named as unknown for this one, with the keys it takes.
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"x\"\ntype = \"not_null\"\ntable = \"t\"\ncolumns = [\"a\"]\nparent_table = \"p\"\n",
    )
    .unwrap();
    cutover()
        .arg("validate")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "rule x: unknown field `parent_table`, expected one of `table`, `columns`, `filter`",
        ));
}

#[test]
fn warn_rules_report_and_block_only_with_fail_on_warn() {
    let db = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, parent INTEGER);
         INSERT INTO t VALUES (1, 'A', NULL), (2, 'B', 1), (3, 'B', 1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rule = |severity: &str| {
        format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"t\"\n[[rule]]\nid = \"codes-unique\"\ntype = \"unique\"\ntable = \"t\"\ncolumns = [\"code\"]\nseverity = \"{severity}\"\n[[rule]]\nid = \"tree\"\ntype = \"hierarchy\"\ntable = \"t\"\nparent = \"parent\"\n",
            db.url
        )
    };
    let out = dir.path().join("r");
    let cfg = write_config(dir.path(), &rule("warn"));
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "GO with warnings: 1 of 1 tables match",
        ));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["status"], "GO with warnings");
    assert_eq!(report["rules"][0]["status"], "fail");
    assert_eq!(report["rules"][0]["violations"], 2);
    assert_eq!(report["rules"][0]["blocking"], false);
    assert_eq!(report["rules"][1]["status"], "pass");
    assert_eq!(report["checklist"][1]["status"], "closed with warnings");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.starts_with("# Migration check: GO with warnings"),
        "{md}"
    );
    cutover()
        .args(["check", "--fail-on", "warn", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let cfg = write_config(dir.path(), &rule("error"));
    cutover()
        .args(["check", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 blocking"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## Go-live checklist: initial solution content"),
        "{md}"
    );
    assert!(
        md.contains(
            "| codes-unique | CO102 unique | error | fail (blocks) | 2 | 0 | completeness |"
        ),
        "{md}"
    );
}

#[test]
fn the_html_report_renders_in_chromium_without_console_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    cutover()
        .args(["demo", "--quiet", "--dir"])
        .arg(dir.path().join("demo"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: nothing is loaded from anywhere.
    for outside in ["<script", "<link", "src=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "the report loads {outside}");
    }
    assert!(html.contains("<svg") && html.contains("Go-live checklist"));
    // The sections of part 9: the run's label and start, the schema comparison.
    assert!(
        html.contains("<b>rehearsal 2</b>, started "),
        "the run in the header"
    );
    assert!(html.contains("<p><b>Schema</b></p>"), "a schema section");
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok()
        });
    let Some(chromium) = chromium else {
        if std::env::var("CUTOVER_REQUIRE_DB").as_deref() == Ok("1") {
            panic!("chromium is required in CI to render the HTML report");
        }
        eprintln!(
            "SKIPPED: rendering the HTML report, chromium not found (apt-get install chromium)"
        );
        return;
    };
    let shot = dir.path().join("report.png");
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
        ])
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", out.join("report.html").display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 20_000,
        "a screenshot with content"
    );
}

#[test]
fn the_history_records_runs_and_the_report_shows_the_trend() {
    let a = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    let b_dir = tempfile::tempdir().unwrap();
    let b_path = b_dir.path().join("b.db");
    let build = |sql: &str| {
        let _ = std::fs::remove_file(&b_path);
        cutover_store::fixtures::build_sqlite(&b_path, sql, None).unwrap();
    };
    build(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'x');",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"sqlite://{}\"\n[[table]]\nname = \"t\"\n",
            a.url,
            b_path.display()
        ),
    );
    let out = dir.path().join("r");
    cutover()
        .args(["check", "--label", "rehearsal 1", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    build(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    cutover()
        .args(["check", "--label", "rehearsal 2", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("since rehearsal 1:"))
        .stdout(predicate::str::contains(
            "table t changed: 1 → 0 (improved)",
        ))
        .stdout(predicate::str::contains(
            "table t status: differ → match (fixed)",
        ));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["history"]["label"], "rehearsal 2");
    assert_eq!(report["history"]["previous_label"], "rehearsal 1");
    // The history lives beside the config: `cutover history --config` finds it, with counts.
    assert!(dir.path().join("cutover-history.sqlite").exists());
    cutover()
        .args(["history", "--config"])
        .arg(&cfg)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NO-GO"))
        .stdout(predicate::str::contains("rehearsal 1"))
        .stdout(predicate::str::contains("1 / 1"))
        .stdout(predicate::str::contains("GO      "));
    // A report folder of its own for rehearsal 3 still shows the trend since rehearsal 2.
    cutover()
        .args(["check", "--label", "rehearsal 3", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("rehearsal-3"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("since rehearsal 2: no change"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("| table t | missing | 1 | 0 | improved |"),
        "{md}"
    );
    // --no-history neither reads nor writes it.
    cutover()
        .args(["check", "--no-history", "--quiet", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("r2"))
        .assert()
        .code(0);
    assert!(!dir.path().join("r2/history.sqlite").exists());
    cutover()
        .args(["history", "--config"])
        .arg(&cfg)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("rehearsal 3"))
        .stdout(predicate::function(|out: &str| out.lines().count() == 4));
}

#[test]
fn export_diffs_writes_every_differing_row_as_csv_and_parquet() {
    let a = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER); INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', NULL);",
    );
    let b = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER); INSERT INTO t VALUES (1, 'a', 1), (2, 'B', 2), (4, 'd', 4), (5, 'e', 5);",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[table]]\nname = \"t\"\n[report]\nsample_size = 1\n",
            a.url, b.url
        ),
    );
    let exports = dir.path().join("diffs");
    cutover()
        .args(["check", "--quiet", "--no-history", "--config"])
        .arg(&cfg)
        .arg("--export-diffs")
        .arg(&exports)
        .arg("--out")
        .arg(dir.path().join("r"))
        .assert()
        .code(1);
    let csv = std::fs::read_to_string(exports.join("t.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "difference,differing_columns,id_source,id_target,v_source,v_target,n_source,n_target"
    );
    // Every difference, although the samples keep one of each kind.
    assert_eq!(
        &lines[1..],
        [
            "changed,v,2,2,b,B,2,2",
            "missing,,3,3,c,,3,",
            "changed,n,4,4,d,d,,4",
            "extra,,5,5,,e,,5"
        ],
        "{csv}"
    );
    let file = std::fs::File::open(exports.join("t.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 4);
}

#[test]
fn a_huge_value_is_capped_in_reports_and_whole_in_the_export() {
    let make = |last: &str| {
        TestSqlite::new(&format!(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO t VALUES (1, replace(hex(zeroblob(5000000)), '0', 'x') || '{last}');"
        ))
    };
    let (a, b) = (make("a"), make("b"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[table]]\nname = \"t\"\n",
            a.url, b.url
        ),
    );
    let out = dir.path().join("out");
    let export = dir.path().join("diffs");
    cutover()
        .args(["check", "--no-history", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .arg("--export-diffs")
        .arg(&export)
        .assert()
        .code(1);
    for name in [
        "report.json",
        "report.md",
        "report.html",
        "report.junit.xml",
    ] {
        let size = std::fs::metadata(out.join(name)).unwrap().len();
        assert!(size < 100_000, "{name} is {size} bytes");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("differs at character 10000001"), "{md}");
    let csv = std::fs::metadata(export.join("t.csv")).unwrap().len();
    assert!(
        csv > 20_000_000,
        "the export keeps both whole values: {csv} bytes"
    );
}

#[test]
fn an_interrupt_stops_a_read_the_server_has_not_answered_yet() {
    let Some(pg) = TestDb::postgres("sigfast") else {
        return;
    };
    pg.exec("CREATE TABLE slow (id int PRIMARY KEY); INSERT INTO slow VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"slow\"\nsource_where = \"pg_sleep(60) IS NOT NULL\"\n",
            pg.url
        ),
    );
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cutover"))
        .args(["check", "--no-history", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("r"))
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let signalled = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let waited = signalled.elapsed();
    assert_eq!(output.status.code(), Some(130));
    assert!(
        waited < std::time::Duration::from_secs(5),
        "took {waited:?} after the interrupt"
    );
    let report = validate_report(&dir.path().join("r/report.json"));
    assert_eq!(report["tables"][0]["status"], "interrupted");
}

#[test]
fn table_selects_a_subset_of_tables_and_their_rules() {
    let db = TestSqlite::new(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY); INSERT INTO orders VALUES (1);
         CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER); INSERT INTO order_lines VALUES (1, 1);
         CREATE TABLE customers (id INTEGER PRIMARY KEY); INSERT INTO customers VALUES (1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n\
             [[table]]\nname = \"orders\"\n[[table]]\nname = \"order_lines\"\n[[table]]\nname = \"customers\"\n\
             [[rule]]\nid = \"lines-have-orders\"\ntype = \"foreign_key\"\ntable = \"order_lines\"\ncolumns = [\"order_id\"]\nparent_table = \"orders\"\nparent_columns = [\"id\"]\n\
             [[rule]]\nid = \"customers-unique\"\ntype = \"unique\"\ntable = \"customers\"\ncolumns = [\"id\"]\n",
            db.url
        ),
    );
    let out = dir.path().join("out");
    cutover()
        .args(["check", "--no-history", "--table", "ORDER*", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let report = validate_report(&out.join("report.json"));
    let tables: Vec<&str> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["orders", "order_lines"]);
    let rules: Vec<&str> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["lines-have-orders"]);
    cutover()
        .args(["check", "--no-history", "--table", "invoices", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--table invoices names no table of the config",
        ))
        .stderr(predicate::str::contains(
            "hint: the config's tables are: orders, order_lines, customers",
        ));
}

#[test]
fn plan_shows_what_a_check_will_do_without_reading() {
    let db = TestSqlite::new(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"t\"\nsource_where = \"id > 0\"\n\
             [[rule]]\nid = \"v-set\"\ntype = \"not_null\"\ntable = \"t\"\ncolumns = [\"v\"]\n",
            db.url
        ),
    );
    let assert = cutover()
        .args(["plan", "--config"])
        .arg(&cfg)
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for expected in [
        "table t ← t (key id from the primary key; closes historical-data)",
        "v  ← v: TEXT → TEXT, compared as text",
        "source runs: SELECT \"id\", \"v\" FROM \"t\" WHERE (id > 0) ORDER BY \"id\"",
        "CO103 not_null",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    assert!(
        !dir.path().join("cutover-report").exists(),
        "plan writes nothing"
    );
    let missing = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"nope\"\n",
            db.url
        ),
    );
    cutover()
        .args(["plan", "--config"])
        .arg(&missing)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "table nope ← nope: CANNOT BE CHECKED: table nope does not exist on the target",
        ));
}

#[test]
fn help_shows_each_default_once() {
    for command in [
        "check", "plan", "schema", "init", "demo", "validate", "history", "explain",
    ] {
        let out = cutover().args([command, "--help"]).assert().code(0);
        let help = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        for line in help.lines() {
            assert!(line.matches("[default:").count() <= 1, "{command}: {line}");
        }
    }
}

#[test]
fn color_is_chosen_with_color() {
    let db = TestSqlite::new("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let cfg = same_db_config(dir.path(), &db.url);
    let run = |when: &str| {
        let out = cutover()
            .args(["check", "--no-history", "--color", when, "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(dir.path().join("out"))
            .assert()
            .code(0);
        String::from_utf8_lossy(&out.get_output().stdout).contains('\x1b')
    };
    assert!(run("always"), "--color always colours a pipe");
    assert!(!run("never"));
    assert!(!run("auto"), "auto does not colour a pipe");
}

#[test]
fn init_pairs_the_demo_as_its_hand_written_config_does() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    cutover()
        .args(["demo", "--quiet", "--dir"])
        .arg(&demo)
        .current_dir(dir.path())
        .assert()
        .code(0);
    let written = demo.join("init.toml");
    let init = || {
        cutover()
            .args([
                "init",
                "--source",
                "sqlite://legacy.db",
                "--target",
                "sqlite://new.db",
                "-o",
                "init.toml",
            ])
            .current_dir(&demo)
            .assert()
    };
    init().code(0).stdout(predicate::str::contains(
        "init.toml: 7 tables paired, 3 starter rules",
    ));
    let text = std::fs::read_to_string(&written).unwrap();
    let proposed = cutover_config::Config::parse(&text, "init.toml").unwrap();
    let by_hand = cutover_config::Config::parse(
        include_str!("../../fixtures/demo/cutover.toml"),
        "cutover.toml",
    )
    .unwrap();
    // Every table of the hand-written config is paired with the same source table, and every
    // rename it declares is proposed (with the same source column).
    for t in &by_hand.tables {
        let p = proposed
            .tables
            .iter()
            .find(|p| p.name == t.name)
            .unwrap_or_else(|| panic!("table {} not proposed:\n{text}", t.name));
        assert_eq!(p.source_name, t.source_name, "table {}", t.name);
        assert_eq!(p.columns, t.columns, "renames of table {}:\n{text}", t.name);
        assert_eq!(p.ignore, t.ignore, "ignored columns of table {}", t.name);
    }
    assert_eq!(proposed.tables.len(), by_hand.tables.len());
    // What it cannot know is there as a commented proposal with its evidence.
    assert!(text.contains("# paired with CUST: similar name"), "{text}");
    assert!(
        text.contains("minor_units ← DEC_PLACES: by elimination"),
        "{text}"
    );
    assert!(text.contains("type = \"reference_complete\""), "{text}");
    // It validates, plans, and a check runs with it (NO-GO: the demo's defects).
    cutover()
        .args(["validate", "-c", "init.toml"])
        .current_dir(&demo)
        .assert()
        .code(0);
    cutover()
        .args(["plan", "-c", "init.toml"])
        .current_dir(&demo)
        .assert()
        .code(0);
    cutover()
        .args(["check", "--quiet", "--no-history", "-c", "init.toml"])
        .current_dir(&demo)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NO-GO"));
    // A folder of exports: the delimiter and encoding are guessed from the first file (the
    // demo's CURR.csv is Windows-1252 with `;`), and the key never goes to ignore.
    cutover()
        .args([
            "init",
            "--source",
            "csv://exports",
            "--target",
            "sqlite://new.db",
            "-o",
            "csv.toml",
        ])
        .current_dir(&demo)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 table paired"));
    let text = std::fs::read_to_string(demo.join("csv.toml")).unwrap();
    assert!(text.contains("[source.csv]"), "{text}");
    assert!(text.contains("delimiter = \";\""), "{text}");
    assert!(text.contains("encoding = \"windows-1252\""), "{text}");
    assert!(
        text.contains(
            "columns = { code = \"CURR_CD\", name = \"CURR_NM\", minor_units = \"DEC_PLACES\" }"
        ),
        "{text}"
    );
    cutover()
        .args(["check", "--quiet", "--no-history", "-c", "csv.toml"])
        .current_dir(&demo)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "0 of 1 tables match, 1 differ, 0 not checked",
        ));
    // It never overwrites a file unless asked.
    init()
        .code(2)
        .stderr(predicate::str::contains("init.toml exists"))
        .stderr(predicate::str::contains("--force"));
}

#[test]
fn init_never_writes_a_password() {
    let Some(pg) = TestDb::postgres("init_pw") else {
        return;
    };
    pg.exec(
        "CREATE TABLE dept (id int PRIMARY KEY, name text, parent_id int REFERENCES dept (id));
         CREATE TABLE emp (login text NOT NULL, dept_id int REFERENCES dept (id), email text);
         CREATE UNIQUE INDEX emp_login ON emp (login);
         CREATE UNIQUE INDEX emp_email ON emp (email);
         INSERT INTO dept VALUES (1, 'HQ', NULL), (2, 'Sales', 1);
         INSERT INTO emp VALUES ('ann', 1, 'ann@x'), ('bob', 2, NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    // trust auth accepts any password: the URL holds one, the config must not.
    let with_password = pg.url.replacen("postgres@", "postgres:s3cret@", 1);
    cutover()
        .args(["init", "--source"])
        .arg(&with_password)
        .arg("--target")
        .arg(&pg.url)
        .arg("-o")
        .arg(dir.path().join("c.toml"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2 tables paired, 3 starter rules"))
        .stdout(predicate::str::contains("s3cret").not());
    let config = dir.path().join("c.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("url_env = \"CUTOVER_SOURCE_URL\""), "{text}");
    // Keys from a unique index of NOT NULL columns; rules from foreign keys, unique indexes
    // and a self-reference.
    for expected in [
        "# key: login (from a unique index of the target)\nkey = [\"login\"]",
        "type = \"foreign_key\"\ntable = \"emp\"\ncolumns = [\"dept_id\"]\nparent_table = \"dept\"\nparent_columns = [\"id\"]",
        "type = \"unique\"\ntable = \"emp\"\ncolumns = [\"email\"]\n",
        "# foreign key dept_parent_id_fkey references the table itself",
        "type = \"hierarchy\"\ntable = \"dept\"\nkey = [\"id\"]\nparent = \"parent_id\"",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    cutover()
        .args(["check", "--quiet", "--no-history", "--out"])
        .arg(dir.path().join("report"))
        .arg("-c")
        .arg(&config)
        .env("CUTOVER_SOURCE_URL", &with_password)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("GO: 2 of 2 tables match"));
}

#[test]
fn diff_compares_one_table_without_a_config() {
    let (Some(my), Some(pg)) = (TestDb::mariadb("diff_src"), TestDb::postgres("diff_tgt")) else {
        return;
    };
    my.exec(
        "CREATE TABLE CUST (CUST_ID int, NM varchar(20), KIND char(1));
         INSERT INTO CUST VALUES (1, 'Ann', 'A'), (2, 'Bob', 'B'), (3, 'Cy', 'A');",
    );
    pg.exec(
        "CREATE TABLE customers (id int, name text, kind text, loaded_at timestamp DEFAULT now());
         INSERT INTO customers (id, name, kind) VALUES (1, 'Ann', 'A'), (2, 'Bobby', 'B');",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let args = |extra: &[&str]| {
        let mut c = cutover();
        c.arg("diff")
            .arg(&my.url)
            .arg("CUST")
            .arg(&pg.url)
            .arg("customers")
            .args(["-k", "id", "--column", "id=CUST_ID", "--column", "name=NM"])
            .args(["--ignore", "loaded_at", "--out"])
            .arg(&out)
            .args(extra);
        c
    };
    args(&[])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "customers       3       2        1        1      0        1",
        ))
        .stdout(predicate::str::contains(
            "customers: id=2 name: Bob -> Bobby",
        ));
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["tables"][0]["source_name"], "CUST");
    assert_eq!(report["tables"][0]["key_origin"], "config");
    // Within the agreed depth the tables agree but for the changed name.
    args(&["--source-where", "CUST_ID < 3", "--quiet"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("0 of 1 tables match, 1 differ"));
    // Configured SQL is checked as it is in a file.
    args(&["--source-where", "1 = 1; DROP TABLE CUST"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("source_where"));
    assert_eq!(my.scalar("SELECT CAST(COUNT(*) AS CHAR) FROM CUST"), "3");
    // A missing key column says which columns there are.
    cutover()
        .arg("diff")
        .arg(&my.url)
        .arg("CUST")
        .arg(&pg.url)
        .arg("customers")
        .args(["-k", "nope", "--no-history", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("key column nope does not exist"));
}

#[test]
fn format_json_prints_json_lines_on_stdout_and_the_summary_on_stderr() {
    let Some(pg) = TestDb::postgres("json_lines") else {
        return;
    };
    pg.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 5000) i;
         CREATE TABLE u (id int PRIMARY KEY, v text);
         INSERT INTO u SELECT i, 'v' || i FROM generate_series(1, 4999) i;
         ANALYZE t; ANALYZE u;",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n[[table]]\nname = \"u\"\nsource_name = \"t\"\n\n[[rule]]\nid = \"v-set\"\ntype = \"not_null\"\ntable = \"u\"\ncolumns = [\"v\"]\n",
            pg.url
        ),
    );
    let out = cutover()
        .args(["check", "--no-history", "--format", "json", "-c"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("r"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("NO-GO: 0 of 1 tables match"))
        .get_output()
        .clone();
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "table_started",
            "table_finished",
            "rules_started",
            "rule_finished",
            "verdict"
        ]
    );
    // The engine's statistics give the larger side's rows.
    assert_eq!(events[0]["estimated_rows"], 5000);
    assert_eq!(events[1]["missing"], 1);
    assert_eq!(events[1]["status"], "differ");
    assert_eq!(events[3]["status"], "pass");
    assert_eq!(events[4]["status"], "NO-GO");
    assert_eq!(events[4]["exit_code"], 1);
    assert_eq!(events[4]["summary"]["source_rows"], 5000);
}

#[test]
fn completions_and_man_pages_come_from_the_binary() {
    cutover()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("_cutover()"))
        .stdout(predicate::str::contains("--format"));
    cutover()
        .args(["completions", "fish"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("complete -c cutover"));
    let dir = tempfile::tempdir().unwrap();
    cutover()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    for page in [
        "cutover.1",
        "cutover-check.1",
        "cutover-diff.1",
        "cutover-init.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.starts_with(".ie \\n(.g .ds Aq"), "{page}: {text}");
    }
    cutover()
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH cutover 1"));
}

#[test]
fn every_report_names_its_run_without_a_history() {
    let db = TestSqlite::new("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let cfg = same_db_config(dir.path(), &db.url);
    let out = dir.path().join("r");
    cutover()
        .args(["check", "--no-history", "--label", "rehearsal 4", "--out"])
        .arg(&out)
        .arg("-c")
        .arg(&cfg)
        .assert()
        .code(0);
    let report = validate_report(&out.join("report.json"));
    assert_eq!(report["run"]["label"], "rehearsal 4");
    let at = report["run"]["at"].as_str().unwrap().to_string();
    assert_eq!(at.len(), 20, "{at}");
    assert!(report["history"].is_null());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("Run: rehearsal 4, started {at}.")),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(&format!("<b>rehearsal 4</b>, started {at}")));
    // Without a label the date is still there.
    cutover()
        .args(["check", "--no-history", "--out"])
        .arg(&out)
        .arg("-c")
        .arg(&cfg)
        .assert()
        .code(0);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Run started 20"), "{md}");
}

#[test]
fn validate_reports_every_unset_url_env_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[source]\nurl_env = \"CUTOVER_T_UNSET_A\"\n[target]\nurl_env = \"CUTOVER_T_UNSET_B\"\n[[table]]\nname = \"t\"\n",
    );
    cutover()
        .args(["validate", "-c"])
        .arg(&cfg)
        .env_remove("CUTOVER_T_UNSET_A")
        .env_remove("CUTOVER_T_UNSET_B")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2 problems"))
        .stderr(predicate::str::contains(
            "[source] url_env names CUTOVER_T_UNSET_A, which is not set",
        ))
        .stderr(predicate::str::contains(
            "[target] url_env names CUTOVER_T_UNSET_B, which is not set",
        ));
}

#[test]
fn a_project_adds_checklist_items_of_its_own() {
    let db = TestSqlite::new(
        "CREATE TABLE gl (id INTEGER PRIMARY KEY, amount NUMERIC); INSERT INTO gl VALUES (1, 10), (2, NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[source]\nurl = \"{0}\"\n[target]\nurl = \"{0}\"\n\n\
         [[checklist]]\nid = \"gl-balances\"\ntitle = \"General ledger balances carried over\"\n\n\
         [[table]]\nname = \"gl\"\nchecklist = \"gl-balances\"\n\n\
         [[rule]]\nid = \"amounts-set\"\ntype = \"not_null\"\ntable = \"gl\"\ncolumns = [\"amount\"]\nchecklist = \"gl-balances\"\n",
        db.url
    );
    let cfg = write_config(dir.path(), &text);
    let out = dir.path().join("r");
    cutover()
        .args(["check", "--no-history", "--out"])
        .arg(&out)
        .arg("-c")
        .arg(&cfg)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("gl-balances"))
        .stdout(predicate::str::contains(
            "OPEN: rule amounts-set (fail, error)",
        ));
    let report = validate_report(&out.join("report.json"));
    let items = report["checklist"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[4]["id"], "gl-balances");
    assert_eq!(items[4]["title"], "General ledger balances carried over");
    assert_eq!(items[4]["status"], "open");
    assert_eq!(
        items[4]["checks"],
        serde_json::json!(["table gl", "rule amounts-set"])
    );
    assert_eq!(items[0]["status"], "no evidence");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("General ledger balances carried over"));
    // An item nobody defined is an error that lists the known ones.
    let cfg = write_config(
        dir.path(),
        &text.replace(
            "checklist = \"gl-balances\"\n\n[[rule]]",
            "checklist = \"gl-balance\"\n\n[[rule]]",
        ),
    );
    cutover()
        .args(["validate", "-c"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "table gl: unknown checklist item \"gl-balance\"",
        ))
        .stderr(predicate::str::contains("org-structure, gl-balances"));
}

#[test]
fn commands_that_print_text_refuse_format_json() {
    for command in ["plan", "schema"] {
        cutover()
            .args([command, "--format", "json", "-c", "nowhere.toml"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "cutover {command} prints text only"
            )));
    }
}
