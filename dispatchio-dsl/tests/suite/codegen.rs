//! The code generator as a library call: snapshots of the generated code
//! (formatted with prettyplease) for the well-typed fixtures, file tracking,
//! and the error path.

use std::path::{Path, PathBuf};

use dispatchio_dsl::codegen;

/// The generated code for a fixture, formatted.
fn generated(path: &Path) -> String {
    let report = dispatchio_dsl::check(path).expect("the fixture is readable");
    assert!(!report.has_errors(), "{}", report.render_plain());
    let program = report.program.expect("a program without errors");
    let tokens = codegen::generate(&program, &[PathBuf::from("/routes/x.route")]);
    let file = syn::parse2::<syn::File>(tokens).expect("generated code parses as a Rust file");
    prettyplease::unparse(&file)
}

#[test]
fn generated_code_snapshots() {
    // (language_tour is left out: the analysis finds a rule in it that can
    // never match, so it is not a program include_routes! accepts.)
    for name in ["game", "imports"] {
        let path = PathBuf::from(format!("tests/fixtures/{name}.route"));
        insta::assert_snapshot!(name, generated(&path));
    }
    // The facade's every-feature program (its compiled form is tested there).
    insta::assert_snapshot!("everything", generated(Path::new("tests/fixtures/everything.route")));
}

/// The functions of a listener module's generated code, by name: the text
/// from `fn <name>(` to the next top-level `fn route_`.
fn route_fns(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let starts: Vec<usize> = code.match_indices("\n    fn route_").map(|(i, _)| i + 1).collect();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(code.len());
        let text = &code[start..end];
        let name = text["    fn ".len()..].split('(').next().unwrap_or_default().to_owned();
        out.push((name, text.to_owned()));
    }
    out
}

#[test]
fn long_chains_are_cut_into_parts_and_stopping_arms_become_data() {
    // The fixture's classes: Big (route_0), Hit (route_1), Ext (route_2),
    // every other type (route_3), then the `Fields` fallback.
    let code = generated(Path::new("tests/fixtures/big_chains.route"));
    let fns = route_fns(&code);
    let body = |name: &str| {
        fns.iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("no {name} in {code}"))
    };
    let parts = |text: &str| text.matches("#[inline(never)]").count();
    // 100 `or` rules: two parts, the catch-all after them, not in a part.
    let big = body("route_0");
    assert_eq!(parts(big), 2, "{big}");
    let after_parts = &big[big.rfind("if part_").unwrap()..];
    assert!(after_parts.contains("fired.stop(100usize"), "{big}");
    // The decision on `code`: the 70-rule arm in two parts inside the
    // arm, the stopping arms as data recorded by one `fired.stop`.
    let hit = body("route_1");
    assert_eq!(parts(hit), 2, "{hit}");
    assert!(hit.contains("let hit: ::std::option::Option<"), "{hit}");
    assert!(hit.contains("::std::option::Option::Some((\n"), "{hit}");
    // The undeclared type's 80 rules, read through `Fields`: two parts,
    // recording out of line.
    let ext = body("route_2");
    assert_eq!(parts(ext), 2, "{ext}");
    assert!(ext.contains("::dispatchio::__private::stop("), "{ext}");
    // Every rule in the fallback, in parts of at most 64 rules.
    let fields = body("route_fields");
    let rules = fields.matches("::dispatchio::__private::stop(").count()
        + fields.matches("::dispatchio::__private::fire(").count();
    let source = std::fs::read_to_string("tests/fixtures/big_chains.route").unwrap();
    let declared = source
        .lines()
        .map(|l| l.trim_start().trim_start_matches("allow(overlap) "))
        .filter(|l| l.starts_with("rule "))
        .count();
    assert_eq!(rules, declared, "every rule once in the fallback");
    assert_eq!(parts(fields), rules.div_ceil(64), "{fields}");
}

/// The token text of an expansion (no formatting: the error path is not a
/// valid file on its own, it is macro output).
fn expand(path: &Path) -> String {
    codegen::expand(path, path, proc_macro2::Span::call_site()).to_string()
}

#[test]
fn every_file_read_is_tracked_with_include_bytes() {
    // imports.route reads lib/cards.route and lib/table.route (which imports
    // cards.route again): the root and both imports are tracked, once each.
    let text = expand(Path::new("tests/fixtures/imports.route"));
    let tracked: Vec<&str> =
        text.match_indices("include_bytes !").map(|(i, _)| &text[i..]).collect();
    assert_eq!(tracked.len(), 3, "{text}");
    for file in ["fixtures/imports.route", "fixtures/lib/cards.route", "fixtures/lib/table.route"] {
        let canonical = Path::new("tests").join(file).canonicalize().unwrap();
        let literal = format!("{:?}", canonical.to_str().unwrap());
        assert!(text.contains(&literal), "{file} is not tracked as {literal}: {text}");
    }
}

#[test]
fn errors_become_one_compile_error_each_with_the_plain_rendering() {
    let path = Path::new("tests/fixtures/type_mismatch.route");
    let report = dispatchio_dsl::check(path).unwrap();
    let errors: Vec<String> = report.errors().map(|d| d.render_plain(&report.sources)).collect();
    assert!(errors.len() > 1);
    let text = expand(path);
    assert_eq!(text.matches("compile_error !").count(), errors.len(), "{text}");
    for e in &errors {
        let literal = proc_macro2::Literal::string(e.trim_end()).to_string();
        assert!(text.contains(&literal), "missing {e}");
    }
    // Tracked even on error, so fixing the file rebuilds.
    assert!(text.contains("include_bytes !"));
}

#[test]
fn the_stub_after_errors_declares_the_parsed_names() {
    // Parses, but does not check: the stub still has `Card` and `player`.
    let text = expand(Path::new("tests/fixtures/unknown_names.route"));
    assert!(text.contains("compile_error !"));
    let report = dispatchio_dsl::check(Path::new("tests/fixtures/unknown_names.route")).unwrap();
    assert!(report.program.is_none());
    assert!(text.contains("pub mod"), "{text}");
    assert!(text.contains("pub trait Handler"), "{text}");
}

#[test]
fn an_unreadable_root_file_is_one_error_naming_it() {
    let text = expand(Path::new("tests/fixtures/no_such_file.route"));
    assert_eq!(text.matches("compile_error !").count(), 1);
    assert!(text.contains("cannot read `tests/fixtures/no_such_file.route`"), "{text}");
}

#[test]
fn recursive_types_are_boxed_or_refused() {
    let ok = dispatchio_dsl::load_str(
        "r.route",
        "message Node { label: string, next: Node?, kids: [Node] }\n\
         message A { b: B? }\nmessage B { a: A }\n\
         listener l { rule n when type == Node => drop }",
    )
    .unwrap();
    let code = codegen::generate(&ok.program, &[]).to_string();
    assert!(
        code.contains("next : :: std :: option :: Option < :: std :: boxed :: Box < Node > >"),
        "{code}"
    );
    assert!(code.contains("kids : :: std :: vec :: Vec < Node >"), "{code}");
    assert!(
        code.contains("b : :: std :: option :: Option < :: std :: boxed :: Box < B > >"),
        "{code}"
    );

    // A loop of required fields is refused by the checker, the one place
    // that checks: no program, so nothing to expand.
    let bad = dispatchio_dsl::check_str(
        "r.route",
        "message A { b: B }\nmessage B { a: A }\nlistener l { rule n when type == A => drop }",
    );
    assert!(bad.program.is_none());
    let errors: Vec<_> = bad.errors().collect();
    assert_eq!(errors.len(), 2, "both types of the loop are reported: {errors:?}");
    assert!(errors[0].message.contains("contains itself"));
}

/// `dispatchio check` runs `check_str`/`check`: the checker refuses the
/// handler, so the command line and `include_routes!` agree.
#[test]
fn a_handler_called_both_sync_and_async_is_refused() {
    let report = dispatchio_dsl::check_str(
        "h.route",
        "listener l {\n rule a when sync => call h\n rule b when blocking => call async h\n}",
    );
    assert!(report.program.is_none());
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("both with and without `async`"));
}

#[test]
fn bench_tables_are_what_the_generator_writes() {
    use dispatchio_dsl::bench_support::{handwritten, rules_route};
    let bless = std::env::var_os("DISPATCHIO_BLESS").is_some();
    let mut files: Vec<(PathBuf, String)> = [10, 100, 1000, 10_000]
        .into_iter()
        .map(|n| (PathBuf::from(format!("../benches/routes/rules_{n}.route")), rules_route(n)))
        .collect();
    files.push((PathBuf::from("../benches/support/handwritten_1000.rs"), handwritten(1000)));
    for (path, text) in files {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{} is stale: regenerate with DISPATCHIO_BLESS=1",
            path.display()
        );
    }
    // The tables are clean: every rule can fire, nothing to report.
    for n in [10, 100, 1000] {
        let report = dispatchio_dsl::check_str(format!("rules_{n}.route"), rules_route(n));
        assert!(report.diagnostics.is_empty(), "{}", report.render_plain());
    }
}

/// The API of generated code, item by item: every item but the private
/// functions (the matcher's chains), with function bodies left out (the
/// stub's matcher routes nothing) and `compile_error!`s and file tracking
/// dropped. Items in modules are prefixed with the module's name.
fn api(tokens: proc_macro2::TokenStream) -> Vec<String> {
    use quote::ToTokens;
    fn items(prefix: &str, list: Vec<syn::Item>, out: &mut Vec<String>) {
        let empty: syn::Block = syn::parse_quote!({});
        for item in list {
            let text = match item {
                syn::Item::Mod(m) => {
                    let prefix = format!("{prefix}{}::", m.ident);
                    let attrs = &m.attrs;
                    out.push(format!("{prefix} {}", quote::quote!(#(#attrs)*)));
                    items(&prefix, m.content.map(|(_, i)| i).unwrap_or_default(), out);
                    continue;
                }
                syn::Item::Fn(f) if matches!(f.vis, syn::Visibility::Public(_)) => {
                    f.sig.to_token_stream().to_string()
                }
                syn::Item::Trait(mut t) => {
                    for i in &mut t.items {
                        if let syn::TraitItem::Fn(f) = i {
                            f.default = None;
                        }
                    }
                    t.to_token_stream().to_string()
                }
                syn::Item::Impl(mut i) => {
                    for item in &mut i.items {
                        if let syn::ImplItem::Fn(f) = item {
                            f.block = empty.clone();
                        }
                    }
                    i.to_token_stream().to_string()
                }
                syn::Item::Const(c) if c.ident == "_" => continue,
                syn::Item::Fn(_) | syn::Item::Macro(_) => continue,
                other => other.to_token_stream().to_string(),
            };
            out.push(format!("{prefix}{text}"));
        }
    }
    let file = syn::parse2::<syn::File>(tokens).expect("generated code parses as a Rust file");
    let mut out = Vec::new();
    items("", file.items, &mut out);
    out
}

/// The stub after errors: `check`'s skeleton through `generate_errors`.
fn stub_api(report: &dispatchio_dsl::Report) -> Vec<String> {
    assert!(report.has_errors());
    let skeleton = report.skeleton.as_ref().expect("a report with errors has a skeleton");
    let span = proc_macro2::Span::call_site();
    api(codegen::generate_errors(&report.sources, &report.diagnostics, Some(skeleton), &[], span))
}

#[test]
fn the_stub_after_errors_has_the_api_of_the_file_without_them() {
    // The same file twice, the second with errors in two conditions and an
    // `allow` (none of which changes an item or a line): the stub of the
    // second is the API generated for the first.
    let good = "message Card { card: int, suit: string? }\n\
                message Deck { cards: [Card], top: Card?, next: Deck? }\n\
                const max = 52\nconst names = {\"a\", \"b\"}\n\
                listener player {\n\
                rule deal when type == Card and card < 52 => call deal, queue hand\n\
                rule many when type in {Card, Deck} and sync => call async many, forward table\n\
                rule any when blocking => call any\n\
                otherwise => call rest\n}\n\
                listener table { rule t when type == Deck => queue decks }\n";
    let bad = good
        .replace("card < 52", "card < \"x\"")
        .replace("and sync", "and suit == 3")
        .replace("rule t when", "allow(oops) rule t when");
    let good = dispatchio_dsl::check_str("api.route", good);
    assert!(!good.has_errors(), "{}", good.render_plain());
    let real = api(codegen::generate(good.program.as_ref().unwrap(), &[]));
    let bad = dispatchio_dsl::check_str("api.route", bad);
    assert_eq!(bad.errors().count(), 3, "{}", bad.render_plain());
    assert_eq!(stub_api(&bad), real);
    // The listener's typed handler signatures are there, not `&dyn Content`.
    assert!(real.iter().any(|i| i.contains("fn deal (& self , envelope")), "{real:#?}");
}

#[test]
fn every_fixture_that_checks_has_a_stub_with_its_api() {
    for path in crate::fixtures() {
        let report = dispatchio_dsl::check(&path).unwrap();
        let Some(program) = &report.program else { continue };
        let skeleton = dispatchio_dsl::Skeleton::of(program);
        let span = proc_macro2::Span::call_site();
        let stub = api(codegen::generate_errors(&report.sources, &[], Some(&skeleton), &[], span));
        assert_eq!(stub, api(codegen::generate(program, &[])), "{}", path.display());
    }
}

#[test]
fn the_stub_leaves_out_only_the_fields_whose_types_are_unknown() {
    let report = dispatchio_dsl::check_str(
        "t.route",
        "message Card { card: int, bad: Crad, also: [Nope?] }\nlistener l { rule a when type == Card => call a }",
    );
    let api = stub_api(&report);
    let card = api.iter().find(|i| i.contains("pub struct Card")).expect("Card is declared");
    assert!(card.contains("pub card : i64"), "{card}");
    assert!(!card.contains("bad") && !card.contains("also"), "{card}");
    assert!(api.iter().any(|i| i.contains("fn a (& self , envelope")), "{api:#?}");
}

#[test]
fn a_program_the_analysis_refuses_has_all_of_it_as_its_stub() {
    let report = dispatchio_dsl::check_str(
        "s.route",
        "message Card { card: int }\nlistener l {\n rule high when type == Card and card > 1 => call high\n rule mid when type == Card and card > 5 => queue mid\n}",
    );
    let program = report.program.as_ref().expect("the checker accepted it");
    assert!(report.has_errors(), "the analysis refuses `mid`: {}", report.render_plain());
    assert_eq!(stub_api(&report), api(codegen::generate(program, &[])));
}
