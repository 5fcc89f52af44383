//! `pg_inherits`: the partitions of a partitioned table and the children of
//! an inheritance parent, which `SELECT * FROM parent` reads too.

use std::collections::{HashMap, HashSet};

use super::layout::Schema;
use super::{Catalog, Warning, scan_catalog};
use crate::error::Result;
use crate::xact::Clog;

/// `pg_inherits` (its oid; not a mapped catalog).
pub const INHERITS_RELATION_ID: u32 = 2611;

// inhrelid, inhparent, inhseqno in 13–18 (14 added inhdetachpending after).
/// Parent oid → its direct children's oids.
pub type InheritTree = HashMap<u32, Vec<u32>>;

const PG_INHERITS: &str = "inhrelid:4:i inhparent:4:i inhseqno:4:i";

impl Catalog {
    /// Parent oid → its direct children's oids (by `inhseqno`, then oid),
    /// from the live `pg_inherits` rows; damaged rows are left out and
    /// listed in the warnings returned.
    pub fn inherits(&self) -> Result<(InheritTree, Vec<Warning>)> {
        let mut warnings = Vec::new();
        let mut out: HashMap<u32, Vec<(i32, u32)>> = HashMap::new();
        // An empty pg_inherits may have no file worth reading.
        let Ok(loc) = self.locator_of(INHERITS_RELATION_ID) else {
            return Ok((HashMap::new(), warnings));
        };
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let schema = Schema::parse(PG_INHERITS);
        scan_catalog(&self.dir, &mut clog, loc, &schema, &mut warnings, |r| {
            out.entry(r.u32("inhparent"))
                .or_default()
                .push((r.i32("inhseqno"), r.u32("inhrelid")));
        })?;
        let out = out
            .into_iter()
            .map(|(p, mut v)| {
                v.sort_unstable();
                (p, v.into_iter().map(|(_, c)| c).collect())
            })
            .collect();
        Ok((out, warnings))
    }

    /// Every descendant of `oid` (children, their children, ...), depth
    /// first in `inhseqno` order; `oid` itself is not included.
    pub fn descendants(&self, oid: u32) -> Result<(Vec<u32>, Vec<Warning>)> {
        let (tree, warnings) = self.inherits()?;
        let mut out = Vec::new();
        let mut seen = HashSet::from([oid]);
        let mut stack: Vec<u32> = tree.get(&oid).cloned().unwrap_or_default();
        stack.reverse();
        // A cycle in a damaged catalog stops at the relations already seen.
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            out.push(c);
            if let Some(kids) = tree.get(&c) {
                stack.extend(kids.iter().rev());
            }
        }
        Ok((out, warnings))
    }
}
