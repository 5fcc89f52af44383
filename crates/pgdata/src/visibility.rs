//! Tuple visibility for a stopped cluster: hint bits first, then `pg_xact`.
//!
//! A stopped (or crashed) cluster has no running transactions, so an xid
//! that pg_xact still shows as in progress never committed.

use crate::multixact::MultiXacts;
use crate::tuple::*;
use crate::xact::{Clog, XidStatus};

/// What became of a heap tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TupleStatus {
    /// Inserted by a committed transaction and not deleted by one: a row
    /// `SELECT` would return.
    Live,
    /// Inserted by a committed transaction, then deleted or replaced by a
    /// committed transaction (what `--dead` prints).
    Dead,
    /// Its inserting transaction never committed.
    Aborted,
    /// `xmax` is a MultiXactId whose members could not be read
    /// (`pg_multixact` missing or truncated); reported with the live rows.
    MultiXact,
}

impl TupleStatus {
    /// Lower-case name for output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Dead => "dead",
            Self::Aborted => "aborted",
            Self::MultiXact => "multixact",
        }
    }
}

fn committed(s: XidStatus) -> bool {
    // Unknown: pg_xact was truncated below this xid, which happens only for
    // xids older than the cluster's freeze horizon: they committed or were
    // frozen.
    matches!(s, XidStatus::Committed | XidStatus::Unknown)
}

/// `HEAP_XMAX_IS_LOCKED_ONLY`.
pub fn xmax_is_locked_only(infomask: u16) -> bool {
    infomask & HEAP_XMAX_LOCK_ONLY != 0
        || infomask & (HEAP_XMAX_IS_MULTI | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK)
            == HEAP_XMAX_EXCL_LOCK
}

/// Judges a tuple (a multixact `xmax` counts as [`TupleStatus::MultiXact`];
/// see [`tuple_status_multi`]).
pub fn tuple_status(t: &HeapTuple<'_>, clog: &mut Clog) -> TupleStatus {
    tuple_status_inner(t, clog, None)
}

/// Judges a tuple, resolving a multixact `xmax` to its updating member
/// through `pg_multixact`.
pub fn tuple_status_multi(
    t: &HeapTuple<'_>,
    clog: &mut Clog,
    multis: &mut MultiXacts,
) -> TupleStatus {
    tuple_status_inner(t, clog, Some(multis))
}

fn tuple_status_inner(
    t: &HeapTuple<'_>,
    clog: &mut Clog,
    multis: Option<&mut MultiXacts>,
) -> TupleStatus {
    let im = t.infomask();
    let xmin_ok = if im & HEAP_XMIN_COMMITTED != 0 {
        true // committed, or frozen (both bits)
    } else if im & HEAP_XMIN_INVALID != 0 {
        false
    } else {
        committed(clog.status(t.xmin()))
    };
    if !xmin_ok {
        return TupleStatus::Aborted;
    }
    if im & HEAP_XMAX_INVALID != 0 || t.xmax() == 0 || xmax_is_locked_only(im) {
        return TupleStatus::Live;
    }
    if im & HEAP_XMAX_IS_MULTI != 0 {
        // HEAP_XMAX_COMMITTED is never set for a multi; find the updater.
        let Some(updater) = multis.and_then(|m| m.updater(t.xmax())) else {
            return TupleStatus::MultiXact;
        };
        return if clog.status(updater) == XidStatus::Committed {
            TupleStatus::Dead
        } else {
            TupleStatus::Live
        };
    }
    if im & HEAP_XMAX_COMMITTED != 0 || clog.status(t.xmax()) == XidStatus::Committed {
        TupleStatus::Dead
    } else {
        TupleStatus::Live
    }
}
