//! `datam live` over TLS to a real PostgreSQL 15 server on 127.0.0.1 with
//! `ssl = on` and a certificate made here (rcgen): a CA, and a server
//! certificate for `localhost` signed by it. Each sslmode is checked from
//! the server's side (`pg_stat_ssl` of the backend that served the query),
//! and every refused connection must say why. A second server without TLS
//! must refuse `sslmode=require` and serve `prefer` in the clear.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use testkit::pg::{Cluster, ClusterOptions, PgInstall, major_trials};

mod pg_util;
use pg_util::e;

/// A CA (certificate PEM) and a server certificate + key for `localhost`
/// signed by it.
struct Pki {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

fn make_ca(name: &str) -> (String, KeyPair, CertificateParams) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.clone().self_signed(&key).unwrap();
    (cert.pem(), key, params)
}

fn make_pki() -> Pki {
    let (ca_pem, ca_key, ca_params) = make_ca("datam test CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem,
        server_pem: cert.pem(),
        server_key_pem: key.serialize_pem(),
    }
}

/// Runs `datam ARGS` with a clean libpq environment plus `env`;
/// (ok, stdout, stderr).
fn datam(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_datam"));
    cmd.args(args).env("DATAM_HOME", home);
    for v in ["PGPASSWORD", "PGSSLMODE", "PGSSLROOTCERT", "PGPASSFILE"] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `ssl` column of `pg_stat_ssl` for the backend serving `url`, as
/// `datam live rows` prints it; Err(stderr) when the connection fails.
fn backend_ssl(home: &Path, url: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let (ok, out, err) = datam(
        home,
        &[
            "live",
            "rows",
            url,
            "--table",
            "pg_stat_ssl",
            "--where",
            "pid = pg_backend_pid()",
            "--format",
            "csv",
        ],
        env,
    );
    if !ok {
        return Err(err);
    }
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().expect("one backend row").split(',').collect();
    assert!(lines.next().is_none(), "{out}");
    let i = header.iter().position(|h| *h == "ssl").unwrap();
    Ok(row[i].to_owned())
}

fn tls_modes(install: &PgInstall) -> Result<(), String> {
    let pki = make_pki();
    let c = Cluster::start(
        install,
        ClusterOptions::default()
            .tcp_localhost()
            .data_file("server.crt", pki.server_pem.as_bytes())
            .data_file("server.key", pki.server_key_pem.as_bytes())
            .conf("ssl = on")
            .conf("ssl_cert_file = 'server.crt'")
            .conf("ssl_key_file = 'server.key'"),
    )
    .map_err(e)?;
    let dir = tempfile::tempdir().map_err(e)?;
    let home = dir.path();
    let ca = home.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).map_err(e)?;
    // Another CA (another name: one with the same name would be tried and
    // fail with BadSignature).
    let (wrong_ca_pem, _, _) = make_ca("another CA");
    let wrong_ca = home.join("wrong-ca.pem");
    std::fs::write(&wrong_ca, wrong_ca_pem).map_err(e)?;
    let (ca, wrong_ca) = (ca.display().to_string(), wrong_ca.display().to_string());
    let port = c.port();
    let at = |host: &str, extra: &str| {
        format!("host={host} port={port} user=postgres dbname=postgres {extra}")
    };

    // Encrypted, certificate not checked (libpq's require).
    assert_eq!(
        backend_ssl(home, &at("127.0.0.1", "sslmode=require"), &[])?,
        "t"
    );
    // The default (prefer) takes TLS when offered.
    assert_eq!(backend_ssl(home, &at("127.0.0.1", ""), &[])?, "t");
    assert_eq!(
        backend_ssl(home, &at("127.0.0.1", "sslmode=disable"), &[])?,
        "f"
    );
    // verify-full: the right CA and name.
    let url = format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    );
    assert_eq!(backend_ssl(home, &url, &[])?, "t");
    // The same through PGSSLMODE / PGSSLROOTCERT.
    let env = [("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", ca.as_str())];
    assert_eq!(backend_ssl(home, &at("localhost", ""), &env)?, "t");

    // Wrong CA: refused, naming the mode and the certificate problem.
    let err = backend_ssl(
        home,
        &at(
            "localhost",
            &format!("sslmode=verify-full sslrootcert={wrong_ca}"),
        ),
        &[],
    )
    .expect_err("a certificate from an unknown CA must be refused");
    assert!(
        err.contains("TLS connection (sslmode=verify-full)"),
        "{err}"
    );
    assert!(err.contains("UnknownIssuer"), "{err}");
    let env = [
        ("PGSSLMODE", "verify-ca"),
        ("PGSSLROOTCERT", wrong_ca.as_str()),
    ];
    let err = backend_ssl(home, &at("localhost", ""), &env).expect_err("verify-ca, wrong CA");
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Wrong host: the certificate is for localhost, not 127.0.0.1.
    let err = backend_ssl(
        home,
        &at(
            "127.0.0.1",
            &format!("sslmode=verify-full sslrootcert={ca}"),
        ),
        &[],
    )
    .expect_err("a certificate for another name must be refused");
    assert!(
        err.contains("TLS connection (sslmode=verify-full)"),
        "{err}"
    );
    assert!(err.contains("not valid for name"), "{err}");
    // verify-ca checks the chain only.
    let url = at("127.0.0.1", &format!("sslmode=verify-ca sslrootcert={ca}"));
    assert_eq!(backend_ssl(home, &url, &[])?, "t");
    // require with an explicit root checks the chain, as libpq does.
    let url = at(
        "127.0.0.1",
        &format!("sslmode=require sslrootcert={wrong_ca}"),
    );
    let err = backend_ssl(home, &url, &[]).expect_err("require + wrong sslrootcert");
    assert!(err.contains("UnknownIssuer"), "{err}");
    // A missing root file is a clear error of its own.
    let url = at(
        "localhost",
        "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
    );
    let err = backend_ssl(home, &url, &[]).expect_err("missing root file");
    assert!(
        err.contains("cannot use the TLS root certificate file /nonexistent/ca.pem"),
        "{err}"
    );
    Ok(())
}

fn require_without_server_tls(install: &PgInstall) -> Result<(), String> {
    let c = Cluster::start(install, ClusterOptions::default().tcp_localhost()).map_err(e)?;
    let dir = tempfile::tempdir().map_err(e)?;
    let url = |mode: &str| {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode={mode}",
            c.port()
        )
    };
    let err = backend_ssl(dir.path(), &url("require"), &[])
        .expect_err("require must fail when the server has no TLS");
    assert!(err.contains("TLS connection (sslmode=require)"), "{err}");
    assert!(err.contains("server does not support TLS"), "{err}");
    assert_eq!(backend_ssl(dir.path(), &url("prefer"), &[])?, "f");
    // Over the Unix socket sslmode does not apply (as in libpq).
    let sock = format!("{} sslmode=require", c.conn_string("postgres"));
    assert_eq!(backend_ssl(dir.path(), &sock, &[])?, "f");
    Ok(())
}

/// Runs `datam ARGS` with `stdin` as standard input and no password in
/// the environment or a password file; (ok, stdout, stderr).
fn datam_stdin(home: &Path, args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_datam"))
        .args(args)
        .env("DATAM_HOME", home)
        .env("PGPASSFILE", home.join("no-such-pgpass"))
        .env_remove("PGPASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The password of a SCRAM-authenticated role comes from the OS keychain
/// (the kernel keyring here) after `datam live password set`, with no
/// PGPASSWORD and no password file; a wrong stored password and a deleted
/// entry fail to authenticate.
fn keychain_password(install: &PgInstall) -> Result<(), String> {
    let c = Cluster::start(
        install,
        ClusterOptions::default()
            .tcp_localhost()
            .hba_first("host all all 127.0.0.1/32 scram-sha-256"),
    )
    .map_err(e)?;
    c.psql(
        "SET password_encryption = 'scram-sha-256'; CREATE ROLE kc LOGIN PASSWORD 'Kc-s3cret:1'; \
            CREATE TABLE kc_t (id int PRIMARY KEY); GRANT SELECT ON kc_t TO kc",
    )
    .map_err(e)?;
    let dir = tempfile::tempdir().map_err(e)?;
    let home = dir.path();
    // The port is this cluster's own, so the entry is this test's.
    let url = format!(
        "host=127.0.0.1 port={} user=kc dbname=postgres sslmode=disable",
        c.port()
    );
    let tables = |home: &Path| datam_stdin(home, &["live", "tables", &url], b"");
    let (ok, _, err) = tables(home);
    assert!(!ok, "connected without a password");
    assert!(err.contains("password"), "{err}");

    let (ok, out, err) = datam_stdin(home, &["live", "password", "set", &url], b"wrong\n");
    assert!(ok, "{err}");
    assert!(out.contains("kc@127.0.0.1"), "{out}");
    let (ok, _, err) = tables(home);
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );

    let (ok, _, err) = datam_stdin(home, &["live", "password", "set", &url], b"Kc-s3cret:1\n");
    assert!(ok, "{err}");
    let (ok, out, err) = tables(home);
    assert!(ok, "{err}");
    assert!(out.contains("public\tkc_t\ttable"), "{out}");

    let (ok, _, err) = datam_stdin(home, &["live", "password", "delete", &url], b"");
    assert!(ok, "{err}");
    let (ok, _, _) = tables(home);
    assert!(!ok, "the deleted entry still authenticates");
    let (ok, out, err) = datam_stdin(home, &["live", "password", "delete", &url], b"");
    assert!(ok, "{err}");
    assert!(out.contains("has no password"), "{out}");
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(major_trials("live_tls_modes", &[15], tls_modes));
    trials.extend(major_trials(
        "live_tls_require_without_server_tls",
        &[15],
        require_without_server_tls,
    ));
    trials.extend(major_trials(
        "live_keychain_password",
        &[15],
        keychain_password,
    ));
    libtest_mimic::run(&args, trials).exit();
}
