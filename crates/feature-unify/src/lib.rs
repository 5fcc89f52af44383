//! No code: a dependency of `datam-py` that enables, for the crates it
//! shares with the rest of the workspace, the features the workspace's test
//! build enables, so that the wheel build (`maturin build`, which resolves
//! features for `datam-py` alone) reuses those compiled crates instead of
//! building them again. See this crate's `Cargo.toml` and
//! `scripts/wheel_features.py`.
