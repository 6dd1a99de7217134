-- Migration: exact effectiveness aggregates
-- Version: 0008
-- Description: averages kept as sums and counts (so concurrent updates give
-- the exact mean, not an accumulated rounding of running means), and a
-- log-bucket histogram of processing times from which p95 is read.
-- Bucket i (1-based) holds times in (1.1^(i-2), 1.1^(i-1)] ms; bucket 1 holds
-- times up to 1 ms. p95 is the upper bound of its bucket: at most 10% high.

ALTER TABLE analytics.technique_effectiveness
    ADD COLUMN feedback_sum          float8 NOT NULL DEFAULT 0,
    ADD COLUMN feedback_count        integer NOT NULL DEFAULT 0,
    ADD COLUMN processing_time_sum   float8 NOT NULL DEFAULT 0,
    ADD COLUMN processing_time_count integer NOT NULL DEFAULT 0,
    ADD COLUMN processing_time_hist  integer[] NOT NULL DEFAULT '{}';

-- h with one more count in bucket b (b NULL: h unchanged).
CREATE FUNCTION analytics.hist_add(h integer[], b integer) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b IS NULL THEN h ELSE
        (SELECT array_agg(coalesce(h[i], 0) + CASE WHEN i = b THEN 1 ELSE 0 END ORDER BY i)
         FROM generate_series(1, greatest(coalesce(array_length(h, 1), 0), b)) AS i)
    END
$$;

-- The upper bound (ms) of the bucket holding quantile q of histogram h.
CREATE FUNCTION analytics.hist_quantile(h integer[], q float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH c AS (
        SELECT i, sum(coalesce(h[i], 0)) OVER (ORDER BY i) AS cum, sum(coalesce(h[i], 0)) OVER () AS n
        FROM generate_series(1, coalesce(array_length(h, 1), 0)) AS i
    )
    SELECT power(1.1, i - 1) FROM c WHERE n > 0 AND cum >= ceil(q * n) ORDER BY i LIMIT 1
$$;
