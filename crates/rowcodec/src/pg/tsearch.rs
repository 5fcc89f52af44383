//! `tsvector` and `tsquery` as `tsvectorout` / `tsqueryout` print them
//! (`src/backend/utils/adt/tsvector.c`, `tsquery.c`; layouts from
//! `src/include/tsearch/ts_type.h`).
//!
//! ```text
//! tsvector payload: i32 size | WordEntry[size] (u32: haspos:1 len:11 pos:20, low bit first)
//!                   | lexeme bytes ... each entry with positions is followed, at
//!                   SHORTALIGN(pos + len) from the lexemes' start, by
//!                   u16 npos | u16 WordEntryPos[npos] (weight:2 high bits, position:14)
//! tsquery payload:  i32 size | QueryItem[size] (12 bytes each, prefix order) | operand strings
//!   operand  (type 1): i8 type | u8 weight | bool prefix | pad | i32 valcrc | u32 length:12 distance:20
//!   operator (type 2): i8 type | i8 oper (1 NOT, 2 AND, 3 OR, 4 PHRASE) | i16 distance | u32 left
//! ```

use super::bytes::{Cursor, utf8};
use super::{Error, MAX_DEPTH};

const TSV: &str = "tsvectorout";
const TSQ: &str = "tsqueryout";

/// Appends a lexeme quoted as both output functions do: `'`, with `'` and
/// `\` doubled.
fn quoted(lexeme: &str, out: &mut String) {
    out.push('\'');
    for c in lexeme.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

fn corrupt(func: &'static str, offset: usize, what: &'static str, found: i64) -> Error {
    Error::Corrupt {
        func,
        offset,
        what,
        found,
    }
}

/// `tsvectorout`.
pub(crate) fn write_tsvector(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, TSV);
    let size = c.i32()?;
    let n = usize::try_from(size).map_err(|_| corrupt(TSV, 0, "negative size", size.into()))?;
    let entries_len = n
        .checked_mul(4)
        .ok_or_else(|| corrupt(TSV, 0, "size", size.into()))?;
    let entries = c.take(entries_len)?;
    let str_start = c.pos();
    let strs = d.get(str_start..).unwrap_or_default();
    for (i, e) in entries.chunks_exact(4).enumerate() {
        let w = u32::from_le_bytes(<[u8; 4]>::try_from(e).unwrap_or_default());
        let haspos = w & 1 == 1;
        let len = ((w >> 1) & 0x7ff) as usize;
        let pos = (w >> 12) as usize;
        let at = str_start.saturating_add(i.saturating_mul(4));
        let lex = pos
            .checked_add(len)
            .and_then(|end| strs.get(pos..end))
            .ok_or_else(|| corrupt(TSV, at, "lexeme outside the value", pos as i64))?;
        if i > 0 {
            out.push(' ');
        }
        quoted(utf8(lex, TSV)?, out);
        if haspos {
            write_positions(strs, pos.saturating_add(len), str_start, out)?;
        }
    }
    Ok(())
}

/// The `:1A,3` position list that follows a lexeme (`end`: where its bytes
/// end, from the lexemes' start at `base` in the datum).
fn write_positions(strs: &[u8], end: usize, base: usize, out: &mut String) -> Result<(), Error> {
    let at = super::bytes::align_up(end, 2);
    let mut c = Cursor::new(strs.get(at..).unwrap_or_default(), TSV);
    let npos = c.u16().map_err(|_| Error::Truncated {
        func: TSV,
        offset: base.saturating_add(at),
        needed: 2,
        available: strs.len().saturating_sub(at),
    })?;
    if npos == 0 {
        return Ok(());
    }
    out.push(':');
    for k in 0..npos {
        let p = c.u16()?;
        if k > 0 {
            out.push(',');
        }
        out.push_str(&(p & 0x3fff).to_string());
        match p >> 14 {
            3 => out.push('A'),
            2 => out.push('B'),
            1 => out.push('C'),
            _ => {}
        }
    }
    Ok(())
}

/// One decoded `QueryItem`.
#[derive(Debug, Clone, Copy)]
enum Item {
    Operand {
        weight: u8,
        prefix: bool,
        length: usize,
        distance: usize,
    },
    Operator {
        oper: i8,
        distance: i16,
    },
}

/// `tsqueryout`.
pub(crate) fn write_tsquery(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, TSQ);
    let size = c.i32()?;
    let n = usize::try_from(size).map_err(|_| corrupt(TSQ, 0, "negative size", size.into()))?;
    if n == 0 {
        return Ok(());
    }
    let items_len = n
        .checked_mul(12)
        .ok_or_else(|| corrupt(TSQ, 0, "size", size.into()))?;
    let raw = c.take(items_len)?;
    let operands = d.get(c.pos()..).unwrap_or_default();
    let items = raw
        .chunks_exact(12)
        .enumerate()
        .map(|(i, b)| parse_item(b, 4usize.saturating_add(i.saturating_mul(12))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut q = Infix {
        items: &items,
        operands,
        next: 0,
    };
    let text = q.infix(-1, false, 0)?;
    out.push_str(&text);
    Ok(())
}

fn parse_item(b: &[u8], at: usize) -> Result<Item, Error> {
    let mut c = Cursor::new(b, TSQ);
    let ty = c.u8()?;
    match ty {
        1 => {
            let weight = c.u8()?;
            let prefix = c.u8()? != 0;
            c.take(1)?;
            c.i32()?; // valcrc
            let w = c.u32()?;
            Ok(Item::Operand {
                weight,
                prefix,
                length: (w & 0xfff) as usize,
                distance: (w >> 12) as usize,
            })
        }
        2 => {
            let oper = i8::from_le_bytes([c.u8()?]);
            let distance = c.i16()?;
            Ok(Item::Operator { oper, distance })
        }
        _ => Err(corrupt(TSQ, at, "query item type", ty.into())),
    }
}

/// `infix()`'s walk over the items in prefix order.
struct Infix<'a> {
    items: &'a [Item],
    operands: &'a [u8],
    next: usize,
}

/// `tsquery_op_priorities`: NOT 4, PHRASE 3, AND 2, OR 1.
fn priority(oper: i8) -> i32 {
    match oper {
        1 => 4,
        4 => 3,
        2 => 2,
        _ => 1,
    }
}

impl Infix<'_> {
    fn infix(&mut self, parent: i32, right_phrase: bool, depth: usize) -> Result<String, Error> {
        if depth > MAX_DEPTH.saturating_mul(16) {
            return Err(Error::TooDeep {
                limit: MAX_DEPTH.saturating_mul(16),
            });
        }
        let at = 4usize.saturating_add(self.next.saturating_mul(12));
        let item = *self
            .items
            .get(self.next)
            .ok_or_else(|| corrupt(TSQ, at, "operator without operand", self.next as i64))?;
        self.next = self.next.saturating_add(1);
        let mut s = String::new();
        match item {
            Item::Operand {
                weight,
                prefix,
                length,
                distance,
            } => {
                let bytes = distance
                    .checked_add(length)
                    .and_then(|end| self.operands.get(distance..end))
                    .ok_or_else(|| {
                        corrupt(TSQ, at, "operand outside the value", distance as i64)
                    })?;
                quoted(utf8(bytes, TSQ)?, &mut s);
                if weight != 0 || prefix {
                    s.push(':');
                    if prefix {
                        s.push('*');
                    }
                    for (bit, ch) in [(8, 'A'), (4, 'B'), (2, 'C'), (1, 'D')] {
                        if weight & bit != 0 {
                            s.push(ch);
                        }
                    }
                }
            }
            Item::Operator { oper: 1, .. } => {
                let p = priority(1);
                let arg = self.infix(p, false, depth.saturating_add(1))?;
                if p < parent {
                    s.push_str("( ");
                }
                s.push('!');
                s.push_str(&arg);
                if p < parent {
                    s.push_str(" )");
                }
            }
            Item::Operator { oper, distance } => {
                let p = priority(oper);
                let paren = p < parent || (oper == 4 && right_phrase);
                let right = self.infix(p, oper == 4, depth.saturating_add(1))?;
                let left = self.infix(p, false, depth.saturating_add(1))?;
                if paren {
                    s.push_str("( ");
                }
                s.push_str(&left);
                match oper {
                    3 => s.push_str(" | "),
                    2 => s.push_str(" & "),
                    4 if distance == 1 => s.push_str(" <-> "),
                    4 => s.push_str(&format!(" <{distance}> ")),
                    _ => return Err(corrupt(TSQ, at, "operator", oper.into())),
                }
                s.push_str(&right);
                if paren {
                    s.push_str(" )");
                }
            }
        }
        Ok(s)
    }
}
