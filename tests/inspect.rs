//! `datam inspect` end-to-end tests.
