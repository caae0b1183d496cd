//! The `rhiz` binary: parse the command line, run, exit.

fn main() -> std::process::ExitCode {
    rhiz_server::cli::run()
}
