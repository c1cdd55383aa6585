//! The rule-table analysis: unsatisfiable, shadowed, redundant, overlap,
//! forward-cycle, sync-to-async and unrouted findings, with witnesses.

use crate::diagnostic::Diagnostic;
use crate::program::Program;

/// Every analysis finding for a checked program.
///
/// This is a placeholder so the front end compiles on its own: the analysis
/// module fills it in (it returns no findings until then).
pub fn analyse(program: &Program) -> Vec<Diagnostic> {
    let _ = program;
    Vec::new()
}
