//! A data directory: `PG_VERSION`, `global/pg_control`, and where each
//! relation's files live.
//!
//! ```text
//! PGDATA/
//!   PG_VERSION                 "15\n"
//!   global/pg_control          ControlFile
//!   global/<relfilenode>       shared catalogs (pg_database, ...)
//!   global/pg_filenode.map     mapped shared catalogs
//!   base/<db oid>/<relfilenode>[_fsm|_vm|_init][.<segno>]
//!   base/<db oid>/pg_filenode.map
//!   pg_xact/XXXX               commit status, 2 bits per xid
//! ```

use std::path::{Path, PathBuf};

use crate::control::{ControlFile, parse_pg_version};
use crate::error::{Error, Result};

/// Majors whose layouts DataM knows.
pub const SUPPORTED_MAJORS: std::ops::RangeInclusive<u32> = 13..=18;

/// An opened (read-only) data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    major: u32,
    control: ControlFile,
}

/// A relation fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The main data (no suffix).
    Main,
    /// `_fsm`
    FreeSpace,
    /// `_vm`
    Visibility,
    /// `_init`
    Init,
}

impl Fork {
    fn suffix(self) -> &'static str {
        match self {
            Fork::Main => "",
            Fork::FreeSpace => "_fsm",
            Fork::Visibility => "_vm",
            Fork::Init => "_init",
        }
    }
}

/// Where a relation's storage lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelLocator {
    /// Tablespace OID (1663 pg_default, 1664 pg_global).
    pub spc_oid: u32,
    /// Database OID (0 for shared relations).
    pub db_oid: u32,
    /// The relfilenode.
    pub rel_number: u32,
}

/// OID of `pg_global`.
pub const GLOBALTABLESPACE_OID: u32 = 1664;
/// OID of `pg_default`.
pub const DEFAULTTABLESPACE_OID: u32 = 1663;

impl DataDir {
    /// Opens a data directory: reads `PG_VERSION` and `global/pg_control`.
    /// A pg_control with a bad CRC still opens (check
    /// [`ControlFile::crc_valid`]); an unsupported major is an error.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let major = read_pg_version(&root)?;
        if !SUPPORTED_MAJORS.contains(&major) {
            return Err(Error::UnsupportedVersion { major });
        }
        let control = read_control(&root)?;
        Ok(Self {
            root,
            major,
            control,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The major version from `PG_VERSION`.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The decoded `global/pg_control`.
    pub fn control(&self) -> &ControlFile {
        &self.control
    }

    /// Page size (from pg_control, 8192 if pg_control says something absurd).
    pub fn block_size_bytes(&self) -> usize {
        let b = self.control.block_size_bytes;
        if b.is_power_of_two() && (1024..=32768).contains(&b) {
            b as usize
        } else {
            8192
        }
    }

    /// Blocks per 1 GB segment file.
    pub fn relseg_size_blocks(&self) -> u32 {
        match self.control.relseg_size_blocks {
            0 => 131_072,
            n => n,
        }
    }

    /// Directory holding a relation's files.
    pub fn rel_dir(&self, loc: RelLocator) -> PathBuf {
        if loc.spc_oid == GLOBALTABLESPACE_OID {
            self.root.join("global")
        } else if loc.spc_oid == DEFAULTTABLESPACE_OID || loc.spc_oid == 0 {
            self.root.join("base").join(loc.db_oid.to_string())
        } else {
            // pg_tblspc/<spc>/PG_<major>_<catversion>/<db>/
            self.root
                .join("pg_tblspc")
                .join(loc.spc_oid.to_string())
                .join(format!(
                    "PG_{}_{}",
                    self.major, self.control.catalog_version_no
                ))
                .join(loc.db_oid.to_string())
        }
    }

    /// The path of segment `segno` of a relation fork.
    pub fn segment_path(&self, loc: RelLocator, fork: Fork, segno: u32) -> PathBuf {
        let base = format!("{}{}", loc.rel_number, fork.suffix());
        let name = if segno == 0 {
            base
        } else {
            format!("{base}.{segno}")
        };
        self.rel_dir(loc).join(name)
    }

    /// Existing segment files of a relation fork, in order (stops at the first
    /// missing one).
    pub fn segment_paths(&self, loc: RelLocator, fork: Fork) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for segno in 0u32.. {
            let p = self.segment_path(loc, fork, segno);
            if !evidence::vfs::is_file(&p) {
                break;
            }
            out.push(p);
        }
        out
    }
}

/// Reads `PG_VERSION` under `root`.
///
/// A directory without one is [`Error::NotADataDir`].
pub fn read_pg_version(root: &Path) -> Result<u32> {
    let file = root.join("PG_VERSION");
    if evidence::vfs::is_dir(root) && !evidence::vfs::exists(&file) {
        return Err(Error::NotADataDir {
            path: root.to_path_buf(),
        });
    }
    let ev = evidence::Evidence::open(file)?;
    parse_pg_version(ev.bytes())
}

/// Reads and parses `global/pg_control` under `root`.
pub fn read_control(root: &Path) -> Result<ControlFile> {
    let ev = evidence::Evidence::open(root.join("global").join("pg_control"))?;
    ControlFile::parse(ev.bytes())
}
