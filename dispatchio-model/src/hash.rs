//! The string hash that compiled string decisions `match` on.

/// FNV-1a (64 bit) over the string's bytes.
///
/// The code generator computes it for each key of a string decision at
/// compile time, and generated code for the value at run time
/// (`dispatchio::__private::str_hash`): one function, so the two can never
/// disagree. A collision costs nothing but a comparison: every arm confirms
/// its key with `==`.
///
/// ```
/// use dispatchio_model::str_hash;
/// // What a compiled string decision does with the value it reads.
/// let suit = String::from("hearts");
/// let arm = match str_hash(&suit) {
///     h if h == str_hash("hearts") && suit == "hearts" => "red",
///     h if h == str_hash("spades") && suit == "spades" => "black",
///     _ => "other",
/// };
/// assert_eq!(arm, "red");
/// assert_eq!(str_hash("a"), 0xaf63_dc4c_8601_ec8c); // FNV-1a's reference value
/// ```
#[inline]
pub fn str_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::str_hash;

    #[test]
    fn str_hash_is_fnv1a_64() {
        // The reference values of FNV-1a (64 bit).
        assert_eq!(str_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(str_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
