DROP FUNCTION analytics.hist_quantile(integer[], float8);
DROP FUNCTION analytics.hist_add(integer[], integer);
ALTER TABLE analytics.technique_effectiveness
    DROP COLUMN feedback_sum,
    DROP COLUMN feedback_count,
    DROP COLUMN processing_time_sum,
    DROP COLUMN processing_time_count,
    DROP COLUMN processing_time_hist;
