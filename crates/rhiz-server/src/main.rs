//! The `rhiz` binary: parse the command line, run, exit.

/// mimalloc gives back the memory of the start-up load: the graph is built
/// from a million short-lived rows read on several threads, which the system
/// allocator kept resident after they were freed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    rhiz_server::cli::run()
}
