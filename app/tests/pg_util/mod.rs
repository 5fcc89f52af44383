//! Helpers shared by the `pg_*` tests that run the `datam` binary against
//! real clusters.
#![allow(dead_code, clippy::unwrap_used)]

pub mod waltext;

/// The session settings the offline dump prints values as.
pub const GUCS: &str = "SET DateStyle=ISO; SET TimeZone=UTC; SET extra_float_digits=1; \
                        SET bytea_output=hex; SET IntervalStyle=postgres;";

/// Any error as the test's `String` error.
pub fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

/// Runs the datam binary; returns (exit ok, stdout, stderr).
pub fn datam(args: &[&str]) -> (bool, String, String) {
    testkit::run_bin(env!("CARGO_BIN_EXE_datam"), args).unwrap()
}

/// The lines of `s`, sorted.
pub fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Lines of `a` not in `b` (multiset difference), sorted.
pub fn minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut rest: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for l in b {
        *rest.entry(l).or_default() += 1;
    }
    let mut out = Vec::new();
    for l in a {
        match rest.get_mut(l.as_str()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(l.clone()),
        }
    }
    out.sort();
    out
}
