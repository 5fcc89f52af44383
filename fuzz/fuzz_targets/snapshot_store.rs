//! Snapshot store formats on arbitrary bytes: manifest, pack and index
//! parsing never panic; a pack scan returns only records that check; and a
//! valid manifest or pack built from the input, with one byte changed, is
//! never accepted as intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_cow::manifest::{FileEntry, Manifest, Meta};
use snapshot_cow::pack::{self, IdxEntry};
use snapshot_cow::{Layout, PageHash, PageKind, SnapshotId};

/// Pages of `data` in 64-byte chunks (at most 32), as a valid pack + index.
fn build_pack(data: &[u8]) -> (Vec<u8>, Vec<IdxEntry>) {
    let mut p = Vec::new();
    let mut idx = Vec::new();
    for chunk in data.chunks(64).take(32) {
        let hash = PageHash::of(chunk);
        idx.push(IdxEntry { hash, offset: p.len() as u64, len: chunk.len() as u32 });
        pack::encode_record(&mut p, &hash, chunk);
    }
    (p, idx)
}

fn build_manifest(data: &[u8]) -> Vec<u8> {
    let pages: Vec<PageHash> = data.chunks(64).take(32).map(PageHash::of).collect();
    let size = data.len().min(64 * 32) as u64;
    let meta = Meta {
        id: SnapshotId(u64::from(data.first().copied().unwrap_or(1))),
        time_unix_ms: 0,
        note: String::from_utf8_lossy(data.get(..8).unwrap_or_default()).into_owned(),
        sources: vec![],
        prev: PageHash::of(data),
        dirs: vec![],
        files: vec![FileEntry {
            name: "f".into(),
            size_bytes: size,
            sha256: String::new(),
            mode: 0o644,
            layout: Layout::fixed(PageKind::Fixed, 64),
            n_pages: pages.len() as u64,
        }],
    };
    Manifest::encode(&meta, &[pages]).unwrap()
}

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes: no panic; every scanned record checks.
    if let Ok(m) = Manifest::parse(data) {
        let again = Manifest::encode(&m.meta, &m.pages).unwrap();
        let m2 = Manifest::parse(&again).unwrap();
        assert_eq!((m2.meta, m2.pages), (m.meta, m.pages));
    }
    let _ = pack::parse_idx(data);
    let (entries, _) = pack::scan(data);
    for e in &entries {
        assert!(pack::checked_page(data, e).is_ok());
    }

    // One byte changed in a valid pack or manifest is always detected.
    let Some((&sel, rest)) = data.split_first() else { return };
    let Some((&flip, rest)) = rest.split_first() else { return };
    let flip = flip | 1;
    let Some((pos, body)) = rest.split_first_chunk::<2>() else { return };
    let pos = usize::from(u16::from_le_bytes(*pos));
    if body.is_empty() {
        return;
    }
    if sel & 1 == 0 {
        let (mut p, idx) = build_pack(body);
        assert!(idx.iter().all(|e| pack::checked_page(&p, e).is_ok()));
        let at = pos % p.len();
        p[at] ^= flip;
        assert!(idx.iter().any(|e| pack::checked_page(&p, e).is_err()), "pack flip at {at} accepted");
    } else {
        let mut m = build_manifest(body);
        assert!(Manifest::parse(&m).is_ok());
        let at = pos % m.len();
        m[at] ^= flip;
        assert!(Manifest::parse(&m).is_err(), "manifest flip at {at} accepted");
    }
});
