//! End-to-end tests live in this package's `[[test]]` targets (one file per
//! command); this library is empty on purpose.
