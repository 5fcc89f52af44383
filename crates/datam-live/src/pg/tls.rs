//! TLS to the server, with libpq's `sslmode` meanings, on rustls.
//!
//! | sslmode       | TLS                      | server certificate checked            |
//! |---------------|--------------------------|---------------------------------------|
//! | `disable`     | never                    | –                                     |
//! | `prefer`      | if the server offers it  | no                                    |
//! | `require`     | always                   | chain, only if `sslrootcert` is given |
//! | `verify-ca`   | always                   | chain to `sslrootcert`                |
//! | `verify-full` | always                   | chain to `sslrootcert` + host name    |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt` (as in libpq); the
//! `PGSSLMODE` and `PGSSLROOTCERT` environment variables apply when the
//! target does not say. As in libpq, TLS is never tried over a Unix
//! socket: the socket is local and the server does not offer it there.
//!
//! rustls (with the `ring` provider) is used rather than native-tls so that
//! no system OpenSSL headers are needed to build; `tokio-postgres-rustls`
//! adapts it to the driver and provides SCRAM channel binding.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as DriverSslMode;

use crate::error::{Error, Result};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, no certificate check (libpq's default).
    #[default]
    Prefer,
    /// TLS or fail; the certificate is checked only against an explicit
    /// `sslrootcert`.
    Require,
    /// TLS, certificate chain checked against the root certificate.
    VerifyCa,
    /// TLS, chain and host name checked.
    VerifyFull,
}

impl SslMode {
    /// Parses an `sslmode` value (`allow` is taken as `prefer`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// What the target asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// The driver's mode for this connection (`Disable` over a Unix
    /// socket).
    pub fn driver_mode(&self, unix_socket: bool) -> DriverSslMode {
        match self.mode {
            _ if unix_socket => DriverSslMode::Disable,
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        }
    }

    /// The rustls connector for this mode (unused by the driver when
    /// [`TlsSettings::driver_mode`] is `Disable`).
    pub fn connector(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::TlsRootCert {
                path: PathBuf::from("(rustls protocol versions)"),
                reason: e.to_string(),
            })?;
        let explicit_root = self.root_cert.is_some();
        let roots = match self.mode {
            SslMode::Disable | SslMode::Prefer => None,
            SslMode::Require if !explicit_root => None,
            _ => Some(Arc::new(load_roots(&self.root_path())?)),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, roots) {
            (SslMode::VerifyFull, Some(roots)) => {
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| Error::TlsRootCert {
                        path: self.root_path(),
                        reason: e.to_string(),
                    })?
            }
            (_, roots) => Arc::new(ChainOnly {
                roots,
                algs: provider.signature_verification_algorithms,
            }),
        };
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    fn root_path(&self) -> PathBuf {
        self.root_cert.clone().unwrap_or_else(|| {
            dirs::home_dir()
                .unwrap_or_default()
                .join(".postgresql/root.crt")
        })
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore> {
    let bad = |reason: String| Error::TlsRootCert {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(roots)
}

/// The certificate check of one mode: with `roots`, the chain must lead
/// to a trusted root (`verify-ca`, and `require` with an explicit root; the
/// host name is not compared); without, the certificate is not checked
/// (`prefer`, `require`, as libpq does). The handshake signatures are
/// always checked.
#[derive(Debug)]
struct ChainOnly {
    roots: Option<Arc<RootCertStore>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        match verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algs.all,
        ) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Did the TLS request or handshake fail (the server refused TLS, or its
/// certificate was not accepted)? The driver reports both as its TLS kind.
pub(crate) fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    e.to_string().starts_with("error performing TLS handshake")
}

/// Splits `sslmode` and `sslrootcert` out of a URL's query or a conninfo
/// string (the driver does not know `sslrootcert` nor the `verify-*`
/// modes); returns the rest for the driver, and the two values. Values not
/// given come from `PGSSLMODE` / `PGSSLROOTCERT`.
pub(crate) fn take_tls_params(s: &str) -> std::result::Result<(String, TlsSettings), String> {
    let mut mode = None;
    let mut root = None;
    let mut take = |k: &str, v: String| match k {
        "sslmode" => {
            mode = Some(v);
            true
        }
        "sslrootcert" => {
            root = Some(v);
            true
        }
        _ => false,
    };
    let rest = if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        match s.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        !take(k, percent_decode(v))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => s.to_owned(),
        }
    } else {
        let mut kept = Vec::new();
        for (k, v, raw) in conninfo_pairs(s)? {
            if !take(&k, v) {
                kept.push(raw);
            }
        }
        kept.join(" ")
    };
    let mode = mode.or_else(|| std::env::var("PGSSLMODE").ok());
    let mode = match mode {
        None => SslMode::default(),
        Some(m) => SslMode::parse(&m).ok_or_else(|| {
            format!(
                "sslmode={m} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )
        })?,
    };
    let root_cert = root
        .or_else(|| std::env::var("PGSSLROOTCERT").ok())
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    Ok((rest, TlsSettings { mode, root_cert }))
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key = value` pairs of a conninfo string (values may be `'quoted'`
/// with `\` escapes), each with its raw text.
fn conninfo_pairs(s: &str) -> std::result::Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return Ok(out);
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(format!("missing \"=\" after {key:?}"));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        let mut value = String::new();
        let mut end = s.len();
        while let Some(&(at, c)) = chars.peek() {
            if (!quoted && c.is_whitespace()) || (quoted && c == '\'') {
                end = at;
                break;
            }
            chars.next();
            if c == '\\' {
                if let Some((_, e)) = chars.next() {
                    value.push(e);
                }
            } else {
                value.push(c);
            }
        }
        if quoted {
            if chars.next().is_none() {
                return Err(format!("unterminated quoted value of {key:?}"));
            }
            end = end.saturating_add(1);
        }
        let raw = s.get(start..end).unwrap_or_default().to_owned();
        out.push((key, value, raw));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_params_come_out_of_urls_and_conninfo() {
        let (rest, t) =
            take_tls_params("postgres://u@h:5/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x")
                .unwrap();
        assert_eq!(rest, "postgres://u@h:5/db?application_name=x");
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/tmp/ca.pem")));
        let (rest, t) = take_tls_params(
            "host=h sslmode = 'verify-ca' sslrootcert='/a b/c\\'s.pem' dbname='my db'",
        )
        .unwrap();
        assert_eq!(rest, "host=h dbname='my db'");
        assert_eq!(t.mode, SslMode::VerifyCa);
        assert_eq!(t.root_cert.as_deref(), Some(Path::new("/a b/c's.pem")));
        let e = take_tls_params("host=h sslmode=bogus").unwrap_err();
        assert!(e.contains("sslmode=bogus"), "{e}");
        assert!(take_tls_params("host=h dbname='x").is_err());
        assert!(take_tls_params("host").is_err());
    }
}
