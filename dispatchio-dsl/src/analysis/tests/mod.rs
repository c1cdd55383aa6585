//! Unit tests of each finding, positive and negative.

use super::analyse;
use super::generate::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{eval, route};
use crate::program::{ActionKind, Cond, FieldRef, Lit, Program, Test, Type};

fn card() -> crate::program::MessageDef {
    message("Card", &[("card", Type::Int), ("suit", Type::Optional(Box::new(Type::Str)))])
}

fn greeting() -> crate::program::MessageDef {
    message("Greeting", &[("dealer", Type::Bool)])
}

fn pos() -> crate::program::MessageDef {
    message("Pos", &[("x", Type::Float)])
}

fn c(t: Test) -> Cond {
    pred(field("card", Type::Int), t)
}

fn suit(t: Test) -> Cond {
    pred(field("suit", Type::Optional(Box::new(Type::Str))), t)
}

fn x(t: Test) -> Cond {
    pred(field("x", Type::Float), t)
}

fn run(
    rules: Vec<crate::program::RuleDef>,
    otherwise: Option<Vec<ActionKind>>,
) -> (Program, Vec<Diagnostic>) {
    let p = program(vec![card(), greeting(), pos()], vec![listener("l", rules, otherwise)]);
    let d = analyse(&p);
    (p, d)
}

fn with_code(d: &[Diagnostic], code: Code) -> Vec<&Diagnostic> {
    d.iter().filter(|d| d.code == code).collect()
}

fn only(d: &[Diagnostic], code: Code) -> &Diagnostic {
    let found = with_code(d, code);
    assert_eq!(found.len(), 1, "expected one {code}, got {d:#?}");
    found[0]
}

fn inbox() -> Option<Vec<ActionKind>> {
    Some(vec![queue("inbox")])
}

mod budget;
mod cycles;
mod domains;
mod precedence;
