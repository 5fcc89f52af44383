//! Bounds-checked little-endian reads over a datum.

use super::Error;

/// A cursor over a datum that never reads past its end.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    func: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], func: &'static str) -> Self {
        Self { buf, pos: 0, func }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let out = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(Error::Truncated {
                func: self.func,
                offset: self.pos,
                needed: n,
                available: self.remaining(),
            })?;
        self.pos = self.pos.saturating_add(n);
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn i16(&mut self) -> Result<i16, Error> {
        Ok(i16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// Skips to the next multiple of `align`, counting positions from
    /// `base` bytes before the start of the buffer.
    pub(crate) fn align(&mut self, align: usize, base: usize) -> Result<(), Error> {
        let abs = self.pos.saturating_add(base);
        let pad = align_up(abs, align).saturating_sub(abs);
        self.take(pad).map(|_| ())
    }
}

/// `n` rounded up to a multiple of `align` (a power of two, or 1).
pub(crate) fn align_up(n: usize, align: usize) -> usize {
    let mask = align.saturating_sub(1);
    n.saturating_add(mask) & !mask
}

/// Reads exactly `N` bytes of a fixed-length datum.
pub(crate) fn fixed<const N: usize>(datum: &[u8], func: &'static str) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(datum).map_err(|_| Error::BadLength {
        func,
        expected: N,
        found: datum.len(),
    })
}

/// Checks that text bytes are UTF-8.
pub(crate) fn utf8<'a>(bytes: &'a [u8], func: &'static str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        func,
        offset: e.valid_up_to(),
    })
}
