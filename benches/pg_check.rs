//! Benchmark: `cutover check` on a pair of N-row PostgreSQL tables (8 columns, a few dozen
//! differences) against the raw extraction of the same rows in the same run.
//!
//! Run: `cargo bench --bench pg_check -- 1000000` (the row count; up to 10,000,000).
//! With `--csv`, it also exports the source table to a CSV file and measures (c) `cutover check`
//! of that CSV against the PostgreSQL target (the file is sorted within `--memory-limit`).
//! Baseline (a): `COPY (SELECT …) TO STDOUT` of both tables into /dev/null, one after the other,
//! through psql. Measured (b): `cutover check` on the pair. Prints b/a, rows/s and peak RSS.
//! With `--reladiff`, the target table is also copied into a second database and (d) reladiff
//! (`reladiff`, hashdiff across two databases: `-j 2 --skip-sort-results -c '%'`) and (e)
//! `cutover check` compare src in the first with tgt in the second, in the same run, so both
//! pay the same two connections; it prints e/d and the differing keys each found.
//! With `--mariadb` as well, the source table is also loaded into MariaDB (`CUTOVER_BENCH_MYSQL`,
//! default mysql://root@127.0.0.1:3306) and (f) reladiff and (g) cutover compare MariaDB → PostgreSQL.
//! Needs the local PostgreSQL (`CUTOVER_BENCH_PG`, default postgres://postgres@127.0.0.1/postgres),
//! psql and GNU time (/usr/bin/time); reladiff on the PATH for `--reladiff`, the mariadb client
//! for `--mariadb`.

use std::process::{Command, Stdio};
use std::time::Instant;

fn psql(url: &str, sql: &str) {
    let st = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .stdout(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(st.success(), "psql failed: {sql}");
}

fn main() {
    let rows: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let admin = std::env::var("CUTOVER_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("cutover_bench_{}", std::process::id());
    let url = format!(
        "{}/{db}",
        admin.rsplit_once('/').expect("a URL with a database").0
    );
    psql(&admin, &format!("CREATE DATABASE {db}"));

    eprintln!("building two tables of {rows} rows …");
    let t = Instant::now();
    psql(
        &url,
        &format!(
            "CREATE TABLE src (id bigint PRIMARY KEY, qty int, name text, amount numeric(14,2), created timestamp,
                 active boolean, score double precision, note varchar(40));
             INSERT INTO src SELECT g, g % 1000, 'name ' || g, (g % 100000) / 100.0,
                 timestamp '2020-01-01' + g * interval '1 second', g % 2 = 0, g / 3.0,
                 CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || (g % 777) END
             FROM generate_series(1, {rows}) g;
             CREATE TABLE tgt AS TABLE src; ALTER TABLE tgt ADD PRIMARY KEY (id);
             UPDATE tgt SET amount = amount + 1 WHERE id % ({rows} / 20) = 0;
             DELETE FROM tgt WHERE id % ({rows} / 10) = 7;
             INSERT INTO tgt SELECT id + {rows}, qty, name, amount, created, active, score, note FROM src WHERE id <= 10;"
        ),
    );
    psql(&url, "VACUUM ANALYZE src");
    psql(&url, "VACUUM ANALYZE tgt");
    eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());

    // (a) raw extraction, both tables one after the other.
    let cols = "id, qty, name, amount, created, active, score, note";
    let t = Instant::now();
    for table in ["src", "tgt"] {
        let st = Command::new("psql")
            .args([
                url.as_str(),
                "-q",
                "-c",
                &format!("COPY (SELECT {cols} FROM {table}) TO STDOUT"),
            ])
            .stdout(Stdio::null())
            .status()
            .expect("psql runs");
        assert!(st.success());
    }
    let baseline = t.elapsed().as_secs_f64();

    // (b) cutover check on the pair.
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!("[source]\nurl = \"{url}\"\n[target]\nurl = \"{url}\"\n[[table]]\nname = \"tgt\"\nsource_name = \"src\"\n"),
    )
    .expect("config written");
    let out = dir.path().join("report");
    let t = Instant::now();
    let run = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_cutover"))
        .args(["check", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cutover runs");
    let measured = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let peak_kib: u64 = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let report = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
    let found = serde_json::from_str::<serde_json::Value>(&report)
        .map(|r| r["tables"][0]["counts"].to_string())
        .unwrap_or_else(|_| format!("no report: {stderr}"));
    let csv_run = std::env::args().any(|a| a == "--csv").then(|| {
        let csv_dir = dir.path().join("exports");
        std::fs::create_dir(&csv_dir).expect("a folder for the export");
        let t = Instant::now();
        let file = std::fs::File::create(csv_dir.join("src.csv")).expect("the export file");
        let st = Command::new("psql")
            .args([url.as_str(), "-q", "-c", &format!("COPY (SELECT {cols} FROM src ORDER BY md5(id::text)) TO STDOUT (FORMAT csv, HEADER)")])
            .stdout(file)
            .status()
            .expect("psql runs");
        assert!(st.success());
        eprintln!("exported src to CSV (shuffled) in {:.1} s", t.elapsed().as_secs_f64());
        let config = dir.path().join("csv.toml");
        std::fs::write(
            &config,
            format!(
                "[source]\nurl = \"csv://{}\"\n[target]\nurl = \"{url}\"\n[[table]]\nname = \"tgt\"\nsource_name = \"src\"\n",
                csv_dir.display()
            ),
        )
        .expect("config written");
        let t = Instant::now();
        let run = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_cutover"))
            .args(["check", "--quiet", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(dir.path().join("csv-report"))
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("cutover runs");
        let secs = t.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&run.stderr).to_string();
        let kib: u64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        let report = std::fs::read_to_string(dir.path().join("csv-report/report.json")).unwrap_or_default();
        let found = serde_json::from_str::<serde_json::Value>(&report)
            .map(|r| r["tables"][0]["counts"].to_string())
            .unwrap_or_else(|_| format!("no report: {stderr}"));
        (secs, kib, found)
    });
    let args: Vec<String> = std::env::args().collect();
    let peer_run = args
        .iter()
        .any(|a| a == "--reladiff")
        .then(|| against_reladiff(&admin, &url, &db, cols, dir.path()));
    psql(&admin, &format!("DROP DATABASE {db} WITH (FORCE)"));

    println!("rows per table:      {rows}");
    println!(
        "cutover exit code:   {:?} (1 = NO-GO, expected: differences were planted)",
        run.status.code()
    );
    println!("found:               {found}");
    println!(
        "(a) raw COPY x2:     {baseline:.2} s  ({:.0} rows/s)",
        2.0 * rows as f64 / baseline
    );
    println!(
        "(b) cutover check:   {measured:.2} s  ({:.0} rows/s)",
        2.0 * rows as f64 / measured
    );
    println!("ratio b/a:           {:.2}", measured / baseline);
    println!("peak RSS (cutover):  {:.0} MiB", peak_kib as f64 / 1024.0);
    if let Some((secs, kib, found)) = csv_run {
        println!(
            "(c) CSV vs PostgreSQL: {secs:.2} s  ({:.0} rows/s), peak RSS {:.0} MiB (memory limit 1 GiB)",
            2.0 * rows as f64 / secs,
            kib as f64 / 1024.0
        );
        println!("    found:           {found}");
    }
    if let Some((pg, my)) = peer_run {
        print_peer("PostgreSQL → PostgreSQL, 2 dbs", "d", "e", &pg);
        if let Some(my) = my {
            print_peer("MariaDB → PostgreSQL", "f", "g", &my);
        }
    }
}

fn print_peer(pair: &str, a: &str, b: &str, p: &PeerRun) {
    println!("{pair}:");
    println!(
        "({a}) reladiff:        {:.2} s, {} differing keys (exit {:?})",
        p.reladiff_secs, p.reladiff_keys, p.reladiff_code
    );
    println!(
        "({b}) cutover:         {:.2} s, {} differing keys, peak RSS {:.0} MiB",
        p.cutover_secs,
        p.cutover_keys,
        p.cutover_kib as f64 / 1024.0
    );
    println!(
        "speed-up {a}/{b}:       {:.2}x",
        p.reladiff_secs / p.cutover_secs
    );
}

/// Both tools on the same pair across two databases, measured in this run.
struct PeerRun {
    reladiff_secs: f64,
    reladiff_keys: usize,
    reladiff_code: Option<i32>,
    cutover_secs: f64,
    cutover_keys: u64,
    cutover_kib: u64,
}

/// Copies tgt into a database of its own, then runs reladiff and cutover on src ↔ tgt; with
/// `--mariadb`, also from a MariaDB copy of src.
fn against_reladiff(
    admin: &str,
    url: &str,
    db: &str,
    cols: &str,
    dir: &std::path::Path,
) -> (PeerRun, Option<PeerRun>) {
    let db2 = format!("{db}_t");
    let url2 = format!("{}/{db2}", admin.rsplit_once('/').expect("a URL").0);
    psql(admin, &format!("CREATE DATABASE {db2}"));
    psql(
        &url2,
        "CREATE TABLE tgt (id bigint PRIMARY KEY, qty int, name text, amount numeric(14,2), created timestamp,
             active boolean, score double precision, note varchar(40))",
    );
    let copy = format!(
        "psql '{url}' -q -c 'COPY (SELECT {cols} FROM tgt) TO STDOUT' | psql '{url2}' -q -c 'COPY tgt FROM STDIN'"
    );
    assert!(
        Command::new("sh")
            .args(["-c", &copy])
            .status()
            .expect("sh")
            .success()
    );
    psql(&url2, "VACUUM ANALYZE tgt");
    // reladiff speaks postgresql:// and takes no password here (trust auth).
    let pg = |u: &str| u.replacen("postgres://", "postgresql://", 1);
    let from_pg = peer_pair(&pg(url), url, &pg(&url2), &url2, dir, "pg");
    let from_mariadb = std::env::args().any(|a| a == "--mariadb").then(|| {
        let my_admin = std::env::var("CUTOVER_BENCH_MYSQL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
        let my_url = format!("{my_admin}/{db}");
        let mariadb = |sql: &str| {
            let st = Command::new("mariadb")
                .args(["-uroot", "-h127.0.0.1", "--local-infile=1", "-e", sql])
                .status()
                .expect("the mariadb client");
            assert!(st.success(), "mariadb failed: {sql}");
        };
        mariadb(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.src (id bigint PRIMARY KEY, qty int, name text,
             amount decimal(14,2), created datetime(6), active boolean, score double, note varchar(40))"
        ));
        let tsv = dir.join("src.tsv");
        let export = format!(
            "psql '{url}' -q -c \"COPY (SELECT id, qty, name, amount, created, CASE WHEN active THEN 1 ELSE 0 END, score, note FROM src) TO STDOUT\" > '{}'",
            tsv.display()
        );
        assert!(Command::new("sh").args(["-c", &export]).status().expect("sh").success());
        mariadb(&format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE {db}.src; ANALYZE TABLE {db}.src",
            tsv.display()
        ));
        let run = peer_pair(&my_url, &my_url, &pg(&url2), &url2, dir, "my");
        mariadb(&format!("DROP DATABASE {db}"));
        run
    });
    psql(admin, &format!("DROP DATABASE {db2} WITH (FORCE)"));
    (from_pg, from_mariadb)
}

/// reladiff, then cutover, on src at `source` against tgt at `target` (each URL as the tool
/// takes it).
fn peer_pair(
    source_peer: &str,
    source: &str,
    target_peer: &str,
    target: &str,
    dir: &std::path::Path,
    name: &str,
) -> PeerRun {
    // reladiff speaks postgresql:// and takes no password here (trust auth).
    let t = Instant::now();
    let out = Command::new("reladiff")
        .args([source_peer, "src", target_peer, "tgt"])
        .args(["-k", "id", "-c", "%", "-j", "2", "--skip-sort-results"])
        .output()
        .expect("reladiff on the PATH (pip install 'reladiff[postgresql]')");
    let reladiff_secs = t.elapsed().as_secs_f64();
    // Lines are `- id, …` and `+ id, …`; a changed row gives both.
    let mut keys: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("- ").or_else(|| l.strip_prefix("+ "))?;
            Some(rest.split(',').next()?.trim().to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!("[source]\nurl = \"{source}\"\n[target]\nurl = \"{target}\"\n[[table]]\nname = \"tgt\"\nsource_name = \"src\"\n"),
    )
    .expect("config written");
    // CUTOVER_BENCH_BIN measures another build (an A/B of two versions on the same pair).
    let bin = std::env::var("CUTOVER_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cutover").to_string());
    let t = Instant::now();
    let run = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&bin)
        .args(["check", "--quiet", "--no-history", "-j", "2", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.join(format!("{name}-report")))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cutover runs");
    let cutover_secs = t.elapsed().as_secs_f64();
    let kib = String::from_utf8_lossy(&run.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let report =
        std::fs::read_to_string(dir.join(format!("{name}-report/report.json"))).unwrap_or_default();
    let counts = serde_json::from_str::<serde_json::Value>(&report)
        .map(|r| r["tables"][0]["counts"].clone())
        .unwrap_or_default();
    let n = |k: &str| counts[k].as_u64().unwrap_or(0);
    PeerRun {
        reladiff_secs,
        reladiff_keys: keys.len(),
        reladiff_code: out.status.code(),
        cutover_secs,
        cutover_keys: n("missing") + n("extra") + n("changed"),
        cutover_kib: kib,
    }
}
