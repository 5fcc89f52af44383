//! `inet` / `cidr` (`src/backend/utils/adt/network.c`,
//! `src/port/inet_net_ntop.c`).
//!
//! ```text
//! varlena payload: [family u8: 2 = IPv4, 3 = IPv6][bits u8][address: 4 or 16 bytes]
//! ```

use std::fmt::Write as _;

use super::Error;
use super::bytes::Cursor;

const PGSQL_AF_INET: u8 = 2;
const PGSQL_AF_INET6: u8 = 3;

/// `inet_out` (`is_cidr == false`) or `cidr_out`.
pub(crate) fn write(d: &[u8], out: &mut String, is_cidr: bool) -> Result<(), Error> {
    let func = if is_cidr { "cidr_out" } else { "inet_out" };
    let mut c = Cursor::new(d, func);
    let family = c.u8()?;
    let bits = c.u8()?;
    let (len, max_bits) = match family {
        PGSQL_AF_INET => (4, 32),
        PGSQL_AF_INET6 => (16, 128),
        _ => {
            return Err(Error::Corrupt {
                func,
                offset: 0,
                what: "unknown address family",
                found: i64::from(family),
            });
        }
    };
    if bits > max_bits {
        return Err(Error::Corrupt {
            func,
            offset: 1,
            what: "netmask length too large",
            found: i64::from(bits),
        });
    }
    let addr = c.take(len)?;
    if c.remaining() != 0 {
        return Err(Error::BadLength {
            func,
            expected: len + 2,
            found: d.len(),
        });
    }
    if family == PGSQL_AF_INET {
        for (i, b) in addr.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            let _ = write!(out, "{b}");
        }
    } else {
        push_ipv6(addr, out);
    }
    // inet prints the mask only when it is not the full length; cidr always.
    if is_cidr || bits != max_bits {
        let _ = write!(out, "/{bits}");
    }
    Ok(())
}

/// The BIND `inet_net_ntop_ipv6` text: the longest run (≥ 2, first wins) of
/// zero words becomes `::`; IPv4-compatible/mapped forms end in dotted quad.
fn push_ipv6(addr: &[u8], out: &mut String) {
    let mut words = [0u16; 8];
    for (w, pair) in words.iter_mut().zip(addr.chunks_exact(2)) {
        *w = u16::from_be_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ]);
    }
    // Longest run of zero words.
    // (base, len) of the best and the current run of zero words.
    type Run = Option<(usize, usize)>;
    let (mut best, mut cur): (Run, Run) = (None, None);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            cur = Some(match cur {
                Some((b, l)) => (b, l + 1),
                None => (i, 1),
            });
        } else if let Some(c) = cur.take()
            && best.is_none_or(|b| c.1 > b.1)
        {
            best = Some(c);
        }
    }
    if let Some(c) = cur
        && best.is_none_or(|b| c.1 > b.1)
    {
        best = Some(c);
    }
    let best = best.filter(|b| b.1 >= 2);
    for (i, &w) in words.iter().enumerate() {
        if let Some((base, len)) = best
            && i >= base
            && i < base + len
        {
            if i == base {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        let embedded_v4 = i == 6
            && best.is_some_and(|(base, len)| {
                base == 0
                    && (len == 6
                        || (len == 7 && words.get(7) != Some(&0x0001))
                        || (len == 5 && words.get(5) == Some(&0xffff)))
            });
        if embedded_v4 {
            let v4 = addr.get(12..16).unwrap_or_default();
            for (j, b) in v4.iter().enumerate() {
                if j > 0 {
                    out.push('.');
                }
                let _ = write!(out, "{b}");
            }
            return;
        }
        let _ = write!(out, "{w:x}");
    }
    if best.is_some_and(|(base, len)| base + len == 8) {
        out.push(':');
    }
}
