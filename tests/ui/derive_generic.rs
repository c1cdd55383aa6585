// One TYPE_NAME cannot name every instance of a generic struct.
#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
struct Boxed<T> {
    value: T,
}

fn main() {}
