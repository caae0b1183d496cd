//! Redis glob patterns, matched in process exactly as `SCAN MATCH` does, so a
//! pattern invalidation removes the same keys from L1 as from L2.

/// Whether `text` matches the Redis glob `pattern` (`*`, `?`, `[set]`,
/// `[^set]`, `[a-z]`, `\` escapes), byte by byte.
pub(crate) fn matches(pattern: &str, text: &str) -> bool {
    match_bytes(pattern.as_bytes(), text.as_bytes())
}

/// Escapes every glob metacharacter of `literal`, so it matches only itself.
pub(crate) fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn match_bytes(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where to resume after the last `*`: pattern index after it, text index.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => match_class(&pattern[p..], text[t]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(2),
            Some(&c) => (c == text[t]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                t += 1;
            }
            None => match backtrack {
                Some((bp, bt)) => {
                    backtrack = Some((bp, bt + 1));
                    p = bp;
                    t = bt + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches one byte against the class at the start of `pattern` (which begins
/// with `[`); returns the class's length in the pattern if it matches.
fn match_class(pattern: &[u8], byte: u8) -> Option<usize> {
    let mut i = 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut found = false;
    while i < pattern.len() && pattern[i] != b']' {
        if pattern[i] == b'\\' && i + 1 < pattern.len() {
            found |= pattern[i + 1] == byte;
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let (lo, hi) = (
                pattern[i].min(pattern[i + 2]),
                pattern[i].max(pattern[i + 2]),
            );
            found |= (lo..=hi).contains(&byte);
            i += 3;
        } else {
            found |= pattern[i] == byte;
            i += 1;
        }
    }
    // An unterminated class runs to the end of the pattern, as in Redis.
    let len = (i + 1).min(pattern.len());
    (found != negate).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_glob_table() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("trust:*", "trust:did:plc:a", true),
            ("trust:*", "paths:x", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("*:did:*:x", "p:did:plc:q:x", true),
            ("*a*b", "xaxxb", true),
            ("*a*b", "xaxxbc", false),
            ("abc", "ab", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), expected, "{pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn escaped_literal_matches_only_itself() {
        let literal = "ns*[x]?\\";
        assert!(matches(&escape(literal), literal));
        assert!(!matches(&escape(literal), "nsA[x]?\\"));
    }
}
