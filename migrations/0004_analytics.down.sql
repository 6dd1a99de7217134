DROP TABLE IF EXISTS analytics.api_metrics;
DROP TABLE IF EXISTS analytics.daily_stats;
DROP TABLE IF EXISTS analytics.user_activity;
DROP TABLE IF EXISTS analytics.technique_effectiveness;
