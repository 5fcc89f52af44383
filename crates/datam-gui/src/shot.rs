//! How `--screenshot --screen NAME` (and the scroll benchmark) reach a
//! screen: [`show_screen`] once the opened file's jobs are idle, then
//! [`advance`] for flows of several jobs (the rescue wizard: table →
//! transactions → dry run; the WAL browser: scan → a record picked).

use crate::app::{GuiState, Screen};
use crate::model::Status;
use crate::native::ShotScreen;

/// Puts the state on `screen`: for the grid the table with most rows, for
/// the hex view and the history its first recovered row (or its first row;
/// for a PostgreSQL data directory's history, [`advance`] picks the row
/// once the grid is in).
pub fn show_screen(state: &mut GuiState, screen: ShotScreen) {
    match screen {
        ShotScreen::Overview => state.screen = Screen::Overview,
        ShotScreen::Tables => state.screen = Screen::Tables,
        ShotScreen::Rescue => state.screen = Screen::Rescue,
        ShotScreen::Wal => state.screen = Screen::Wal,
        ShotScreen::Snapshots => state.screen = Screen::Snapshots,
        ShotScreen::Grid | ShotScreen::History if state.is_pg() => pg_grid(state),
        ShotScreen::Grid | ShotScreen::Hex | ShotScreen::History => {
            sqlite_row(state, screen);
        }
    }
}

fn pg_grid(state: &mut GuiState) {
    let wake = state.wake.clone();
    let Some(pg) = state.opened.as_mut().and_then(|o| o.pg.as_mut()) else {
        return;
    };
    if let Some(t) = biggest_pg_table(pg) {
        pg.browse(&t, &wake);
        state.screen = Screen::Grid;
    }
}

/// Picks the first and last snapshots and starts their diff (once).
fn snapshots_diff(state: &mut GuiState, wake: &crate::job::Waker) -> bool {
    let Some(o) = state.opened.as_mut() else {
        return false;
    };
    let s = &mut o.snapshots;
    let ids: Vec<u64> = match &s.list {
        Some(Ok(l)) if s.diff.is_none() => l.iter().map(|r| r.id).collect(),
        _ => return false,
    };
    let (Some(&a), Some(&b)) = (ids.first(), ids.last()) else {
        return false;
    };
    (s.a, s.b) = (Some(a), Some(b));
    s.start_diff(o.path.clone(), wake);
    true
}

/// The table with most tuples (live and dead).
fn biggest_pg_table(pg: &crate::pg::PgOpened) -> Option<datam_core::pg::dump::TableInfo> {
    let tables = pg.tables.as_ref()?.as_ref().ok()?;
    tables
        .iter()
        .max_by_key(|t| t.live_tuples + t.dead_tuples)
        .cloned()
}

fn sqlite_row(state: &mut GuiState, screen: ShotScreen) {
    let Some(o) = &state.opened else {
        return;
    };
    let biggest = (0..o.store.by_table.len())
        .max_by_key(|&t| o.store.by_table.get(t).map_or(0, Vec::len))
        .and_then(|t| u32::try_from(t).ok())
        .unwrap_or(0);
    state.browse(biggest);
    if screen == ShotScreen::Grid {
        return;
    }
    let wake = state.wake.clone();
    let Some(o) = &mut state.opened else {
        return;
    };
    let list = o.store.by_table.get(biggest as usize);
    let recovered = |i: &&u32| {
        o.store
            .rows
            .head(**i as usize)
            .is_some_and(|r| r.status != Status(0))
    };
    let pick = if screen == ShotScreen::History {
        most_versions(&o.store, list.map_or(&[][..], Vec::as_slice))
    } else {
        list.and_then(|l| l.iter().find(recovered).or_else(|| l.first()))
            .copied()
    };
    if let Some(i) = pick {
        o.select(i, &wake);
        state.scroll_request = None;
        state.screen = if screen == ShotScreen::Hex {
            Screen::Detail
        } else {
            Screen::History
        };
    }
}

/// The next step of `screen`'s flow once the jobs are idle; `false` when
/// the screen is complete.
pub fn advance(state: &mut GuiState, screen: ShotScreen) -> bool {
    let wake = state.wake.clone();
    if screen == ShotScreen::Snapshots {
        return snapshots_diff(state, &wake);
    }
    if screen == ShotScreen::History && state.is_pg() {
        return pg_history_row(state);
    }
    let Some(pg) = state.opened.as_mut().and_then(|o| o.pg.as_mut()) else {
        return false;
    };
    match screen {
        ShotScreen::Rescue if pg.wizard.table.is_none() => {
            let Some(t) = biggest_pg_table(pg) else {
                return false;
            };
            let path = pg.path.clone();
            let name = format!("{}.{}", t.schema, t.table);
            pg.wizard.pick_table(&path, &t.db, &name, &wake);
            true
        }
        ShotScreen::Rescue if pg.wizard.xid.is_none() => {
            let Some((db, table)) = pg.wizard.table.clone() else {
                return false;
            };
            let want = format!("{db}:{table}");
            let most = pg
                .wizard
                .xacts
                .as_ref()
                .and_then(|x| x.as_ref().ok())
                .and_then(|x| {
                    x.iter().max_by_key(|x| {
                        x.tables
                            .iter()
                            .filter(|t| t.table == want)
                            .map(|t| t.updated + t.deleted)
                            .sum::<u64>()
                    })
                });
            let Some(xid) = most.map(|x| x.xid) else {
                return false;
            };
            let path = pg.path.clone();
            pg.wizard.pick_xid(&path, xid, &wake);
            true
        }
        ShotScreen::Wal if pg.wal.selected.is_none() && pg.wal.done => {
            let fpi = pg.wal.records.iter().position(|r| r.fpi_len > 0);
            pg.wal.selected = fpi.or(Some(0));
            true
        }
        _ => false,
    }
}

/// Selects the PG grid's first row that is not live (a version some
/// transaction deleted or replaced: its row has a history), else its first
/// row, and shows its History (once).
fn pg_history_row(state: &mut GuiState) -> bool {
    let Some(g) = state
        .opened
        .as_mut()
        .and_then(|o| o.pg.as_mut())
        .and_then(|p| p.grid.as_mut())
    else {
        return false;
    };
    if g.selected.is_some() {
        return false;
    }
    let dead = g
        .view
        .iter()
        .copied()
        .find(|&i| g.rows.get(i as usize).is_some_and(|r| r.status != "live"));
    let Some(pick) = dead.or_else(|| g.view.first().copied()) else {
        return false;
    };
    g.selected = Some(pick);
    state.screen = Screen::History;
    true
}

/// The row of `list` whose rowid has most versions in the store.
fn most_versions(store: &crate::model::Store, list: &[u32]) -> Option<u32> {
    let mut n: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for r in list.iter().filter_map(|&i| store.rows.head(i as usize)) {
        if let Some(id) = r.rowid {
            *n.entry(id).or_default() += 1;
        }
    }
    list.iter().copied().max_by_key(|&i| {
        store
            .rows
            .head(i as usize)
            .and_then(|r| r.rowid)
            .and_then(|id| n.get(&id).copied())
            .unwrap_or(0)
    })
}
