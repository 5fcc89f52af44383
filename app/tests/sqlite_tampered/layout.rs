//! The test's own reader of an (unmanipulated) SQLite file's layout, written
//! from the file format spec independently of `sqlite-pages`: which pages
//! each b-tree has, which leaf cell holds which rowid, overflow chains,
//! freeblocks and the freelist. The manipulations use it to find the bytes
//! to edit and the rows they touch.

use std::collections::BTreeMap;

pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
/// SQLite varint: (value, length).
pub fn varint(b: &[u8], at: usize) -> (u64, usize) {
    let mut v = 0u64;
    for i in 0..8 {
        let x = b[at + i];
        v = (v << 7) | u64::from(x & 0x7f);
        if x < 0x80 {
            return (v, i + 1);
        }
    }
    ((v << 8) | u64::from(b[at + 8]), 9)
}

pub struct Cell {
    pub page: u32,
    pub off: usize,
    pub overflow: Vec<u32>,
}

pub struct TableLayout {
    pub kind: String,
    pub root: u32,
    pub interior: Vec<u32>,
    pub leaves: Vec<u32>,
    /// rowid → cell (table trees only).
    pub cells: BTreeMap<i64, Cell>,
}

pub struct Layout {
    pub page_size: usize,
    pub tables: BTreeMap<String, TableLayout>,
    pub free_trunks: Vec<u32>,
    pub free_leaves: Vec<u32>,
}

impl Layout {
    /// `roots`: sqlite3's `type|name|rootpage` lines.
    pub fn read(bytes: &[u8], roots: &str) -> Self {
        let ps = match u16_at(bytes, 16) {
            1 => 65536,
            n => n,
        };
        let mut l = Layout {
            page_size: ps,
            tables: BTreeMap::new(),
            free_trunks: Vec::new(),
            free_leaves: Vec::new(),
        };
        for line in roots.lines() {
            let f: Vec<&str> = line.split('|').collect();
            let mut t = TableLayout {
                kind: f[0].to_string(),
                root: f[2].parse().unwrap(),
                interior: Vec::new(),
                leaves: Vec::new(),
                cells: BTreeMap::new(),
            };
            l.walk(bytes, t.root, &mut t);
            l.tables.insert(f[1].to_string(), t);
        }
        let mut trunk = u32_at(bytes, 32);
        while trunk != 0 {
            let at = l.page_off(trunk);
            l.free_trunks.push(trunk);
            let n = u32_at(bytes, at + 4) as usize;
            for i in 0..n {
                l.free_leaves.push(u32_at(bytes, at + 8 + 4 * i));
            }
            trunk = u32_at(bytes, at);
        }
        l
    }

    pub fn page_off(&self, p: u32) -> usize {
        (p as usize - 1) * self.page_size
    }
    pub fn hdr_off(&self, p: u32) -> usize {
        if p == 1 { 100 } else { 0 }
    }
    fn page<'b>(&self, bytes: &'b [u8], p: u32) -> &'b [u8] {
        &bytes[self.page_off(p)..self.page_off(p) + self.page_size]
    }
    pub fn first_freeblock(&self, bytes: &[u8], p: u32) -> usize {
        u16_at(self.page(bytes, p), self.hdr_off(p) + 1)
    }
    /// The cell offsets of page `p`, in pointer-array order.
    pub fn cell_offsets(&self, bytes: &[u8], p: u32) -> Vec<usize> {
        let pg = self.page(bytes, p);
        let h = self.hdr_off(p);
        let n = u16_at(pg, h + 3);
        let arr = h + if pg[h] & 0x08 != 0 { 8 } else { 12 };
        (0..n).map(|i| u16_at(pg, arr + 2 * i)).collect()
    }

    fn walk(&self, bytes: &[u8], p: u32, t: &mut TableLayout) {
        let pg = self.page(bytes, p);
        let h = self.hdr_off(p);
        match pg[h] {
            0x05 | 0x02 => {
                t.interior.push(p);
                for off in self.cell_offsets(bytes, p) {
                    self.walk(bytes, u32_at(pg, off), t);
                }
                self.walk(bytes, u32_at(pg, h + 8), t);
            }
            0x0D => {
                t.leaves.push(p);
                for off in self.cell_offsets(bytes, p) {
                    let (len, a) = varint(pg, off);
                    let (rowid, b) = varint(pg, off + a);
                    let local = self.local_len(len as usize);
                    let mut overflow = Vec::new();
                    if local < len as usize {
                        let mut next = u32_at(pg, off + a + b + local);
                        while next != 0 {
                            overflow.push(next);
                            next = u32_at(bytes, self.page_off(next));
                        }
                    }
                    t.cells.insert(
                        rowid as i64,
                        Cell {
                            page: p,
                            off,
                            overflow,
                        },
                    );
                }
            }
            0x0A => t.leaves.push(p),
            x => panic!("page {p}: type {x:#x}"),
        }
    }

    /// Local payload bytes of a table leaf cell (reserved space is 0 here).
    fn local_len(&self, p: usize) -> usize {
        let u = self.page_size;
        let x = u - 35;
        if p <= x {
            return p;
        }
        let m = (u - 12) * 32 / 255 - 23;
        let k = m + (p - m) % (u - 4);
        if k <= x { k } else { m }
    }

    /// Offset in page `p` of the serial-type byte of column `col` of the
    /// table leaf cell at `off` (the column's type must take one byte).
    pub fn serial_type_at(&self, bytes: &[u8], p: u32, off: usize, col: usize) -> usize {
        let pg = self.page(bytes, p);
        let (_, a) = varint(pg, off);
        let (_, b) = varint(pg, off + a);
        let rec = off + a + b;
        let (_, h) = varint(pg, rec);
        let mut at = rec + h;
        for _ in 0..col {
            let (_, n) = varint(pg, at);
            at += n;
        }
        assert!(pg[at] < 0x80, "multi-byte serial type");
        at
    }

    /// Rewrites the `rootpage` of `name`'s `sqlite_master` row in place
    /// (the value is truncated to the width the record gives it).
    pub fn set_master_root(&self, bytes: &mut [u8], name: &str, root: i64) {
        let p1 = self.page(bytes, 1).to_vec();
        for off in self.cell_offsets(&p1, 1) {
            let (_, a) = varint(&p1, off);
            let (_, b) = varint(&p1, off + a);
            let rec = off + a + b;
            let (hl, h) = varint(&p1, rec);
            let mut types = Vec::new();
            let mut at = rec + h;
            while at < rec + hl as usize {
                let (t, n) = varint(&p1, at);
                types.push(t);
                at += n;
            }
            let len = |t: u64| match t {
                0 | 8 | 9 => 0,
                1..=4 => t as usize,
                5 => 6,
                6 | 7 => 8,
                t if t >= 13 && t % 2 == 1 => (t as usize - 13) / 2,
                t => (t as usize - 12) / 2,
            };
            let mut body = rec + hl as usize;
            let name_at = body + len(types[0]);
            let name_here = &p1[name_at..name_at + len(types[1])];
            let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            if name_here != name.as_bytes() && name_here != utf16.as_slice() {
                continue;
            }
            for t in &types[..3] {
                body += len(*t);
            }
            let w = len(types[3]);
            assert!(w > 0, "rootpage stored as a constant");
            let be = root.to_be_bytes();
            bytes[body..body + w].copy_from_slice(&be[8 - w..]);
            return;
        }
        panic!("no sqlite_master row for {name}");
    }
}

/// Where one table leaf cell's record lies in its page (page offsets):
/// the cell's span, each column's serial-type bytes and value bytes (local
/// records only).
#[allow(dead_code)]
pub struct RecordSpans {
    pub cell: (usize, usize),
    pub types: Vec<(usize, usize)>,
    pub values: Vec<(usize, usize)>,
    pub codes: Vec<u64>,
}

#[allow(dead_code)]
pub fn content_len(t: u64) -> usize {
    match t {
        0 | 8 | 9 | 10 | 11 => 0,
        1..=4 => t as usize,
        5 => 6,
        6 | 7 => 8,
        t => (t as usize - 12) / 2,
    }
}

#[allow(dead_code)]
impl Layout {
    /// The spans of the table leaf cell at `off` of page `p`; `None` when
    /// its payload spills to overflow pages.
    pub fn record_spans(&self, bytes: &[u8], p: u32, off: usize) -> Option<RecordSpans> {
        let pg = self.page(bytes, p);
        let (len, a) = varint(pg, off);
        let (_, b) = varint(pg, off + a);
        if self.local_len(len as usize) < len as usize {
            return None;
        }
        let rec = off + a + b;
        let (hl, h) = varint(pg, rec);
        let mut at = rec + h;
        let mut body = rec + hl as usize;
        let mut s = RecordSpans {
            cell: (off, rec + len as usize),
            types: Vec::new(),
            values: Vec::new(),
            codes: Vec::new(),
        };
        while at < rec + hl as usize {
            let (t, n) = varint(pg, at);
            s.types.push((at, at + n));
            s.codes.push(t);
            s.values.push((body, body + content_len(t)));
            body += content_len(t);
            at += n;
        }
        Some(s)
    }

    /// The spans of every live cell of page `p` and the end of its cell
    /// pointer array (bytes before it are the page header and pointers).
    pub fn live_spans(&self, bytes: &[u8], p: u32) -> (usize, Vec<(usize, usize)>) {
        let pg = self.page(bytes, p);
        let h = self.hdr_off(p);
        let n = u16_at(pg, h + 3);
        let arr_end = h + if pg[h] & 0x08 != 0 { 8 } else { 12 } + 2 * n;
        let spans = self
            .cell_offsets(bytes, p)
            .into_iter()
            .map(|off| {
                let (len, a) = varint(pg, off);
                let (_, b) = varint(pg, off + a);
                let local = self.local_len(len as usize);
                let extra = if local < len as usize { 4 } else { 0 };
                (off, off + a + b + local + extra)
            })
            .collect();
        (arr_end, spans)
    }
}
