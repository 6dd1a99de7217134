//! What the user already specified in their prompt (its "slots"): a persona
//! for the model, an output format, length limits, the audience, tone, the
//! answer's language, content supplied to work on, explicit constraints;
//! plus what kind of task it is and which essentials are missing. The
//! composer never contradicts a slot: a persona is kept, a format is not
//! replaced, a length limit wins over thoroughness.
//!
//! Extraction is rule-based over the lowercased text, written for messy
//! real phrasing (no punctuation, typos in the rest of the sentence,
//! several asks); every rule is unit-tested on such phrasing.

/// An output format the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// JSON, with the field names when given.
    Json(Vec<String>),
    /// CSV, with the columns when given.
    Csv(Vec<String>),
    /// A table.
    Table,
    /// Bullet points.
    Bullets,
    /// A numbered list.
    Numbered,
    /// Values separated by commas.
    CommaSeparated,
    /// Yes or no.
    YesNo,
    /// One word.
    SingleWord,
    /// Code in a language, when named.
    Code(Option<&'static str>),
    /// A genre with its own shape: email, letter, tweet, haiku, poem...
    Genre(&'static str),
}

impl Format {
    /// A short description for instructions ("JSON with the fields a, b").
    pub fn describe(&self) -> String {
        match self {
            Self::Json(f) if !f.is_empty() => format!("JSON with the fields {}", f.join(", ")),
            Self::Json(_) => "JSON".into(),
            Self::Csv(c) if !c.is_empty() => format!("CSV with the columns {}", c.join(", ")),
            Self::Csv(_) => "CSV".into(),
            Self::Table => "a table".into(),
            Self::Bullets => "bullet points".into(),
            Self::Numbered => "a numbered list".into(),
            Self::CommaSeparated => "a comma-separated list".into(),
            Self::YesNo => "yes or no".into(),
            Self::SingleWord => "a single word".into(),
            Self::Code(Some(lang)) => format!("{lang} code"),
            Self::Code(None) => "code".into(),
            Self::Genre(g) => format!("a {g}"),
        }
    }

    /// Whether the format fixes the whole shape of the answer (nothing may
    /// be added around it: no explanation, no sections).
    pub fn is_strict(&self) -> bool {
        matches!(
            self,
            Self::Json(_) | Self::Csv(_) | Self::CommaSeparated | Self::YesNo | Self::SingleWord
        )
    }
}

/// The unit of a length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    /// Words.
    Words,
    /// Sentences.
    Sentences,
    /// Bullet points.
    Bullets,
    /// Lines.
    Lines,
    /// Paragraphs.
    Paragraphs,
    /// Characters.
    Characters,
    /// Items, points, ideas, examples, tips...
    Items,
}

impl LengthUnit {
    fn name(self) -> &'static str {
        match self {
            Self::Words => "words",
            Self::Sentences => "sentences",
            Self::Bullets => "bullet points",
            Self::Lines => "lines",
            Self::Paragraphs => "paragraphs",
            Self::Characters => "characters",
            Self::Items => "items",
        }
    }
}

/// A length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    /// What is counted.
    pub unit: LengthUnit,
    /// At most this many.
    pub max: Option<u32>,
    /// At least this many.
    pub min: Option<u32>,
    /// A target rather than a limit ("about 300 words", "a 500-word
    /// essay"): `max` holds the target.
    pub approx: bool,
}

impl Length {
    /// The limit in words ("at most 100 words", "exactly 3 items").
    pub fn describe(&self) -> String {
        // "at most 1 sentence", not "1 sentences".
        let one = self.max == Some(1) && self.min.is_none_or(|m| m == 1);
        let plural = self.unit.name();
        let unit = if one {
            plural.strip_suffix('s').unwrap_or(plural)
        } else {
            plural
        };
        match (self.min, self.max) {
            (None, Some(b)) if self.approx => format!("about {b} {unit}"),
            (Some(a), Some(b)) if a == b => format!("exactly {b} {unit}"),
            (Some(a), Some(b)) => format!("{a} to {b} {unit}"),
            (None, Some(b)) => format!("at most {b} {unit}"),
            (Some(a), None) => format!("at least {a} {unit}"),
            (None, None) => unit.to_string(),
        }
    }
}

/// What kind of task the prompt is, for how much to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// A short question of fact or definition.
    FactLookup,
    /// Edit, paraphrase, proofread, shorten or translate supplied text.
    Rewrite,
    /// A short creative piece: tweet, slogan, haiku, joke, caption.
    ShortCreative,
    /// Several asks, or one long structured deliverable.
    MultiPart,
    /// Anything else.
    Open,
}

impl TaskKind {
    /// The id used in data files (`fact_lookup`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FactLookup => "fact_lookup",
            Self::Rewrite => "rewrite",
            Self::ShortCreative => "short_creative",
            Self::MultiPart => "multi_part",
            Self::Open => "open",
        }
    }
}

/// Everything read from the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Slots {
    /// The role the user gave the model, as they wrote it.
    pub persona: Option<String>,
    /// The output format asked for.
    pub format: Option<Format>,
    /// A length limit.
    pub length: Option<Length>,
    /// Who the answer is for.
    pub audience: Option<String>,
    /// The tone asked for.
    pub tone: Option<String>,
    /// The language the answer must be in, when not English.
    pub language: Option<&'static str>,
    /// Text supplied to work on, verbatim (a substring of the prompt).
    pub content: Option<String>,
    /// Other explicit constraints, as the user wrote them.
    pub constraints: Vec<String>,
    /// What kind of task it is.
    pub kind: TaskKind,
    /// Whether the user asked for the reasoning or working to be shown.
    pub wants_reasoning: bool,
    /// Whether the user asked for the bare answer ("number only", "no
    /// explanation", "just the answer").
    pub terse: bool,
    /// Whether the user asked for a short answer ("keep it short", "in
    /// one sentence", "the single strongest"): worked reasoning would pad
    /// it.
    pub brief: bool,
    /// Whether the user sets up a role-play ("let's role-play, you're my
    /// old landlord"): the model's part is theirs to give, and worked
    /// reasoning would break character.
    pub role_play: bool,
    /// Whether the user gave examples to follow.
    pub has_examples: bool,
    /// Whether the request is written in a language other than English
    /// ("Quiero saber cuál lote rinde peor..."): the composer's lines are
    /// English, and mixing them into the user's language muddles the
    /// prompt, so nothing is added.
    pub foreign: bool,
    /// Whether the reader is a lay one the user names ("the audience is
    /// non-statisticians", "no formulas in the main text", "for a
    /// 10 year old"): they want the meaning, not the method or the working.
    pub lay: bool,
    /// The user listed their own asks (three or more bulleted or numbered
    /// lines): their list is the answer's structure.
    pub own_list: bool,
    /// Essentials the task needs that the prompt lacks, as questions.
    pub missing: Vec<String>,
    /// Words of the prompt that say it matters (a deadline, an interview).
    pub stakes: Option<String>,
}

impl Slots {
    /// Whether the user gives the model a part to play: a persona of
    /// their own, or a role-play they set up. The part is theirs; roles,
    /// reasoning lines and standing rules of ours would break it.
    pub fn plays_a_part(&self) -> bool {
        self.persona.is_some() || self.role_play
    }

    /// Whether the supplied content is pasted code (a fenced block, or
    /// lines most of which read as code).
    pub fn content_is_code(&self) -> bool {
        self.content.as_deref().is_some_and(|c| {
            let lines = c.lines().filter(|l| !l.trim().is_empty());
            let (n, coded) = lines.fold((0, 0), |(n, k), l| {
                (n + 1, k + usize::from(code_line(l) && !prose_line(l)))
            });
            c.starts_with("```") || n >= 2 && coded * 2 >= n
        })
    }
}

/// The lowercase text with word boundaries marked: every run of
/// non-alphanumeric characters becomes one space, and the whole is padded
/// with spaces. Phrases are looked up through an index from each word to
/// where it occurs, so checking hundreds of phrases costs a hash lookup
/// each, not a scan of the text each.
pub(crate) struct Lower {
    pub(crate) padded: String,
    /// Byte range in `padded` of each word, in order.
    spans: Vec<(usize, usize)>,
    /// FNV-1a hash of a word to the indices in `spans` where it occurs
    /// (a hit is checked against the text: hashes may collide).
    index: std::collections::HashMap<u64, Vec<u32>, std::hash::BuildHasherDefault<WordHasher>>,
}

/// The keys of [`Lower`]'s index are already hashes: one multiply spreads them.
#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv(bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Lower {
    pub(crate) fn new(text: &str) -> Self {
        let mut padded = String::with_capacity(text.len() + 2);
        padded.push(' ');
        let mut space = true;
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '#' || c == '+' {
                padded.push(c.to_ascii_lowercase());
                space = false;
            } else if c.is_alphanumeric() {
                padded.extend(c.to_lowercase());
                space = false;
            } else if c == '\'' || c == '’' {
                // "don't" -> "dont", "i'm" -> "im"
            } else if !space {
                padded.push(' ');
                space = true;
            }
        }
        if !space {
            padded.push(' ');
        }
        let mut spans = Vec::with_capacity(padded.len() / 5);
        let mut start = None;
        for (i, b) in padded.bytes().enumerate() {
            match (b == b' ', start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    spans.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        let mut index: std::collections::HashMap<u64, Vec<u32>, std::hash::BuildHasherDefault<WordHasher>> =
            std::collections::HashMap::with_capacity_and_hasher(spans.len(), Default::default());
        for (k, (a, b)) in spans.iter().enumerate() {
            index
                .entry(fnv(&padded.as_bytes()[*a..*b]))
                .or_default()
                .push(k as u32);
        }
        Lower { padded, spans, index }
    }

    /// Whether the phrase (words separated by single spaces) occurs.
    pub(crate) fn has(&self, phrase: &str) -> bool {
        self.find(phrase).is_some()
    }

    pub(crate) fn has_any(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| self.has(p))
    }

    /// Whether the parts, one after the other, occur as a phrase: `has_seq(&["to", key])`
    /// is `has(&format!("to {key}"))` without building the string.
    pub(crate) fn has_seq(&self, parts: &[&str]) -> bool {
        self.find_words(parts.iter().flat_map(|p| p.split(' ')).filter(|w| !w.is_empty()))
            .is_some()
    }

    /// Byte offset in `padded` of the first occurrence of the phrase's words.
    fn find(&self, phrase: &str) -> Option<usize> {
        self.find_words(phrase.split(' ').filter(|w| !w.is_empty()))
    }

    fn word(&self, k: usize) -> Option<&str> {
        self.spans.get(k).map(|(a, b)| &self.padded[*a..*b])
    }

    fn find_words<'w>(&self, mut words: impl Iterator<Item = &'w str> + Clone) -> Option<usize> {
        let first = words.next()?;
        self.index.get(&fnv(first.as_bytes()))?.iter().find_map(|&k| {
            let k = k as usize;
            let matches = self.word(k) == Some(first)
                && words
                    .clone()
                    .enumerate()
                    .all(|(j, w)| self.word(k + 1 + j) == Some(w));
            matches.then_some(self.spans[k].0)
        })
    }

    /// The words after the phrase, at most `n`.
    fn words_after(&self, phrase: &str, n: usize) -> Vec<&str> {
        match self.find(phrase) {
            Some(i) => self.padded[i + phrase.len()..]
                .split_whitespace()
                .take(n)
                .collect(),
            None => Vec::new(),
        }
    }

    pub(crate) fn words(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|(a, b)| &self.padded[*a..*b])
    }

    /// Whether one of the phrases starts within the first `n` words.
    pub(crate) fn opens_with_any(&self, phrases: &[&str], n: usize) -> bool {
        phrases.iter().any(|p| {
            self.find(p)
                .is_some_and(|at| self.spans.iter().take(n).any(|(a, _)| *a == at))
        })
    }
}

const NUMBER_WORDS: &[(&str, u32)] = &[
    ("one", 1),
    ("a", 1),
    ("an", 1),
    ("single", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("twelve", 12),
    ("fifteen", 15),
    ("twenty", 20),
    ("fifty", 50),
    ("hundred", 100),
];

fn number(word: &str) -> Option<u32> {
    word.parse::<u32>()
        .ok()
        .filter(|n| *n > 0 && *n <= 100_000)
        .or_else(|| NUMBER_WORDS.iter().find(|(w, _)| *w == word).map(|(_, n)| *n))
}

fn unit(word: &str) -> Option<LengthUnit> {
    Some(match word {
        "word" | "words" => LengthUnit::Words,
        "sentence" | "sentences" => LengthUnit::Sentences,
        "bullet" | "bullets" => LengthUnit::Bullets,
        "line" | "lines" => LengthUnit::Lines,
        "paragraph" | "paragraphs" | "para" | "paras" => LengthUnit::Paragraphs,
        "character" | "characters" | "chars" | "char" => LengthUnit::Characters,
        "item" | "items" | "points" | "point" | "tips" | "ideas" | "examples" | "reasons" | "steps"
        | "names" | "options" | "questions" | "bulletpoints" | "things" | "ways" | "facts"
        | "suggestions" | "titles" | "slogans" | "taglines" | "headlines" => LengthUnit::Items,
        _ => return None,
    })
}

/// Reads a length limit: "under 100 words", "in 3 sentences", "max 5
/// bullets", "exactly 10 names", "one paragraph", "2-3 sentences".
fn length(lower: &Lower) -> Option<Length> {
    let words: Vec<&str> = lower.words().collect();
    for i in 0..words.len() {
        let Some(n) = number(words[i]) else { continue };
        // "2 3 sentences" from "2-3 sentences": a range.
        let unit_near = |at: usize| {
            words.get(at).and_then(|w| unit(w)).is_some() || words.get(at + 1).and_then(|w| unit(w)).is_some()
        };
        let (n_end, min) = match words.get(i + 1).and_then(|w| number(w)) {
            Some(m) if m >= n && unit_near(i + 2) => (i + 2, Some(n)),
            _ => (i + 1, None),
        };
        let max = if min.is_some() {
            number(words[n_end - 1])
        } else {
            Some(n)
        };
        // Allow one adjective between the number and the unit: "3 short paragraphs".
        let unit_at = match words.get(n_end).and_then(|w| unit(w)) {
            Some(u) => Some(u),
            None => words.get(n_end + 1).and_then(|w| unit(w)).filter(|_| {
                words.get(n_end).is_some_and(|adj| {
                    matches!(
                        *adj,
                        "short"
                            | "brief"
                            | "simple"
                            | "bullet"
                            | "key"
                            | "main"
                            | "concise"
                            | "catchy"
                            | "good"
                            | "quick"
                    )
                })
            }),
        };
        let Some(u) = unit_at else { continue };
        let unit_index = if words.get(n_end).and_then(|w| unit(w)).is_some() {
            n_end
        } else {
            n_end + 1
        };
        let after = words.get(unit_index + 1).copied().unwrap_or("");
        let before = if i > 0 { words[i - 1] } else { "" };
        // "a" and "an" only count as "in a sentence", "as a single line".
        if matches!(words[i], "a" | "an" | "single")
            && (!matches!(
                u,
                LengthUnit::Sentences | LengthUnit::Paragraphs | LengthUnit::Lines
            ) || !matches!(before, "in" | "into" | "within" | "as" | "under" | "a" | "just"))
        {
            continue;
        }
        let before2 = if i > 1 { words[i - 2] } else { "" };
        // "a rough menu of 6 items", "my 3 paragraphs": a count of what the
        // user has, not a limit on the answer ("a list of 5 ideas" and "the
        // 3 main ideas" are limits).
        let described = matches!(
            before,
            "my" | "our" | "these" | "those" | "his" | "her" | "their" | "have" | "has" | "had"
        ) || before == "of"
            && !matches!(
                before2,
                "list" | "set" | "series" | "total" | "top" | "maximum" | "max" | "minimum"
            )
            // "about 4000 words left": work the user still has to do.
            || matches!(after, "left" | "remaining" | "written" | "done" | "already")
            // "2000 word sociology essay due friday": an assignment of the
            // user's, not the answer (a study plan).
            || words
                .iter()
                .skip(unit_index + 1)
                .take(3)
                .any(|w| *w == "due")
            // "my 2 year old only says about 15 words": what someone says
            // or knows, not the answer's length.
            || [before, before2, if i > 2 { words[i - 3] } else { "" }]
                .iter()
                .take_while(|w| !matches!(**w, "in" | "under" | "within" | "to" | "than"))
                .any(|w| {
                    matches!(
                        *w,
                        "says" | "said" | "knows" | "knew" | "speaks" | "spoke" | "understands" | "types" | "reads"
                    )
                });
        // "a table followed by a 3-sentence verdict": the length of one
        // part of the answer, not of the whole.
        let part = before == "a" && matches!(before2, "by" | "then" | "plus" | "with" | "and");
        if described || part {
            continue;
        }
        // "under 100 words", "max 3 bullets", "no more than", "up to",
        // "100 words max": a ceiling.
        let ceiling = matches!(
            before,
            "under" | "max" | "maximum" | "within" | "than" | "most" | "below" | "upto" | "limit"
        ) || (before == "to" && before2 == "up")
            || matches!(after, "max" | "maximum" | "tops" | "or");
        let approx = matches!(
            before,
            "about" | "around" | "roughly" | "approximately" | "approx" | "circa" | "some"
        ) || matches!(after, "ish");
        // A bare count of sentences, bullets, lines, paragraphs or items is
        // what was asked for ("3 bullet points" is three); a bare count of
        // words or characters is a target ("a 500 word essay").
        let countable = !matches!(u, LengthUnit::Words | LengthUnit::Characters);
        let exact = matches!(before, "exactly" | "just")
            || (u == LengthUnit::Items && min.is_none())
            || (countable && !ceiling && !approx && min.is_none());
        let lower_bound =
            matches!(before, "least") && before2 == "at" || before == "minimum" || before == "min";
        let limit = if lower_bound {
            Length {
                unit: u,
                min: Some(n),
                max: None,
                approx: false,
            }
        } else if let Some(min) = min {
            Length {
                unit: u,
                min: Some(min),
                max,
                approx: false,
            }
        } else if exact {
            Length {
                unit: u,
                min: Some(n),
                max: Some(n),
                approx: false,
            }
        } else {
            Length {
                unit: u,
                min: None,
                max: Some(n),
                approx: approx || !ceiling,
            }
        };
        // "under 100 words" / "in 3 sentences" / "100 words max": all limits;
        // a bare "3 examples of X" in the middle of a sentence too.
        return Some(limit);
    }
    None
}

/// Phrases that ask for a short answer (see [`Slots::brief`]).
pub(crate) const BRIEF: &[&str] = &[
    "keep it short",
    "keep it brief",
    "short answer",
    "quick answer",
    "quick opinion",
    "quick take",
    "quick honest",
    // "Please don't pad it with general advice": every added part pads.
    "in a few sentences",
    "not looking for a lecture",
    "dont pad",
    "do not pad",
    "no padding",
    "short descriptions",
    "short description",
    "brief descriptions",
    "brief description",
    "briefly",
    "in brief",
    "tldr",
    "tl dr",
    "in one sentence",
    "one sentence",
    "in a sentence",
    "one line",
    "max each",
    "in a nutshell",
    "short and sweet",
    "be concise",
    "single strongest",
    "single best",
    "single biggest",
    "single most",
];

const PERSONA_LEADS: &[&str] = &[
    "you are",
    "youre",
    "you re",
    "act as",
    "act like",
    "pretend to be",
    "pretend you are",
    "pretend youre",
    "pretend yourself to be",
    "pretend yourself as",
    "imagine you are",
    "imagine youre",
    "roleplay as",
    "role play as",
    "play the role of",
    "take the role of",
    "be my",
    "speak as",
    "answer as",
    "respond as",
    "write as",
    "talk like",
    "talk as",
];

/// Words that end a persona phrase.
const PERSONA_STOPS: &[&str] = &[
    "and", "who", "that", "which", "to", "please", "pls", "for", "in", "with", "give", "write", "tell",
    "explain", "help", "i", "my", "now", "then", "answer", "respond", "reply", "can", "could", "what", "how",
    "why", "when", "so", "but", "review", "create", "make", "rate", "do", "is", "are",
];

/// The persona the user set, as written: "You are a grumpy pirate captain",
/// "act as my interview coach", "pretend yourself to be Elon Musk".
fn persona(text: &str, lower: &Lower) -> Option<String> {
    // "tell me like a pirate would", "as a grumpy cat would say it".
    for lead in ["like a", "like an", "as a", "as an"] {
        let after = lower.words_after(lead, 5);
        if let Some(end) = after.iter().position(|w| matches!(*w, "would" | "might"))
            && end > 0
        {
            let article = lead.rsplit(' ').next().unwrap_or("a");
            return Some(format!("{article} {}", after[..end].join(" ")));
        }
    }
    if let Some(after) = Some(lower.words_after("in the voice of", 4)).filter(|a| !a.is_empty()) {
        let name: Vec<&str> = after
            .iter()
            .take_while(|w| !PERSONA_STOPS.contains(w))
            .copied()
            .collect();
        if !name.is_empty() {
            return Some(restore_case(text, &name.join(" ")));
        }
    }
    // "As Gordon Ramsay, react to ...": a name, then an instruction (not
    // "As a teacher, I need ...", the user's own role).
    if let Some(rest) = text.trim_start().strip_prefix("As ")
        && let Some((name, after)) = rest.split_once(',')
        && name.split_whitespace().count() <= 4
        && name.chars().next().is_some_and(char::is_uppercase)
        && !name.starts_with("A ")
        && !name.starts_with("An ")
        && !matches!(
            after.split_whitespace().next().map(str::to_lowercase).as_deref(),
            Some("i" | "we" | "my" | "our" | "i'm" | "im")
        )
    {
        return Some(name.trim().to_string());
    }
    for lead in PERSONA_LEADS {
        let Some(_) = lower.find(lead) else { continue };
        // "you are" inside a question to the model ("are you sure", "you are
        // right") is not a role: require an article, "my", or a capitalised
        // name right after.
        let after = lower.words_after(lead, 8);
        let Some(&first) = after.first() else { continue };
        let is_role =
            matches!(first, "a" | "an" | "the" | "my") || *lead == "be my" || starts_capitalised(text, lead);
        if !is_role
            || matches!(
                first,
                "going" | "not" | "able" | "right" | "wrong" | "sure" | "welcome"
            )
        {
            continue;
        }
        let mut phrase: Vec<&str> = Vec::new();
        for (k, w) in after.iter().enumerate() {
            if k > 0 && PERSONA_STOPS.contains(w) {
                break;
            }
            phrase.push(w);
        }
        // "you are a" + nothing, or a persona that is only an article.
        if phrase.iter().all(|w| matches!(*w, "a" | "an" | "the" | "my")) {
            continue;
        }
        let prefix = if *lead == "be my" { "my " } else { "" };
        return Some(format!("{prefix}{}", restore_case(text, &phrase.join(" "))));
    }
    None
}

/// Whether the word after `lead` in `text` starts with a capital letter
/// ("pretend to be Elon Musk").
fn starts_capitalised(text: &str, lead: &str) -> bool {
    let lowered = text.to_lowercase().replace(['\'', '’'], "");
    let Some(i) = lowered.find(lead) else { return false };
    // Byte offsets differ once apostrophes are removed; search the original
    // from the same position forward for the next word instead.
    let rest: String = text
        .chars()
        .skip(lowered[..i].chars().count() + lead.chars().count())
        .collect();
    rest.trim_start().chars().next().is_some_and(char::is_uppercase)
}

/// `phrase` (lowercase) in the capitalisation of `text` when found there.
fn restore_case(text: &str, phrase: &str) -> String {
    let lowered = text.to_lowercase();
    match lowered.find(phrase) {
        Some(i) if text.is_char_boundary(i) && text.is_char_boundary(i + phrase.len()) => {
            text[i..i + phrase.len()].to_string()
        }
        _ => phrase.to_string(),
    }
}

const CODE_LANGUAGES: &[(&str, &str)] = &[
    ("python", "Python"),
    ("javascript", "JavaScript"),
    ("js", "JavaScript"),
    ("typescript", "TypeScript"),
    ("ts", "TypeScript"),
    ("rust", "Rust"),
    ("golang", "Go"),
    ("java", "Java"),
    ("kotlin", "Kotlin"),
    ("swift", "Swift"),
    ("c#", "C#"),
    ("c++", "C++"),
    ("cpp", "C++"),
    ("php", "PHP"),
    ("ruby", "Ruby"),
    ("sql", "SQL"),
    ("postgres", "SQL"),
    ("mysql", "SQL"),
    ("bash", "Bash"),
    ("powershell", "PowerShell"),
    ("r", "R"),
    ("vba", "VBA"),
    ("html", "HTML"),
    ("css", "CSS"),
    ("regex", "a regular expression"),
];

/// The fields of "with fields a, b and c" / "keys: a, b" / "columns a, b".
fn field_list(lower: &Lower, leads: &[&str]) -> Vec<String> {
    for lead in leads {
        let after = lower.words_after(lead, 12);
        if after.is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        for w in after {
            if matches!(w, "and" | "or") {
                continue;
            }
            if matches!(
                w,
                "for"
                    | "from"
                    | "of"
                    | "in"
                    | "with"
                    | "please"
                    | "pls"
                    | "then"
                    | "the"
                    | "only"
                    | "each"
                    | "per"
                    | "no"
                    | "nothing"
                    | "that"
                    | "so"
            ) || fields.len() >= 8
            {
                break;
            }
            fields.push(w.to_string());
        }
        if !fields.is_empty() {
            return fields;
        }
    }
    Vec::new()
}

/// The output format the user asked for.
fn format(lower: &Lower, text: &str) -> Option<Format> {
    const OUT: &[&str] = &[
        "as", "in", "into", "to", "return", "output", "give", "format", "valid", "make", "create", "produce",
        "using",
    ];
    let asked = |key: &str| {
        OUT.iter()
            .any(|o| lower.has_seq(&[o, key]) || lower.has_seq(&[o, "a", key]))
            || [
                "format", "with", "object", "objects", "array", "list", "only", "output",
            ]
            .iter()
            .any(|after| lower.has_seq(&[key, after]))
    };
    // A table named without pointing at supplied data ("a plan, table week
    // by week"; not "this table").
    let table_named = lower.has("table")
        && ![
            "this",
            "the",
            "that",
            "following",
            "my",
            "attached",
            "above",
            "below",
            "these",
            "our",
        ]
        .iter()
        .any(|d| lower.has_seq(&[d, "table"]));
    if asked("json") {
        return Some(Format::Json(field_list(
            lower,
            &[
                "with fields",
                "with the fields",
                "fields",
                "with keys",
                "keys",
                "with properties",
            ],
        )));
    }
    if asked("csv") {
        return Some(Format::Csv(field_list(
            lower,
            &["with columns", "with the columns", "columns", "headers"],
        )));
    }
    if lower.has_any(&[
        "comma separated",
        "separated by commas",
        "comma delimited",
        "commaseparated",
    ]) {
        return Some(Format::CommaSeparated);
    }
    if lower.has_any(&[
        "yes or no",
        "yes no",
        "just yes",
        "only yes",
        "answer yes",
        "reply yes",
        "true or false",
    ]) {
        return Some(Format::YesNo);
    }
    if lower.has_any(&[
        "one word",
        "single word",
        "1 word",
        "one word answer",
        "number only",
        "only the number",
        "just the number",
        "just a number",
        "only a number",
        "numbers only",
    ]) {
        return Some(Format::SingleWord);
    }
    if (asked("table")
        || table_named
        || lower.has_any(&["tabular", "markdown table", "comparison table", "table comparing"]))
        && !lower.has_any(&["table of contents", "times table"])
    {
        return Some(Format::Table);
    }
    if lower.has_any(&["numbered list", "numbered steps", "number them", "numbered"])
        || lower
            .words()
            .zip(lower.words().skip(1))
            .any(|(n, w)| number(n).is_some() && w == "steps")
    {
        return Some(Format::Numbered);
    }
    if lower.has_any(&[
        "bullet",
        "bullets",
        "bullet points",
        "bulleted",
        "bullet point",
        "bulletpoints",
    ]) {
        return Some(Format::Bullets);
    }
    if lower.has("markdown") {
        return Some(Format::Genre("Markdown document"));
    }
    for (genre, keys) in GENRES {
        if lower.has_any(keys) {
            return Some(Format::Genre(genre));
        }
    }
    for (key, name) in CODE_LANGUAGES {
        let named = ["in", "using", "with", "write", "a", "my", "this"]
            .iter()
            .any(|lead| lower.has_seq(&[lead, key]))
            || [
                "script",
                "function",
                "code",
                "query",
                "program",
                "snippet",
                "class",
                "one liner",
            ]
            .iter()
            .any(|what| lower.has_seq(&[key, what]));
        if named {
            return Some(Format::Code(Some(name)));
        }
    }
    let _ = text;
    None
}

/// Deliverables with a shape of their own, and the words that name them.
const GENRES: &[(&str, &[&str])] = &[
    ("haiku", &["haiku", "haikus"]),
    ("limerick", &["limerick"]),
    ("sonnet", &["sonnet"]),
    ("tweet", &["tweet", "tweets", "x post"]),
    ("poem", &["poem", "poems", "verse"]),
    ("song", &["song lyrics", "lyrics", "song", "rap"]),
    ("email", &["email", "e mail", "mail to"]),
    ("letter", &["letter", "cover letter"]),
    ("essay", &["essay"]),
    ("speech", &["speech", "toast"]),
    ("story", &["story", "short story", "fable", "bedtime story"]),
    ("slogan", &["slogan", "slogans", "tagline", "taglines"]),
    ("dialogue", &["dialogue", "dialog", "screenplay"]),
    (
        "script",
        &[
            "script of",
            "short script",
            "call script",
            "sales script",
            "phone script",
            "script for the meeting",
            "what to say",
        ],
    ),
    ("blog post", &["blog post", "blog", "article"]),
    ("caption", &["caption", "captions"]),
];

const LANGUAGES: &[(&str, &str)] = &[
    ("spanish", "Spanish"),
    ("french", "French"),
    ("german", "German"),
    ("italian", "Italian"),
    ("portuguese", "Portuguese"),
    ("dutch", "Dutch"),
    ("japanese", "Japanese"),
    ("chinese", "Chinese"),
    ("mandarin", "Chinese"),
    ("korean", "Korean"),
    ("russian", "Russian"),
    ("arabic", "Arabic"),
    ("hindi", "Hindi"),
    ("turkish", "Turkish"),
    ("polish", "Polish"),
    ("swedish", "Swedish"),
    ("greek", "Greek"),
    ("vietnamese", "Vietnamese"),
    ("indonesian", "Indonesian"),
    ("ukrainian", "Ukrainian"),
    ("hebrew", "Hebrew"),
    ("thai", "Thai"),
];

/// The answer's language when the user names one: "in Spanish", "into
/// German", "translate to French", "reply in japanese".
fn language(lower: &Lower) -> Option<&'static str> {
    for (key, name) in LANGUAGES {
        for lead in ["in", "into", "to", "reply in", "answer in", "respond in"] {
            if lower.has_seq(&[lead, key]) {
                return Some(name);
            }
        }
    }
    None
}

const TONES: &[&str] = &[
    "formal",
    "informal",
    "casual",
    "friendly",
    "professional",
    "funny",
    "humorous",
    "witty",
    "serious",
    "polite",
    "sarcastic",
    "warm",
    "persuasive",
    "playful",
    "empathetic",
    "enthusiastic",
    "neutral",
    "respectful",
    "firm",
    "apologetic",
    "motivational",
    "inspiring",
    "romantic",
    "dramatic",
    "spooky",
    "cheerful",
    "upbeat",
    "diplomatic",
    "heartfelt",
    "sincere",
    "light hearted",
    "lighthearted",
    "snarky",
    "gentle",
];

fn tone(lower: &Lower) -> Option<String> {
    TONES.iter().find(|t| lower.has(t)).map(|t| (*t).to_string())
}

/// Words common in English and rare in the other languages users write in
/// ("a", "me", "in", "no" are left out: Spanish, Italian and German have
/// them too).
const ENGLISH: &[&str] = &[
    "the", "and", "to", "of", "for", "with", "is", "are", "was", "it", "this", "these", "that", "i", "you",
    "my", "your", "what", "how", "can", "please", "be", "not", "if", "from", "about", "on", "or", "its",
    "im", "we", "our", "have", "will", "would", "should", "which", "who", "they", "there", "at", "by", "but",
    "just", "into", "write", "give", "make", "help", "need", "want",
];

/// Function words of Spanish, French, German, Italian and Portuguese that
/// English prose does not use.
const FOREIGN: &[&str] = &[
    "de", "la", "el", "que", "y", "en", "los", "las", "por", "con", "para", "es", "mi", "mis", "una", "un",
    "del", "al", "lo", "se", "le", "les", "des", "du", "et", "est", "pour", "dans", "ce", "je", "vous", "au",
    "der", "das", "und", "ist", "nicht", "ich", "mit", "für", "ein", "eine", "zu", "den", "dem", "il", "di",
    "che", "per", "non", "sono", "um", "não", "é", "da", "muy", "pero", "como", "mais", "wie", "aber",
    "auch",
];

/// Whether the request is written in another language than English: at
/// least three of its function words are another language's, and more
/// than twice as many as the English ones.
fn foreign(lower: &Lower) -> bool {
    let (mut en, mut other) = (0usize, 0usize);
    for w in lower.words() {
        en += usize::from(ENGLISH.contains(&w));
        other += usize::from(FOREIGN.contains(&w));
    }
    other >= 3 && other > 2 * en
}

/// Words that name a reader who wants the meaning without the method.
const LAY: &[&str] = &[
    "non statisticians",
    "non statistician",
    "non technical",
    "nontechnical",
    "non specialists",
    "non specialist",
    "non experts",
    "non expert",
    "layman",
    "laymen",
    "laypeople",
    "lay reader",
    "lay readers",
    "general public",
    "no formulas",
    "no formulae",
    "no equations",
    "no jargon",
    "not a statistician",
    "not a mathematician",
    "so go easy",
    "go easy on",
    "not a stats",
    "not a math",
    "not a numbers",
    "not a data",
    "plain english",
    "simple terms",
    "maths in a",
    "math in a",
    "like im five",
    "like im 5",
    "eli5",
];

/// Whether the reader is a lay one (see [`Slots::lay`]).
fn lay(lower: &Lower, audience: Option<&str>) -> bool {
    lower.has_any(LAY)
        || audience.is_some_and(|a| {
            let a = format!(" {a} ");
            [
                " year old",
                " kids",
                " children",
                " child",
                " five-year-old",
                " grandma",
                " grandpa",
            ]
            .iter()
            .any(|w| a.contains(w))
        })
}

/// "for a 5 year old", "explain like im five", "for beginners", "for my
/// boss", "to non technical people", "the audience is non-statisticians".
fn audience(lower: &Lower) -> Option<String> {
    if lower.has_any(&[
        "like im five",
        "like im 5",
        "eli5",
        "like i am five",
        "like i am 5",
    ]) {
        return Some("a five-year-old".into());
    }
    // "The audience is non-statisticians, so ...": up to the first word
    // that starts another clause.
    for lead in [
        "the audience is",
        "the audience are",
        "audience will be",
        "the readers are",
    ] {
        let after = lower.words_after(lead, 4);
        let who: Vec<&str> = after
            .iter()
            .take_while(|w| {
                !matches!(
                    **w,
                    "so" | "and" | "but" | "who" | "that" | "which" | "with" | "please"
                )
            })
            .copied()
            .collect();
        if !who.is_empty() {
            return Some(who.join(" "));
        }
    }
    const WHO: &[&str] = &[
        "year old",
        "years old",
        "yo",
        "kids",
        "children",
        "child",
        "beginners",
        "beginner",
        "students",
        "teenagers",
        "teens",
        "boss",
        "manager",
        "team",
        "executives",
        "ceo",
        "investors",
        "customers",
        "clients",
        "parents",
        "grandma",
        "grandmother",
        "grandpa",
        "non technical",
        "nontechnical",
        "layman",
        "laymen",
        "audience",
        "readers",
        "colleagues",
        "coworkers",
        "professor",
        "teacher",
        "landlord",
        "recruiter",
        "hiring manager",
        "newbies",
        "experts",
        "engineers",
        "developers",
        "doctors",
        "nurses",
        "seniors",
        "elderly",
    ];
    let words: Vec<&str> = lower.words().collect();
    for (i, w) in words.iter().enumerate() {
        if !matches!(*w, "for" | "to") {
            continue;
        }
        // "for my boss", "to a 10 year old", "for beginners": the audience
        // follows at once ("for pick up my kids" is not one).
        let next = words.get(i + 1).copied().unwrap_or("");
        let direct = matches!(
            next,
            "a" | "an" | "my" | "our" | "the" | "non" | "young" | "complete" | "total"
        ) || number(next).is_some()
            || WHO.contains(&next);
        if !direct {
            continue;
        }
        let window = words[i + 1..(i + 6).min(words.len())].join(" ");
        if let Some(who) = WHO
            .iter()
            .find(|who| format!(" {window} ").contains(&format!(" {who} ")))
        {
            let end = window.find(who).map_or(window.len(), |p| p + who.len());
            return Some(window[..end].trim().to_string());
        }
    }
    None
}

/// `s` without its leading and trailing blank lines; the first line's
/// indentation (pasted code) is kept.
fn trim_blank_lines(s: &str) -> &str {
    let start = s
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    s[start..].trim_end()
}

/// `block` without trailing lines that speak to the model ("Can you
/// analyze the trend?", "Please keep it short."): those are the request,
/// not the material.
fn material(block: &str) -> &str {
    const ASKS: &[&str] = &[
        "walk me",
        "fix",
        "compare",
        "estimate",
        "analyze",
        "analyse",
        "check",
        "show",
        "rewrite",
        "it only",
        "it should",
        "it keeps",
        "it doesnt",
        "find",
        "use",
        "keep",
        "dont",
        "do not",
        "can you",
        "could you",
        "please",
        "pls",
        "what",
        "how",
        "why",
        "which",
        "also",
        "make",
        "write",
        "give",
        "list",
        "explain",
        "summarize",
        "summarise",
        "translate",
        "then",
        "i need",
        "i want",
        "help",
        "is it",
        "is this",
        "should i",
        "tell me",
        "thanks",
        "thank you",
        "were",
        "we are",
        "im",
        "i am",
    ];
    let block = without_request_paragraphs(block);
    // A pasted email or thread ends with its writer's words, questions
    // included ("Can you both take a look before Friday?").
    let email = block.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("From:") || l.starts_with("Subject:") || l.starts_with("Sent:")
    });
    if email {
        return block.trim_end();
    }
    let mut end = block.len();
    loop {
        let body = block[..end].trim_end();
        let (rest, last) = match body.rfind('\n') {
            Some(n) => (&body[..n], &body[n + 1..]),
            None => return &block[..body.len()],
        };
        let l = Lower::new(last);
        let speaks = last.trim_end().ends_with(['?', '!'])
            || l.has_any(&[
                "please",
                "pls",
                "plz",
                "thanks",
                "thank you",
                "can you",
                "could you",
            ])
            || ASKS.iter().any(|a| l.padded.starts_with(&format!(" {a} ")));
        if !speaks || rest.trim().is_empty() {
            return without_note(body);
        }
        end = rest.len();
    }
}

/// `block` without what follows the material and speaks to the model: a
/// closing paragraph that asks ("Does the 40% figure check out? What should
/// I ask?"), and plain lines after a bulleted list ("Around 350 words. Sign
/// it with her initial.").
fn without_request_paragraphs(block: &str) -> &str {
    let mut block = block.trim_end();
    // Only after material that visibly ends (a closing quotation mark,
    // pasted code, a table row): a question inside an email thread is
    // the thread's. A chat log's last line ("[21:09] Jo: so who's buying",
    // "Ingrid: Sam no") ends it too.
    let last_row = |m: &str| {
        m.lines().last().is_some_and(|l| {
            l.contains([',', '|', '\t']) && l.chars().filter(char::is_ascii_digit).count() >= 2
        })
    };
    fn last_line(m: &str) -> &str {
        m.lines().last().unwrap_or("")
    }
    // Ends beyond doubt: a quotation closes, a fence closes, a table's
    // rows, a chat line. Needed before more than one paragraph is taken
    // out (a semicolon in a letter's sentence is not code).
    // A separator line ("---") closing a pasted message ends it too.
    let surely_ends = |m: &str| {
        m.ends_with(['"', '”', '»', '`'])
            || last_line(m).trim() == "---"
            || table_end(m)
            || verse_end(m)
            || chat_line(last_line(m))
    };
    // A schema line ("courts(id, name, surface)  -- surface 'clay'") is
    // code though it reads as words.
    let schema = |l: &str| {
        let t = l.trim_start();
        t.split_once('(').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
    };
    let ends = |m: &str| {
        let l = last_line(m);
        let comment = l.trim_start().starts_with("-- ");
        surely_ends(m) || last_row(m) || comment || code_line(l) && (!prose_line(l) || schema(l))
    };
    // A paragraph that is itself material (rows, code, chat, a quotation)
    // is never taken for the request. One line with a colon ("Rules: keep
    // the hesitations") is not a chat.
    let is_material = |p: &str| {
        let p = p.trim();
        let chat = p.lines().count() >= 2;
        p.starts_with(['"', '“', '«', '`'])
            || p.lines()
                .all(|l| l.contains('|') || code_line(l) && !prose_line(l) || chat && chat_line(l))
    };
    // The trailing paragraphs ask something of the assistant: a question,
    // or the user's own rules and wishes for the answer ("Please answer:
    // 1. ... 2. ...", then "Short answer for each"). Up to three are
    // looked back over; each asks, or is the last and says how to answer.
    let mut rest = block;
    for depth in 0..3 {
        let Some(split) = rest.rfind("\n\n") else { break };
        let (material, last) = (rest[..split].trim_end(), &rest[split..]);
        if material.is_empty() || is_material(last) {
            break;
        }
        // After a table, the prose paragraph is the request, in any
        // language; after a verse, a paragraph of one long line is.
        let words = last.split_whitespace().count();
        // After a quoted passage (or one closed by a "---" line), a
        // paragraph in the user's own voice ("I put up a fence last spring
        // and got it approved") is theirs.
        let own_voice = (material.ends_with(['"', '”', '»']) || last_line(material).trim() == "---")
            && Lower::new(last).words().next().is_some_and(|w| {
                [
                    "i",
                    "im",
                    "ive",
                    "id",
                    "my",
                    "we",
                    "our",
                    "were",
                    "sorry",
                    "also",
                    "ps",
                    "btw",
                    "fyi",
                    "context",
                    "background",
                    "note",
                    "edit",
                    "for",
                ]
                .contains(&w)
            });
        let asks = asks_for_the_answer(last)
            || own_voice
            || table_end(material) && words >= 8
            || verse_end(material) && words >= 8 && last.trim().lines().count() == 1;
        let about = depth == 0 && about_the_answer(last);
        if !(asks || about) {
            break;
        }
        if surely_ends(material) && asks || depth == 0 && ends(material) {
            block = material;
            break;
        }
        rest = material;
    }
    let lines: Vec<&str> = block.lines().collect();
    // "jan 3 - 185x5" lines, then straight after them "using epley whats
    // my 1rm each time": a short log followed by the request.
    let datum = |l: &str| l.split_whitespace().count() <= 6 && l.chars().any(|c| c.is_ascii_digit());
    if let Some((last, rows)) = lines.split_last()
        && rows.iter().filter(|l| !l.trim().is_empty()).count() >= 3
        && rows.iter().all(|l| l.trim().is_empty() || datum(l))
        && last.split_whitespace().count() >= 6
        && !datum(last)
    {
        let keep: usize = rows.iter().map(|l| l.len() + 1).sum();
        return block[..keep.min(block.len())].trim_end();
    }
    let bullet = |l: &str| l.trim_start().starts_with(['-', '*', '•']);
    let listed = lines.iter().filter(|l| bullet(l)).count();
    if let Some(last_bullet) = lines.iter().rposition(|l| bullet(l))
        && listed >= 3
        && last_bullet + 1 < lines.len()
        && lines[..=last_bullet]
            .iter()
            .all(|l| bullet(l) || l.trim().is_empty())
    {
        let keep: usize = lines[..=last_bullet].iter().map(|l| l.len() + 1).sum();
        return block[..keep.min(block.len())].trim_end();
    }
    block
}

/// Whether a paragraph after the material asks something of the
/// assistant: a question, or the user's rules and wishes for the answer,
/// in English or in one of the languages users often write in.
fn asks_for_the_answer(paragraph: &str) -> bool {
    // A letter's own phrases ("Please note that the assessment...") are
    // the letter's, not a request to the assistant.
    let mut lower = paragraph.to_lowercase();
    for letter in [
        "please note",
        "please find",
        "please direct",
        "please contact",
        "please do not hesitate",
    ] {
        lower = lower.replace(letter, "");
    }
    paragraph.contains(['?', '¿'])
        || [
            "give me",
            "tell me",
            "show me",
            "help me",
            "let me know",
            "if you can",
            "if possible",
            "suggest a",
            "suggest an",
            "rules:",
            "please ",
            "can you",
            "could you",
            "i want",
            "i need",
            "need a query",
            "need a script",
            "need a formula",
            "need a function",
            "i dont want",
            "i don't want",
            "make sure",
            "keep the",
            "after the translation",
            "por favor",
            "quiero",
            "necesito",
            "puedes",
            "s'il vous plaît",
            "je veux",
            "pouvez-vous",
            "bitte",
            "ich möchte",
            "per favore",
            "vorrei",
        ]
        .iter()
        .any(|cue| lower.contains(cue))
}

/// Whether the last lines of `m` are rows of one table: two or three lines
/// with the same number of `|`, tab or comma separators, and figures in
/// them (a recipe's "1 tsp thyme, 2 bay leaves, salt" is one line alone).
fn table_end(m: &str) -> bool {
    let rows: Vec<&str> = m.lines().rev().take(3).collect();
    rows.len() >= 2
        && rows
            .iter()
            .map(|l| l.chars().filter(char::is_ascii_digit).count())
            .sum::<usize>()
            >= 2
        && ['|', '\t', ','].iter().any(|sep| {
            let n = rows[0].matches(*sep).count();
            n >= 1
                && rows
                    .iter()
                    .all(|l| l.matches(*sep).count() == n && !l.contains(". "))
        })
}

/// Whether a short closing paragraph says how to answer ("Short answer for
/// each, then one line on anything ambiguous"), not more of the material.
fn about_the_answer(paragraph: &str) -> bool {
    let lower = Lower::new(paragraph);
    paragraph.split_whitespace().count() <= 30
        && lower.has_any(&[
            "answer",
            "answers",
            "reply",
            "respond",
            "for each",
            "bullet",
            "bullets",
            "table",
            "keep it",
            "words",
            "sentences",
            "format",
            "list",
            "sort by",
            "order by",
            "sorted",
        ])
}

/// Whether `m` ends in a stanza: three or more short lines of several words
/// each, hardly any ending in a full stop, no figures and no bullets ("Got
/// my coffee in a paper cup / Headlights cutting through the rain / ...").
/// Prose wraps into long lines or ends its sentences; an address block's
/// lines are too short.
fn verse_end(m: &str) -> bool {
    let stanza = m.rsplit("\n\n").next().unwrap_or("");
    let lines: Vec<&str> = stanza.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let words: Vec<usize> = lines.iter().map(|l| l.split_whitespace().count()).collect();
    lines.len() >= 3
        && words.iter().all(|w| (3..=12).contains(w))
        && words.iter().sum::<usize>() >= 4 * lines.len()
        && lines.iter().filter(|l| l.ends_with('.')).count() <= 1
        // Standings, ingredients and lists have figures or bullets; a
        // lyric has neither.
        && !lines.iter().any(|l| {
            chat_line(l) || l.contains('|') || l.starts_with(['-', '*', '•']) || l.contains(|c: char| c.is_ascii_digit())
        })
}

/// Whether a line reads as one message of a pasted chat: a speaker's name
/// (one or two words, capitalised) and a colon, after an optional time
/// stamp ("[21:04] Tomek: two subs...", "Ingrid: Sam no").
fn chat_line(line: &str) -> bool {
    let t = line.trim_start();
    let t = match t.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((stamp, rest)) if stamp.contains(':') && stamp.len() <= 20 => rest.trim_start(),
        _ => t,
    };
    t.split_once(':').is_some_and(|(name, said)| {
        let words: Vec<&str> = name.split_whitespace().collect();
        // An email's headers are not a chat.
        !said.trim().is_empty()
            && !matches!(
                name.trim().to_ascii_lowercase().as_str(),
                "from" | "to" | "cc" | "bcc" | "subject" | "date" | "sent" | "re" | "fw" | "fwd"
            )
            && (1..=2).contains(&words.len())
            && words.iter().all(|w| {
                w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(char::is_alphabetic)
            })
    })
}

/// Whether a line of a pasted block reads as code rather than prose.
fn code_line(line: &str) -> bool {
    let t = line.trim_start();
    line.starts_with([' ', '\t'])
        || t.contains([';', '{', '}', '=', '(', ')', '<', '>', '[', ']'])
        || [
            "def ", "return", "import ", "from ", "const ", "let ", "var ", "fn ", "class ", "#include",
            "for ", "if ", "while ", "elif ", "else", "try", "except", "async ", "public ", "private ", "#!",
            "//", "/*", "-- ", "select ", "SELECT ",
        ]
        .iter()
        .any(|k| t.starts_with(k))
}

/// Whether a line reads as the user's prose: words, not statements (a
/// parenthesis in a sentence is still prose).
fn prose_line(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || !line.starts_with([' ', '\t'])
            && !t.contains([';', '{', '}', '=', '<', '>'])
            && t.split_whitespace().count() >= 4
}

/// `block` without a closing paragraph of prose after pasted code ("the api
/// definitely returns an array, i checked"): that is the user talking about
/// the code, and belongs with the request, not inside the material.
fn without_note(block: &str) -> &str {
    let Some(split) = block.rfind("\n\n") else {
        return block;
    };
    let (code, note) = (&block[..split], block[split..].trim());
    let code_lines = code.lines().filter(|l| !l.trim().is_empty());
    let (total, coded) = code_lines.fold((0, 0), |(n, c), l| {
        (n + 1, c + usize::from(code_line(l) && !prose_line(l)))
    });
    let prose = note.lines().all(prose_line) && note.split_whitespace().count() >= 4;
    if total >= 2 && coded * 2 >= total && prose {
        code.trim_end()
    } else {
        block
    }
}

/// The paragraphs of pasted code that open `text`, when prose follows them:
/// at least three lines, two thirds of them code, and no code after.
fn leading_code(text: &str) -> Option<&str> {
    let mut end = 0;
    let mut lines = 0;
    for para in text.split("\n\n") {
        let start = para.as_ptr() as usize - text.as_ptr() as usize;
        let body: Vec<&str> = para.lines().filter(|l| !l.trim().is_empty()).collect();
        if body.is_empty() {
            continue;
        }
        // "why does this keep saying TypeError: unsupported operand
        // type(s) for +=" opens with the user's question, not with code.
        let asks = lines == 0
            && body.first().is_some_and(|l| {
                let first = l.split_whitespace().next().unwrap_or("").to_lowercase();
                matches!(
                    first.as_str(),
                    "why" | "how" | "what" | "whats" | "what's" | "can" | "could" | "does" | "is" | "help"
                )
            });
        if asks {
            return None;
        }
        let coded = body.iter().filter(|l| code_line(l) && !prose_line(l)).count();
        if coded * 3 >= body.len() * 2 {
            end = start + para.len();
            lines += body.len();
            continue;
        }
        // The first prose paragraph: the rest must be prose too.
        let rest = &text[start..];
        let prose = rest.lines().all(prose_line);
        return (lines >= 3 && prose).then(|| text[..end].trim_end());
    }
    None
}

/// Whether `block` is a list of the user's own asks introduced by `lead`
/// ("help me with a few things:", "my questions:"): every line a short
/// list item.
fn own_list(text: &str) -> bool {
    text.lines().map(str::trim).filter(|l| list_marker(l)).count() >= 3
}

fn asks_for_a_list(lead: &str, block: &str) -> bool {
    let lead = Lower::new(lead);
    let introduces = lead.has_any(&[
        "help me with",
        "help with",
        "give me",
        "few things",
        "couple of things",
        "couple things",
        "these things",
        "questions",
        "following",
        "i need",
        "i want",
        "i would like",
        "id like",
    ]);
    // A lead that works on the list ("sort these questions by topic:")
    // makes it material, whatever it holds.
    let works_on = lead.has_any(REWRITE_VERBS)
        || lead.has_any(&[
            "summarize",
            "summarise",
            "sort",
            "classify",
            "group",
            "categorize",
            "categorise",
            "translate",
            "extract",
        ]);
    // "Questions:" or "Need help with:" leads the user's own asks, however
    // long each is ("3) Write a quick text to my baler asking if he can
    // come Wednesday instead of Friday").
    let asks_lead = lead.has_any(&["questions", "help with", "help me with", "need help"]);
    let items: Vec<&str> = block.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let ask = |l: &&str| {
        let words = l.split_whitespace().count();
        list_marker(l) && (words <= 16 || l.ends_with('?') || asks_lead && words <= 45)
    };
    // A note after the list ("I have a car loan still, if that changes
    // anything") is the user's too.
    let listed = match items.split_last() {
        Some((last, rest)) if rest.len() >= 2 && !list_marker(last) => rest,
        _ => &items[..],
    };
    introduces && !works_on && !listed.is_empty() && listed.iter().all(ask)
}

/// Whether `line` starts as a list item: a bullet, a number ("1)", "2."),
/// or a letter ("(a)", "b)", "c.").
fn list_marker(line: &str) -> bool {
    if line.starts_with(['-', '*', '•']) {
        return true;
    }
    let label = line.strip_prefix('(').unwrap_or(line);
    // At most two digits: "203.0.113.45 - - [12/Mar" opening a log line
    // is no item number.
    label.split_once([')', '.']).is_some_and(|(n, _)| {
        !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
            || n.len() == 1 && n.chars().all(|c| c.is_ascii_lowercase())
    })
}

/// The supplied content: a fenced block, the text after a colon that
/// starts a new line or runs long, a long quotation, or a block after a
/// blank line. Always a verbatim substring of `text`.
fn content(text: &str, rewrite: bool) -> Option<String> {
    if let Some(start) = text.find("```") {
        let rest = &text[start..];
        let end = rest[3..].find("```").map_or(rest.len(), |e| e + 6);
        return Some(rest[..end.min(rest.len())].trim().to_string());
    }
    // A block after a colon that ends a line of prose near the start
    // ("Summarize this email:"), not a colon inside pasted code
    // ("def f():") further down.
    // Only the first three lines are looked at (a colon further down is
    // inside the material), and the block is read only for a line that
    // qualifies, so a text full of colons costs no more than a short one.
    let head_end = text.match_indices('\n').nth(2).map_or(text.len(), |(n, _)| n);
    for (i, _) in text[..head_end].match_indices(':') {
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let line = &text[line_start..i];
        let prose = !line.contains(['(', ')', '=', '{', '}', ';', '[', ']', '<', '>'])
            && !line.starts_with([' ', '\t'])
            && line.split_whitespace().count() >= 2;
        let after = &text[i + 1..];
        let starts_block = after.starts_with('\n') || after.starts_with(" \n") || after.starts_with("\r\n");
        if !(prose && starts_block) {
            continue;
        }
        let block = material(trim_blank_lines(after));
        // "Can you help me with a few things:" and a numbered list: the
        // list is the request itself, not material to work on.
        if asks_for_a_list(line, block) {
            continue;
        }
        if block.trim().chars().count() >= 20 {
            return Some(block.to_string());
        }
    }
    // A block after a blank line, when the first paragraph is the request
    // (it asks, or ends with a colon) and the block does not (a table
    // followed by its question is the other way round).
    if let Some(i) = text.find("\n\n") {
        let (head, tail) = (&text[..i], material(trim_blank_lines(&text[i..])));
        let lead = Lower::new(head);
        let opens = lead.words().next().is_some_and(|w| IMPERATIVES.contains(&w));
        // A head that says what to do with the block ("tldr pls", "Add
        // docstrings to this.") points at it whatever the block holds.
        let points = lead.has_any(REWRITE_VERBS) || opens && head.chars().count() <= 160;
        let head_asks = points || head.contains('?') || head.trim_end().ends_with(':');
        if head.chars().count() <= 400
            && head_asks
            && (points || !tail.contains('?'))
            && tail.trim().chars().count() >= 40
        {
            return Some(tail.to_string());
        }
    }
    // Pasted code first and the request after it ("def load(path): ...",
    // then "this crashes on blank rows, can you fix it?").
    if let Some(code) = leading_code(text) {
        return Some(code.to_string());
    }
    // A long quotation.
    for (open, close) in [('"', '"'), ('“', '”'), ('«', '»')] {
        if let Some(a) = text.find(open) {
            let from = a + open.len_utf8();
            if let Some(b) = text[from..].find(close) {
                let quoted = &text[from..from + b];
                if quoted.chars().count() >= 40 {
                    return Some(quoted.trim().to_string());
                }
            }
        }
    }
    // The rest of a line after "rewrite this:", "make it politer:" - only
    // when the words before the colon ask for a rewrite ("A/B test result:
    // ... is it significant?" is part of the request).
    if rewrite {
        let head_end = text.match_indices('\n').nth(2).map_or(text.len(), |(n, _)| n);
        for (i, _) in text[..head_end].match_indices(':').take(8) {
            let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
            let lead = Lower::new(&text[line_start..i]);
            let rest_of_line = text[i + 1..].split('\n').next().unwrap_or("").trim();
            if lead.has_any(REWRITE_VERBS) && rest_of_line.chars().count() >= 8 {
                return Some(rest_of_line.to_string());
            }
        }
    }
    None
}

/// Verbs that open a request ("summarize", "fix", "explain").
const IMPERATIVES: &[&str] = &[
    "summarize",
    "summarise",
    "translate",
    "rewrite",
    "fix",
    "explain",
    "review",
    "proofread",
    "analyze",
    "analyse",
    "extract",
    "convert",
    "turn",
    "make",
    "write",
    "list",
    "compare",
    "check",
    "improve",
    "shorten",
    "edit",
    "format",
    "clean",
    "reply",
    "answer",
    "find",
    "classify",
    "sort",
    "parse",
    "tell",
    "give",
    "read",
    "look",
    "help",
    "add",
    "describe",
    "rate",
    "critique",
    "grade",
    "identify",
    "count",
    "calculate",
    "solve",
    "tldr",
    "tl",
    "summary",
    "debug",
    "refactor",
    "document",
    "comment",
];

const CONSTRAINT_LEADS: &[&str] = &[
    "dont",
    "do not",
    "avoid",
    "without",
    "never",
    "no",
    "must",
    "only",
    "make sure",
    "keep it",
    "not more than",
    "it should not",
    "it shouldnt",
    "exclude",
    "use only",
    "stick to",
    "limit it",
    "nothing",
    "skip",
    "leave out",
    "it must",
    "it should",
    "it has to",
    "it needs to",
    "keep",
];

/// Sentences of the instruction part that state a constraint, verbatim:
/// they start with a constraint word ("Don't use jargon", "Only use the
/// standard library", "No more than 3 slides") or end with "only" ("I use
/// Excel only"); a story that merely contains "don't" is not one.
fn constraints(instruction: &str) -> Vec<String> {
    instruction
        .split(['.', '!', '?', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= 200)
        .filter(|s| {
            let l = Lower::new(s);
            let body = l
                .padded
                .trim_start()
                .trim_start_matches("please ")
                .trim_start_matches("and ")
                .trim_start_matches("but ");
            CONSTRAINT_LEADS
                .iter()
                .any(|lead| body.starts_with(&format!("{lead} ")))
                || l.padded.trim_end().ends_with(" only")
        })
        .take(5)
        .map(str::to_string)
        .collect()
}

const REWRITE_VERBS: &[&str] = &[
    "rewrite",
    "rephrase",
    "paraphrase",
    "reword",
    "proofread",
    "proof read",
    "fix the grammar",
    "fix grammar",
    "correct the grammar",
    "correct grammar",
    "correct this",
    "fix this text",
    "improve this",
    "improve the wording",
    "polish",
    "edit this",
    "make this",
    "make it",
    "shorten",
    "simplify this",
    "translate",
    "tidy up",
    "clean up this",
    "make my",
    "check my",
    "check this",
    "fix my email",
    "fix my",
    "turn this",
    "turn these",
    "convert this",
    "convert these",
    "put this",
    "change this",
    "format this",
    "clean this",
    "clean up",
    "make these",
    "rewrite my",
    "edit my",
    "improve my",
    "correct my",
    "adapt this",
    "summarize this",
    "summarise this",
    "condense",
    "tighten",
];

const SHORT_CREATIVE: &[&str] = &[
    "tweet",
    "slogan",
    "tagline",
    "haiku",
    "limerick",
    "caption",
    "joke",
    "pun",
    "one liner",
    "oneliner",
    "title",
    "headline",
    "name for",
    "names for",
    "motto",
    "riddle",
    "short poem",
    "couplet",
    "toast",
    "bio",
    "hashtag",
    "subject line",
    "pickup line",
    "pick up line",
    "acrostic",
    // A word or two to use ("a word besides 'said'", "another word for
    // cheap"): the answer is a short list, not a piece of writing.
    "word besides",
    "a word for",
    "a better word",
    "other words for",
    "another word",
    "synonym",
    "synonyms",
];

const QUESTION_WORDS: &[&str] = &[
    "what", "who", "when", "where", "which", "why", "how", "is", "are", "was", "were", "do", "does", "did",
    "can", "could", "whats", "whos", "wheres", "whens", "hows", "name", "define", "list",
];

/// How many separate asks: question marks and imperative sentences.
fn asks(instruction: &str) -> usize {
    let questions = instruction.matches('?').count();
    // "1. ", "2) " at the start of a line or after a space; "- " and "* "
    // at the start of a line.
    let chars: Vec<char> = instruction.chars().collect();
    let numbered = (0..chars.len().saturating_sub(2))
        .filter(|&i| {
            chars[i].is_ascii_digit()
                && matches!(chars[i + 1], '.' | ')')
                && chars[i + 2] == ' '
                && (i == 0 || chars[i - 1].is_whitespace())
        })
        .count();
    let bulleted = instruction
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with("- ") || t.starts_with("* ")
        })
        .count();
    let enumerated = numbered + bulleted;
    let also = Lower::new(instruction);
    let joined = [
        "also",
        "and then",
        "then",
        "plus",
        "as well as",
        "in addition",
        "additionally",
    ]
    .iter()
    .filter(|p| also.has(p))
    .count();
    questions.max(1) + enumerated + joined
}

fn kind(
    lower_instruction: &Lower,
    instruction: &str,
    content: Option<&str>,
    format: Option<&Format>,
) -> TaskKind {
    let words = lower_instruction.words().count();
    if content.is_some() && lower_instruction.has_any(REWRITE_VERBS) {
        return TaskKind::Rewrite;
    }
    // A short instruction over supplied prose (not code) transforms it:
    // extract, explain, condense, reformat.
    if content.is_some_and(|c| !c.starts_with("```")) && words <= 25 && asks(instruction) <= 2 {
        return TaskKind::Rewrite;
    }
    let n = asks(instruction);
    if n >= 3 || (n >= 2 && words > 40) || words > 120 {
        return TaskKind::MultiPart;
    }
    if lower_instruction.has_any(SHORT_CREATIVE)
        || matches!(
            format,
            Some(Format::Genre(
                "haiku" | "tweet" | "slogan" | "limerick" | "caption"
            ))
        )
    {
        return TaskKind::ShortCreative;
    }
    let first = lower_instruction.words().next().unwrap_or("");
    // The sentence that carries the question mark starts with a question
    // word ("Ideas?" after a description is not a lookup).
    let question_sentence = instruction
        .split_inclusive(['.', '!', '\n'])
        .find(|s| s.contains('?'))
        .map(Lower::new)
        .and_then(|l| l.words().next().map(str::to_string));
    let one_question = instruction.matches('?').count() == 1
        && question_sentence.is_some_and(|w| QUESTION_WORDS.contains(&w.as_str()));
    if content.is_none()
        && n == 1
        && (words <= 20 && (QUESTION_WORDS.contains(&first) || one_question) || words <= 30 && one_question)
        && !lower_instruction.has_any(&["my", "i", "we", "our", "me"])
    {
        return TaskKind::FactLookup;
    }
    TaskKind::Open
}

/// Tasks that cannot be done well without a fact the prompt may lack:
/// (words naming the task, words that show the fact was given, question).
/// A prompt with more than 200 characters of supplied content is taken to
/// carry its own details.
/// Words of a request to write up a CV or a letter of one's own.
const WRITES_CV: &[&str] = &[
    "write",
    "draft",
    "make",
    "create",
    "improve",
    "update",
    "tailor",
    "rewrite",
    "polish",
    "fix",
    "help me with",
    "help with",
];

/// Words of a request to write to someone (a landlord, an employer).
const WRITES_TO_SOMEONE: &[&str] = &["write", "draft", "letter", "email", "notice", "message", "reply"];

/// Essentials a request may lack, each as (the task's words, words that
/// show it is given, the question to ask, words without one of which it
/// is not asked: empty for always). A question about a CV's sections asks
/// for no experience to write up; "can my landlord keep my deposit?" is
/// answered in general terms, with what depends on the place, and only a
/// letter or a notice to write needs the place first.
type Essential = (
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
    &'static [&'static str],
);

const ESSENTIALS: &[Essential] = &[
    (
        &["cover letter"],
        &[
            "position",
            "role at",
            "job at",
            "applying for",
            "apply for",
            "job as",
            "vacancy",
            "posting",
            "company",
            "opening",
        ],
        "Which job and company is it for?",
        &[],
    ),
    (
        &["cover letter", "resume", "cv"],
        &[
            "experience",
            "years",
            "worked",
            "background",
            "skills",
            "degree",
            "studied",
            "my job",
            "i am a",
            "im a",
            "i work",
            "led",
            "managed",
        ],
        "What experience and skills should it highlight?",
        WRITES_CV,
    ),
    (
        &[
            "plan a trip",
            "plan my trip",
            "plan our trip",
            "itinerary",
            "plan a vacation",
            "plan a holiday",
            "honeymoon",
        ],
        &[
            " to ", " in ", "visit", "around", "japan", "paris", "italy", "spain", "france", "london",
        ],
        "Where are you going?",
        &[],
    ),
    (
        &[
            "plan a trip",
            "plan my trip",
            "plan our trip",
            "trip to",
            "itinerary",
            "plan a vacation",
            "vacation to",
            "holiday to",
            "honeymoon",
            "plan my wedding",
            "plan a wedding",
            "plan a party",
            "birthday party",
        ],
        &[
            "budget", "$", "€", "£", "usd", "eur", "cheap", "luxury", "afford", "paid", "spent", "cost",
        ],
        "What is the budget?",
        &[],
    ),
    (
        &[
            "plan my wedding",
            "plan a wedding",
            "plan a party",
            "plan my party",
            "birthday party",
            "surprise party",
            "anniversary dinner",
        ],
        &[
            "guests",
            "people",
            "attendees",
            "of us",
            "kids",
            "children",
            "friends",
            "at home",
            "at our",
            "at my",
        ],
        "How many guests, and where and when is it?",
        &[],
    ),
    (
        &[
            "wedding speech",
            "best man speech",
            "maid of honor speech",
            "eulogy",
            "toast for",
            "poem for my",
            "birthday message",
            "card for my",
            "speech for my",
        ],
        &[
            "named",
            "name is",
            "called",
            "who loves",
            "she loves",
            "he loves",
            "we met",
            "years ago",
            "always",
            // "He's obsessed with his lawn and his grill": details given
            // (matched in the raw lowercase text, apostrophes kept).
            "he's",
            "she's",
            " hes ",
            " shes ",
            "he is ",
            "she is ",
            "obsessed",
            " loves ",
            " likes ",
            "favorite",
            "favourite",
            "hobby",
            "hobbies",
        ],
        "Who is it for, and what details or stories about them should it include?",
        &[],
    ),
    (
        &[
            "write a story",
            "write me a story",
            "write a poem",
            "write me a poem",
            "write a song",
            "write me a song",
        ],
        &[
            " about ",
            " where ",
            " in which ",
            " set in ",
            "involving",
            " for my ",
        ],
        "What should it be about?",
        &[],
    ),
    (
        // A legal claim to write up, not any message to a landlord ("a
        // text to my landlord about the broken boiler" needs no state).
        &[
            "is it legal",
            "my rights",
            "sue my",
            "deposit back",
            "get my deposit",
            "my deposit",
            "security deposit",
            "evict",
            "eviction",
            "withhold rent",
            "small claims",
            "legally",
        ],
        &[
            "usa",
            "us ",
            "uk",
            "england",
            "canada",
            "australia",
            "germany",
            "france",
            "india",
            "california",
            "texas",
            "new york",
            "ontario",
            "state of",
            "eu ",
        ],
        "Which country or state are you in?",
        WRITES_TO_SOMEONE,
    ),
    (
        &[
            "keeps crashing",
            "crashes",
            "wont start",
            "wont turn on",
            "weird noise",
            "strange noise",
        ],
        &[
            "error",
            "exception",
            "traceback",
            "when i",
            "after i",
            "whenever",
            "model",
            "version",
            "sounds like",
            "log",
        ],
        "What exactly happens (the error message or the symptoms), when, and on what device or setup?",
        &[],
    ),
    (
        &[
            "my data",
            "my dataset",
            "analyze my",
            "analyse my",
            "my spreadsheet",
            "my survey",
        ],
        &["columns", "fields", "rows", ","],
        "Please share the data, or at least its columns, and the question it should answer.",
        &[],
    ),
    (
        &[
            "summarize this",
            "summarise this",
            "tldr this",
            "summary of this",
            "translate this",
            "proofread this",
            "rewrite this",
            "improve this",
            "fix this code",
            "review this code",
            "this email",
            "reply to this",
            "our q3 report",
            "the report",
            "my essay",
            "my resume",
        ],
        &[],
        "Please paste the text you mean.",
        &[],
    ),
    (
        &["translate"],
        &[
            "spanish",
            "french",
            "german",
            "italian",
            "portuguese",
            "japanese",
            "chinese",
            "korean",
            "russian",
            "arabic",
            "hindi",
            "english",
            "dutch",
            "polish",
            "turkish",
            "into ",
            " to ",
        ],
        "Into which language?",
        &[],
    ),
    (
        &[
            "make me a website",
            "build me a website",
            "make me an app",
            "build me an app",
            "automate my job",
            "script to automate",
            "write me a bot",
        ],
        &["that ", "which ", "using", "in python", "in javascript", "for my"],
        "What should it do, and on which platform or in which language?",
        &[],
    ),
];

fn missing(lower: &Lower, text: &str, content: Option<&str>, kind: TaskKind) -> Vec<String> {
    // A role-play the user sets up ("pretend you are my landlord, I will
    // negotiate") starts at once; questions first would only delay it.
    if lower.has_any(&[
        "pretend you are",
        "pretend youre",
        "pretend to be",
        "role play",
        "roleplay",
        "play a",
        "play an",
        "play the",
        "stay in character",
    ]) {
        return Vec::new();
    }
    let raw = format!(" {} ", text.to_lowercase());
    // Words the user quotes are not their request ("no 'I hope this email
    // finds you well'" refers to no email to paste).
    let unquoted = Lower::new(&without_quotes(text));
    let mut out: Vec<String> = Vec::new();
    for (task, given, question, asked_when) in ESSENTIALS {
        // Whole words: "stripped" is not a "trip".
        if !task.iter().any(|t| unquoted.has(t.trim()))
            || !asked_when.is_empty() && !lower.has_any(asked_when)
        {
            continue;
        }
        let supplied = if given.is_empty() {
            content.is_some()
        } else {
            given.iter().any(|g| raw.contains(g)) || content.is_some_and(|c| c.chars().count() > 200)
        };
        // A long prompt carries details of its own ("translate this for my
        // grandma: tell her we're coming saturday..."); only short ones are
        // asked. Nor is a budget asked of a trip described in detail (when,
        // with whom, what they like) down to the table it wants.
        let supplied = supplied
            || lower.words().count() > 40
            || question.contains("budget") && lower.words().count() > 25;
        // A haiku about a leaf blower that won't start needs no error message.
        let moot = question.contains("error message") && kind == TaskKind::ShortCreative;
        if !(supplied || moot || out.iter().any(|q| q == question)) {
            out.push((*question).to_string());
        }
    }
    out
}

/// `text` without the spans it puts in quotes: double quotes of either
/// kind, and single quotes that open after a space and close before one
/// (an apostrophe inside a word is no quote).
fn without_quotes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens_single = (c == '\'' || c == '‘') && (i == 0 || chars[i - 1].is_whitespace());
        let close: &[char] = match c {
            '"' => &['"'],
            '“' => &['”', '"'],
            _ if opens_single => &['\'', '’'],
            _ => &[],
        };
        if !close.is_empty() {
            let end = (i + 1..chars.len()).find(|&j| {
                close.contains(&chars[j])
                    && (!opens_single || chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric()))
            });
            if let Some(end) = end {
                out.push(' ');
                i = end + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

const STAKES: &[&str] = &[
    "job interview",
    "deadline",
    "exam",
    "job application",
    "due tomorrow",
    "due today",
    "urgent",
    "asap",
    "presentation tomorrow",
    "thesis",
    "dissertation",
    "court date",
    "court hearing",
    "lawsuit",
    "visa",
    "scholarship",
    "grant proposal",
    "wedding",
    "funeral",
    "eulogy",
];

/// Everything read from `text` (see the module docs).
pub fn read(text: &str) -> Slots {
    let full = Lower::new(text);
    let content = content(text, full.has_any(REWRITE_VERBS));
    let instruction = match &content {
        Some(c) => text.replacen(c.as_str(), " ", 1),
        None => text.to_string(),
    };
    // Without supplied content the instruction is the whole text.
    let own;
    let lower = match &content {
        Some(_) => {
            own = Lower::new(&instruction);
            &own
        }
        None => &full,
    };
    let format = format(lower, &instruction);
    let wants_reasoning = lower.has_any(&[
        "think step by step",
        "reason step by step",
        "solve it step by step",
        "solve step by step",
        "work it out step by step",
        "explain step by step",
        "step by step explanation",
        "step by step solution",
        "show your work",
        "show the work",
        "show your working",
        "show the math",
        "show the maths",
        "explain your reasoning",
        "show your reasoning",
        "walk me through",
        "explain each step",
        "reason it out",
        "show your reasoning step by step",
        "show the reasoning",
        "show the working",
        "show the steps",
        "show me the steps",
        "show the calculations",
        "show the calculation",
        "show how you calculated",
        "show how you worked",
        "show how you got",
        "think it through out loud",
        "walk through it",
        "walk through this",
        "walk us through",
        // Asked for already, wherever it stands: a line would repeat it.
        "step by step",
    ]);
    let terse = lower.has_any(&[
        "no explanation",
        "without explanation",
        "without explaining",
        "no explanations",
        "just the answer",
        "only the answer",
        "answer only",
        "short answer",
        "one line answer",
        "dont explain",
        "no need to explain",
        "dont need the full explanation",
        "dont need a full explanation",
        "dont need an explanation",
        "dont need the explanation",
        "dont need a long explanation",
        "skip the explanation",
        "just tell me",
        "no details",
        "number only",
        "just the number",
        "only the number",
        "just give me the code",
        "just the code",
        "code only",
        "only the code",
        "only code",
        "no commentary",
        "nothing else",
        "and nothing else",
        "just the regex",
        "just the formula",
        "just the command",
        "just the query",
        "just the category",
        "just the name",
        "just the names",
        "just the word",
        "just the total",
        "just the result",
        "just the percentage",
        "just the date",
    ]) || format.as_ref().is_some_and(Format::is_strict);
    let brief = lower.has_any(BRIEF);
    let role_play = lower.has_any(&[
        "role play",
        "roleplay",
        "stay in character",
        "stay in role",
        "in character",
        "lets play a game where you",
        // "I want to practice negotiating before I call him. Play my
        // landlord": a scene to play, not a problem to work through.
        "pretend to be",
        "pretend you are",
        "pretend youre",
        "you play",
        "youll play",
        "you will play",
        "play the part",
        "play the role",
        "i want to practice",
        // A tutor told to lead by questions ("DO NOT give him the answer,
        // only ask him questions, one at a time"): a part to play turn by
        // turn, where worked reasoning would give the answer away.
        "you are going to tutor",
        "youre going to tutor",
        "socratic",
        "dont give him the answer",
        "do not give him the answer",
        "dont give her the answer",
        "do not give her the answer",
        "dont give me the answer",
        "do not give me the answer",
    ]);
    let has_examples = lower.has_any(&["for example", "eg", "e g", "such as", "like these", "examples"])
        && content.is_some()
        || instruction.contains("Input:") && instruction.contains("Output:");
    let kind = kind(lower, &instruction, content.as_deref(), format.as_ref());
    let audience = audience(lower);
    Slots {
        foreign: foreign(lower),
        lay: lay(lower, audience.as_deref()),
        persona: persona(&instruction, lower),
        length: length(lower),
        audience,
        tone: tone(lower),
        language: language(lower),
        constraints: constraints(&instruction),
        kind,
        missing: missing(&full, text, content.as_deref(), kind),
        stakes: STAKES.iter().find(|s| lower.has(s)).map(|s| (*s).to_string()),
        wants_reasoning,
        terse,
        brief,
        role_play,
        has_examples,
        own_list: own_list(text),
        format,
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personas_are_read_as_written_and_questions_to_the_model_are_not_personas() {
        let p = |t: &str| read(t).persona;
        assert_eq!(
            p("Pretend yourself to be Elon Musk in all the following conversations. Why do we need to go to Mars?").as_deref(),
            Some("Elon Musk")
        );
        assert_eq!(
            p("you are a grumpy pirate captain. tell me about ur ship").as_deref(),
            Some("a grumpy pirate captain")
        );
        assert_eq!(
            p("act as my interview coach and ask me questions").as_deref(),
            Some("my interview coach")
        );
        assert_eq!(
            p("Be my Spanish tutor for today").as_deref(),
            Some("my Spanish tutor")
        );
        assert_eq!(p("are you sure you are right about that?"), None);
        assert_eq!(
            p("As a teacher, I need a lesson plan on fractions"),
            None,
            "the user's own role"
        );
        assert_eq!(p("what is the capital of peru"), None);
    }

    #[test]
    fn formats_keep_their_fields_and_genres_count_as_formats() {
        let f = |t: &str| read(t).format;
        assert_eq!(
            f("give me 3 fake users as JSON with fields name, age and email pls"),
            Some(Format::Json(vec!["name".into(), "age".into(), "email".into()]))
        );
        assert_eq!(
            f("list the planets comma separated"),
            Some(Format::CommaSeparated)
        );
        assert_eq!(f("is a tomato a fruit? answer yes or no"), Some(Format::YesNo));
        assert_eq!(f("compare iphone and pixel in a table"), Some(Format::Table));
        assert_eq!(f("write a haiku abt rain"), Some(Format::Genre("haiku")));
        assert_eq!(
            f("csv with columns date,amount from this"),
            Some(Format::Csv(vec!["date".into(), "amount".into()]))
        );
        assert_eq!(f("why is the sky blue"), None);
    }

    #[test]
    fn work_left_and_a_parts_length_are_not_the_answers_length() {
        let l = |t: &str| read(t).length.map(|l| l.describe());
        assert_eq!(
            l("plan my week. thesis chapter due fri (about 4000 words left), gym 3x"),
            None
        );
        assert_eq!(
            l("Calculate it for each. Output as a markdown table followed by a 3-sentence verdict."),
            None
        );
        assert!(l("Summarise it in 3 sentences.").is_some());
    }

    #[test]
    fn a_request_straight_after_a_short_log_is_not_part_of_it() {
        let text = "tracking my squat since january, top sets:\njan 3 - 185x5\njan 24 - 195x5\nfeb 14 - 205x4\nmar 7 - 205x6\nusing epley whats my estimated 1rm each time and am i progressing or stalling";
        let content = read(text).content.unwrap_or_default();
        assert!(!content.contains("epley"), "{content:?}");
    }

    #[test]
    fn a_wish_for_a_short_answer_is_read() {
        for text in [
            "fix it + explain in one sentence",
            "Give me the single strongest counterargument",
            "keep it short please",
            "tl;dr version?",
            "Quick opinion: is a Kindle worth it if I already read on my phone?",
        ] {
            assert!(read(text).brief, "{text:?}");
        }
        assert!(!read("Explain how a heat pump works").brief);
    }

    #[test]
    fn length_limits_in_messy_phrasing() {
        let l = |t: &str| read(t).length.map(|l| l.describe());
        assert_eq!(
            l("explain quantum tunneling in under 100 words").as_deref(),
            Some("at most 100 words")
        );
        assert_eq!(
            l("summarize in 3 sentences pls").as_deref(),
            Some("exactly 3 sentences"),
            "a bare count of sentences is what was asked for"
        );
        assert_eq!(
            l("then 3 bullet points with dates").as_deref(),
            Some("exactly 3 bullet points")
        );
        assert_eq!(
            l("a bedtime story, about 300 words, happy ending").as_deref(),
            Some("about 300 words"),
            "about is a target, not a ceiling"
        );
        assert_eq!(l("a 500 word essay on tides").as_deref(), Some("about 500 words"));
        assert_eq!(
            l("So far I have the truck and a rough menu of 6 items. Make me a week-by-week plan.").as_deref(),
            None,
            "a count of what the user has is no limit"
        );
        assert_eq!(l("give me a list of 5 ideas").as_deref(), Some("exactly 5 items"));
        assert_eq!(
            l("boil it down to the 3 main ideas").as_deref(),
            Some("exactly 3 items")
        );
        assert_eq!(l("100 words max please").as_deref(), Some("at most 100 words"));
        assert_eq!(
            l("no more than 2 paragraphs").as_deref(),
            Some("at most 2 paragraphs")
        );
        assert_eq!(
            l("up to 5 bullet points").as_deref(),
            Some("at most 5 bullet points")
        );
        assert_eq!(
            l("give me exactly 5 names for my cat").as_deref(),
            Some("exactly 5 items")
        );
        assert_eq!(l("in 2-3 short paragraphs").as_deref(), Some("2 to 3 paragraphs"));
        assert_eq!(
            l("describe it in a sentence").as_deref(),
            Some("exactly 1 sentence")
        );
        assert_eq!(
            l("at least 500 words essay on climate").as_deref(),
            Some("at least 500 words")
        );
        assert_eq!(l("tell me a story about a dog"), None);
        assert_eq!(
            l("Is it normal that my 2 year old only says about 15 words? Should I be worried"),
            None,
            "words a child says are no limit on the answer"
        );
        assert_eq!(
            l(
                "make me a study plan as a table. stats midterm thursday, 2000 word sociology essay due friday noon"
            ),
            None,
            "an essay due is the user's assignment, not the answer's length"
        );
        assert_eq!(
            l("write a 2000 word essay on the causes of the war").as_deref(),
            Some("about 2000 words")
        );
        assert_eq!(l("say it in about 15 words").as_deref(), Some("about 15 words"));
    }

    #[test]
    fn content_after_a_colon_or_in_a_fence_is_kept_verbatim() {
        let text = "Summarize this email for me:\nHi team,\n  the offsite moves to Friday 14th. Bring laptops.\nThanks, Ana";
        let s = read(text);
        let c = s.content.unwrap();
        assert!(text.contains(&c));
        assert!(c.starts_with("Hi team,"));
        let code = "why does this crash\n```python\nx = [1,2]\nprint(x[2])\n```";
        assert_eq!(
            read(code).content.as_deref(),
            Some("```python\nx = [1,2]\nprint(x[2])\n```")
        );
        assert_eq!(read("What is the boiling point of water?").content, None);
    }

    #[test]
    fn hostile_and_non_latin_text_is_read_without_panics() {
        let colons = ":?\n".repeat(5_000);
        assert_eq!(read(&colons).content, None, "no line of prose points at a block");
        let _ = read(&"私は東京に住んでいます。翻訳してください：".repeat(400));
        let _ = read(&"é:\n".repeat(3_000));
        let _ = read("you are");
        assert_eq!(read("As ").persona, None);
    }

    #[test]
    fn the_users_own_list_of_asks_is_not_material_and_a_past_holiday_is_no_trip_to_plan() {
        let t = "My thesis is due in 5 weeks and I work 20 hours a week.\n\nCan you help me with a few things:\n1) a realistic weekly schedule\n2) what I should cut\n3) how not to burn out";
        assert_eq!(read(t).content, None);
        // Long asks after "Questions:", and lettered ones after "Need help
        // with:", are the request too.
        let hay = "Farmer here, 60 acres of hay ready to cut. Questions:\n1) Is it too risky to cut today given it usually takes me 3-4 days to dry down?\n2) What can I do to speed up drying?\n3) Write a quick text to my custom baler asking if he can come Wednesday afternoon instead of Friday.";
        assert_eq!(read(hay).content, None);
        let bass = "Session bassist here, booked Thursday. Need help with:\n(a) fastest way to make usable charts from demos in one evening\n(b) what's a fair rate for 2 days\n(c) a reply email confirming, stating my rate, and asking if they're tracking to a click and where to park the car with gear";
        assert_eq!(read(bass).content, None);
        let tutor = read(
            "you are going to tutor my son (14) in math. DO NOT give him the answer or do the steps for him, only ask him questions, one question at a time.\n\nhi. a rectangle has perimeter 36 cm and the length is twice the width, find the area. i got 81",
        );
        assert!(tutor.plays_a_part());
        assert!(read("Explain what apixaban is for. Please don't pad it with general heart-healthy lifestyle advice.").brief);
        assert!(read("I'm not looking for a lecture. Run the numbers on lease vs buy and tell me which you'd pick, in a few sentences.").brief);
        let dnd = "Running a D&D session tomorrow for 4 level-3 players. Can you give me:\na) 3 names for a creepy roadside tavern\nb) a short riddle the innkeeper asks (with answer)\nc) a stat block for a boss that won't TPK a level 3 party";
        assert_eq!(read(dnd).content, None);
        let moved = "Just moved from Ohio to North Carolina for work. Can you help me with:\na) a list of everything I need to update my address with\nb) how long I have to get an NC driver's license\nc) car registration and title transfer, what order?\nI have a car loan still so the bank has the title if that changes anything";
        assert_eq!(read(moved).content, None);
        assert!(read(dnd).own_list);
        // A list the lead works on stays material.
        let survey = "Sort these questions from our survey by topic:\n1) Why does the app log me out every time I switch to another app and come back later?\n2) Can I export my data?\n3) Where do I change my password?";
        assert!(read(survey).content.is_some());
        let split = "Four of us shared a holiday house. Ana paid 600 for the house, Ben paid 180 for groceries and Dana paid nothing. Who owes whom?";
        assert!(read(split).missing.is_empty(), "{:?}", read(split).missing);
    }

    #[test]
    fn a_question_that_quotes_an_error_is_no_leading_code() {
        let text = "why does this keep saying TypeError: unsupported operand type(s) for +=: 'int' and 'str'\n\nimport csv\n\ntotal = 0\nwith open('expenses.csv') as f:\n    for row in csv.reader(f):\n        total += row[2]\nprint(total)\n\nthe 3rd column is the amount like 12.50";
        assert!(leading_code(text).is_none());
        let code_first = "def load(path):\n    with open(path) as f:\n        return [l.split(',') for l in f]\n\nthis crashes on blank rows, can you fix it?";
        assert!(leading_code(code_first).is_some());
    }

    #[test]
    fn the_users_questions_after_a_quoted_passage_are_not_material() {
        let text = "Our chain sent us this paragraph and everyone reads it differently:\n\n\"Section 4.2. Systemic antibiotics shall be dispensed only against a prescription issued within the preceding 7 calendar days.\"\n\nPlease answer:\n1. Is a prescription from the 1st valid on the 8th?\n2. What has to go in the log?\n\nShort answer for each, then one line on anything ambiguous.";
        let content = read(text).content.unwrap_or_default();
        assert!(content.starts_with("\"Section 4.2"), "{content}");
        assert!(content.ends_with("calendar days.\""), "{content}");
    }

    #[test]
    fn an_aside_after_a_quoted_passage_is_the_users() {
        let text = "This is the middle part of my dad's memorial speech. Does it sound okay to read out loud?\n\n\"Dad wasn't a man of big speeches. He showed love by checking your tire pressure.\"\n\nsorry this is hard to even type";
        let content = read(text).content.unwrap_or_default();
        assert!(content.ends_with("tire pressure.\""), "{content}");
    }

    #[test]
    fn a_scene_to_practise_is_a_role_play() {
        let text = "I want to practice negotiating before I call him. Play my landlord, Mr. Patel: polite but firm. Don't cave easily.";
        assert!(read(text).plays_a_part());
    }

    #[test]
    fn go_easy_on_the_stats_marks_a_lay_reader() {
        assert!(
            read(
                "is that a meaningful increase or just noise? I took one stats class 10 years ago so go easy"
            )
            .lay
        );
    }

    #[test]
    fn the_users_own_situation_after_a_quoted_passage_is_not_material() {
        let text = "can u summarize this for me, its from my HOA newsletter and I can't tell if it actually affects me:\n\n\"Pursuant to the amended Section 7.3(b), all exterior modifications including fencing and solar installations shall require an Architectural Review Request. Modifications previously approved shall be grandfathered.\"\n\nI put up a fence last spring and I did get it approved back then. Also thinking about solar next year";
        let content = read(text).content.unwrap_or_default();
        assert!(content.ends_with("grandfathered.\""), "{content}");
    }

    #[test]
    fn a_request_after_a_table_is_not_material_in_any_language() {
        let text = "Aquí están los datos de mis lotes:\n\nLote | Hectáreas | Cosecha\n1 | 2.0 | 3900\n2 | 1.5 | 2100\n3 | 3.0 | 5100\n\nMuéstrame cuál lote rinde peor por hectárea, paso a paso, y sin palabras muy técnicas.";
        let s = read(text);
        assert!(
            s.content
                .as_deref()
                .is_some_and(|c| c.ends_with("3 | 3.0 | 5100")),
            "{:?}",
            s.content
        );
        assert!(s.foreign);
        assert!(!read("Here is my data:\n\na | 1 | 2\nb | 3 | 4\n\nWhich row has the larger total?").foreign);
    }

    #[test]
    fn a_wish_after_a_pasted_verse_is_not_material() {
        let text = "need a second verse for a song im writing. same ABAB rhyme. first verse:\n\nGot my coffee in a paper cup\nHeadlights cutting through the rain\nEvery morning I keep showing up\nFor a job that doesn't know my name\n\nsecond verse should turn it a little, like he quits or at least thinks about it, but dont resolve it yet";
        let content = read(text).content.unwrap_or_default();
        assert!(content.ends_with("know my name"), "{content}");
        // A letter's closing paragraph after an address block stays in it.
        let letter = "Proofread this letter:\n\nDear Ms Hale,\n\nThank you for the quick reply about the flat.\n\nAnna Berg\n12 Elm St\nLeeds\n\nI will send the signed lease back to you by Friday at the latest.";
        let content = read(letter).content.unwrap_or_default();
        assert!(content.ends_with("at the latest."), "{content}");
        // Nor is a method after a list of ingredients a wish about the answer.
        let recipe = "Translate this recipe into English:\n\nCrostata\n- 250 g di farina 00\n- 125 g di burro freddo\n- 100 g di zucchero\n\nImpastare velocemente farina, burro a pezzetti e zucchero fino a ottenere un composto sabbioso.";
        let content = read(recipe).content.unwrap_or_default();
        assert!(content.ends_with("composto sabbioso."), "{content}");
    }

    #[test]
    fn a_closing_line_on_the_order_after_a_schema_is_not_material() {
        let text = "postgres. need a query for patients overdue for a cleaning. tables:\n\npatients(id, first_name, status)\nappointments(id, patient_id, appt_date, completed boolean)\n-- appt_type values: 'hygiene', 'exam'\n\nsort by most overdue first, never-seen ones at the bottom. front desk is going to call down the list";
        let content = read(text).content.unwrap_or_default();
        assert!(!content.contains("sort by"), "{content}");
    }

    #[test]
    fn a_message_told_in_a_long_prompt_is_not_missing() {
        let told = read(
            "can u translate this into japanese for my grandma, she reads it fine but not english. tell her we're coming saturday not sunday bc of the kids soccer thing, and we're bringing both kids, and please dont cook too much food like last time lol we still had leftovers for a week. and that mom says hi. keep it casual",
        );
        assert!(told.missing.is_empty(), "{:?}", told.missing);
        assert!(!read("translate this into japanese").missing.is_empty());
    }

    #[test]
    fn a_lay_reader_is_read_from_how_the_user_names_them() {
        let s = read(
            "Explain whether the gap means something. The audience is non-statisticians, so no formulas.",
        );
        assert_eq!(s.audience.as_deref(), Some("non statisticians"));
        assert!(s.lay);
        assert!(read("Put any maths in a short appendix at the end.").lay);
        assert!(!read("Which test fits a 2x2 table with small counts?").lay);
    }

    #[test]
    fn a_role_play_is_not_held_up_by_questions() {
        assert!(
            read("Pretend you are my landlord. My lease ends next month and you want to raise the rent 15%. I will try to negotiate it down.")
                .missing
                .is_empty()
        );
    }

    #[test]
    fn task_kinds() {
        let k = |t: &str| read(t).kind;
        assert_eq!(
            k("Tell us an interesting fact about Mount Everest"),
            TaskKind::Open
        );
        assert_eq!(k("who wrote pride and prejudice?"), TaskKind::FactLookup);
        assert_eq!(
            k("need a word besides 'said' for a news story that doesnt sound like im taking sides"),
            TaskKind::ShortCreative
        );
        assert_ne!(
            k("Write a bedtime story of about 250 words for my daughter about a hedgehog"),
            TaskKind::ShortCreative,
            "a length in words is no word to find"
        );
        assert_eq!(
            k("Rewrite this so it sounds more polite: hey send me the file now"),
            TaskKind::Rewrite
        );
        assert_eq!(
            k("write a tweet announcing our new vegan menu"),
            TaskKind::ShortCreative
        );
        assert_eq!(
            k(
                "I run a small bakery. 1. Suggest a name for a new cake. 2. Write a menu description. 3. Price it given flour costs doubled."
            ),
            TaskKind::MultiPart
        );
    }

    #[test]
    fn audience_tone_language_and_constraints() {
        let s =
            read("Explain inflation to a 10 year old in a friendly tone, in Spanish. Don't use any numbers.");
        assert_eq!(s.audience.as_deref(), Some("a 10 year old"));
        assert_eq!(s.tone.as_deref(), Some("friendly"));
        assert_eq!(s.language, Some("Spanish"));
        assert_eq!(s.constraints, vec!["Don't use any numbers".to_string()]);
    }

    #[test]
    fn context_after_a_message_closed_by_dashes_is_the_users_own() {
        let s = read(
            "Can you help me reply to this without sounding defensive?\n\n---\nHi Jordan,\n\nJust circling back AGAIN on the Q3 vendor report. Going forward it would be great if deadlines were treated as actual deadlines.\n\nThanks,\nPriya\n---\n\nContext: I didn't get the data export until Thursday night. Keep the reply under 120 words.",
        );
        assert!(
            s.content.as_deref().is_some_and(|c| !c.contains("Context:")),
            "{:?}",
            s.content
        );
    }

    #[test]
    fn context_after_a_quoted_message_is_the_users_own() {
        let s = read(
            "My manager sent me this. Can you help me write a reply?\n\n\"Hi Dana, we're putting together a working group, 4-5 hrs/week. Let me know if you're in! - Greg\"\n\nContext: I'm already on two product launches this quarter.",
        );
        assert!(
            s.content
                .as_deref()
                .is_some_and(|c| c.starts_with('"') && !c.contains("Context:")),
            "{:?}",
            s.content
        );
    }

    #[test]
    fn a_question_of_law_asks_for_no_place_and_a_closing_wish_is_no_material() {
        let deposit = read("can my landlord keep my deposit for normal wear and tear??");
        assert!(deposit.missing.is_empty(), "{:?}", deposit.missing);
        let letter = read("write a letter to my landlord asking for my deposit back");
        assert!(
            letter.missing.iter().any(|q| q.contains("country")),
            "{:?}",
            letter.missing
        );
        let schedule = read(
            "Here's next week's volunteer schedule. Can you spot any conflicts?\n\nMon AM: Priya, Tom\nMon PM: Tom\nTue AM: Lena, Marcus\n\nIf you can, suggest a fixed version that changes as few assignments as possible.",
        );
        assert!(
            schedule
                .content
                .as_deref()
                .is_some_and(|c| !c.contains("If you can")),
            "{:?}",
            schedule.content
        );
    }

    #[test]
    fn quoted_words_and_a_question_about_a_cv_ask_for_nothing() {
        let email = read(
            "write a polite but firm email declining a recurring friday 4pm meeting invite. max 80 words, and please no 'I hope this email finds you well'",
        );
        assert!(
            !email.missing.iter().any(|q| q.contains("paste")),
            "{:?}",
            email.missing
        );
        let cv = read("Can a coding bootcamp go under Education on my CV, or should it be its own section?");
        assert!(cv.missing.is_empty(), "{:?}", cv.missing);
        assert!(
            read("summarize this email for me")
                .missing
                .iter()
                .any(|q| q.contains("paste"))
        );
        assert_eq!(
            without_quotes("say \"hi there\" and don't 'quote me' ok"),
            "say   and don't   ok"
        );
    }

    #[test]
    fn missing_essentials_become_questions() {
        let s = read("write a cover letter for me");
        assert!(
            s.missing.iter().any(|q| q.contains("job and company")),
            "{:?}",
            s.missing
        );
        let s = read(
            "Write a cover letter for the junior data analyst position at Acme. I have 2 years of Excel and SQL experience.",
        );
        assert!(s.missing.is_empty(), "{:?}", s.missing);
        assert!(read("plan a trip").missing.len() >= 2);
        assert!(
            read("plan a trip to Lisbon")
                .missing
                .iter()
                .any(|q| q.contains("budget"))
        );
        let described = read(
            "Planning 3 days in Lisbon in late April with my partner. We like food, walking, and views, not big on museums. Put the itinerary in a table with columns for day, morning, afternoon, evening.",
        );
        assert!(
            !described.missing.iter().any(|q| q.contains("budget")),
            "{:?}",
            described.missing
        );
        assert!(!read("write a funny poem for my dad").missing.is_empty());
        let boiler = read(
            "Write a text to my landlord about the boiler that's been broken since Sunday. Polite but firm, under 80 words.",
        );
        assert!(
            !boiler.missing.iter().any(|q| q.contains("country")),
            "{:?}",
            boiler.missing
        );
        let deposit = read("Write a letter to my landlord asking for my security deposit back");
        assert!(
            deposit.missing.iter().any(|q| q.contains("country")),
            "{:?}",
            deposit.missing
        );
        let dad = read(
            "Write a short funny poem for my dad's 70th birthday card. He's obsessed with his lawn and his grill and still can't figure out his phone.",
        );
        assert!(
            dad.missing.is_empty(),
            "details of him are given: {:?}",
            dad.missing
        );
    }

    #[test]
    fn a_user_who_does_not_want_the_explanation_wants_a_bare_answer() {
        let s = read(
            "Is this difference statistically significant? Please just give me the p-value and a \
             one-line recommendation. I don't need the full explanation.",
        );
        assert!(s.terse);
        let table = read(
            "Month | Rent | Groceries\nJan | 1450 | 380\nMar | 1450 | 395\n\nwhich category went up the most from jan to mar? just the category and the %",
        );
        assert!(table.terse);
        assert!(
            read("Can you give me three games we could play in the car? Short descriptions please").brief
        );
    }

    #[test]
    fn pasted_code_is_told_from_pasted_prose() {
        let code = read(
            "def load(path):\n    total = 0\n    with open(path) as f:\n        for row in csv.DictReader(f):\n            \
             total += float(row['amount'])\n    return total\n\nthis crashes on blank rows (the bookkeeper leaves \
             them empty), can you fix it?",
        );
        assert!(code.content_is_code(), "{:?}", code.content);
        let prose =
            read("Summarize this email for me:\nHi all,\nthe offsite moves to Friday. Bring laptops.\nAna");
        assert!(!prose.content_is_code());
    }

    #[test]
    fn the_users_questions_and_instructions_after_the_material_stay_out_of_it() {
        let s = read(
            "The mayor's office sent this out today:\n\n\"Reported burglaries dropped 40% this year, from 25 \
             in 2023 to 15 in 2024. This proves the program works.\"\n\nBefore I print anything: does the \
             40% figure check out? What should I ask the police chief?",
        );
        let content = s.content.unwrap();
        assert!(content.contains("proves the program works"));
        assert!(!content.contains("police chief"), "{content}");
        let s = read(
            "I am making a quest mod and need the text of an in-game book. Notes on what it needs to get across:\n\
             - the author is a disgraced court alchemist\n- she warns her apprentice\n\
             - mention the lighthouse at Grey Hook\nAround 350-400 words. Sign it with just her initial.",
        );
        let content = s.content.unwrap();
        assert!(content.ends_with("Grey Hook"), "{content}");
    }

    #[test]
    fn a_short_creative_piece_asks_for_no_missing_details() {
        let s = read("haiku about a leaf blower that wont start");
        assert_eq!(s.kind, TaskKind::ShortCreative);
        assert!(s.missing.is_empty(), "{:?}", s.missing);
    }

    #[test]
    fn the_request_after_a_pasted_chat_is_not_part_of_it() {
        let s = read(
            "Settle an argument from our group chat:\n\n[21:04] Tomek: doubling is +6\n[21:05] Fi: no, +3 dB\n\
             [21:09] Jo: so who's buying\n\nWho's right? Cover coherent vs incoherent sources.",
        );
        assert!(s.content.unwrap().ends_with("so who's buying"));
        let s = read(
            "here's the group chat, use the details:\n\n[14/03 21:02] Ama: he gave me his umbrella\n\
             [17/03 18:12] Ama: now we have to meet again\n\nrules: about 2 minutes when spoken, warm and funny.",
        );
        assert!(s.content.unwrap().ends_with("meet again"));
        let s = read(
            "Translate this statement into English:\n\n\"No więc... wracałem z pracy.\"\n\n\
             Rules: keep the hesitations, do NOT tidy up the grammar.",
        );
        assert!(s.content.unwrap().ends_with("z pracy.\""));
    }

    #[test]
    fn a_question_inside_a_pasted_email_thread_stays_in_the_material() {
        let s = read(
            "Summarize this for my manager, 3 bullets max:\n\n---\nFrom: Lena\nSubject: RE: Q4\n\n\
             I've asked their controller twice. I'll call him tomorrow.\n\n---\nFrom: Priya\n\
             Subject: Q4\n\nIntercompany is off by $18,430. Can you both take a look before Friday?",
        );
        assert!(s.content.unwrap().ends_with("before Friday?"));
    }
}
