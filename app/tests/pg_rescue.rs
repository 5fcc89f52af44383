//! `datam pg rescue` against real clusters (see below).
fn main() {}
