//! `jsonpath` as `jsonpath_out` prints it (`src/backend/utils/adt/jsonpath.c`,
//! `printJsonPathItem`; item codes from `src/include/utils/jsonpath.h`).
//!
//! ```text
//! payload: u32 header (0x01 version | 0x80000000 lax) | items ...
//! item at pos (int-aligned from the data start):
//!   u8 type | pad to 4 | i32 next (relative to pos, 0 = none) | content
//!   string/key/variable: i32 len | bytes | NUL      numeric: a numeric varlena
//!   bool: 1 byte    binary ops: i32 left | i32 right    unary: i32 arg
//!   [subscripts]: i32 n | (i32 from, i32 to)[n]     **{a to b}: u32 first | u32 last
//!   like_regex: u32 flags | i32 expr | i32 patternlen | pattern bytes
//! ```
//! Every offset is relative to the item that holds it.

use super::bytes::{Cursor, align_up, utf8};
use super::jsonb::escape_json;
use super::{Error, MAX_DEPTH};

const F: &str = "jsonpath_out";
const LAX: u32 = 0x8000_0000;

fn corrupt(offset: usize, what: &'static str, found: i64) -> Error {
    Error::Corrupt {
        func: F,
        offset,
        what,
        found,
    }
}

/// `jsonpath_out`.
pub(crate) fn write(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, F);
    let header = c.u32()?;
    if header & !LAX != 1 {
        return Err(corrupt(0, "jsonpath version", i64::from(header)));
    }
    if header & LAX == 0 {
        out.push_str("strict ");
    }
    let data = d.get(4..).unwrap_or_default();
    Printer { data }.item(0, false, true, out, 0)
}

/// One item's fixed part.
struct Item {
    ty: u8,
    pos: usize,
    next: i32,
    /// Where the content starts.
    content: usize,
}

struct Printer<'a> {
    data: &'a [u8],
}

/// `operationPriority`.
fn priority(ty: u8) -> i32 {
    match ty {
        5 => 0,
        4 => 1,
        8..=13 | 41 => 2,
        14 | 15 => 3,
        16..=18 => 4,
        19 | 20 => 5,
        _ => 6,
    }
}

/// `jspOperationName` for the binary operators.
fn op_name(ty: u8) -> Option<&'static str> {
    Some(match ty {
        4 => "&&",
        5 => "||",
        8 => "==",
        9 => "!=",
        10 => "<",
        11 => ">",
        12 => "<=",
        13 => ">=",
        14 => "+",
        15 => "-",
        16 => "*",
        17 => "/",
        18 => "%",
        41 => "starts with",
        _ => return None,
    })
}

/// Item methods printed as `.name()` (no argument).
fn method(ty: u8) -> Option<&'static str> {
    Some(match ty {
        31 => ".type()",
        32 => ".size()",
        33 => ".abs()",
        34 => ".floor()",
        35 => ".ceiling()",
        36 => ".double()",
        38 => ".keyvalue()",
        43 => ".bigint()",
        44 => ".boolean()",
        45 => ".date()",
        47 => ".integer()",
        48 => ".number()",
        49 => ".string()",
        55 => ".lower()",
        56 => ".upper()",
        60 => ".initcap()",
        _ => return None,
    })
}

/// Item methods with one optional argument: `.name(arg)`.
fn method_arg(ty: u8) -> Option<&'static str> {
    Some(match ty {
        37 => ".datetime(",
        50 => ".time(",
        51 => ".time_tz(",
        52 => ".timestamp(",
        53 => ".timestamp_tz(",
        57 => ".ltrim(",
        58 => ".rtrim(",
        59 => ".btrim(",
        _ => return None,
    })
}

impl Printer<'_> {
    fn cursor_at(&self, pos: usize) -> Cursor<'_> {
        Cursor::new(self.data.get(pos..).unwrap_or_default(), F)
    }

    fn i32_at(&self, pos: usize) -> Result<i32, Error> {
        self.cursor_at(pos).i32().map_err(|_| Error::Truncated {
            func: F,
            offset: pos.saturating_add(4),
            needed: 4,
            available: self.data.len().saturating_sub(pos),
        })
    }

    fn read(&self, pos: usize) -> Result<Item, Error> {
        let ty = *self
            .data
            .get(pos)
            .ok_or_else(|| corrupt(pos.saturating_add(4), "item outside the value", pos as i64))?;
        let at = align_up(pos.saturating_add(1), 4);
        let next = self.i32_at(at)?;
        Ok(Item {
            ty,
            pos,
            next,
            content: at.saturating_add(4),
        })
    }

    /// The item at `base + rel` (`rel` an offset stored in the item at `base`).
    fn rel(&self, base: usize, rel: i32) -> Result<usize, Error> {
        usize::try_from(rel)
            .ok()
            .and_then(|r| base.checked_add(r))
            .filter(|&p| p < self.data.len())
            .ok_or_else(|| corrupt(base.saturating_add(4), "item offset", rel.into()))
    }

    fn string(&self, pos: usize) -> Result<&str, Error> {
        let len = self.i32_at(pos)?;
        let n = usize::try_from(len).map_err(|_| corrupt(pos, "string length", len.into()))?;
        let s = pos
            .checked_add(4)
            .and_then(|a| Some((a, a.checked_add(n)?)))
            .and_then(|(a, b)| self.data.get(a..b))
            .ok_or_else(|| corrupt(pos, "string outside the value", len.into()))?;
        utf8(s, F)
    }

    fn child(&self, it: &Item, field: usize) -> Result<i32, Error> {
        self.i32_at(it.content.saturating_add(field.saturating_mul(4)))
    }

    /// `printJsonPathItem(buf, v, inKey, printBracketes)`.
    fn item(
        &self,
        pos: usize,
        in_key: bool,
        brackets: bool,
        out: &mut String,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH.saturating_mul(16) {
            return Err(Error::TooDeep {
                limit: MAX_DEPTH.saturating_mul(16),
            });
        }
        let d = depth.saturating_add(1);
        let it = self.read(pos)?;
        match it.ty {
            0 => out.push_str("null"),
            1 => escape_json(self.string(it.content)?, out),
            2 => self.numeric(&it, out)?,
            3 => {
                let b = self.data.get(it.content).copied().unwrap_or(0);
                out.push_str(if b != 0 { "true" } else { "false" });
            }
            t if op_name(t).is_some() => self.binary(&it, brackets, out, d)?,
            6 | 7 | 29 | 30 => {
                let (open, close) = match it.ty {
                    6 => ("!(", ")"),
                    7 => ("(", ") is unknown"),
                    29 => ("?(", ")"),
                    _ => ("exists (", ")"),
                };
                out.push_str(open);
                let arg = self.rel(it.pos, self.child(&it, 0)?)?;
                self.item(arg, false, false, out, d)?;
                out.push_str(close);
            }
            19 | 20 => {
                if brackets {
                    out.push('(');
                }
                out.push(if it.ty == 19 { '+' } else { '-' });
                let arg = self.rel(it.pos, self.child(&it, 0)?)?;
                let inner = self.read(arg)?.ty;
                self.item(arg, false, priority(inner) <= priority(it.ty), out, d)?;
                if brackets {
                    out.push(')');
                }
            }
            21 => out.push_str("[*]"),
            22 => {
                if in_key {
                    out.push('.');
                }
                out.push('*');
            }
            23 => self.subscripts(&it, out, d)?,
            24 => self.any(&it, in_key, out)?,
            25 => {
                if in_key {
                    out.push('.');
                }
                escape_json(self.string(it.content)?, out);
            }
            26 => out.push('@'),
            27 => out.push('$'),
            28 => {
                out.push('$');
                escape_json(self.string(it.content)?, out);
            }
            40 => out.push_str("last"),
            42 => self.like_regex(&it, brackets, out, d)?,
            46 | 54 | 61 => self.two_args(&it, out, d)?,
            t => {
                if let Some(m) = method(t) {
                    out.push_str(m);
                } else if let Some(m) = method_arg(t) {
                    out.push_str(m);
                    let arg = self.child(&it, 0)?;
                    if arg != 0 {
                        self.item(self.rel(it.pos, arg)?, false, false, out, d)?;
                    }
                    out.push(')');
                } else {
                    return Err(corrupt(it.pos.saturating_add(4), "item type", t.into()));
                }
            }
        }
        if it.next > 0 {
            let next = self.rel(it.pos, it.next)?;
            self.item(next, true, true, out, d)?;
        }
        Ok(())
    }

    fn numeric(&self, it: &Item, out: &mut String) -> Result<(), Error> {
        let v = self.data.get(it.content..).unwrap_or_default();
        let payload = super::jsonb::varlena_payload(v)
            .ok_or_else(|| corrupt(it.content.saturating_add(4), "numeric varlena", 0))?;
        if it.next > 0 {
            out.push('(');
        }
        super::numeric::write(payload, out, F)?;
        if it.next > 0 {
            out.push(')');
        }
        Ok(())
    }

    fn binary(&self, it: &Item, brackets: bool, out: &mut String, d: usize) -> Result<(), Error> {
        if brackets {
            out.push('(');
        }
        let left = self.rel(it.pos, self.child(it, 0)?)?;
        let lt = self.read(left)?.ty;
        self.item(left, false, priority(lt) <= priority(it.ty), out, d)?;
        out.push(' ');
        out.push_str(op_name(it.ty).unwrap_or("?"));
        out.push(' ');
        let right = self.rel(it.pos, self.child(it, 1)?)?;
        let rt = self.read(right)?.ty;
        self.item(right, false, priority(rt) <= priority(it.ty), out, d)?;
        if brackets {
            out.push(')');
        }
        Ok(())
    }

    fn subscripts(&self, it: &Item, out: &mut String, d: usize) -> Result<(), Error> {
        let n = self.child(it, 0)?;
        let n = usize::try_from(n).map_err(|_| corrupt(it.content, "subscripts", n.into()))?;
        out.push('[');
        for i in 0..n {
            if i > 0 {
                out.push(',');
            }
            let field = i.saturating_mul(2).saturating_add(1);
            let from = self.child(it, field)?;
            let to = self.child(it, field.saturating_add(1))?;
            self.item(self.rel(it.pos, from)?, false, false, out, d)?;
            if to != 0 {
                out.push_str(" to ");
                self.item(self.rel(it.pos, to)?, false, false, out, d)?;
            }
        }
        out.push(']');
        Ok(())
    }

    fn any(&self, it: &Item, in_key: bool, out: &mut String) -> Result<(), Error> {
        let first = self.child(it, 0)? as u32;
        let last = self.child(it, 1)? as u32;
        if in_key {
            out.push('.');
        }
        let s = match (first, last) {
            (0, u32::MAX) => "**".to_string(),
            (f, l) if f == l && f == u32::MAX => "**{last}".to_string(),
            (f, l) if f == l => format!("**{{{f}}}"),
            (u32::MAX, l) => format!("**{{last to {l}}}"),
            (f, u32::MAX) => format!("**{{{f} to last}}"),
            (f, l) => format!("**{{{f} to {l}}}"),
        };
        out.push_str(&s);
        Ok(())
    }

    fn like_regex(
        &self,
        it: &Item,
        brackets: bool,
        out: &mut String,
        d: usize,
    ) -> Result<(), Error> {
        let flags = self.child(it, 0)? as u32;
        let expr = self.rel(it.pos, self.child(it, 1)?)?;
        if brackets {
            out.push('(');
        }
        let et = self.read(expr)?.ty;
        self.item(expr, false, priority(et) <= priority(it.ty), out, d)?;
        out.push_str(" like_regex ");
        escape_json(self.string(it.content.saturating_add(8))?, out);
        if flags != 0 {
            out.push_str(" flag \"");
            for (bit, ch) in [(1, 'i'), (2, 's'), (4, 'm'), (8, 'x'), (16, 'q')] {
                if flags & bit != 0 {
                    out.push(ch);
                }
            }
            out.push('"');
        }
        if brackets {
            out.push(')');
        }
        Ok(())
    }

    /// `.decimal(p,s)`, `.replace(a,b)`, `.split_part(a,b)`.
    fn two_args(&self, it: &Item, out: &mut String, d: usize) -> Result<(), Error> {
        out.push_str(match it.ty {
            46 => ".decimal(",
            54 => ".replace(",
            _ => ".split_part(",
        });
        let a = self.child(it, 0)?;
        let b = self.child(it, 1)?;
        if a != 0 {
            self.item(self.rel(it.pos, a)?, false, false, out, d)?;
        }
        if b != 0 {
            out.push(',');
            self.item(self.rel(it.pos, b)?, false, false, out, d)?;
        }
        out.push(')');
        Ok(())
    }
}
