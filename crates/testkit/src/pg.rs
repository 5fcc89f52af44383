//! Throw-away PostgreSQL clusters from real server binaries.
//!
//! ```no_run
//! use testkit::pg::{find_install, Cluster, ClusterOptions, StopMode};
//! let install = find_install(15).expect("PostgreSQL 15 is installed");
//! let mut c = Cluster::start(&install, ClusterOptions::default().conf("wal_level = logical"))?;
//! c.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1);")?;
//! c.stop(StopMode::Fast)?;
//! // read c.data_dir() offline ...
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Each cluster lives in its own temporary directory, listens only on a Unix
//! socket in that directory (no TCP port unless [`ClusterOptions::tcp_localhost`]
//! asks for one on 127.0.0.1, so parallel tests never collide),
//! and is stopped and removed when the [`Cluster`] is dropped, also when a
//! test fails. As root, every server program runs as the `postgres` user.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The system's PostgreSQL 15 server binaries (Debian's postgresql-15).
pub const SYSTEM_PG15_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Environment variable naming another PostgreSQL 15 bin directory (e.g. a
/// newer minor release unpacked next to the system's) that replaces
/// [`SYSTEM_PG15_BIN`] everywhere: in [`find_install`]`(15)`, as the
/// fallback client programs and in [`pg15_bin`].
pub const PG15_BIN_ENV: &str = "DATAM_PG15_BIN";

/// The PostgreSQL 15 bin directory the tests use: `$DATAM_PG15_BIN` if set,
/// else the system's ([`SYSTEM_PG15_BIN`]). Tests that run a PostgreSQL 15
/// client program directly (pg_waldump, pg_controldata) take it from here.
pub fn pg15_bin() -> PathBuf {
    match std::env::var_os(PG15_BIN_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(SYSTEM_PG15_BIN),
    }
}

/// The majors DataM supports.
pub const ALL_MAJORS: [u32; 6] = [13, 14, 15, 16, 17, 18];

/// The server binaries of one PostgreSQL major.
#[derive(Debug, Clone)]
pub struct PgInstall {
    /// The major version (13..=18).
    pub major: u32,
    /// Directory holding `initdb`, `pg_ctl` and `postgres`.
    pub bin_dir: PathBuf,
}

impl PgInstall {
    /// Path of a program in this install's bin directory.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// Where `scripts/install-pg.sh` puts the npm-packaged majors.
pub fn cache_dir() -> PathBuf {
    if let Ok(p) = std::env::var("DATAM_PG_CACHE") {
        return PathBuf::from(p);
    }
    if is_root() {
        PathBuf::from("/var/cache/datam/pg")
    } else {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        PathBuf::from(home).join(".cache/datam/pg")
    }
}

/// Finds the server binaries for `major`: the system's for 15, the install
/// cache's for the others (and for 15 if the system has none). With
/// `$DATAM_PG15_BIN` set, 15 is that directory only (no silent fallback to
/// another 15, so a run meant for one minor release never tests another).
pub fn find_install(major: u32) -> Option<PgInstall> {
    let cached = cache_dir().join(major.to_string()).join("native/bin");
    let overridden = std::env::var_os(PG15_BIN_ENV).is_some_and(|p| !p.is_empty());
    let candidates = match major {
        15 if overridden => vec![pg15_bin()],
        15 => vec![PathBuf::from(SYSTEM_PG15_BIN), cached],
        _ => vec![cached],
    };
    candidates
        .into_iter()
        .find(|d| d.join("postgres").is_file() && d.join("initdb").is_file())
        .map(|bin_dir| PgInstall { major, bin_dir })
}

/// A client program (psql, pg_waldump, pg_controldata): the install's own if
/// it has one, else PostgreSQL 15's ([`pg15_bin`]).
pub fn client_bin(install: &PgInstall, name: &str) -> PathBuf {
    let own = install.bin(name);
    if own.is_file() {
        own
    } else {
        pg15_bin().join(name)
    }
}

/// One test per major: a trial whose major is not installed is marked
/// *ignored* with a loud message, so the run's summary counts it as skipped.
/// Use from a test target with `harness = false`:
///
/// ```no_run
/// // tests/versions.rs, declared with `harness = false`:
/// let trials = testkit::pg::major_trials("select_version", &[13, 15, 17], |install| {
///     Ok(())
/// });
/// libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
/// ```
pub fn major_trials<F>(name: &str, majors: &[u32], f: F) -> Vec<libtest_mimic::Trial>
where
    F: Fn(&PgInstall) -> Result<(), String> + Send + Sync + Clone + 'static,
{
    majors
        .iter()
        .map(|&major| {
            let trial_name = format!("{name}::pg{major}");
            match find_install(major) {
                Some(install) => {
                    let f = f.clone();
                    libtest_mimic::Trial::test(trial_name, move || {
                        f(&install).map_err(libtest_mimic::Failed::from)
                    })
                }
                None => {
                    eprintln!(
                        "SKIPPED {trial_name}: PostgreSQL {major} is not installed \
                         (run scripts/install-pg.sh {major})"
                    );
                    libtest_mimic::Trial::test(trial_name, || Ok(())).with_ignored_flag(true)
                }
            }
        })
        .collect()
}

/// How to stop a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `pg_ctl stop -m fast`: a clean shutdown with a shutdown checkpoint.
    Fast,
    /// `pg_ctl stop -m immediate`: like a crash; recovery would replay WAL.
    Immediate,
}

/// Options for [`Cluster::start`].
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    initdb_args: Vec<String>,
    conf: Vec<String>,
    tcp: bool,
    hba_first: Vec<String>,
    data_files: Vec<(String, Vec<u8>)>,
}

impl ClusterOptions {
    /// Adds an `initdb` argument (e.g. `--data-checksums`, `--wal-segsize=1`).
    pub fn initdb_arg(mut self, arg: impl Into<String>) -> Self {
        self.initdb_args.push(arg.into());
        self
    }

    /// Appends a `postgresql.conf` line (later lines win).
    pub fn conf(mut self, line: impl Into<String>) -> Self {
        self.conf.push(line.into());
        self
    }

    /// Also listens on TCP at 127.0.0.1, on a port free when the cluster
    /// starts ([`Cluster::port`]; the socket's name uses the same port).
    pub fn tcp_localhost(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// Puts a `pg_hba.conf` line before initdb's (the first match wins),
    /// e.g. `host all all 127.0.0.1/32 scram-sha-256`.
    pub fn hba_first(mut self, line: impl Into<String>) -> Self {
        self.hba_first.push(line.into());
        self
    }

    /// Writes a file into the data directory before the server starts,
    /// owned by the server user with mode 0600 (e.g. `server.key`).
    pub fn data_file(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.data_files.push((name.into(), contents.into()));
        self
    }
}

/// A running (or stopped) throw-away cluster.
#[derive(Debug)]
pub struct Cluster {
    install: PgInstall,
    dir: tempfile::TempDir,
    data: PathBuf,
    sock: PathBuf,
    port: u16,
    running: bool,
}

const PORT: u16 = 5432;

fn free_localhost_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    /// Runs `initdb` (UTF8, C locale, trust auth, user `postgres`) into a new
    /// temporary directory, appends the default test settings and `opts`'s
    /// lines to `postgresql.conf`, and starts the server.
    ///
    /// Default settings: Unix socket only, `autovacuum = off` (tests want dead
    /// tuples to stay), `fsync = off`, small `shared_buffers`, and no
    /// background process acting on its own timetable: `checkpoint_timeout =
    /// 1d` (checkpoints happen only when a test asks, at shutdown or after
    /// `max_wal_size`), `bgwriter_lru_maxpages = 0` (the background writer
    /// never writes, and so never pins, a page under a test's `VACUUM`, which
    /// would leave that page's dead tuples in place). Which files, tuples and
    /// WAL records exist then follows from the test's statements alone, except
    /// the background writer's running-transactions WAL records (every 15 s
    /// while WAL is written): compare WAL with what the server reports, never
    /// by counting records.
    pub fn start(install: &PgInstall, opts: ClusterOptions) -> io::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("datam-pg").tempdir()?;
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock)?;
        if is_root() {
            chown_postgres(dir.path())?;
        }
        let mut initdb = vec![
            "-D".to_string(),
            data.display().to_string(),
            "-U".into(),
            "postgres".into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
        ];
        initdb.extend(opts.initdb_args.iter().cloned());
        run_as_server_user(&install.bin("initdb"), &initdb, "initdb")?;

        let (listen, port) = if opts.tcp {
            ("127.0.0.1", free_localhost_port()?)
        } else {
            ("", PORT)
        };
        let mut conf = format!(
            "\n# datam testkit\nlisten_addresses = '{listen}'\nport = {port}\nunix_socket_directories = '{}'\n\
             autovacuum = off\nfsync = off\nshared_buffers = 16MB\nmax_connections = 20\n\
             max_wal_size = 1GB\ncheckpoint_timeout = 1d\nbgwriter_lru_maxpages = 0\n",
            sock.display()
        );
        for line in &opts.conf {
            conf.push_str(line);
            conf.push('\n');
        }
        append(&data.join("postgresql.conf"), &conf)?;
        write_data_files(&data, &opts)?;

        let mut c = Cluster {
            install: install.clone(),
            dir,
            data,
            sock,
            port,
            running: false,
        };
        c.pg_ctl_start()?;
        Ok(c)
    }

    fn pg_ctl_start(&mut self) -> io::Result<()> {
        let log = self.dir.path().join("server.log");
        let args = [
            "-D".to_string(),
            self.data.display().to_string(),
            "-l".into(),
            log.display().to_string(),
            "-w".into(),
            "-t".into(),
            "120".into(),
            "start".into(),
        ];
        match run_as_server_user(&self.install.bin("pg_ctl"), &args, "pg_ctl start") {
            Ok(_) => {
                self.running = true;
                Ok(())
            }
            Err(e) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                Err(io::Error::other(format!("{e}\n--- server log ---\n{log}")))
            }
        }
    }

    /// Starts a stopped cluster again (e.g. after [`Cluster::stop`]).
    pub fn restart(&mut self) -> io::Result<()> {
        if self.running {
            return Ok(());
        }
        self.pg_ctl_start()
    }

    /// The server's major version.
    pub fn major(&self) -> u32 {
        self.install.major
    }

    /// The install this cluster runs from.
    pub fn install(&self) -> &PgInstall {
        &self.install
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The Unix socket directory (use as host for clients).
    pub fn socket_dir(&self) -> &Path {
        &self.sock
    }

    /// The port number in the socket's name (and of the TCP listener with
    /// [`ClusterOptions::tcp_localhost`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq connection string for database `db`.
    pub fn conn_string(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.sock.display(),
            self.port
        )
    }

    /// Path of a client program for this cluster (its own, else PG 15's).
    pub fn bin(&self, name: &str) -> PathBuf {
        client_bin(&self.install, name)
    }

    /// Runs `sql` with psql on database `postgres`; see [`Cluster::psql_db`].
    pub fn psql(&self, sql: &str) -> io::Result<String> {
        self.psql_db("postgres", sql)
    }

    /// Runs `sql` with `psql -X -q -At -v ON_ERROR_STOP=1` on database `db`
    /// and returns its standard output (unaligned, tuples only).
    pub fn psql_db(&self, db: &str, sql: &str) -> io::Result<String> {
        let out = self.psql_raw(db, sql)?;
        if !out.status.success() {
            return Err(crate::command_error(&format!("psql ({db})"), &out));
        }
        String::from_utf8(out.stdout).map_err(io::Error::other)
    }

    /// `psql -X` connected to database `db` of this cluster as `postgres`
    /// (add options and the input), for a session a test drives itself.
    pub fn psql_command(&self, db: &str) -> Command {
        let mut cmd = Command::new(self.bin("psql"));
        cmd.arg("-X").arg("-h").arg(&self.sock).args([
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
        ]);
        cmd
    }

    /// Like [`Cluster::psql_db`] but returns psql's raw output whatever its
    /// exit status (for tests that expect an error).
    pub fn psql_raw(&self, db: &str, sql: &str) -> io::Result<Output> {
        use std::io::Write;
        let mut child = self
            .psql_command(db)
            .args(["-q", "-At", "-v", "ON_ERROR_STOP=1"])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(sql.as_bytes())?;
        }
        child.wait_with_output()
    }

    /// Stops the server; the data directory stays until the cluster is dropped.
    pub fn stop(&mut self, mode: StopMode) -> io::Result<()> {
        if !self.running {
            return Ok(());
        }
        let m = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let args = [
            "-D".to_string(),
            self.data.display().to_string(),
            "-m".into(),
            m.into(),
            "-w".into(),
            "-t".into(),
            "120".into(),
            "stop".into(),
        ];
        run_as_server_user(&self.install.bin("pg_ctl"), &args, "pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    /// Copies the data directory to `dest` (which must not exist). Stop the
    /// cluster first for a consistent copy.
    pub fn copy_data_dir_to(&self, dest: &Path) -> io::Result<()> {
        crate::copy_tree(&self.data, dest)
    }

    /// A stopped copy of this (stopped) cluster: its data directory copied
    /// into a new temporary directory with its own socket directory, so both
    /// can run side by side (e.g. a standby made from a primary: write
    /// `standby.signal` into [`Cluster::data_dir`], then [`Cluster::restart`]).
    pub fn copy_stopped(&self) -> io::Result<Cluster> {
        if self.running {
            return Err(io::Error::other("copy_stopped: stop the cluster first"));
        }
        let dir = tempfile::Builder::new().prefix("datam-pg").tempdir()?;
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir(&sock)?;
        self.copy_data_dir_to(&data)?;
        if is_root() {
            chown_postgres(dir.path())?;
        }
        append(
            &data.join("postgresql.conf"),
            &format!(
                "\n# datam testkit copy\nunix_socket_directories = '{}'\n",
                sock.display()
            ),
        )?;
        Ok(Cluster {
            install: self.install.clone(),
            dir,
            data,
            sock,
            port: self.port,
            running: false,
        })
    }

    /// Creates an empty file in the data directory (e.g. `standby.signal`),
    /// owned by the server user.
    pub fn touch(&self, name: &str) -> io::Result<()> {
        let p = self.data.join(name);
        std::fs::File::create(&p)?;
        if is_root() {
            chown_postgres(&p)?;
        }
        Ok(())
    }

    /// The server log so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.stop(StopMode::Immediate);
        }
    }
}

pub(crate) fn is_root() -> bool {
    // The effective uid, without unsafe code or libc: /proc/self/status
    // says "Uid:\treal\teffective\t...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

pub(crate) fn chown_postgres(p: &Path) -> io::Result<()> {
    let out = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(p)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(crate::command_error("chown postgres", &out))
    }
}

fn run_as_server_user(prog: &Path, args: &[String], what: &str) -> io::Result<Output> {
    let out = run_as_server_user_unchecked(prog, args)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(crate::command_error(
            &format!("{what} ({})", prog.display()),
            &out,
        ))
    }
}

/// Runs `prog` as the server user (when root) and returns its output
/// whatever its exit status.
pub(crate) fn run_as_server_user_unchecked(prog: &Path, args: &[String]) -> io::Result<Output> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(prog);
        c
    } else {
        Command::new(prog)
    };
    cmd.args(args).stdin(Stdio::null());
    // pg_ctl's children must not inherit our pipes, or `output()` waits for
    // the server to exit: send everything through files (pg_ctl -l).
    let dir = tempfile::tempdir()?;
    let out_path = dir.path().join("out");
    let err_path = dir.path().join("err");
    let status = cmd
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .status()?;
    Ok(Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    })
}

/// [`ClusterOptions::hba_first`] lines and [`ClusterOptions::data_file`]s.
fn write_data_files(data: &Path, opts: &ClusterOptions) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if !opts.hba_first.is_empty() {
        let hba = data.join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba)?;
        std::fs::write(&hba, format!("{}\n{old}", opts.hba_first.join("\n")))?;
    }
    for (name, contents) in &opts.data_files {
        let p = data.join(name);
        std::fs::write(&p, contents)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        if is_root() {
            chown_postgres(&p)?;
        }
    }
    Ok(())
}

fn append(p: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(p)?;
    f.write_all(text.as_bytes())
}
