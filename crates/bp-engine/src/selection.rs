//! Technique selection. Each technique gets a rule score from
//!
//! - intent fit: the catalogue's fit averaged over the classifier's intent
//!   probabilities (an uncertain classification blends its candidates), 55%;
//! - complexity fit: 1 when the technique suits the complexity, else 0.2, 25%;
//! - signals: words in the prompt that call for it (+0.2), and the user's
//!   preferred techniques (+0.15).
//!
//! That rule score is then blended with measured effectiveness for the
//! (technique, intent) pair as a Bayesian average: the rule score counts as
//! [`PRIOR_WEIGHT`] pseudo-uses, so a handful of ratings nudge the score
//! and hundreds decide it. Picks are taken best first, skipping excluded
//! techniques and any incompatible with one already picked, up to
//! `max_techniques` (default 3) and above [`MIN_SCORE`]; requested
//! techniques (`prefer`) come first whatever their score.

use std::collections::HashMap;

use crate::catalogue::{CATALOGUE, compatible, info};
use crate::text::Scan;
use crate::vocabulary::{Complexity, Intent, Technique};

/// Pseudo-uses the rule score is worth against measured outcomes.
pub const PRIOR_WEIGHT: f64 = 20.0;

/// Lowest score a technique is picked at (unless requested).
pub const MIN_SCORE: f64 = 0.35;

/// Default number of techniques picked.
pub const DEFAULT_MAX_TECHNIQUES: usize = crate::input::TechniqueLimit::DEFAULT.get();

/// Measured outcomes of a technique for an intent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observed {
    /// Times used with feedback.
    pub uses: u64,
    /// Of those, how many were rated successful.
    pub successes: u64,
}

/// Measured outcomes per (technique, intent).
pub type Effectiveness = HashMap<(Technique, Intent), Observed>;

/// A user's standing preferences.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preferences {
    /// Favoured techniques (a score bonus).
    pub preferred: Vec<Technique>,
    /// Never applied.
    pub excluded: Vec<Technique>,
    /// Complexity to aim for when the request names none.
    pub complexity: Option<Complexity>,
    /// Enhancement level when the request names none.
    pub level: Option<crate::input::Level>,
}

/// What to select for.
#[derive(Debug, Clone, Copy)]
pub struct SelectionRequest<'a> {
    /// The prompt.
    pub text: &'a str,
    /// Intent probabilities (most probable first).
    pub intent_scores: &'a [(Intent, f64)],
    /// The complexity to aim for.
    pub complexity: Complexity,
    /// Most techniques to pick (1..=12).
    pub max_techniques: usize,
    /// Requested techniques: picked first.
    pub prefer: &'a [Technique],
    /// Excluded for this request.
    pub exclude: &'a [Technique],
    /// Forbidden by gating for this prompt: never picked, whatever their
    /// score or the user's preference (see [`crate::gating`]).
    pub forbidden: &'a [Technique],
    /// The user's preferences.
    pub preferences: &'a Preferences,
    /// Measured outcomes.
    pub effectiveness: &'a Effectiveness,
}

/// One picked technique.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// The technique.
    pub technique: Technique,
    /// Its blended score, 0..=1.
    pub score: f64,
    /// How sure the engine is that it helps, 0..=1.
    pub confidence: f64,
    /// One sentence on why.
    pub reason: String,
}

/// Every technique's score before picking, for explanations and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The technique.
    pub technique: Technique,
    /// The rule score.
    pub rule: f64,
    /// After blending with measured outcomes.
    pub score: f64,
    /// Signals found in the prompt.
    pub signalled: bool,
    /// The user prefers it.
    pub preferred: bool,
    /// Measured outcomes for the top intent.
    pub observed: Observed,
}

/// Scores every technique for `req` (excluded ones included).
pub fn score_all(req: &SelectionRequest<'_>) -> Vec<Scored> {
    let scan = Scan::new(req.text);
    let top = req
        .intent_scores
        .first()
        .map_or(Intent::QuestionAnswering, |(i, _)| *i);
    let total: f64 = req.intent_scores.iter().map(|(_, p)| p).sum::<f64>().max(1e-9);
    CATALOGUE
        .iter()
        .map(|t| {
            let fit = if req.intent_scores.is_empty() {
                t.fit(top)
            } else {
                req.intent_scores.iter().map(|(i, p)| p * t.fit(*i)).sum::<f64>() / total
            };
            let complexity = if t.suits(req.complexity) { 1.0 } else { 0.2 };
            let signalled = scan.has_any(t.signals);
            let preferred = req.preferences.preferred.contains(&t.technique);
            let rule = (0.55 * fit
                + 0.25 * complexity
                + if signalled { 0.2 } else { 0.0 }
                + if preferred { 0.15 } else { 0.0 })
            .min(1.0);
            let observed = req
                .effectiveness
                .get(&(t.technique, top))
                .copied()
                .unwrap_or_default();
            let score =
                (PRIOR_WEIGHT * rule + observed.successes as f64) / (PRIOR_WEIGHT + observed.uses as f64);
            Scored {
                technique: t.technique,
                rule,
                score,
                signalled,
                preferred,
                observed,
            }
        })
        .collect()
}

fn reason(s: &Scored, intent: Intent, complexity: Complexity, requested: bool) -> String {
    let t = info(s.technique);
    let why = if requested {
        "it was requested".to_string()
    } else if s.signalled {
        format!("the prompt {}", t.signal_reason)
    } else if s.preferred {
        "it is among your preferred techniques".to_string()
    } else {
        format!(
            "it suits {} prompts of {} complexity",
            intent.as_str().replace('_', " "),
            complexity
        )
    };
    let evidence = if s.observed.uses > 0 {
        format!(
            ", and it succeeded in {} of {} rated {} uses",
            s.observed.successes,
            s.observed.uses,
            intent.as_str().replace('_', " ")
        )
    } else {
        String::new()
    };
    format!("{} {}: {why}{evidence}.", t.name, t.contribution)
}

/// Picks techniques for `req`. Always returns at least one unless every
/// technique is excluded.
pub fn select(req: &SelectionRequest<'_>) -> Vec<Pick> {
    let top = req
        .intent_scores
        .first()
        .copied()
        .unwrap_or((Intent::QuestionAnswering, 0.0));
    let excluded = |t: Technique| {
        req.exclude.contains(&t) || req.preferences.excluded.contains(&t) || req.forbidden.contains(&t)
    };
    let mut scored = score_all(req);
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.technique.cmp(&b.technique)));
    let max = req.max_techniques.clamp(1, Technique::ALL.len());
    let mut picked: Vec<(Scored, bool)> = Vec::new();
    let fits = |picked: &[(Scored, bool)], t: Technique| {
        !excluded(t)
            && picked
                .iter()
                .all(|(p, _)| p.technique != t && compatible(p.technique, t))
    };
    for t in req.prefer {
        if picked.len() < max
            && fits(&picked, *t)
            && let Some(s) = scored.iter().find(|s| s.technique == *t)
        {
            picked.push((s.clone(), true));
        }
    }
    for s in &scored {
        if picked.len() >= max {
            break;
        }
        if s.score >= MIN_SCORE && fits(&picked, s.technique) {
            picked.push((s.clone(), false));
        }
    }
    picked
        .into_iter()
        .map(|(s, requested)| {
            let evidence = s.observed.uses as f64 / (s.observed.uses as f64 + PRIOR_WEIGHT);
            let confidence = ((0.6 * s.score + 0.4 * top.1) * (0.8 + 0.2 * evidence)).clamp(0.0, 1.0);
            Pick {
                technique: s.technique,
                score: s.score,
                confidence,
                reason: reason(&s, top.0, req.complexity, requested),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        text: &'a str,
        intent: &'a [(Intent, f64)],
        complexity: Complexity,
        prefs: &'a Preferences,
        eff: &'a Effectiveness,
    ) -> SelectionRequest<'a> {
        SelectionRequest {
            text,
            intent_scores: intent,
            complexity,
            max_techniques: DEFAULT_MAX_TECHNIQUES,
            prefer: &[],
            exclude: &[],
            forbidden: &[],
            preferences: prefs,
            effectiveness: eff,
        }
    }

    fn ids(picks: &[Pick]) -> Vec<Technique> {
        picks.iter().map(|p| p.technique).collect()
    }

    const REASONING: &[(Intent, f64)] = &[(Intent::Reasoning, 0.9), (Intent::QuestionAnswering, 0.1)];
    const PLANNING: &[(Intent, f64)] = &[(Intent::TaskPlanning, 0.95)];

    #[test]
    fn reasoning_prompts_get_chain_of_thought_and_planning_prompts_get_steps() {
        let (p, e) = (Preferences::default(), Effectiveness::new());
        let picks = select(&request(
            "Prove that the square root of 2 is irrational.",
            REASONING,
            Complexity::Moderate,
            &p,
            &e,
        ));
        assert_eq!(picks[0].technique, Technique::ChainOfThought, "{picks:?}");
        let picks = select(&request(
            "Plan a 5 day trip to Rome",
            PLANNING,
            Complexity::Moderate,
            &p,
            &e,
        ));
        assert_eq!(picks[0].technique, Technique::StepByStep, "{picks:?}");
        assert!(picks.len() <= DEFAULT_MAX_TECHNIQUES);
        for pick in &picks {
            assert!((0.0..=1.0).contains(&pick.score) && (0.0..=1.0).contains(&pick.confidence));
            assert!(pick.reason.ends_with('.') && !pick.reason.contains('\n'));
        }
    }

    #[test]
    fn incompatible_techniques_are_never_picked_together() {
        let (p, e) = (Preferences::default(), Effectiveness::new());
        for intent in Intent::ALL {
            for complexity in Complexity::ALL {
                let scores = [(*intent, 1.0)];
                let mut req = request(
                    "Compare the options step by step, with examples, quickly",
                    &scores,
                    *complexity,
                    &p,
                    &e,
                );
                req.max_techniques = 12;
                let picked = ids(&select(&req));
                for (i, a) in picked.iter().enumerate() {
                    for b in &picked[i + 1..] {
                        assert!(compatible(*a, *b), "{a} with {b} for {intent}/{complexity}");
                    }
                }
            }
        }
    }

    #[test]
    fn exclusions_from_the_request_and_the_user_are_honoured() {
        let prefs = Preferences {
            excluded: vec![Technique::StepByStep],
            ..Default::default()
        };
        let e = Effectiveness::new();
        let mut req = request(
            "Plan a 5 day trip to Rome",
            PLANNING,
            Complexity::Moderate,
            &prefs,
            &e,
        );
        req.exclude = &[Technique::StructuredOutput];
        let picked = ids(&select(&req));
        assert!(
            !picked.contains(&Technique::StepByStep) && !picked.contains(&Technique::StructuredOutput),
            "{picked:?}"
        );
        assert!(!picked.is_empty());
    }

    #[test]
    fn requested_techniques_come_first_and_preferred_ones_gain_rank() {
        let e = Effectiveness::new();
        let plain = Preferences::default();
        let mut req = request(
            "Plan a 5 day trip to Rome",
            PLANNING,
            Complexity::Moderate,
            &plain,
            &e,
        );
        req.prefer = &[Technique::Analogical];
        let picks = select(&req);
        assert_eq!(picks[0].technique, Technique::Analogical);
        assert!(picks[0].reason.contains("requested"));

        let rank = |prefs: &Preferences| {
            let mut all = score_all(&request(
                "Plan a 5 day trip to Rome",
                PLANNING,
                Complexity::Moderate,
                prefs,
                &e,
            ));
            all.sort_by(|a, b| b.score.total_cmp(&a.score));
            all.iter().position(|s| s.technique == Technique::EmotionalAppeal)
        };
        let fond = Preferences {
            preferred: vec![Technique::EmotionalAppeal],
            ..Default::default()
        };
        assert!(rank(&fond) < rank(&plain));
    }

    #[test]
    fn a_requested_technique_incompatible_with_another_request_is_dropped() {
        let (p, e) = (Preferences::default(), Effectiveness::new());
        let mut req = request("What is 2+2?", REASONING, Complexity::Simple, &p, &e);
        req.prefer = &[Technique::ZeroShot, Technique::FewShot];
        let picked = ids(&select(&req));
        assert!(picked.contains(&Technique::ZeroShot) && !picked.contains(&Technique::FewShot));
    }

    #[test]
    fn consistent_good_feedback_raises_a_technique_and_bad_feedback_lowers_it() {
        let p = Preferences::default();
        let text = "Plan a 5 day trip to Rome";
        let rank_of = |eff: &Effectiveness| {
            let mut all = score_all(&request(text, PLANNING, Complexity::Moderate, &p, eff));
            all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.technique.cmp(&b.technique)));
            all.iter()
                .position(|s| s.technique == Technique::Analogical)
                .unwrap_or(99)
        };
        let none = Effectiveness::new();
        let good: Effectiveness = [(
            (Technique::Analogical, Intent::TaskPlanning),
            Observed {
                uses: 200,
                successes: 196,
            },
        )]
        .into();
        let bad: Effectiveness = [(
            (Technique::StepByStep, Intent::TaskPlanning),
            Observed {
                uses: 200,
                successes: 10,
            },
        )]
        .into();
        assert!(rank_of(&good) < rank_of(&none), "good feedback should raise it");
        let picked =
            |eff: &Effectiveness| ids(&select(&request(text, PLANNING, Complexity::Moderate, &p, eff)));
        assert!(!picked(&none).contains(&Technique::Analogical));
        assert!(
            picked(&good).contains(&Technique::Analogical),
            "{:?}",
            picked(&good)
        );
        let top = |eff: &Effectiveness| {
            select(&request(text, PLANNING, Complexity::Moderate, &p, eff))[0].technique
        };
        assert_eq!(top(&none), Technique::StepByStep);
        assert_ne!(top(&bad), Technique::StepByStep, "bad feedback should lower it");
    }

    #[test]
    fn a_few_ratings_do_not_swing_the_ranking() {
        let p = Preferences::default();
        let two_bad: Effectiveness = [(
            (Technique::StepByStep, Intent::TaskPlanning),
            Observed {
                uses: 2,
                successes: 0,
            },
        )]
        .into();
        let picks = select(&request(
            "Plan a 5 day trip to Rome",
            PLANNING,
            Complexity::Moderate,
            &p,
            &two_bad,
        ));
        assert_eq!(picks[0].technique, Technique::StepByStep);
        assert!(picks[0].reason.contains("0 of 2"), "{}", picks[0].reason);
    }

    #[test]
    fn excluding_everything_picks_nothing() {
        let prefs = Preferences {
            excluded: Technique::ALL.to_vec(),
            ..Default::default()
        };
        let e = Effectiveness::new();
        assert!(select(&request("hello", REASONING, Complexity::Simple, &prefs, &e)).is_empty());
    }
}
