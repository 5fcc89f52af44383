//! Connection targets: `postgres://…` URLs, `host=… dbname=…` conninfo
//! strings and `sqlite:PATH`.
//!
//! Missing PostgreSQL settings come from the libpq environment (`PGHOST`,
//! `PGPORT`, `PGUSER`, `PGDATABASE`), then libpq's defaults (the Unix
//! socket in `/var/run/postgresql`, the OS user). The password is the first
//! found of: the target's own (`postgres://u:PW@…`, `password=…`),
//! `PGPASSWORD`, the password file (`PGPASSFILE` or `~/.pgpass`, matched as
//! libpq matches it), then the OS keychain entry of the server, database
//! and user ([`crate::keychain`]; `datam live password set` stores one). A
//! keychain that cannot be used is reported when connecting fails.
//! Passwords are held in [`zeroize::Zeroizing`] buffers, handed to the
//! driver only for the moment of connecting, and wiped when dropped.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tokio_postgres::config::{Host, SslMode};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pg::tls::TlsSettings;

/// Where to connect.
#[derive(Debug, Clone)]
pub enum Target {
    /// A PostgreSQL server.
    Postgres(Box<PgTarget>),
    /// A working SQLite database file (never evidence: it is opened with
    /// libsqlite, which may write a journal or WAL beside it).
    Sqlite(PathBuf),
}

impl Target {
    /// Parses a target: `sqlite:PATH`, `postgres://…`, `postgresql://…` or
    /// a conninfo string with `key=value` pairs.
    ///
    /// ```
    /// use datam_live::Target;
    /// let t = Target::parse("host=/tmp port=5433 dbname=shop user=app").unwrap();
    /// assert_eq!(t.identity(), "postgres host=/tmp port=5433 dbname=shop user=app");
    /// let s = Target::parse("sqlite:/data/app.db").unwrap();
    /// assert!(matches!(s, Target::Sqlite(_)));
    /// assert!(Target::parse("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem").is_ok());
    /// assert!(Target::parse("postgres://h/db?sslmode=sometimes").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(path) = s.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(Error::BadTarget {
                    target: s.to_owned(),
                    reason: "sqlite: needs a path".into(),
                });
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") || s.contains('=') {
            return PgTarget::parse(s).map(|t| Self::Postgres(Box::new(t)));
        }
        Err(Error::BadTarget {
            target: s.to_owned(),
            reason: "expected postgres://…, host=… dbname=…, or sqlite:PATH".into(),
        })
    }

    /// A stable name of the database (no password): the journal records it
    /// and a plan is only undone on the target it was made for.
    pub fn identity(&self) -> String {
        match self {
            Self::Postgres(p) => p.identity(),
            Self::Sqlite(path) => {
                let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                format!("sqlite {}", abs.display())
            }
        }
    }
}

/// A PostgreSQL server, database and user.
#[derive(Clone)]
pub struct PgTarget {
    config: tokio_postgres::Config,
    password: Option<Zeroizing<Vec<u8>>>,
    tls: TlsSettings,
    /// Why the keychain could not be asked, if it could not.
    keychain_note: Option<String>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("identity", &self.identity())
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("sslmode", &self.tls.mode.as_str())
            .finish()
    }
}

impl PgTarget {
    /// Parses a URL or conninfo string and fills in defaults (see the
    /// module docs); `sslmode` and `sslrootcert` are read here (see
    /// [`crate::pg::tls`]).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: String| Error::BadTarget {
            target: mask_password(s),
            reason,
        };
        let (rest, tls) = crate::pg::tls::take_tls_params(s).map_err(bad)?;
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| bad(e.to_string()))?;
        apply_env_defaults(&mut config);
        let password = config.get_password().map(|p| Zeroizing::new(p.to_vec()));
        // Keep the password out of the config between connections.
        let mut clean = tokio_postgres::Config::new();
        copy_settings(&config, &mut clean);
        let mut t = Self {
            config: clean,
            password,
            tls,
            keychain_note: None,
        };
        if t.password.is_none() {
            t.password = password_from_env_or_file(&t);
        }
        if t.password.is_none() {
            match crate::keychain::lookup(&t.keychain_account()) {
                Ok(p) => t.password = p,
                Err(e) => t.keychain_note = Some(e.to_string()),
            }
        }
        Ok(t)
    }

    /// `postgres host=… port=… dbname=… user=…`.
    pub fn identity(&self) -> String {
        let host = self
            .config
            .get_hosts()
            .first()
            .map(|h| match h {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_default();
        let port = self.port();
        format!(
            "postgres host={host} port={port} dbname={} user={}",
            self.config.get_dbname().unwrap_or(""),
            self.config.get_user().unwrap_or("")
        )
    }

    /// The account of this server's keychain entry:
    /// `user@host:port/dbname` (a socket directory is its host).
    pub fn keychain_account(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(s)) => s.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        format!(
            "{}@{host}:{}/{}",
            self.config.get_user().unwrap_or(""),
            self.port(),
            self.config.get_dbname().unwrap_or("")
        )
    }

    /// Why the OS keychain could not be asked for the password (set only
    /// when no other source had one).
    pub fn keychain_note(&self) -> Option<&str> {
        self.keychain_note.as_deref()
    }

    fn port(&self) -> u16 {
        self.config.get_ports().first().copied().unwrap_or(5432)
    }

    /// A driver config with the password and the driver's TLS mode set,
    /// for one connection attempt; drop it right after connecting.
    pub(crate) fn config_for_connect(&self) -> tokio_postgres::Config {
        let mut c = self.config.clone();
        if let Some(p) = &self.password {
            c.password(p.as_slice());
        }
        c.ssl_mode(self.tls.driver_mode(self.is_unix_socket()));
        c
    }

    /// The TLS settings (`sslmode`, `sslrootcert`).
    pub(crate) fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// Is the (first) host a Unix socket directory?
    pub(crate) fn is_unix_socket(&self) -> bool {
        matches!(self.config.get_hosts().first(), Some(Host::Unix(_)))
    }
}

fn copy_settings(from: &tokio_postgres::Config, to: &mut tokio_postgres::Config) {
    for h in from.get_hosts() {
        match h {
            Host::Tcp(s) => to.host(s),
            Host::Unix(p) => to.host_path(p),
        };
    }
    for &p in from.get_ports() {
        to.port(p);
    }
    if let Some(u) = from.get_user() {
        to.user(u);
    }
    if let Some(d) = from.get_dbname() {
        to.dbname(d);
    }
    if let Some(a) = from.get_application_name() {
        to.application_name(a);
    } else {
        to.application_name("datam live");
    }
    if let Some(o) = from.get_options() {
        to.options(o);
    }
    to.connect_timeout(
        from.get_connect_timeout()
            .copied()
            .unwrap_or(std::time::Duration::from_secs(10)),
    );
    to.ssl_mode(SslMode::Disable);
}

fn apply_env_defaults(c: &mut tokio_postgres::Config) {
    if c.get_hosts().is_empty() {
        let host = std::env::var("PGHOST").unwrap_or_else(|_| {
            if Path::new("/var/run/postgresql").is_dir() {
                "/var/run/postgresql".into()
            } else {
                "localhost".into()
            }
        });
        if host.starts_with('/') {
            c.host_path(&host);
        } else {
            c.host(&host);
        }
    }
    if c.get_ports().is_empty()
        && let Some(p) = std::env::var("PGPORT").ok().and_then(|p| p.parse().ok())
    {
        c.port(p);
    }
    if c.get_user().is_none() {
        let user = std::env::var("PGUSER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "postgres".into());
        c.user(&user);
    }
    if c.get_dbname().is_none() {
        let db = std::env::var("PGDATABASE").unwrap_or_else(|_| c.get_user().unwrap_or("").into());
        c.dbname(&db);
    }
}

fn password_from_env_or_file(t: &PgTarget) -> Option<Zeroizing<Vec<u8>>> {
    if let Some(p) = std::env::var_os("PGPASSWORD") {
        return Some(Zeroizing::new(p.into_encoded_bytes()));
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")))?;
    let text = Zeroizing::new(std::fs::read_to_string(file).ok()?);
    let host = match t.config.get_hosts().first() {
        Some(Host::Tcp(s)) => s.clone(),
        // libpq matches a socket directory as "localhost".
        Some(Host::Unix(_)) | None => "localhost".into(),
    };
    let port = t.port().to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        t.config.get_dbname().unwrap_or(""),
        t.config.get_user().unwrap_or(""),
    ];
    pgpass_lookup(&text, &want)
}

/// The password of the first `host:port:db:user:password` line matching
/// `want` (`*` matches anything; `\:` and `\\` are escapes).
fn pgpass_lookup(text: &str, want: &[&str; 4]) -> Option<Zeroizing<Vec<u8>>> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        let Some((pw, keys)) = fields.split_last() else {
            continue;
        };
        if keys.len() != 4 {
            continue;
        }
        if keys
            .iter()
            .zip(want)
            .all(|(k, w)| k.as_str() == "*" || k.as_str() == *w)
        {
            return Some(Zeroizing::new(pw.as_bytes().to_vec()));
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<Zeroizing<String>> {
    let mut fields = vec![Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == ':' && fields.len() < 5 {
            fields.push(Zeroizing::new(String::new()));
            continue;
        }
        let c = if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        };
        if let Some(cur) = fields.last_mut() {
            cur.push(c);
        }
    }
    fields
}

/// `postgres://u:secret@h/db` → `postgres://u:***@h/db`; conninfo
/// `password=…` likewise.
pub(crate) fn mask_password(s: &str) -> String {
    if let Some(rest) = s.split_once("://").map(|(_, r)| r) {
        if let Some((cred, _)) = rest.split_once('@')
            && let Some((user, _)) = cred.split_once(':')
        {
            return s.replacen(cred, &format!("{user}:***"), 1);
        }
        return s.to_owned();
    }
    s.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_matches_like_libpq() {
        let text =
            "# comment\nother:5432:*:*:no\nlocalhost:5432:shop:app:s\\:ecret\n*:*:*:*:fallback\n";
        let pw = pgpass_lookup(text, &["localhost", "5432", "shop", "app"]).unwrap();
        assert_eq!(pw.as_slice(), b"s:ecret");
        let pw = pgpass_lookup(text, &["h", "1", "d", "u"]).unwrap();
        assert_eq!(pw.as_slice(), b"fallback");
    }

    #[test]
    fn passwords_are_masked_and_kept_out_of_identity() {
        assert_eq!(
            mask_password("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(mask_password("host=h password=x"), "host=h password=***");
        let t = PgTarget::parse("postgres://u:secret@h:5433/db").unwrap();
        assert!(!t.identity().contains("secret"));
        assert!(!format!("{t:?}").contains("secret"));
        assert!(t.config.get_password().is_none());
        assert_eq!(t.config_for_connect().get_password(), Some(&b"secret"[..]));
    }

    #[test]
    fn bad_sslmode_is_refused() {
        let e = Target::parse("host=h dbname=d sslmode=always").unwrap_err();
        assert!(matches!(e, Error::BadTarget { .. }), "{e}");
        let t = PgTarget::parse("host=h dbname=d sslmode=require").unwrap();
        assert_eq!(
            t.config_for_connect().get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        let t = PgTarget::parse("host=/run/pg dbname=d sslmode=require").unwrap();
        assert_eq!(
            t.config_for_connect().get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }
}
