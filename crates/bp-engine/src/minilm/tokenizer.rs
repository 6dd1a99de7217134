//! BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2's
//! `tokenizer.json` configures it (`BertNormalizer` with lowercasing and
//! accent stripping, `BertPreTokenizer`, `WordPiece` with `##` pieces and
//! at most 100 characters per word). Written here rather than taken from the
//! `tokenizers` crate, whose build (regex engines, rayon, C code for onig)
//! costs more than these hundred lines.
//!
//! One known simplification: a non-ASCII character counts as punctuation
//! when it lies in the Latin-1 punctuation set, the General Punctuation
//! block or the CJK punctuation block, not by its full Unicode category.
//! Prompts written in Latin scripts tokenize exactly as the reference does.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Ids of the special tokens.
pub const PAD: u32 = 0;
/// The unknown-word token.
pub const UNK: u32 = 100;
/// The start-of-sequence token.
pub const CLS: u32 = 101;
/// The end-of-sequence token.
pub const SEP: u32 = 102;

const MAX_WORD_CHARS: usize = 100;

/// A WordPiece vocabulary (`vocab.txt`: one token per line, the line number
/// is the id).
#[derive(Debug, Clone)]
pub struct Tokenizer {
    ids: HashMap<String, u32, BuildHasherDefault<Fnv>>,
    tokens: Vec<String>,
}

/// FNV-1a: the keys are short word pieces, where SipHash's setup costs
/// more than the lookup (the vocabulary is fixed, not attacker-chosen).
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl Tokenizer {
    /// Reads `vocab.txt`'s contents. Fails when the special tokens are not
    /// where BERT's uncased vocabulary has them.
    pub fn from_vocab(text: &str) -> Result<Self, String> {
        let tokens: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect();
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect::<HashMap<_, _, _>>();
        let tokenizer = Tokenizer { ids, tokens };
        for (id, name) in [(PAD, "[PAD]"), (UNK, "[UNK]"), (CLS, "[CLS]"), (SEP, "[SEP]")] {
            if tokenizer.tokens.get(id as usize).map(String::as_str) != Some(name) {
                return Err(format!("vocab.txt: expected {name} at line {}", id + 1));
            }
        }
        Ok(tokenizer)
    }

    /// Number of tokens in the vocabulary.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True for an empty vocabulary (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token with this id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The word-piece ids of `text`, without `[CLS]`/`[SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_at_most(text, usize::MAX)
    }

    /// The first `limit` (or a few more: a word's pieces stay together)
    /// word-piece ids of `text`; the rest of the text is not read.
    pub fn encode_at_most(&self, text: &str, limit: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity((text.len() / 4 + 1).min(limit.saturating_add(8)));
        // A token is rarely more than 16 bytes of text: beyond that much,
        // the text cannot contribute to the first `limit` tokens.
        let cut = match limit.checked_mul(16) {
            Some(max) if max < text.len() => {
                let mut end = max;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                &text[..end]
            }
            _ => text,
        };
        let normalized = normalize(cut);
        for word in pre_tokenize(&normalized) {
            if out.len() >= limit {
                break;
            }
            self.word_pieces(word, &mut out);
        }
        out
    }

    /// Appends the pieces of one word (or `[UNK]` when it has no split).
    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) {
        if let Some(id) = self.ids.get(word) {
            out.push(*id);
            return;
        }
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_WORD_CHARS {
            out.push(UNK);
            return;
        }
        let mark = out.len();
        let mut start = 0;
        let mut piece = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while end > start {
                let from = chars[start].0;
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[from..to]);
                if let Some(id) = self.ids.get(piece.as_str()) {
                    found = Some(*id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => out.push(id),
                None => {
                    out.truncate(mark);
                    out.push(UNK);
                    return;
                }
            }
            start = end;
        }
    }
}

/// `BertNormalizer`: control characters dropped, whitespace made a space,
/// CJK ideographs spaced apart, lowercased, accents stripped.
fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if c.is_whitespace() {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    if cleaned.is_ascii() {
        cleaned.make_ascii_lowercase();
        return cleaned;
    }
    cleaned
        .chars()
        .flat_map(char::to_lowercase)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// `BertPreTokenizer`: words split on whitespace, each punctuation
/// character a word of its own; lazily, as slices of `text`.
fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(char::is_whitespace);
        let first = rest.chars().next()?;
        let end = if is_punctuation(first) {
            first.len_utf8()
        } else {
            rest.find(|c: char| c.is_whitespace() || is_punctuation(c))
                .unwrap_or(rest.len())
        };
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    // Cc, and the format characters (Cf) prompts pick up from copy and paste.
    c.is_control()
        || matches!(c, '\u{00ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{a1}' | '\u{a7}' | '\u{ab}' | '\u{b6}' | '\u{b7}' | '\u{bb}' | '\u{bf}'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{205e}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301f}'
                | '\u{ff01}'..='\u{ff0f}'
        )
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}'
        | '\u{2b740}'..='\u{2b81f}'
        | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}'
        | '\u{2f800}'..='\u{2fa1f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let mut vocab: Vec<String> = (0..103).map(|i| format!("[unused{i}]")).collect();
        vocab[0] = "[PAD]".into();
        vocab[100] = "[UNK]".into();
        vocab[101] = "[CLS]".into();
        vocab[102] = "[SEP]".into();
        for t in [
            "un", "##aff", "##able", "cafe", ",", "!", "hello", "world", "'", "s",
        ] {
            vocab.push(t.into());
        }
        Tokenizer::from_vocab(&vocab.join("\n")).expect("the test vocabulary is well formed")
    }

    fn pieces(t: &Tokenizer, text: &str) -> Vec<String> {
        t.encode(text)
            .into_iter()
            .map(|id| t.token(id).unwrap_or("?").to_owned())
            .collect()
    }

    #[test]
    fn splits_words_into_greedy_longest_pieces() {
        let t = tiny();
        assert_eq!(pieces(&t, "unaffable"), ["un", "##aff", "##able"]);
        assert_eq!(pieces(&t, "Hello,  WORLD!"), ["hello", ",", "world", "!"]);
    }

    #[test]
    fn a_word_without_a_split_is_one_unknown() {
        let t = tiny();
        assert_eq!(pieces(&t, "unaffablex hello"), ["[UNK]", "hello"]);
        assert_eq!(pieces(&t, &"a".repeat(101)), ["[UNK]"]);
    }

    #[test]
    fn accents_controls_and_curly_quotes_are_normalised() {
        let t = tiny();
        assert_eq!(pieces(&t, "Café\u{200b}"), ["cafe"]);
        assert_eq!(pieces(&t, "world\u{2019}s"), ["world", "[UNK]", "s"]);
        assert_eq!(pieces(&t, "world's\tHELLO\n"), ["world", "'", "s", "hello"]);
        assert!(t.encode(" \u{0} \u{fffd} ").is_empty());
    }

    #[test]
    fn a_vocabulary_without_its_special_tokens_is_refused() {
        assert!(Tokenizer::from_vocab("[PAD]\nhello").is_err());
    }
}
