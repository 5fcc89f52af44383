//! Any bytes as a timeline history file: no panic, and the history kept is
//! consistent (increasing ancestors below the own timeline, each range
//! starting where the previous one ended, every LSN owned by the entry whose
//! range holds it) and reads back the same from its own file text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use walparse::{Lsn, TimeLineId, timeline::TimelineHistory};

fuzz_target!(|data: &[u8]| {
    // The first four bytes pick the history's own timeline.
    let (tli, text) = match data.split_first_chunk::<4>() {
        Some((t, rest)) => (TimeLineId(u32::from_le_bytes(*t)), rest),
        None => (TimeLineId(2), data),
    };
    let (h, _) = TimelineHistory::parse(tli, text);
    let e = h.entries();
    assert_eq!(e.last().map(|l| (l.tli, l.end)), Some((tli, None)));
    for w in e.windows(2) {
        assert!(w[0].tli < w[1].tli);
        assert_eq!(w[0].end, Some(w[1].begin));
    }
    for x in e {
        if x.end.is_none_or(|end| x.begin < end) {
            assert_eq!(h.tli_of(x.begin), x.tli);
        }
    }
    assert_eq!(h.tli_of(Lsn(u64::MAX)), tli);
    let (again, problems) = TimelineHistory::parse(tli, h.to_file_text("fuzz").as_bytes());
    assert!(problems.is_empty());
    assert_eq!(again, h);
    let _ = walparse::timeline::looks_like_history(text);
});
