//! The `dispatchio` command: a thin shell over `dispatchio_dsl::cli`
//! (`dispatchio check`; `dispatchio --help` lists the rest).

fn main() -> std::process::ExitCode {
    dispatchio_dsl::cli::run()
}
