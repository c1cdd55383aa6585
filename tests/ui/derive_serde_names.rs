// Routing must read fields under the names they have on the wire.
#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
#[serde(rename_all = "camelCase")]
struct Renamed {
    card_count: i64,
}

#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
struct Flattened {
    #[serde(flatten)]
    inner: Renamed,
}

#[derive(Debug, serde::Serialize, dispatchio::ContentType)]
struct TwoNames {
    #[serde(rename(serialize = "a", deserialize = "b"))]
    field: i64,
}

fn main() {}
