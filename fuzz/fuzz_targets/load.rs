//! The interpreter on any input: load, give every handler it calls, build,
//! and route a message of every declared type (and one of no declared
//! type) through every listener. A load error is the expected answer to a
//! bad file; a panic or a hang is the bug.
#![no_main]

use std::sync::Arc;

use dispatchio::routing::{Fired, Matcher};
use dispatchio::{DynContent, DynValue, Envelope, Message, Reply};
use dispatchio_dsl::interp;
use dispatchio_dsl::program::ActionKind;
use dispatchio_fuzz::route_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(mut builder) = interp::load(route_file(input)) else { return };
    let program = builder.program().clone();
    let mut handlers = std::collections::BTreeMap::new();
    for listener in program.listeners() {
        let actions = listener.rules.iter().flat_map(|r| &r.actions);
        for action in actions.chain(listener.otherwise.iter().flat_map(|o| &o.actions)) {
            if let ActionKind::Call { handler, is_async } = &action.kind {
                handlers.insert(handler.clone(), *is_async);
            }
        }
    }
    for (name, is_async) in handlers {
        builder = if is_async {
            builder.async_handler(name, |_m: Message| async { Ok(Reply::Empty) })
        } else {
            builder.handler(name, |_m: &Message| Ok(Reply::Empty))
        };
    }
    let routes = builder.build().expect("a loaded program with every handler given builds");
    let types = program.messages().iter().map(|m| m.name.clone());
    let messages: Vec<Message> = types
        .chain(["NoSuchType".to_owned()])
        .map(|ty| {
            let mut envelope = Envelope::new(ty.clone());
            envelope.dest = Some("somebody".into());
            let content = DynContent::new(ty, DynValue::Record(Default::default()));
            Message::from_parts(envelope, Arc::new(content))
        })
        .collect();
    for (_, listener) in routes.listeners() {
        let mut fired = Fired::new();
        for message in &messages {
            listener.matcher().route(message, &mut fired);
        }
    }
});
