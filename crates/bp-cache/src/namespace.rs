//! The guide's cache namespaces: key prefix, time to live, and whether the
//! namespace is versioned (invalidated as a whole by bumping a generation).

use std::time::Duration;

use bp_config::CacheTtls;

/// One cache namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    /// `session:` user sessions (24 h).
    Sessions,
    /// `api:response:` cached API responses (5 min).
    ApiResponses,
    /// `ml:intent:` intent predictions (1 h).
    Predictions,
    /// `technique:` technique selections (30 min).
    Techniques,
    /// `template:` templates (2 h).
    Templates,
    /// `user:pref:` user preferences (1 h).
    UserPrefs,
    /// `ratelimit:` sliding-window logs (the window).
    RateLimits,
    /// `analytics:` computed analytics (15 min).
    Analytics,
    /// `feature:` feature flags (kept in Redis, cached locally for 1 min).
    FeatureFlags,
    /// `temp:` temporary data (5 min).
    Temp,
}

impl Namespace {
    /// Every namespace, in a fixed order (the index of stats counters).
    pub const ALL: [Namespace; 10] = [
        Self::Sessions,
        Self::ApiResponses,
        Self::Predictions,
        Self::Techniques,
        Self::Templates,
        Self::UserPrefs,
        Self::RateLimits,
        Self::Analytics,
        Self::FeatureFlags,
        Self::Temp,
    ];

    /// The key prefix after the service prefix, e.g. `api:response:`.
    pub fn key_prefix(self) -> &'static str {
        match self {
            Self::Sessions => "session:",
            Self::ApiResponses => "api:response:",
            Self::Predictions => "ml:intent:",
            Self::Techniques => "technique:",
            Self::Templates => "template:",
            Self::UserPrefs => "user:pref:",
            Self::RateLimits => "ratelimit:",
            Self::Analytics => "analytics:",
            Self::FeatureFlags => "feature:",
            Self::Temp => "temp:",
        }
    }

    /// The name used on the command line and in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::ApiResponses => "api_responses",
            Self::Predictions => "predictions",
            Self::Techniques => "techniques",
            Self::Templates => "templates",
            Self::UserPrefs => "user_prefs",
            Self::RateLimits => "rate_limits",
            Self::Analytics => "analytics",
            Self::FeatureFlags => "feature_flags",
            Self::Temp => "temp",
        }
    }

    /// The namespace called `name` (see [`Namespace::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|ns| ns.name() == name)
    }

    /// The configured time to live; rate limits live as long as their
    /// window, so they have none of their own.
    pub fn ttl(self, ttls: &CacheTtls) -> Option<Duration> {
        match self {
            Self::Sessions => Some(ttls.sessions),
            Self::ApiResponses => Some(ttls.api_responses),
            Self::Predictions => Some(ttls.predictions),
            Self::Techniques => Some(ttls.techniques),
            Self::Templates => Some(ttls.templates),
            Self::UserPrefs => Some(ttls.user_prefs),
            Self::RateLimits => None,
            Self::Analytics => Some(ttls.analytics),
            Self::FeatureFlags => Some(ttls.feature_flags),
            Self::Temp => Some(ttls.temp),
        }
    }

    /// Namespaces invalidated as a whole by a generation bump: their keys
    /// carry the generation, so a bump makes every old key unreachable in
    /// O(1) and the old keys expire by their TTL.
    pub fn is_versioned(self) -> bool {
        matches!(
            self,
            Self::ApiResponses | Self::Predictions | Self::Techniques | Self::Templates
        )
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_namespace_has_the_guides_prefix_and_round_trips_by_name() {
        for ns in Namespace::ALL {
            assert_eq!(Namespace::from_name(ns.name()), Some(ns));
            assert!(ns.key_prefix().ends_with(':'));
            assert_eq!(Namespace::ALL[ns.index()], ns);
        }
        let ttls = CacheTtls::default();
        assert_eq!(Namespace::Sessions.ttl(&ttls), Some(Duration::from_secs(86_400)));
        assert_eq!(Namespace::Techniques.ttl(&ttls), Some(Duration::from_secs(1_800)));
        assert_eq!(Namespace::RateLimits.ttl(&ttls), None);
    }
}
