//! The nesting check that content from a peer passes before it is decoded.

/// Nesting allowed in content from a peer: far above any real message, far
/// below what exhausts a task's stack when decoding recurses.
const MAX_CONTENT_DEPTH: usize = 128;

/// Refuses content nested deeper than [`MAX_CONTENT_DEPTH`] before it is
/// decoded for real: the registry's decoders (and the dynamic value) recurse
/// once per level, so a hostile peer could otherwise overflow the stack.
///
/// Walks the MessagePack markers without recursion and without looking
/// inside strings (a serde pass would check every string's UTF-8, which
/// cost more than the real decode); a value cut short is refused too.
pub(super) fn check_depth(bytes: &[u8]) -> Result<(), String> {
    // For each open array or map: how many values it still holds.
    let mut open: Vec<u64> = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<u64, String> {
        let end = at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(truncated)?;
        let v = bytes[*at..end].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        *at = end;
        Ok(v)
    };
    loop {
        let marker = *bytes.get(at).ok_or_else(truncated)?;
        at += 1;
        // The number of values this one contains, and bytes to skip.
        let (children, skip): (u64, u64) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, 0),
            0x80..=0x8f => (2 * u64::from(marker & 0x0f), 0),
            0x90..=0x9f => (u64::from(marker & 0x0f), 0),
            0xa0..=0xbf => (0, u64::from(marker & 0x1f)),
            0xc4 | 0xd9 => (0, take(&mut at, 1)?),
            0xc5 | 0xda => (0, take(&mut at, 2)?),
            0xc6 | 0xdb => (0, take(&mut at, 4)?),
            0xc7 => (0, take(&mut at, 1)? + 1),
            0xc8 => (0, take(&mut at, 2)? + 1),
            0xc9 => (0, take(&mut at, 4)? + 1),
            0xcc | 0xd0 => (0, 1),
            0xcd | 0xd1 => (0, 2),
            0xca | 0xce | 0xd2 => (0, 4),
            0xcb | 0xcf | 0xd3 => (0, 8),
            0xd4 => (0, 2),
            0xd5 => (0, 3),
            0xd6 => (0, 5),
            0xd7 => (0, 9),
            0xd8 => (0, 17),
            0xdc => (take(&mut at, 2)?, 0),
            0xdd => (take(&mut at, 4)?, 0),
            0xde => (2 * take(&mut at, 2)?, 0),
            0xdf => (2 * take(&mut at, 4)?, 0),
            0xc1 => return Err("invalid MessagePack marker 0xc1".to_owned()),
        };
        take_bytes(&mut at, skip, bytes.len())?;
        if children > 0 {
            if open.len() >= MAX_CONTENT_DEPTH {
                return Err(format!("nested deeper than {MAX_CONTENT_DEPTH} levels"));
            }
            open.push(children);
            continue;
        }
        // This value is complete: count it against the containers it ends.
        loop {
            match open.last_mut() {
                None => return Ok(()),
                Some(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    open.pop();
                }
            }
        }
    }
}

fn truncated() -> String {
    "the content ends in the middle of a value".to_owned()
}

fn take_bytes(at: &mut usize, n: u64, len: usize) -> Result<(), String> {
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| at.checked_add(n))
        .filter(|&e| e <= len)
        .ok_or_else(truncated)?;
    *at = end;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    /// What `check_depth` replaced: a serde pass over the value.
    fn serde_check(bytes: &[u8]) -> bool {
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        de.set_max_depth(MAX_CONTENT_DEPTH);
        serde::de::IgnoredAny::deserialize(&mut de).is_ok()
    }

    #[test]
    fn content_nested_too_deep_is_refused_and_real_content_passes() {
        let mut deep = vec![0x91u8; MAX_CONTENT_DEPTH + 1];
        deep.push(0xc0);
        assert!(check_depth(&deep).unwrap_err().contains("nested deeper"));
        let mut fine = vec![0x91u8; MAX_CONTENT_DEPTH - 1];
        fine.push(0xc0);
        assert!(check_depth(&fine).is_ok());
        let value = serde_json::json!({"a": [1, -2, 3.5, "x", null, true, {"b": []}], "c": "é"});
        assert!(check_depth(&rmp_serde::to_vec_named(&value).unwrap()).is_ok());
    }

    #[test]
    fn content_cut_short_is_refused() {
        let bytes = rmp_serde::to_vec_named(&("a long enough string", 7u32)).unwrap();
        for len in 0..bytes.len() {
            assert!(check_depth(&bytes[..len]).is_err(), "accepted {len} of {} bytes", bytes.len());
        }
        assert!(check_depth(&bytes).is_ok());
    }

    proptest! {
        #[test]
        fn the_marker_walk_agrees_with_a_serde_pass(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(check_depth(&bytes).is_ok(), serde_check(&bytes), "{:02x?}", bytes);
        }
    }
}
