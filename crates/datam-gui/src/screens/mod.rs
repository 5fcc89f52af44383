//! One module per screen; each has `ui(state, ui)`. To add a screen: add a
//! variant to [`crate::app::Screen`] (and its label to `Screen::ALL`), a
//! module here, and its arm in `GuiState::ui`.

pub mod detail;
pub mod grid;
pub mod open;
pub mod overview;
pub mod pg_grid;
pub mod pg_tables;
pub mod rescue;
pub mod tables;
pub mod wal;
