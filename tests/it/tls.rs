//! TLS to the real servers: the local PostgreSQL runs with TLS on (its self-signed certificate
//! names `localhost`), and a MariaDB server with TLS required is started for the test with
//! certificates signed by a CA made here (openssl). Every report states per side whether the
//! session was encrypted and what was verified.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(st.success(), "openssl {args:?}");
}

/// A CA and a server certificate for 127.0.0.1 and localhost, signed by it.
fn make_certs(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    openssl(
        &d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=cutover test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        &d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        &d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
    d
}

/// What the report says of a side, or the error of a run that could not start.
fn transport_of(source: &str, target: &str) -> Result<String, String> {
    let cancel = std::sync::atomic::AtomicBool::new(false);
    match cutover_run::run(
        &settings(source, target, vec![table("t", None)]),
        &cutover_run::NoProgress,
        &cancel,
    ) {
        Ok(o) => {
            assert!(o.is_go(), "{:?}", o.tables[0].status());
            Ok(o.source.transport.to_string())
        }
        Err(e) => Err(format!("{e}\nhint: {}", e.hint().unwrap_or(""))),
    }
}

#[test]
fn postgres_over_tls_from_require_to_verify_full() {
    let Some(db) = TestDb::postgres("tls") else {
        return;
    };
    if !Path::new(SNAKEOIL).exists() {
        eprintln!("SKIPPED: no {SNAKEOIL}: the local PostgreSQL has no TLS certificate");
        return;
    }
    db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let with = |query: &str| format!("{}?{query}", db.url);
    let localhost = db.url.replacen("127.0.0.1", "localhost", 1);
    assert_eq!(
        transport_of(&with("sslmode=require"), &db.url).unwrap(),
        "TLS, server not verified"
    );
    assert_eq!(
        transport_of(
            &with(&format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}")),
            &db.url
        )
        .unwrap(),
        "TLS, server certificate verified"
    );
    assert_eq!(
        transport_of(
            &format!("{localhost}?sslmode=verify-full&sslrootcert={SNAKEOIL}"),
            &db.url
        )
        .unwrap(),
        "TLS, server certificate and host name verified"
    );
    assert_eq!(
        transport_of(&with("sslmode=disable"), &db.url).unwrap(),
        "unencrypted"
    );
    // A certificate for another name, and a CA that did not sign the server's certificate.
    let err = transport_of(
        &with(&format!("sslmode=verify-full&sslrootcert={SNAKEOIL}")),
        &db.url,
    )
    .unwrap_err();
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");
    assert!(
        err.contains("hint: the server's TLS certificate was not accepted"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let other = make_certs(dir.path(), "other");
    let err = transport_of(
        &with(&format!(
            "sslmode=verify-ca&sslrootcert={}",
            other.join("ca.pem").display()
        )),
        &db.url,
    )
    .unwrap_err();
    assert!(err.contains("certificate"), "{err}");
}

/// A MariaDB server of the test's own: its data directory, port and certificates, TLS required.
struct TlsMariaDb {
    child: Child,
    port: u16,
    certs: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TlsMariaDb {
    fn start() -> Option<TlsMariaDb> {
        let dir = tempfile::tempdir().unwrap();
        let certs = make_certs(dir.path(), "certs");
        let data = dir.path().join("data");
        let install = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ])
            .arg(format!("--datadir={}", data.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !install.is_ok_and(|s| s.success()) {
            if std::env::var("CUTOVER_REQUIRE_DB").as_deref() == Ok("1") {
                panic!(
                    "mariadb-install-db is required (CUTOVER_REQUIRE_DB=1) to start a TLS MariaDB"
                );
            }
            eprintln!("SKIPPED: mariadb-install-db did not run; no TLS MariaDB");
            return None;
        }
        let port = free_port();
        let cert = |f: &str| certs.join(f).display().to_string();
        let child = Command::new("mariadbd")
            .args([
                "--no-defaults",
                "--user=root",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--require-secure-transport=ON",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--ssl-ca={}", cert("ca.pem")))
            .arg(format!("--ssl-cert={}", cert("server.pem")))
            .arg(format!("--ssl-key={}", cert("server.key")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let server = TlsMariaDb {
            child,
            port,
            certs,
            _dir: dir,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the TLS MariaDB did not start on port {port}");
    }

    fn url(&self, query: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/mysql?{query}", self.port)
    }
}

#[test]
fn mariadb_over_tls_from_required_to_verify_identity() {
    let Some(server) = TlsMariaDb::start() else {
        return;
    };
    let ca = server.certs.join("ca.pem").display().to_string();
    let setup = server.url("ssl-mode=REQUIRED");
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::MySqlConnection::connect(&setup).await.unwrap();
        sqlx::raw_sql("CREATE DATABASE tls; CREATE TABLE tls.t (id int PRIMARY KEY); INSERT INTO tls.t VALUES (1);")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let url = |q: &str| server.url(q).replacen("/mysql?", "/tls?", 1);
    assert_eq!(
        transport_of(&url("ssl-mode=REQUIRED"), &url("ssl-mode=REQUIRED")).unwrap(),
        "TLS, server not verified"
    );
    assert_eq!(
        transport_of(
            &url(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}")),
            &url("ssl-mode=REQUIRED")
        )
        .unwrap(),
        "TLS, server certificate and host name verified"
    );
    assert_eq!(
        transport_of(
            &url(&format!("ssl-mode=VERIFY_CA&ssl-ca={ca}")),
            &url("ssl-mode=REQUIRED")
        )
        .unwrap(),
        "TLS, server certificate verified"
    );
    // The wrong CA, and no TLS to a server that requires it.
    let dir = tempfile::tempdir().unwrap();
    let other = make_certs(dir.path(), "other");
    let err = transport_of(
        &url(&format!(
            "ssl-mode=VERIFY_CA&ssl-ca={}",
            other.join("ca.pem").display()
        )),
        &url("ssl-mode=REQUIRED"),
    )
    .unwrap_err();
    assert!(err.contains("certificate"), "{err}");
    // MariaDB refuses a login without TLS as "access denied"; the hint names TLS too.
    let err = transport_of(&url("ssl-mode=DISABLED"), &url("ssl-mode=REQUIRED")).unwrap_err();
    assert!(err.contains("requires TLS"), "{err}");
}

/// A PostgreSQL server of the test's own, with a certificate signed by a CA made in the test.
struct TlsPostgres {
    child: Child,
    port: u16,
    certs: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsPostgres {
    fn start() -> Option<TlsPostgres> {
        let skip = |why: &str| {
            if std::env::var("CUTOVER_REQUIRE_DB").as_deref() == Ok("1") {
                panic!("a TLS PostgreSQL is required (CUTOVER_REQUIRE_DB=1): {why}");
            }
            eprintln!("SKIPPED: no TLS PostgreSQL of the test's own: {why}");
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let certs = make_certs(dir.path(), "certs");
        let data = dir.path().join("data");
        // The server runs as the postgres user, which must read the folder and own its files.
        let owned = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success())
            && Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
        let key = certs.join("server.key");
        let _ = Command::new("chmod").arg("600").arg(&key).status();
        if !owned {
            return skip("cannot hand a folder to the postgres user");
        }
        let as_postgres = |program: &str| {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        };
        let init = as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !init.is_ok_and(|s| s.success()) {
            return skip("initdb did not run as the postgres user");
        }
        let port = free_port();
        let child = as_postgres("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "ssl=on",
                "-c",
                "fsync=off",
            ])
            .arg("-c")
            .arg(format!(
                "ssl_cert_file={}",
                certs.join("server.pem").display()
            ))
            .arg("-c")
            .arg(format!("ssl_key_file={}", key.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let server = TlsPostgres {
            child,
            port,
            certs,
            _dir: dir,
        };
        for _ in 0..100 {
            let ready = Command::new("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the TLS PostgreSQL did not start on port {port}");
    }
}

#[test]
fn postgres_verify_full_against_a_ca_made_here() {
    let Some(server) = TlsPostgres::start() else {
        return;
    };
    let base = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let setup = format!("{base}?sslmode=require");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Connection as _;
            let mut c = sqlx::PgConnection::connect(&setup).await.unwrap();
            sqlx::raw_sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
                .execute(&mut c)
                .await
                .unwrap();
        });
    let ca = server.certs.join("ca.pem").display().to_string();
    assert_eq!(
        transport_of(
            &format!("{base}?sslmode=verify-full&sslrootcert={ca}"),
            &setup
        )
        .unwrap(),
        "TLS, server certificate and host name verified"
    );
    let dir = tempfile::tempdir().unwrap();
    let other = make_certs(dir.path(), "other");
    let err = transport_of(
        &format!(
            "{base}?sslmode=verify-full&sslrootcert={}",
            other.join("ca.pem").display()
        ),
        &setup,
    )
    .unwrap_err();
    assert!(
        err.contains("hint: the server's TLS certificate was not accepted"),
        "{err}"
    );
}
