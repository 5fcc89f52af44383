//! [`Warning`]: a damaged catalog or table item that reading went past.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{BlockNo, Error};

/// A problem met while reading, with where it happened; reading went on
/// without the damaged item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Warning {
    /// A block that could not be read: none of its items were read.
    UnreadableBlock {
        /// The relation file (for catalog scans: its first segment).
        file: PathBuf,
        /// The block.
        block: BlockNo,
        /// Why.
        error: Arc<Error>,
    },
    /// A line pointer, tuple or row of a readable block that could not be
    /// decoded: that item was skipped.
    DamagedItem {
        /// The relation file (for catalog scans: its first segment).
        file: PathBuf,
        /// The block.
        block: BlockNo,
        /// The line pointer (1-based offset number).
        lp: u16,
        /// Why.
        error: Arc<Error>,
    },
    /// `pg_proc` could not be read: output functions were inferred from
    /// the built-in type list.
    OutputFunctionsInferred {
        /// Why.
        error: Arc<Error>,
    },
    /// A catalog of object names (`pg_proc`, `pg_operator`, `pg_authid`,
    /// ...) could not be read: `reg*` and `aclitem` values naming its
    /// objects print as OIDs.
    ObjectNamesUnreadable {
        /// The catalog's OID.
        catalog: u32,
        /// Why.
        error: Arc<Error>,
    },
    /// A column added with a default (`atthasmissing`) whose
    /// `attmissingval` could not be read: tuples written before the
    /// `ADD COLUMN` read NULL for it.
    UnreadableMissingValue {
        /// The table (`attrelid`).
        attrelid: u32,
        /// The column (`attnum`).
        attnum: i16,
    },
    /// An index whose key columns (`indkey`) could not be read: it is
    /// listed with no key columns.
    UnreadableIndexKey {
        /// The index (`indexrelid`).
        indexrelid: u32,
    },
    /// A catalog that always has rows has no blocks (a trimmed copy).
    EmptyCatalog {
        /// The directory that should hold its file.
        dir: PathBuf,
        /// The catalog, e.g. `pg_index`.
        catalog: &'static str,
        /// Its relfilenode.
        rel_number: u32,
    },
}

impl Warning {
    /// The file or object the problem is in.
    pub fn what(&self) -> String {
        match self {
            Warning::UnreadableBlock { file, .. } | Warning::DamagedItem { file, .. } => {
                file.display().to_string()
            }
            Warning::OutputFunctionsInferred { .. } => "pg_proc".into(),
            Warning::ObjectNamesUnreadable { catalog, .. } => format!("catalog {catalog}"),
            Warning::UnreadableMissingValue { .. } => "pg_attribute".into(),
            Warning::UnreadableIndexKey { .. } => "pg_index".into(),
            Warning::EmptyCatalog { dir, .. } => dir.display().to_string(),
        }
    }

    /// What went wrong (without [`Warning::what`]).
    pub fn message(&self) -> String {
        match self {
            Warning::UnreadableBlock { error, .. } | Warning::DamagedItem { error, .. } => {
                error.to_string()
            }
            Warning::OutputFunctionsInferred { error } => {
                format!("{error}; output functions inferred from the built-in type list")
            }
            Warning::ObjectNamesUnreadable { error, .. } => {
                format!("{error}; reg* and aclitem values naming its objects print as OIDs")
            }
            Warning::UnreadableMissingValue { attrelid, attnum } => format!(
                "attmissingval of relation {attrelid} column {attnum} is not a readable \
                 one-element array; rows written before the column was added read NULL"
            ),
            Warning::UnreadableIndexKey { indexrelid } => {
                format!("indkey of index {indexrelid} is not a readable int2vector")
            }
            Warning::EmptyCatalog {
                catalog,
                rel_number,
                ..
            } => format!("{catalog} (relfilenode {rel_number}) has no blocks"),
        }
    }

    /// The block, when the problem is in one.
    pub fn block(&self) -> Option<BlockNo> {
        match self {
            Warning::UnreadableBlock { block, .. } | Warning::DamagedItem { block, .. } => {
                Some(*block)
            }
            _ => None,
        }
    }

    /// The line pointer, when the problem is in one item.
    pub fn lp(&self) -> Option<u16> {
        match self {
            Warning::DamagedItem { lp, .. } => Some(*lp),
            _ => None,
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what(), self.message())
    }
}
