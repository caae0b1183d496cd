//! Splitting one CSV line into fields.

use crate::DatasetError;

/// Splits `line` (without its line break) at commas.
///
/// Spaces and tabs around a field are dropped. A field whose first
/// non-blank character is `"` is quoted: it runs to the next lone `"`,
/// `""` inside it stands for one `"`, commas inside it are text, and only
/// blanks may follow its closing quote. Quoted fields cannot span lines.
pub(super) fn split_fields(line: &str) -> Result<Vec<String>, DatasetError> {
    let mut fields = Vec::with_capacity(4);
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        let after_field = if let Some(quoted) = trimmed.strip_prefix('"') {
            let (field, after) = quoted_field(quoted)?;
            fields.push(field);
            let after = after.trim_start_matches([' ', '\t']);
            if !(after.is_empty() || after.starts_with(',')) {
                return Err(DatasetError::TextAfterQuote);
            }
            after
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            fields.push(trimmed[..end].trim_end_matches([' ', '\t']).to_owned());
            &trimmed[end..]
        };
        match after_field.strip_prefix(',') {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// The text of a quoted field and what follows its closing quote; `text`
/// starts just after the opening quote.
fn quoted_field(text: &str) -> Result<(String, &str), DatasetError> {
    let mut field = String::new();
    let mut rest = text;
    loop {
        let Some(quote) = rest.find('"') else {
            return Err(DatasetError::UnterminatedQuote);
        };
        field.push_str(&rest[..quote]);
        rest = &rest[quote + 1..];
        match rest.strip_prefix('"') {
            Some(after_escape) => {
                field.push('"');
                rest = after_escape;
            }
            None => return Ok((field, rest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_plain_and_quoted_fields() {
        let cases: &[(&str, &[&str])] = &[
            ("a,b,1", &["a", "b", "1"]),
            (" a , b ,\t1 ", &["a", "b", "1"]),
            ("\"a,1\",b,2", &["a,1", "b", "2"]),
            ("\"say \"\"hi\"\"\" , b ,3", &["say \"hi\"", "b", "3"]),
            ("\"\",b,3", &["", "b", "3"]),
            ("a,,3", &["a", "", "3"]),
            ("a,b,3,", &["a", "b", "3", ""]),
            ("a", &["a"]),
            ("ü,ß,1", &["ü", "ß", "1"]),
        ];
        for (line, expected) in cases {
            assert_eq!(split_fields(line).unwrap(), *expected, "{line:?}");
        }
    }

    #[test]
    fn rejects_broken_quotes() {
        assert!(matches!(
            split_fields("\"a,b,1"),
            Err(DatasetError::UnterminatedQuote)
        ));
        assert!(matches!(
            split_fields("a,\"b\"x,1"),
            Err(DatasetError::TextAfterQuote)
        ));
    }

    proptest! {
        #[test]
        fn quoting_any_text_round_trips(fields in proptest::collection::vec("[^\\r\\n]{0,12}", 1..5)) {
            let line = fields
                .iter()
                .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(",");
            prop_assert_eq!(split_fields(&line).unwrap(), fields);
        }
    }
}
