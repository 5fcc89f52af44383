//! Arrays (`src/include/utils/array.h`, `arrayfuncs.c` `array_out`).
//!
//! ```text
//! payload (after the 4-byte varlena header, whose bytes count in offsets):
//!   [ndim i32][dataoffset i32: 0 = no NULLs][elemtype u32]
//!   [dims i32 × ndim][lbound i32 × ndim][null bitmap: ceil(nitems/8) if dataoffset != 0]
//!   padding to MAXALIGN (8) from the array start, then the elements:
//!   non-NULL elements only, each aligned to the element's typalign,
//!   varlena elements with their own (normally 4-byte) header.
//! Null bitmap bit i (LSB first) set = element i is NOT NULL.
//! ```

use super::bytes::{Cursor, align_up};
use super::{Error, TypeCatalog, TypeInfo, check_text_len, write_datum};

const FUNC: &str = "array_out";
/// `MAXDIM` in the server.
const MAXDIM: usize = 6;
/// Bytes of the varlena header that precedes the payload we are given.
const VARHDRSZ: usize = 4;

/// Where each element's bytes are and how to print them.
struct Elements<'a> {
    data: Cursor<'a>,
    /// `typdelim` of the element type: `;` for box, `,` for all others.
    delim: u8,
    bitmap: Option<&'a [u8]>,
    elem: &'a TypeInfo,
}

/// The fixed part of an array payload.
struct Header {
    ndim: usize,
    dataoffset: i32,
    /// `elemtype` as stored (used when the array type has no `typelem`).
    elemtype: u32,
    dims: [usize; MAXDIM],
    lbounds: [i32; MAXDIM],
    /// Product of the dimensions (0 for a zero-dimension array).
    nitems: usize,
}

impl Header {
    /// Reads `ndim`, `dataoffset`, `elemtype`, the dimensions and lower bounds.
    fn read(c: &mut Cursor<'_>) -> Result<Self, Error> {
        let ndim_raw = c.i32()?;
        let ndim = usize::try_from(ndim_raw)
            .ok()
            .filter(|n| *n <= MAXDIM)
            .ok_or(Error::Corrupt {
                func: FUNC,
                offset: 0,
                what: "bad number of dimensions",
                found: i64::from(ndim_raw),
            })?;
        let dataoffset = c.i32()?;
        let elemtype = c.u32()?;
        let mut dims = [0usize; MAXDIM];
        let mut lbounds = [0i32; MAXDIM];
        let mut nitems: usize = if ndim == 0 { 0 } else { 1 };
        for dim in dims.iter_mut().take(ndim) {
            let at = c.pos();
            let v = c.i32()?;
            *dim =
                usize::try_from(v).map_err(|_| corrupt(at, "negative dimension", i64::from(v)))?;
            nitems = nitems
                .checked_mul(*dim)
                .ok_or_else(|| corrupt(at, "too many elements", i64::from(v)))?;
        }
        for lb in lbounds.iter_mut().take(ndim) {
            *lb = c.i32()?;
        }
        Ok(Self {
            ndim,
            dataoffset,
            elemtype,
            dims,
            lbounds,
            nitems,
        })
    }

    fn dims(&self) -> &[usize] {
        self.dims.get(..self.ndim).unwrap_or_default()
    }

    fn lbounds(&self) -> &[i32] {
        self.lbounds.get(..self.ndim).unwrap_or_default()
    }
}

/// `array_out` of an array payload; `info` is the array type.
pub(crate) fn write(
    cat: &dyn TypeCatalog,
    info: &TypeInfo,
    d: &[u8],
    out: &mut String,
    depth: usize,
) -> Result<(), Error> {
    let mut c = Cursor::new(d, FUNC);
    let h = Header::read(&mut c)?;
    if h.nitems == 0 {
        out.push_str("{}");
        return Ok(());
    }
    let (bitmap, data) = locate_elements(&mut c, d, &h)?;
    let elem_oid = if info.typelem != 0 {
        info.typelem
    } else {
        h.elemtype
    };
    let elem = cat
        .type_info(elem_oid)
        .ok_or(Error::UnknownType { oid: elem_oid })?;
    let delim = if elem.typoutput == "box_out" {
        b';'
    } else {
        b','
    };
    let mut els = Elements {
        data: Cursor::new(data, FUNC),
        delim,
        bitmap,
        elem,
    };
    write_bounds(h.dims(), h.lbounds(), out);
    els.write_nested(cat, h.dims(), out, depth)
}

/// The null bitmap (if any) and the element data after the header, with the
/// element count bounded by the bytes there.
fn locate_elements<'a>(
    c: &mut Cursor<'a>,
    d: &'a [u8],
    h: &Header,
) -> Result<(Option<&'a [u8]>, &'a [u8]), Error> {
    let bitmap = if h.dataoffset != 0 {
        Some(c.take(h.nitems.div_ceil(8))?)
    } else {
        None
    };
    let data_start = if h.dataoffset != 0 {
        usize::try_from(h.dataoffset)
            .ok()
            .and_then(|o| o.checked_sub(VARHDRSZ))
            .filter(|o| *o >= c.pos() && *o <= d.len())
            .ok_or_else(|| corrupt(4, "bad dataoffset", i64::from(h.dataoffset)))?
    } else {
        align_up(c.pos().saturating_add(VARHDRSZ), 8).saturating_sub(VARHDRSZ)
    };
    let data = d.get(data_start..).unwrap_or_default();
    // Every non-NULL element takes at least one byte: bound the work.
    let max_items = data
        .len()
        .saturating_add(bitmap.map_or(0, |b| b.len().saturating_mul(8)));
    if h.nitems > max_items {
        return Err(corrupt(
            8,
            "more elements than bytes",
            i64::try_from(h.nitems).unwrap_or(i64::MAX),
        ));
    }
    Ok((bitmap, data))
}

/// The `[lb:ub]...=` prefix `array_out` prints when a lower bound is not 1.
fn write_bounds(dims: &[usize], lbounds: &[i32], out: &mut String) {
    if lbounds.iter().any(|&lb| lb != 1) {
        for (&dim, &lb) in dims.iter().zip(lbounds) {
            let ub = i64::from(lb)
                .saturating_add(i64::try_from(dim).unwrap_or(i64::MAX))
                .saturating_sub(1);
            out.push_str(&format!("[{lb}:{ub}]"));
        }
        out.push('=');
    }
}

fn corrupt(offset: usize, what: &'static str, found: i64) -> Error {
    Error::Corrupt {
        func: FUNC,
        offset,
        what,
        found,
    }
}

impl<'a> Elements<'a> {
    /// Prints all elements, nested in braces by `dims` (at least one
    /// element; the elements in row-major order).
    fn write_nested(
        &mut self,
        cat: &dyn TypeCatalog,
        dims: &[usize],
        out: &mut String,
        depth: usize,
    ) -> Result<(), Error> {
        let ndim = dims.len();
        let mut indx = [0usize; MAXDIM];
        let mut k = 0usize;
        let mut j = 0usize;
        out.push('{');
        loop {
            for _ in j..ndim.saturating_sub(1) {
                out.push('{');
            }
            self.write_one(cat, k, out, depth)?;
            check_text_len(out, FUNC)?;
            k = k.saturating_add(1);
            // Advance the index odometer, closing finished dimensions.
            let mut i = ndim;
            let mut done = true;
            while i > 0 {
                i -= 1;
                let (Some(ix), Some(&dim)) = (indx.get_mut(i), dims.get(i)) else {
                    break;
                };
                *ix = ix.saturating_add(1);
                if *ix < dim {
                    out.push(char::from(self.delim));
                    done = false;
                    break;
                }
                *ix = 0;
                out.push('}');
            }
            if done {
                break;
            }
            j = i;
        }
        Ok(())
    }
    /// Prints element `k` (quoted as `array_out` quotes), or `NULL`.
    fn write_one(
        &mut self,
        cat: &dyn TypeCatalog,
        k: usize,
        out: &mut String,
        depth: usize,
    ) -> Result<(), Error> {
        if let Some(bm) = self.bitmap {
            let byte = bm.get(k / 8).copied().unwrap_or(0);
            if byte & (1 << (k % 8)) == 0 {
                out.push_str("NULL");
                return Ok(());
            }
        }
        let align = match self.elem.typalign {
            b's' => 2,
            b'i' => 4,
            b'd' => 8,
            _ => 1,
        };
        self.data.align(align, 0)?;
        let bytes = match self.elem.typlen {
            n if n > 0 => self.data.take(usize::try_from(n).unwrap_or(0))?,
            -1 => self.varlena()?,
            -2 => {
                let at = self.data.pos();
                let rest = self.data.take(self.data.remaining())?;
                let n = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| corrupt(at, "unterminated cstring element", 0))?;
                // Step back to just past the NUL.
                self.data = Cursor::new(rest.get(n.saturating_add(1)..).unwrap_or_default(), FUNC);
                rest.get(..n).unwrap_or_default()
            }
            n => return Err(corrupt(0, "bad element typlen", i64::from(n))),
        };
        let mut text = String::new();
        write_datum(cat, self.elem.oid, -1, bytes, &mut text, depth)?;
        push_quoted(&text, self.delim, out);
        Ok(())
    }

    fn varlena(&mut self) -> Result<&'a [u8], Error> {
        let at = self.data.pos();
        let first = self.data.array::<1>()?[0];
        if first & 0x01 == 0x01 {
            let len = usize::from(first >> 1);
            if first == 0x01 || len == 0 {
                return Err(corrupt(
                    at,
                    "TOAST pointer inside an array",
                    i64::from(first),
                ));
            }
            self.data.take(len.saturating_sub(1))
        } else if first & 0x03 == 0 {
            let rest: [u8; 3] = self.data.array()?;
            let h = u32::from_le_bytes([first, rest[0], rest[1], rest[2]]);
            let len = usize::try_from(h >> 2).unwrap_or(0);
            if len < 4 {
                return Err(corrupt(at, "bad varlena length", i64::from(h)));
            }
            self.data.take(len.saturating_sub(4))
        } else {
            Err(corrupt(
                at,
                "compressed element inside an array",
                i64::from(first),
            ))
        }
    }
}

/// Quotes an element as `array_out` does: when empty, `NULL` in any case,
/// or containing `{`, `}`, the delimiter, `"`, `\` or whitespace; `"` and `\` are
/// backslash-escaped inside the quotes.
fn push_quoted(s: &str, delim: u8, out: &mut String) {
    let need = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.bytes().any(|b| {
            b == delim
                || matches!(
                    b,
                    b'{' | b'}' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
                )
        });
    if !need {
        out.push_str(s);
        return;
    }
    out.push('"');
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
}
