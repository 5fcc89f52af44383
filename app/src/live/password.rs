//! `datam live password set|delete URL`: the OS keychain entry that
//! `datam live` uses when no other source has a password.

use std::io::{Read, Write};

use anyhow::{Context, bail};
use clap::Subcommand;
use datam_live::{Target, keychain};
use zeroize::Zeroizing;

/// `datam live password` subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Store the password of URL's server, database and user, read from
    /// standard input (one line; never from the command line).
    Set {
        /// postgres://… or "host=… dbname=… user=…".
        url: String,
    },
    /// Remove the stored password of URL's server, database and user.
    Delete {
        /// postgres://… or "host=… dbname=… user=…".
        url: String,
    },
}

fn account(url: &str) -> anyhow::Result<String> {
    match Target::parse(url)? {
        Target::Postgres(p) => Ok(p.keychain_account()),
        Target::Sqlite(_) => bail!("SQLite files have no password"),
    }
}

/// Runs a `datam live password` subcommand.
pub fn run(cmd: &Cmd, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        Cmd::Set { url } => {
            let account = account(url)?;
            let mut text = Zeroizing::new(Vec::new());
            std::io::stdin()
                .read_to_end(&mut text)
                .context("reading the password from standard input")?;
            let end = text
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .unwrap_or(text.len());
            let secret = text.get(..end).unwrap_or_default();
            if secret.is_empty() {
                bail!("no password on standard input");
            }
            keychain::store(&account, secret)?;
            writeln!(out, "stored the password of {account} in the OS keychain")?;
        }
        Cmd::Delete { url } => {
            let account = account(url)?;
            if keychain::delete(&account)? {
                writeln!(
                    out,
                    "deleted the password of {account} from the OS keychain"
                )?;
            } else {
                writeln!(out, "the OS keychain has no password for {account}")?;
            }
        }
    }
    Ok(())
}
