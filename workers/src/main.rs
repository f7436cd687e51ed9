//! The `revoke` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    revoke::cli::main()
}
