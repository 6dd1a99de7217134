//! Request values parsed once, at the edge (HTTP body, CLI flag), each
//! holding its own limits: inner layers take these types and never check
//! the same thing again. An [`InputError`] names the field and what is
//! wrong, in words a client can act on.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::Technique;

/// A value that failed its type's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The request field (`text`, `max_techniques`, ...).
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InputError {}

fn invalid(field: &'static str, reason: impl Into<String>) -> InputError {
    InputError {
        field,
        reason: reason.into(),
    }
}

/// A prompt as the user typed it, trimmed: 1 to [`PromptText::MAX_CHARS`]
/// Unicode scalar values, with no NUL (PostgreSQL text cannot hold one).
/// Line breaks inside are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PromptText(String);

impl PromptText {
    /// The longest prompt (api.md: 16000 after trimming).
    pub const MAX_CHARS: usize = 16_000;

    /// Parses `raw` for the request field `field`.
    pub fn parse_field(field: &'static str, raw: &str) -> Result<Self, InputError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(invalid(field, "must not be blank"));
        }
        let n = text.chars().count();
        if n > Self::MAX_CHARS {
            return Err(invalid(
                field,
                format!("is {n} characters; at most {}", Self::MAX_CHARS),
            ));
        }
        if text.contains('\0') {
            return Err(invalid(field, "must not contain NUL characters"));
        }
        Ok(Self(text.to_owned()))
    }

    /// Parses the `text` field.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        Self::parse_field("text", raw)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for PromptText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PromptText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many techniques one enhancement may combine: 1 to the size of the
/// catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TechniqueLimit(usize);

impl TechniqueLimit {
    /// The fewest.
    pub const MIN: usize = 1;
    /// The most: every technique of the catalogue.
    pub const MAX: usize = Technique::ALL.len();
    /// When the request names none.
    pub const DEFAULT: TechniqueLimit = TechniqueLimit(3);

    /// Checks `n` for the field `max_techniques`.
    pub fn new(n: usize) -> Result<Self, InputError> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(invalid(
                "max_techniques",
                format!("must be between {} and {}", Self::MIN, Self::MAX),
            ))
        }
    }

    /// The limit.
    pub const fn get(self) -> usize {
        self.0
    }
}

impl Default for TechniqueLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A list of known techniques without repeats, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TechniqueList(Vec<Technique>);

impl TechniqueList {
    /// Parses technique ids for the request field `field`; an unknown id is
    /// named (cut to 64 characters) in the error.
    pub fn parse(field: &'static str, names: &[String]) -> Result<Self, InputError> {
        let mut list = Vec::with_capacity(names.len());
        for name in names {
            let technique = Technique::from_str(name.trim()).map_err(|_| {
                invalid(
                    field,
                    format!(
                        "unknown technique `{}`",
                        name.chars().take(64).collect::<String>()
                    ),
                )
            })?;
            if !list.contains(&technique) {
                list.push(technique);
            }
        }
        Ok(Self(list))
    }

    /// From techniques already typed (repeats dropped).
    pub fn of(techniques: &[Technique]) -> Self {
        let mut list = Vec::with_capacity(techniques.len());
        for t in techniques {
            if !list.contains(t) {
                list.push(*t);
            }
        }
        Self(list)
    }

    /// The techniques.
    pub fn as_slice(&self) -> &[Technique] {
        &self.0
    }
}

impl Deref for TechniqueList {
    type Target = [Technique];

    fn deref(&self) -> &[Technique] {
        &self.0
    }
}

/// How much an enhancement may add: `light` sharpens what the user wrote,
/// `standard` adds the guidance the task justifies, `thorough` also allows
/// the heavier reasoning techniques on complex tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Level {
    /// The lightest touch.
    Light,
    /// The default.
    #[default]
    Standard,
    /// The most guidance.
    Thorough,
}

impl Level {
    /// Every level.
    pub const ALL: [Level; 3] = [Level::Light, Level::Standard, Level::Thorough];

    /// Parses the `level` field.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        match raw.trim() {
            "light" => Ok(Self::Light),
            "standard" => Ok(Self::Standard),
            "thorough" => Ok(Self::Thorough),
            _ => Err(invalid("level", "must be light, standard or thorough")),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Standard => "standard",
            Self::Thorough => "thorough",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_text_is_trimmed_bounded_and_keeps_inner_line_breaks() {
        let t = PromptText::parse("  line one\n\nline two \n").unwrap();
        assert_eq!(t.as_str(), "line one\n\nline two");
        assert_eq!(
            PromptText::parse(" \n\t ").unwrap_err().reason,
            "must not be blank"
        );
        let at_limit = "é".repeat(PromptText::MAX_CHARS);
        assert!(
            PromptText::parse(&at_limit).is_ok(),
            "the limit counts characters, not bytes"
        );
        let over = PromptText::parse(&format!("{at_limit}x")).unwrap_err();
        assert_eq!(over.field, "text");
        assert!(over.reason.contains("16001"), "{over}");
        assert!(PromptText::parse("a\0b").is_err());
    }

    #[test]
    fn technique_limit_spans_the_catalogue() {
        assert!(TechniqueLimit::new(0).is_err());
        assert_eq!(TechniqueLimit::new(1).unwrap().get(), 1);
        assert!(TechniqueLimit::new(Technique::ALL.len()).is_ok());
        let err = TechniqueLimit::new(Technique::ALL.len() + 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid max_techniques: must be between 1 and {}",
                Technique::ALL.len()
            )
        );
    }

    #[test]
    fn levels_parse_from_their_names_only() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Ok(level));
        }
        assert_eq!(Level::parse("max").unwrap_err().field, "level");
    }

    #[test]
    fn technique_lists_name_the_unknown_id_and_drop_repeats() {
        let names = [
            "few_shot".to_owned(),
            "few_shot".to_owned(),
            "role_play".to_owned(),
        ];
        let list = TechniqueList::parse("exclude_techniques", &names).unwrap();
        assert_eq!(list.as_slice(), &[Technique::FewShot, Technique::RolePlay]);
        let err = TechniqueList::parse("prefer_techniques", &["magic".to_owned()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid prefer_techniques: unknown technique `magic`"
        );
    }
}
