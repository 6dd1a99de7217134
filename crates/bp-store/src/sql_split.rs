//! Splits a migration file into statements, respecting quotes, comments and
//! dollar-quoted bodies, so that a failing statement can be named.

/// One statement and the 1-based line it starts on.
#[derive(Debug, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement text without its terminating semicolon.
    pub text: &'a str,
    /// Line of its first non-blank character.
    pub line: usize,
}

/// The statements of `sql`, in order; comment-only pieces are dropped.
pub fn split_statements(sql: &str) -> Vec<Statement<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
                continue;
            }
            b'\'' => {
                let escapes = i > 0 && matches!(bytes[i - 1], b'E' | b'e');
                i = skip_quoted(bytes, i, b'\'', escapes);
                has_code = true;
                continue;
            }
            b'"' => {
                i = skip_quoted(bytes, i, b'"', false);
                has_code = true;
                continue;
            }
            b'$' => {
                if let Some(tag_len) = dollar_tag(&sql[i..]) {
                    let tag = &sql[i..i + tag_len];
                    i = sql[i + tag_len..]
                        .find(tag)
                        .map_or(bytes.len(), |n| i + tag_len + n + tag_len);
                    has_code = true;
                    continue;
                }
            }
            b';' => {
                push(sql, start, i, has_code, &mut out);
                start = i + 1;
                has_code = false;
            }
            c if !c.is_ascii_whitespace() => has_code = true,
            _ => {}
        }
        i += 1;
    }
    push(sql, start, bytes.len(), has_code, &mut out);
    out
}

fn push<'a>(sql: &'a str, start: usize, end: usize, has_code: bool, out: &mut Vec<Statement<'a>>) {
    if !has_code {
        return;
    }
    let piece = &sql[start..end];
    let lead = piece.len() - piece.trim_start().len();
    // Skip leading comment lines so the line number points at the code.
    let mut offset = start + lead;
    let mut text = piece.trim();
    while text.starts_with("--") {
        let nl = text.find('\n').map_or(text.len(), |n| n + 1);
        let rest = &text[nl..];
        offset += nl + (rest.len() - rest.trim_start().len());
        text = rest.trim_start();
    }
    let line = sql[..offset].matches('\n').count() + 1;
    out.push(Statement { text, line });
}

fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Length of a `$tag$` opener at the start of `s`, if there is one.
fn dollar_tag(s: &str) -> Option<usize> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    let valid = tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some(end + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_comments_and_dollar_bodies() {
        let sql = "-- head; comment\nCREATE TABLE a (x text DEFAULT ';');\n\n\
                   CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN NEW;\nEND;\n$$;\n\
                   /* block; */ INSERT INTO a VALUES (E'it\\'s;');\nSELECT \"we;ird\" FROM a";
        let got = split_statements(sql);
        let lines: Vec<usize> = got.iter().map(|s| s.line).collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(lines, vec![2, 4, 9, 10]);
        assert!(got[1].text.ends_with("$$"));
        assert_eq!(got[3].text, "SELECT \"we;ird\" FROM a");
    }

    #[test]
    fn comment_only_pieces_are_not_statements() {
        assert!(split_statements("-- nothing here;\n  \n").is_empty());
        assert_eq!(split_statements("SELECT 1;\n-- trailing").len(), 1);
    }
}
