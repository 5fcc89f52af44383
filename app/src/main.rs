//! The `datam` binary: parses the command line and hands it to the library.
fn main() -> std::process::ExitCode {
    datam::main_entry()
}
