//! The `dispatchio` command.

fn main() -> std::process::ExitCode {
    eprintln!("dispatchio: no commands yet");
    std::process::ExitCode::from(2)
}
