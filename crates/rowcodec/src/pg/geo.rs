//! Geometric types (`src/backend/utils/adt/geo_ops.c`) and the catalog
//! vector types `int2vector` / `oidvector`.
//!
//! ```text
//! point   [x f64][y f64]                       "(x,y)"
//! lseg    [p1][p2]                             "[(x1,y1),(x2,y2)]"
//! box     [high][low]                          "(x1,y1),(x2,y2)"
//! line    [A f64][B f64][C f64]                "{A,B,C}"
//! circle  [center][radius f64]                 "<(x,y),r>"
//! path    varlena [npts i32][closed i32][pad i32][points]          "((..),..)" or "[(..),..]"
//! polygon varlena [npts i32][boundbox 4×f64][points]               "((..),..)"
//! int2vector / oidvector: 1-D array [ndim][dataoffset][elemtype][dim1][lbound1][values]  "1 2 3"
//! ```
//! Coordinates print as `float8out` prints them.

use super::Error;
use super::bytes::{Cursor, fixed};
use super::float::write_float8;

fn f64_at(c: &mut Cursor<'_>) -> Result<[u8; 8], Error> {
    c.array::<8>()
}

fn push_pair(c: &mut Cursor<'_>, out: &mut String) -> Result<(), Error> {
    let x = f64_at(c)?;
    let y = f64_at(c)?;
    out.push('(');
    write_float8(&x, out)?;
    out.push(',');
    write_float8(&y, out)?;
    out.push(')');
    Ok(())
}

fn push_points(c: &mut Cursor<'_>, n: usize, out: &mut String) -> Result<(), Error> {
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        push_pair(c, out)?;
    }
    Ok(())
}

fn exact<'a>(d: &'a [u8], n: usize, func: &'static str) -> Result<Cursor<'a>, Error> {
    if d.len() != n {
        return Err(Error::BadLength {
            func,
            expected: n,
            found: d.len(),
        });
    }
    Ok(Cursor::new(d, func))
}

/// `point_out`.
pub(crate) fn write_point(d: &[u8], out: &mut String) -> Result<(), Error> {
    push_pair(&mut exact(d, 16, "point_out")?, out)
}

/// `lseg_out`.
pub(crate) fn write_lseg(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = exact(d, 32, "lseg_out")?;
    out.push('[');
    push_points(&mut c, 2, out)?;
    out.push(']');
    Ok(())
}

/// `box_out`.
pub(crate) fn write_box(d: &[u8], out: &mut String) -> Result<(), Error> {
    push_points(&mut exact(d, 32, "box_out")?, 2, out)
}

/// `line_out`.
pub(crate) fn write_line(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = exact(d, 24, "line_out")?;
    out.push('{');
    for i in 0..3 {
        if i > 0 {
            out.push(',');
        }
        write_float8(&f64_at(&mut c)?, out)?;
    }
    out.push('}');
    Ok(())
}

/// `circle_out`.
pub(crate) fn write_circle(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = exact(d, 24, "circle_out")?;
    out.push('<');
    push_pair(&mut c, out)?;
    out.push(',');
    write_float8(&f64_at(&mut c)?, out)?;
    out.push('>');
    Ok(())
}

fn npts(c: &mut Cursor<'_>, func: &'static str) -> Result<usize, Error> {
    let n = c.i32()?;
    let n = usize::try_from(n).map_err(|_| Error::Corrupt {
        func,
        offset: 0,
        what: "negative point count",
        found: i64::from(n),
    })?;
    if n.saturating_mul(16) > c.remaining() {
        return Err(Error::Truncated {
            func,
            offset: c.pos(),
            needed: n.saturating_mul(16),
            available: c.remaining(),
        });
    }
    Ok(n)
}

/// `path_out`.
pub(crate) fn write_path(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, "path_out");
    let n = npts(&mut c, "path_out")?;
    let closed = c.i32()? != 0;
    let _pad = c.i32()?;
    out.push(if closed { '(' } else { '[' });
    push_points(&mut c, n, out)?;
    out.push(if closed { ')' } else { ']' });
    Ok(())
}

/// `poly_out`.
pub(crate) fn write_polygon(d: &[u8], out: &mut String) -> Result<(), Error> {
    let mut c = Cursor::new(d, "poly_out");
    let n = npts(&mut c, "poly_out")?;
    let _boundbox = c.take(32)?;
    out.push('(');
    push_points(&mut c, n, out)?;
    out.push(')');
    Ok(())
}

/// `int2vectorout` (`wide == false`) / `oidvectorout`: the values of a
/// one-dimensional array, separated by spaces.
pub(crate) fn write_vector(d: &[u8], out: &mut String, wide: bool) -> Result<(), Error> {
    let func = if wide {
        "oidvectorout"
    } else {
        "int2vectorout"
    };
    let mut c = Cursor::new(d, func);
    let ndim = c.i32()?;
    let _dataoffset = c.i32()?;
    let _elemtype = c.u32()?;
    let n = if ndim == 0 {
        0
    } else {
        let dim1 = c.i32()?;
        let _lbound1 = c.i32()?;
        usize::try_from(dim1).map_err(|_| Error::Corrupt {
            func,
            offset: 12,
            what: "negative dimension",
            found: i64::from(dim1),
        })?
    };
    let width = if wide { 4 } else { 2 };
    let values = c.take(n.saturating_mul(width))?;
    for (i, v) in values.chunks_exact(width).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if wide {
            out.push_str(&u32::from_le_bytes(fixed(v, func)?).to_string());
        } else {
            out.push_str(&i16::from_le_bytes(fixed(v, func)?).to_string());
        }
    }
    Ok(())
}
