//! Rows of virtual tables rebuilt from their shadow tables (FTS3/4
//! `_content`, R*Tree `_node`).

use std::collections::HashMap;

use rowcodec::sqlite::{OwnedValue, Value};

use super::Db;
use crate::PageNo;
use crate::scan::{RecoveredRow, RowRef, RowStatus};

impl Db<'_> {
    /// The virtual table `v` whose shadow table is `name` = `v` + `suffix`.
    pub(super) fn virtual_for(
        &self,
        name: &str,
        suffix: &str,
        module_prefix: &str,
    ) -> Option<usize> {
        let base = name.strip_suffix(suffix)?;
        self.tables.iter().position(|t| {
            t.name == base
                && t.module
                    .as_deref()
                    .is_some_and(|m| m.starts_with(module_prefix))
        })
    }

    /// A row of an FTS3/4 `<v>_content` table is also a row of `v` (the
    /// `n` content columns after the docid): `Some((v, n))`.
    pub(super) fn fts_projection(&self, r: &RowRef<'_>) -> Option<(usize, usize)> {
        let v = self.shadows.get(r.table?)?.0?;
        let n = self.tables.get(v)?.columns.len();
        (r.values.len() > n).then_some((v, n))
    }

    pub(super) fn stash_rtree_node(
        &self,
        r: &RowRef<'_>,
        nodes: &mut Vec<((usize, i64), Vec<u8>)>,
    ) {
        let Some(v) = r.table.and_then(|t| self.shadows.get(t)?.1) else {
            return;
        };
        if let (Some(Value::Int(n)), Some(Value::Blob(b))) = (r.values.first(), r.values.get(1)) {
            nodes.push(((v, *n), b.to_vec()));
        }
    }

    /// Rows of R*Tree virtual tables, decoded from their `_node` blobs:
    /// node = depth u16 (root only) | n_cells u16 | cells; cell = rowid i64 |
    /// 2·dims coordinates (f32, or i32 for `rtree_i32`), all big-endian.
    /// Leaves are found by descending from node 1 `depth` levels.
    pub(super) fn rtree_rows(&self, nodes: &HashMap<(usize, i64), Vec<u8>>) -> Vec<RecoveredRow> {
        let mut out = Vec::new();
        for (v, t) in self.tables.iter().enumerate() {
            let Some(module) = t.module.as_deref().filter(|m| m.starts_with("rtree")) else {
                continue;
            };
            let dims = t.columns.len().saturating_sub(1) / 2;
            let cell = 8 + 8 * dims;
            let Some(root) = nodes.get(&(v, 1)) else {
                continue;
            };
            let depth = crate::be_u16_at(root, 0).unwrap_or(0);
            let mut level = vec![1i64];
            for _ in 0..depth {
                let mut next = Vec::new();
                for n in &level {
                    let Some(b) = nodes.get(&(v, *n)) else {
                        continue;
                    };
                    let cnt = usize::from(crate::be_u16_at(b, 2).unwrap_or(0));
                    for i in 0..cnt {
                        if let Some(c) = b.get(4 + i * cell..4 + i * cell + 8) {
                            next.push(i64::from_be_bytes(c.try_into().unwrap_or([0; 8])));
                        }
                    }
                }
                level = next;
                if level.len() > nodes.len() * 64 {
                    break;
                }
            }
            for n in level {
                let Some(b) = nodes.get(&(v, n)) else {
                    continue;
                };
                let cnt = usize::from(crate::be_u16_at(b, 2).unwrap_or(0));
                for i in 0..cnt {
                    let at = 4 + i * cell;
                    let Some(c) = b.get(at..at + cell) else { break };
                    let id = i64::from_be_bytes(
                        c.get(..8).and_then(|x| x.try_into().ok()).unwrap_or([0; 8]),
                    );
                    let mut vals = vec![OwnedValue::Int(id)];
                    for k in 0..2 * dims {
                        let w = crate::be_u32_at(c, 8 + 4 * k).unwrap_or(0);
                        vals.push(if module == "rtree_i32" {
                            OwnedValue::Int(i64::from(w as i32))
                        } else {
                            OwnedValue::Real(f64::from(f32::from_bits(w)))
                        });
                    }
                    out.push(RecoveredRow {
                        table: Some(v),
                        rowid: Some(id),
                        values: vals,
                        status: RowStatus::Live,
                        page_no: PageNo(0),
                        offset: at,
                        confidence: 1.0,
                        raw: None,
                        rowid_inferred: false,
                        chain_break: None,
                        reachable: true,
                        lost: 0,
                    });
                }
            }
        }
        out
    }
}
