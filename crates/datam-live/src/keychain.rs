//! Passwords in the OS keychain, through the `keyring` crate.
//!
//! On Linux the store is the kernel's key retention service (keyutils, the
//! `keyring` crate's `linux-native` backend), which needs no D-Bus or
//! Secret Service daemon, so it works on servers and in containers as well
//! as on desktops. Entries go in the user's keyring (`@u`), not the
//! crate's default session keyring: a process with no login session (a
//! service, CI, `sudo`) gets the user-session keyring, whose keys another
//! such process can neither find nor read. A key lives until it is deleted
//! or the machine restarts. Other systems get [`Error::Keychain`] ("only
//! on Linux"): the macOS/Windows backends are not built in yet. Where the kernel refuses
//! key calls (e.g. a seccomp filter), every operation fails with
//! [`Error::Keychain`] naming the cause.
//!
//! One entry per server, database and user: service [`SERVICE`], account
//! `user@host:port/dbname` (see [`crate::PgTarget::keychain_account`]).
//! Secrets go in and out as bytes in [`Zeroizing`] buffers.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The keychain service name of every DataM entry.
pub const SERVICE: &str = "datam live postgres";

#[cfg(target_os = "linux")]
fn entry(account: &str) -> Result<keyring::Entry> {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    let user =
        KeyRing::from_special_id(KeyRingIdentifier::User, false).map_err(|e| Error::Keychain {
            account: account.to_owned(),
            reason: format!("no usable kernel keyring on this machine ({e})"),
        })?;
    let cred = keyring::keyutils::KeyutilsCredential {
        session: user,
        persistent: None,
        description: format!("keyring-rs:{account}@{SERVICE}"),
    };
    Ok(keyring::Entry::new_with_credential(Box::new(cred)))
}

/// Only the Linux backend is built in: elsewhere `keyring` would fall back
/// to an in-memory mock, which must not pass for a keychain.
#[cfg(not(target_os = "linux"))]
fn entry(account: &str) -> Result<keyring::Entry> {
    Err(Error::Keychain {
        account: account.to_owned(),
        reason: "this build has the OS keychain only on Linux (kernel keyrings)".into(),
    })
}

fn keychain_error(account: &str, e: keyring::Error) -> Error {
    Error::Keychain {
        account: account.to_owned(),
        reason: match e {
            keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
                format!("no usable OS keychain on this machine ({inner})")
            }
            other => other.to_string(),
        },
    }
}

/// Stores `secret` as the password of `account`, replacing any.
pub fn store(account: &str, secret: &[u8]) -> Result<()> {
    entry(account)?
        .set_secret(secret)
        .map_err(|e| keychain_error(account, e))
}

/// Removes the password of `account`; `Ok(false)` if there was none.
pub fn delete(account: &str) -> Result<bool> {
    match entry(account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keychain_error(account, e)),
    }
}

/// The password of `account`, if the keychain has one.
pub fn lookup(account: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
    match entry(account)?.get_secret() {
        Ok(s) => Ok(Some(Zeroizing::new(s))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error(account, e)),
    }
}
