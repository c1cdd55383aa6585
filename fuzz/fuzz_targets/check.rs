//! `dispatchio check` on any input: the parser, the checker, the analysis
//! and every output format. Findings are the expected answer to bad input;
//! a panic or a hang is the bug.
#![no_main]

use dispatchio_fuzz::route_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let path = route_file(input);
    let path = path.to_str().expect("a UTF-8 scratch path");
    for format in ["human", "json", "sarif"] {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let args = ["dispatchio", "check", path, "--format", format];
        let exit = dispatchio_dsl::cli::run_with(args, &mut out, &mut err);
        // Exit 2 is for a check that could not run at all; a file that can
        // be read always gets its findings instead.
        assert!(
            exit.code() < 2,
            "check --format {format} could not run: {}",
            String::from_utf8_lossy(&err)
        );
    }
});
