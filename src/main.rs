//! The `dispatchio` command: a thin shell over `dispatchio_dsl::cli`.

fn main() -> std::process::ExitCode {
    dispatchio_dsl::cli::run()
}
