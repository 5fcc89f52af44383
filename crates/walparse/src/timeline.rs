//! Timeline history files (`0000000N.history` in `pg_wal`).
//!
//! When a server is promoted (or recovery ends at a target), it starts a new
//! timeline N and writes `N.history`: one line per ancestor timeline, oldest
//! first, giving the LSN where that ancestor stopped being part of N's
//! history (the *switch point*). Lines starting with `#` and blank lines are
//! comments.
//!
//! ```text
//! 1<TAB>0/3000060<TAB>no recovery target specified
//! 2<TAB>0/5000000<TAB>before 2026-01-01 00:00:00+00
//! ```
//!
//! An ancestor owns the LSNs `[previous switch point, its switch point)`;
//! timeline N itself owns everything from the last switch point on. The
//! segment holding a switch point exists on both timelines: the newer file
//! starts with the older timeline's bytes up to the switch point.
//!
//! Same rules as PostgreSQL's `readTimeLineHistory` and
//! `tliOfPointInHistory` (`src/backend/access/transam/timeline.c`), except
//! that a bad line is reported and skipped instead of ending recovery.

use crate::types::{Lsn, TimeLineId};

/// One timeline's range in a history: it owns `begin <= lsn < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The timeline.
    pub tli: TimeLineId,
    /// First LSN of the range (`Lsn::INVALID` = from the beginning).
    pub begin: Lsn,
    /// Switch point, the first LSN no longer on this timeline; `None` for
    /// the history's own timeline (open-ended).
    pub end: Option<Lsn>,
}

impl TimelineEntry {
    /// Whether `lsn` is in this entry's range.
    pub fn contains(&self, lsn: Lsn) -> bool {
        lsn >= self.begin && self.end.is_none_or(|e| lsn < e)
    }
}

/// Why a history line was skipped. `line` is 1-based.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryProblem {
    /// The line does not start with a decimal timeline id.
    #[error("history line {line}: expected a numeric timeline id")]
    NoTimelineId {
        /// Line number.
        line: usize,
    },
    /// The timeline id is not followed by a switch point `X/X`.
    #[error("history line {line}: expected a switch point LSN (X/X) after the timeline id")]
    NoSwitchPoint {
        /// Line number.
        line: usize,
    },
    /// Timeline ids must increase from line to line.
    #[error("history line {line}: timeline {} does not follow timeline {}", tli.0, previous.0)]
    NotIncreasing {
        /// Line number.
        line: usize,
        /// Timeline on this line.
        tli: TimeLineId,
        /// Timeline on the previous accepted line.
        previous: TimeLineId,
    },
    /// An ancestor's id must be below the history's own timeline.
    #[error("history line {line}: timeline {} is not an ancestor of timeline {}", tli.0, target.0)]
    NotAncestor {
        /// Line number.
        line: usize,
        /// Timeline on this line.
        tli: TimeLineId,
        /// The history's own timeline.
        target: TimeLineId,
    },
    /// Switch points must not go back.
    #[error("history line {line}: switch point {end} is before the previous one {begin}")]
    SwitchPointGoesBack {
        /// Line number.
        line: usize,
        /// Previous switch point.
        begin: Lsn,
        /// This line's switch point.
        end: Lsn,
    },
}

/// The parsed history of one timeline: its ancestors' ranges, oldest first,
/// then its own open-ended range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineHistory {
    entries: Vec<TimelineEntry>,
}

impl TimelineHistory {
    /// The history of a timeline with no ancestors (timeline 1, or one whose
    /// history file is unknown): it owns every LSN.
    pub fn root(tli: TimeLineId) -> TimelineHistory {
        TimelineHistory {
            entries: vec![TimelineEntry {
                tli,
                begin: Lsn::INVALID,
                end: None,
            }],
        }
    }

    /// Parses the bytes of `tli`'s history file. Never fails: bad lines are
    /// skipped and reported; what remains is still a consistent history
    /// (increasing timelines below `tli`, non-decreasing switch points).
    ///
    /// ```
    /// use walparse::{Lsn, TimeLineId, timeline::TimelineHistory};
    /// let (h, problems) =
    ///     TimelineHistory::parse(TimeLineId(2), b"1\t0/3000060\tno recovery target specified\n");
    /// assert!(problems.is_empty());
    /// assert_eq!(h.tli_of(Lsn(0x300_005F)), TimeLineId(1));
    /// assert_eq!(h.tli_of(Lsn(0x300_0060)), TimeLineId(2));
    /// assert_eq!(h.switch_point(TimeLineId(1)), Some(Lsn(0x300_0060)));
    /// ```
    pub fn parse(tli: TimeLineId, bytes: &[u8]) -> (TimelineHistory, Vec<HistoryProblem>) {
        let mut entries: Vec<TimelineEntry> = Vec::new();
        let mut problems = Vec::new();
        for (idx, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = idx.saturating_add(1);
            let text = raw.trim_ascii_start();
            if text.is_empty() || text.starts_with(b"#") {
                continue;
            }
            let prev = entries.last().copied();
            match parse_line(line, text, tli, prev) {
                Ok(e) => entries.push(e),
                Err(p) => problems.push(p),
            }
        }
        let begin = entries.last().and_then(|e| e.end).unwrap_or(Lsn::INVALID);
        entries.push(TimelineEntry {
            tli,
            begin,
            end: None,
        });
        (TimelineHistory { entries }, problems)
    }

    /// The timeline this history belongs to.
    pub fn tli(&self) -> TimeLineId {
        self.entries
            .last()
            .map_or(TimeLineId(1), |e: &TimelineEntry| e.tli)
    }

    /// All ranges, oldest first; the last one is [`TimelineHistory::tli`]'s.
    pub fn entries(&self) -> &[TimelineEntry] {
        &self.entries
    }

    /// The timeline whose range holds `lsn` (`tliOfPointInHistory`).
    pub fn tli_of(&self, lsn: Lsn) -> TimeLineId {
        self.entries
            .iter()
            .find(|e| e.contains(lsn))
            .map_or_else(|| self.tli(), |e| e.tli)
    }

    /// The history file text for these ranges, as PostgreSQL writes it
    /// (`writeTimeLineHistory`), with each reason `reason`. Parsing it back
    /// with [`TimelineHistory::tli`] gives the same history.
    pub fn to_file_text(&self, reason: &str) -> String {
        let mut text = String::new();
        for e in &self.entries {
            if let Some(end) = e.end {
                text.push_str(&format!("{}\t{end}\t{reason}\n", e.tli.0));
            }
        }
        text
    }

    /// Where `tli` stopped being part of this history (`tliSwitchPoint`);
    /// `None` for the history's own timeline or one not in it.
    pub fn switch_point(&self, tli: TimeLineId) -> Option<Lsn> {
        self.entries
            .iter()
            .find(|e| e.tli == tli)
            .and_then(|e| e.end)
    }
}

/// Parses one non-comment line: `tli <ws> X/X [<ws> reason]`.
fn parse_line(
    line: usize,
    text: &[u8],
    target: TimeLineId,
    prev: Option<TimelineEntry>,
) -> Result<TimelineEntry, HistoryProblem> {
    let mut fields = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let tli = fields
        .next()
        .and_then(|f| std::str::from_utf8(f).ok())
        .filter(|f| f.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|f| f.parse::<u32>().ok())
        .map(TimeLineId)
        .ok_or(HistoryProblem::NoTimelineId { line })?;
    let end = fields
        .next()
        .and_then(|f| std::str::from_utf8(f).ok())
        .and_then(|f| f.parse::<Lsn>().ok())
        .ok_or(HistoryProblem::NoSwitchPoint { line })?;
    if tli >= target {
        return Err(HistoryProblem::NotAncestor { line, tli, target });
    }
    let begin = prev.and_then(|p| p.end).unwrap_or(Lsn::INVALID);
    if let Some(p) = prev
        && tli <= p.tli
    {
        return Err(HistoryProblem::NotIncreasing {
            line,
            tli,
            previous: p.tli,
        });
    }
    if end < begin {
        return Err(HistoryProblem::SwitchPointGoesBack { line, begin, end });
    }
    Ok(TimelineEntry {
        tli,
        begin,
        end: Some(end),
    })
}

/// The timeline of a history file name (`0000000N.history`, 8 hex digits);
/// `None` if `name` is not one.
pub fn parse_history_file_name(name: &str) -> Option<TimeLineId> {
    let hex = name.strip_suffix(".history")?;
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(TimeLineId)
}

/// Whether `bytes` look like a history file: text whose first non-comment
/// line is `<tli> <X/X> ...` and which has no bad line. For `datam inspect`.
pub fn looks_like_history(bytes: &[u8]) -> bool {
    let (h, problems) = TimelineHistory::parse(TimeLineId(u32::MAX), bytes);
    problems.is_empty() && h.entries().len() > 1 && std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TL3: &[u8] = b"# comment\n\
        1\t0/3000060\tno recovery target specified\n\
        \n\
        2\t0/5000000\tbefore 2000-01-01 00:00:00+00\n";

    #[test]
    fn three_timelines() {
        let (h, problems) = TimelineHistory::parse(TimeLineId(3), TL3);
        assert_eq!(problems, vec![]);
        assert_eq!(
            h.entries(),
            &[
                TimelineEntry {
                    tli: TimeLineId(1),
                    begin: Lsn(0),
                    end: Some(Lsn(0x300_0060))
                },
                TimelineEntry {
                    tli: TimeLineId(2),
                    begin: Lsn(0x300_0060),
                    end: Some(Lsn(0x500_0000))
                },
                TimelineEntry {
                    tli: TimeLineId(3),
                    begin: Lsn(0x500_0000),
                    end: None
                },
            ]
        );
        assert_eq!(h.tli_of(Lsn(0)), TimeLineId(1));
        assert_eq!(h.tli_of(Lsn(0x300_0060)), TimeLineId(2));
        assert_eq!(h.tli_of(Lsn(0x4FF_FFFF)), TimeLineId(2));
        assert_eq!(h.tli_of(Lsn(0x500_0000)), TimeLineId(3));
        assert_eq!(h.tli_of(Lsn(u64::MAX)), TimeLineId(3));
        assert_eq!(h.switch_point(TimeLineId(2)), Some(Lsn(0x500_0000)));
        assert_eq!(h.switch_point(TimeLineId(3)), None);
        assert!(looks_like_history(TL3));
    }

    #[test]
    fn bad_lines_are_skipped_and_reported() {
        let text = b"x\t0/1\n1\n1\t0/3000000\n1\t0/4000000\n5\t0/5000000\n2\t0/2000000\n";
        let (h, problems) = TimelineHistory::parse(TimeLineId(3), text);
        assert_eq!(
            problems,
            vec![
                HistoryProblem::NoTimelineId { line: 1 },
                HistoryProblem::NoSwitchPoint { line: 2 },
                HistoryProblem::NotIncreasing {
                    line: 4,
                    tli: TimeLineId(1),
                    previous: TimeLineId(1)
                },
                HistoryProblem::NotAncestor {
                    line: 5,
                    tli: TimeLineId(5),
                    target: TimeLineId(3)
                },
                HistoryProblem::SwitchPointGoesBack {
                    line: 6,
                    begin: Lsn(0x300_0000),
                    end: Lsn(0x200_0000)
                },
            ]
        );
        assert_eq!(h.entries().len(), 2);
        assert_eq!(h.tli_of(Lsn(0x400_0000)), TimeLineId(3));
        assert!(!looks_like_history(text));
        assert!(!looks_like_history(b"hello\n"));
        assert!(!looks_like_history(b""));
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_history_file_name("0000000A.history"),
            Some(TimeLineId(10))
        );
        assert_eq!(parse_history_file_name("A.history"), None);
        assert_eq!(parse_history_file_name("0000000G.history"), None);
        assert_eq!(parse_history_file_name("00000002.partial"), None);
    }

    #[test]
    fn root_owns_everything() {
        let h = TimelineHistory::root(TimeLineId(1));
        assert_eq!(h.tli_of(Lsn(12345)), TimeLineId(1));
        assert_eq!(h.tli(), TimeLineId(1));
    }

    /// Checks the invariants every parsed history keeps.
    fn consistent(h: &TimelineHistory, tli: TimeLineId) {
        let e = h.entries();
        assert_eq!(e.last().map(|e| (e.tli, e.end)), Some((tli, None)));
        for w in e.windows(2) {
            assert!(w[0].tli < w[1].tli);
            assert_eq!(w[0].end, Some(w[1].begin));
            assert!(w[0].begin <= w[1].begin);
        }
        for x in e {
            if let Some(end) = x.end {
                assert!(x.begin <= end);
                if x.begin < end {
                    assert_eq!(h.tli_of(x.begin), x.tli);
                }
            }
        }
    }

    /// Consistent, and reads back the same from its own file text.
    fn round_trips(h: &TimelineHistory, tli: TimeLineId) {
        consistent(h, tli);
        let (again, problems) = TimelineHistory::parse(tli, h.to_file_text("x").as_bytes());
        assert_eq!(problems, vec![]);
        assert_eq!(&again, h);
    }

    #[test]
    fn file_text_as_postgres_writes_it() {
        let (h, _) = TimelineHistory::parse(TimeLineId(3), TL3);
        assert_eq!(h.to_file_text("r"), "1\t0/03000060\tr\n2\t0/05000000\tr\n");
        round_trips(&h, TimeLineId(3));
    }

    proptest! {
        #[test]
        fn never_panics_on_random_bytes(tli in any::<u32>(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let (h, _) = TimelineHistory::parse(TimeLineId(tli), &bytes);
            round_trips(&h, TimeLineId(tli));
            let _ = looks_like_history(&bytes);
        }

        #[test]
        fn random_histories_round_trip(
            steps in proptest::collection::vec((1u32..4, 0u64..0x100_0000), 0..6),
        ) {
            let (mut tli, mut lsn, mut text) = (0u32, 0u64, String::new());
            for (dt, dl) in steps {
                tli += dt;
                lsn += dl;
                text.push_str(&format!("{tli}\t{}\tr\n", Lsn(lsn)));
            }
            let target = TimeLineId(tli + 1);
            let (h, problems) = TimelineHistory::parse(target, text.as_bytes());
            prop_assert_eq!(problems, vec![]);
            round_trips(&h, target);
        }

        #[test]
        fn never_panics_on_mutated_history(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
            cut in any::<usize>(),
        ) {
            let mut bytes = TL3.to_vec();
            for (at, b) in edits {
                let i = at % bytes.len();
                bytes[i] = b;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let (h, _) = TimelineHistory::parse(TimeLineId(3), &bytes);
            round_trips(&h, TimeLineId(3));
        }
    }
}
