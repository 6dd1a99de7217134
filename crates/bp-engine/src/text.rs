//! Text features shared by the classifier and the local embedder: lowercase
//! word tokens, word bigrams and character n-grams inside word boundaries,
//! each reduced to a 64-bit FNV-1a hash so that nothing is allocated per
//! feature. The hash is computed here, not by `std`, so that it is the same
//! on every build.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Which kind of feature a hash belongs to; part of the hash so that the
/// word "of" and the character bigram "of" never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// A whole word.
    Word,
    /// Two consecutive words.
    Bigram,
    /// Characters inside one word, padded with a space at each end.
    Chars,
}

/// An FNV-1a hash under construction.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new(kind: FeatureKind) -> Self {
        Fnv(FNV_OFFSET).byte(kind as u8)
    }

    fn byte(self, b: u8) -> Self {
        Fnv((self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME))
    }

    fn char(self, c: char) -> Self {
        let mut buf = [0u8; 4];
        c.encode_utf8(&mut buf).bytes().fold(self, Fnv::byte)
    }

    fn str(self, s: &str) -> Self {
        s.bytes().fold(self, Fnv::byte)
    }
}

/// The lowercase words of `text`: maximal runs of letters and digits
/// (any script). An apostrophe inside a word is dropped, so "what's" and
/// "whats" are the same word.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if (c == '\'' || c == '’')
            && !current.is_empty()
            && chars.peek().is_some_and(|n| n.is_alphanumeric())
        {
            continue;
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A text prepared for phrase lookups: lowercased and split into words once.
#[derive(Debug, Clone)]
pub struct Scan {
    lower: String,
    words: Vec<String>,
}

impl Scan {
    /// Prepares `text`.
    pub fn new(text: &str) -> Self {
        Scan {
            lower: text.to_lowercase(),
            words: words(text),
        }
    }

    /// The words of the text.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Occurrences of a lowercase `phrase`: a single word ("must") matches
    /// whole words only; anything else ("at least", "don't", "c++") matches
    /// as a substring of the lowercased text.
    pub fn count(&self, phrase: &str) -> usize {
        if phrase.chars().all(char::is_alphanumeric) {
            self.words.iter().filter(|w| *w == phrase).count()
        } else {
            self.lower.matches(phrase).count()
        }
    }

    /// Whether any of `phrases` occurs.
    pub fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| self.count(p) > 0)
    }
}

/// Which feature families to extract, and the character n-gram lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Word unigrams.
    pub words: bool,
    /// Word bigrams.
    pub bigrams: bool,
    /// Shortest character n-gram (0 = none).
    pub char_min: usize,
    /// Longest character n-gram.
    pub char_max: usize,
}

/// Calls `emit(kind, hash)` for every feature of `words` under `spec`.
pub fn for_each_feature(words: &[String], spec: FeatureSpec, mut emit: impl FnMut(FeatureKind, u64)) {
    for (i, w) in words.iter().enumerate() {
        if spec.words {
            emit(FeatureKind::Word, Fnv::new(FeatureKind::Word).str(w).0);
        }
        if spec.bigrams && i + 1 < words.len() {
            let h = Fnv::new(FeatureKind::Bigram).str(w).byte(b' ').str(&words[i + 1]);
            emit(FeatureKind::Bigram, h.0);
        }
        if spec.char_min > 0 {
            char_ngrams(w, spec.char_min, spec.char_max, |h| emit(FeatureKind::Chars, h));
        }
    }
}

/// The character n-grams of " word " for n in `min..=max`.
fn char_ngrams(word: &str, min: usize, max: usize, mut emit: impl FnMut(u64)) {
    let mut padded: Vec<char> = Vec::with_capacity(word.len() + 2);
    padded.push(' ');
    padded.extend(word.chars());
    padded.push(' ');
    for n in min..=max {
        if n > padded.len() {
            break;
        }
        for window in padded.windows(n) {
            emit(
                window
                    .iter()
                    .fold(Fnv::new(FeatureKind::Chars), |h, c| h.char(*c))
                    .0,
            );
        }
    }
}

/// A rough token count for LLM budgets: about four characters per token
/// for English text, never fewer tokens than words.
pub fn estimate_tokens(text: &str) -> usize {
    let chars = text.chars().count();
    let words = text.split_whitespace().count();
    chars.div_ceil(4).max(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercase_alphanumeric_runs_with_inner_apostrophes_dropped() {
        assert_eq!(
            words("What's the GDP of Germany?"),
            ["whats", "the", "gdp", "of", "germany"]
        );
        assert_eq!(words("  merge_sorted(a, b) "), ["merge", "sorted", "a", "b"]);
        assert_eq!(words("Übersetze: Straße"), ["übersetze", "straße"]);
        assert!(words("?!  ...").is_empty());
    }

    #[test]
    fn features_are_stable_and_families_do_not_collide() {
        let spec = FeatureSpec {
            words: true,
            bigrams: true,
            char_min: 2,
            char_max: 2,
        };
        let mut a = Vec::new();
        for_each_feature(&words("of of"), spec, |k, h| a.push((k, h)));
        let mut b = Vec::new();
        for_each_feature(&words("of of"), spec, |k, h| b.push((k, h)));
        assert_eq!(a, b);
        let word = a.iter().find(|(k, _)| *k == FeatureKind::Word).map(|x| x.1);
        let chars: Vec<u64> = a
            .iter()
            .filter(|(k, _)| *k == FeatureKind::Chars)
            .map(|x| x.1)
            .collect();
        // " of " gives " o", "of", "f " per word.
        assert_eq!(chars.len(), 6);
        assert!(word.is_some_and(|w| !chars.contains(&w)));
    }

    #[test]
    fn words_match_whole_words_and_phrases_match_as_substrings() {
        let scan = Scan::new("Don't use C++ at least; must, MUST, mustard");
        assert_eq!(scan.count("must"), 2);
        assert_eq!(scan.count("at least"), 1);
        assert_eq!(scan.count("don't"), 1);
        assert_eq!(scan.count("c++"), 1);
        assert!(scan.has_any(&["nothing", "use"]) && !scan.has_any(&["least;x"]));
    }

    #[test]
    fn token_estimate_is_about_four_characters_per_token() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd efgh"), 3);
        assert_eq!(estimate_tokens("a b c d e"), 5);
    }
}
