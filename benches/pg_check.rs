//! Benchmark: `cutover check` on a pair of N-row PostgreSQL tables (8 columns, a few dozen
//! differences) against the raw extraction of the same rows in the same run.
//!
//! Run: `cargo bench --bench pg_check -- 1000000` (the row count; up to 10,000,000).
//! With `--csv`, it also exports the source table to a CSV file and measures (c) `cutover check`
//! of that CSV against the PostgreSQL target (the file is sorted within `--memory-limit`), and
//! (d) the same through SQL over the export (DataFusion, with a `source_where` every row meets),
//! sorted by DataFusion, and (e) as (d) with the key read as text, so cutover's external sort
//! orders the rows instead: the two sorts on the same rows.
//! Baseline (a): `COPY (SELECT …) TO STDOUT` of both tables into /dev/null, one after the other,
//! through psql. Measured (b): `cutover check` on the pair. Prints b/a, rows/s and peak RSS.
//! With `--reladiff`, the target table is also copied into a second database and reladiff
//! (`reladiff`, hashdiff across two databases: `-j 2 --skip-sort-results -c '%'`), `cutover
//! check --mode full` and `cutover check --mode checksum` (all `-j 2`) compare src in the first
//! with tgt in the second, one after the other in the same run, so all pay the same two
//! connections; it prints their times, ratios, rows streamed and the differing keys each found.
//! With `--mariadb` as well, the source table is also loaded into MariaDB (`CUTOVER_BENCH_MYSQL`,
//! default mysql://root@127.0.0.1:3306) and the three compare MariaDB → PostgreSQL.
//! With `--link MBIT` as well, every pair is run again through a TCP proxy on loopback whose
//! connections share MBIT megabits per second each way, like a network link to remote servers.
//! With `--rounds N`, each pair on loopback is compared N times, the three tools taking turns in
//! every round (reladiff, full, checksum, reladiff, …), and each line shows the median and the
//! range of its N times, the ratios being those of the medians (a link pair runs once: its
//! times are set by the link, not by the noise of a shared machine).
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
                 active boolean, score numeric(20,6), note varchar(40));
             INSERT INTO src SELECT g, g % 1000, 'name ' || g, (g % 100000) / 100.0,
                 timestamp '2020-01-01' + g * interval '1 second', g % 2 = 0, round(g / 3.0, 6),
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
        // The plain read (files streamed and sorted by cutover), then the same rows through
        // SQL over the exports (a condition every row meets sends the read through DataFusion).
        let check_csv = |name: &str, extra: &str| {
            let config = dir.path().join(format!("{name}.toml"));
            std::fs::write(
                &config,
                format!(
                    "[source]\nurl = \"csv://{}\"\n[target]\nurl = \"{url}\"\n[[table]]\nname = \"tgt\"\nsource_name = \"src\"\n{extra}",
                    csv_dir.display()
                ),
            )
            .expect("config written");
            let out = dir.path().join(format!("{name}-report"));
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
            let secs = t.elapsed().as_secs_f64();
            let stderr = String::from_utf8_lossy(&run.stderr).to_string();
            let kib: u64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
            let report = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
            let found = serde_json::from_str::<serde_json::Value>(&report)
                .map(|r| r["tables"][0]["counts"].to_string())
                .unwrap_or_else(|_| format!("no report: {stderr}"));
            (secs, kib, found)
        };
        let plain = check_csv("csv", "");
        let sql = check_csv("csv-sql", "source_where = \"id >= 0\"\n");
        // The key as text from DataFusion, compared as a number: cutover's own sort runs
        // instead of DataFusion's, on the same rows.
        let own_sort = check_csv(
            "csv-sql-own-sort",
            "source_where = \"id >= 0\"\n[table.columns]\nid = { expr = \"CAST(id AS VARCHAR)\" }\n",
        );
        (plain, sql, own_sort)
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
    if let Some((plain, sql, own_sort)) = csv_run {
        for (label, (secs, kib, found)) in [
            ("(c) CSV vs PostgreSQL", plain),
            (
                "(d) same, through SQL over the export (source_where), sorted by DataFusion",
                sql,
            ),
            (
                "(e) same as (d), the key cast to text so cutover's external sort runs",
                own_sort,
            ),
        ] {
            println!(
                "{label}: {secs:.2} s  ({:.0} rows/s), peak RSS {:.0} MiB (memory limit 1 GiB)",
                2.0 * rows as f64 / secs,
                kib as f64 / 1024.0
            );
            println!("    found:           {found}");
        }
    }
    for (pair, run) in peer_run.unwrap_or_default() {
        print_peer(&pair, &run);
    }
}

fn print_peer(pair: &str, p: &PeerRun) {
    let show = |times: &[f64]| {
        let (median, lo, hi) = spread(times);
        if times.len() > 1 {
            format!(
                "{median:>8.2} s ({lo:.2}–{hi:.2} in {} rounds)",
                times.len()
            )
        } else {
            format!("{median:>8.2} s")
        }
    };
    println!("{pair}:");
    println!(
        "  reladiff:           {}, {} differing keys (exit {:?})",
        show(&p.reladiff_secs),
        p.reladiff_keys,
        p.reladiff_code
    );
    let reladiff = spread(&p.reladiff_secs).0;
    for (what, runs) in [
        ("cutover full:", &p.full),
        ("cutover checksum:", &p.checksum),
    ] {
        let times: Vec<f64> = runs.iter().map(|c| c.secs).collect();
        let c = runs.last().expect("at least one round");
        println!(
            "  {what:<19} {}, {} differing keys, rows streamed {} + {}, peak RSS {:.0} MiB, {:.2}x reladiff",
            show(&times),
            runs.iter().map(|c| c.keys).min().unwrap_or(0),
            c.streamed.0,
            c.streamed.1,
            runs.iter().map(|c| c.kib).max().unwrap_or(0) as f64 / 1024.0,
            reladiff / spread(&times).0
        );
    }
}

/// Both tools on the same pair across two databases, measured in this run.
struct PeerRun {
    /// One time per round.
    reladiff_secs: Vec<f64>,
    /// The fewest differing keys a round found.
    reladiff_keys: usize,
    reladiff_code: Option<i32>,
    full: Vec<CutoverRun>,
    checksum: Vec<CutoverRun>,
}

/// One `cutover check`: wall time, differing keys found, rows streamed per side, peak RSS.
struct CutoverRun {
    secs: f64,
    keys: u64,
    streamed: (u64, u64),
    kib: u64,
}

/// Per direction (to the servers, from the servers): the time from which the next bytes may
/// cross the link.
type LinkClocks = std::sync::Arc<[std::sync::Mutex<Instant>; 2]>;

/// A TCP proxy on loopback to `127.0.0.1:port` whose connections share `mbit` megabits per
/// second in each direction with every other proxy of `clocks`, like one network link between
/// cutover and the servers. Returns the proxy's port.
fn throttled_link(port: u16, mbit: f64, clocks: &LinkClocks) -> u16 {
    use std::sync::Arc;
    let clocks = Arc::clone(clocks);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let proxy = listener.local_addr().expect("its address").port();
    let bytes_per_sec = mbit * 1e6 / 8.0;
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let pairs = [
                (client.try_clone(), server.try_clone(), 0),
                (server.try_clone(), client.try_clone(), 1),
            ];
            for (from, to, dir) in pairs {
                let (Ok(mut from), Ok(mut to)) = (from, to) else {
                    continue;
                };
                let clocks = Arc::clone(&clocks);
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let at = {
                            let mut next = clocks[dir].lock().expect("link clock");
                            let at = (*next).max(Instant::now());
                            *next =
                                at + std::time::Duration::from_secs_f64(n as f64 / bytes_per_sec);
                            at
                        };
                        if let Some(wait) = at.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    proxy
}

/// `url` with its port replaced (`…@127.0.0.1:5432/db` → `…@127.0.0.1:PORT/db`).
fn via(url: &str, from: u16, to: u16) -> String {
    url.replacen(&format!(":{from}/"), &format!(":{to}/"), 1)
}

/// Copies tgt into a database of its own, then runs reladiff and cutover on src ↔ tgt; with
/// `--mariadb`, also from a MariaDB copy of src; with `--link MBIT`, each pair also through a
/// link of that bandwidth.
fn against_reladiff(
    admin: &str,
    url: &str,
    db: &str,
    cols: &str,
    dir: &std::path::Path,
) -> Vec<(String, PeerRun)> {
    let db2 = format!("{db}_t");
    let url2 = format!("{}/{db2}", admin.rsplit_once('/').expect("a URL").0);
    psql(admin, &format!("CREATE DATABASE {db2}"));
    psql(
        &url2,
        "CREATE TABLE tgt (id bigint PRIMARY KEY, qty int, name text, amount numeric(14,2), created timestamp,
             active boolean, score numeric(20,6), note varchar(40))",
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
    let args: Vec<String> = std::env::args().collect();
    let link: Option<f64> = args
        .iter()
        .position(|a| a == "--link")
        .and_then(|i| args.get(i + 1))
        .and_then(|m| m.parse().ok());
    let links = link.map(|mbit| {
        let clocks: LinkClocks = std::sync::Arc::new([
            std::sync::Mutex::new(Instant::now()),
            std::sync::Mutex::new(Instant::now()),
        ]);
        (
            mbit,
            throttled_link(5432, mbit, &clocks),
            throttled_link(3306, mbit, &clocks),
        )
    });
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut runs = Vec::new();
    let mut pair = |name: &str, label: &str, source: &str, target: &str| {
        runs.push((
            label.to_string(),
            peer_pair(source, target, dir, name, rounds),
        ));
        if let Some((mbit, pg_port, my_port)) = links {
            let source = via(&via(source, 5432, pg_port), 3306, my_port);
            let target = via(target, 5432, pg_port);
            let run = peer_pair(&source, &target, dir, &format!("{name}-link"), 1);
            runs.push((format!("{label}, through a {mbit} Mbit/s link"), run));
        }
    };
    pair("pg", "PostgreSQL → PostgreSQL, 2 dbs", url, &url2);
    if args.iter().any(|a| a == "--mariadb") {
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
             amount decimal(14,2), created datetime(6), active boolean, score decimal(20,6), note varchar(40))"
        ));
        let tsv = dir.join("src.tsv");
        let export = format!(
            "psql '{url}' -q -c \"COPY (SELECT id, qty, name, amount, created, CASE WHEN active THEN 1 ELSE 0 END, score, note FROM src) TO STDOUT\" > '{}'",
            tsv.display()
        );
        assert!(
            Command::new("sh")
                .args(["-c", &export])
                .status()
                .expect("sh")
                .success()
        );
        mariadb(&format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE {db}.src; ANALYZE TABLE {db}.src",
            tsv.display()
        ));
        pair("my", "MariaDB → PostgreSQL", &my_url, &url2);
        mariadb(&format!("DROP DATABASE {db}"));
    }
    psql(admin, &format!("DROP DATABASE {db2} WITH (FORCE)"));
    runs
}

/// reladiff, then cutover in full, then cutover by checksums, on src at `source` against tgt
/// at `target`.
fn peer_pair(
    source: &str,
    target: &str,
    dir: &std::path::Path,
    name: &str,
    rounds: usize,
) -> PeerRun {
    // reladiff speaks postgresql:// and takes no password here (trust auth).
    let peer = |u: &str| {
        u.replacen("postgres://", "postgresql://", 1)
            .trim_end_matches('/')
            .to_string()
    };
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{target}\"\n[[table]]\nname = \"tgt\"\nsource_name = \"src\"\n",
            source.trim_end_matches('/')
        ),
    )
    .expect("config written");
    let mut run = PeerRun {
        reladiff_secs: Vec::new(),
        reladiff_keys: usize::MAX,
        reladiff_code: None,
        full: Vec::new(),
        checksum: Vec::new(),
    };
    for _ in 0..rounds {
        let t = Instant::now();
        let out = Command::new(reladiff())
            .args([&peer(source), "src", &peer(target), "tgt"])
            .args(["-k", "id", "-c", "%", "-j", "2", "--skip-sort-results"])
            .output()
            .expect("reladiff on the PATH (pip install 'reladiff[postgresql,mysql]')");
        run.reladiff_secs.push(t.elapsed().as_secs_f64());
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
        // The fewest any round found.
        run.reladiff_keys = run.reladiff_keys.min(keys.len());
        run.reladiff_code = out.status.code();
        run.full
            .push(cutover(&config, &dir.join(format!("{name}-full")), "full"));
        run.checksum.push(cutover(
            &config,
            &dir.join(format!("{name}-checksum")),
            "checksum",
        ));
    }
    run
}

/// The median of some times, and the smallest and the largest.
fn spread(times: &[f64]) -> (f64, f64, f64) {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    let n = t.len();
    let median = if n % 2 == 1 {
        t[n / 2]
    } else {
        (t[n / 2 - 1] + t[n / 2]) / 2.0
    };
    (median, t[0], t[n - 1])
}

/// The reladiff command: the one on the PATH, else one installed from PyPI into a virtual
/// environment under the target folder (once).
fn reladiff() -> String {
    let works = |bin: &str| {
        Command::new(bin)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works("reladiff") {
        return "reladiff".into();
    }
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reladiff-venv");
    let bin = venv.join("bin/reladiff").display().to_string();
    if !works(&bin) {
        eprintln!("installing reladiff from PyPI into {} …", venv.display());
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "reladiff[postgresql,mysql]>=0.6,<0.7"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(ok, "reladiff could not be installed (python3 -m venv, pip)");
    }
    bin
}

/// `cutover check --mode MODE -j 2` with a config, its report in `out`.
fn cutover(config: &std::path::Path, out: &std::path::Path, mode: &str) -> CutoverRun {
    // CUTOVER_BENCH_BIN measures another build (an A/B of two versions on the same pair).
    let bin = std::env::var("CUTOVER_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_cutover").to_string());
    let t = Instant::now();
    let run = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&bin)
        .args([
            "check",
            "--quiet",
            "--no-history",
            "-j",
            "2",
            "--mode",
            mode,
            "--config",
        ])
        .arg(config)
        .arg("--out")
        .arg(out)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("cutover runs");
    let secs = t.elapsed().as_secs_f64();
    let kib = String::from_utf8_lossy(&run.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let report = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
    let table = serde_json::from_str::<serde_json::Value>(&report)
        .map(|r| r["tables"][0].clone())
        .unwrap_or_default();
    let n = |k: &str| table["counts"][k].as_u64().unwrap_or(0);
    let streamed = match &table["compared"]["checksum"] {
        serde_json::Value::Null => (n("source_rows"), n("target_rows")),
        c => (
            c["rows_streamed"]["source"].as_u64().unwrap_or(0),
            c["rows_streamed"]["target"].as_u64().unwrap_or(0),
        ),
    };
    CutoverRun {
        secs,
        keys: n("missing") + n("extra") + n("changed"),
        streamed,
        kib,
    }
}
