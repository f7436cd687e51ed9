//! The `revoke` binary: everything lives in the library; see `cli`.

/// glibc's allocator spent a quarter of the fleet's CPU in the throughput benchmark (many small,
/// short-lived records and JSON values across threads); mimalloc cuts that to a few percent.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    revoke::cli::main()
}
