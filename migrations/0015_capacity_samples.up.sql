-- Migration: capacity samples
-- Version: 0015
-- Description: one row per day and measured thing (a relation's table and
-- index bytes, the database's total, Redis used memory), written by the
-- daily rollup and by `db stats --growth` / `cache stats --growth`, so that
-- growth per day and the days until the disk or maxmemory is full can be
-- projected from history rather than guessed.

CREATE TABLE analytics.capacity_samples (
    day         date        NOT NULL,
    source      varchar(16) NOT NULL CHECK (source IN ('postgres', 'redis')),
    name        varchar(128) NOT NULL,
    table_bytes bigint      NOT NULL CHECK (table_bytes >= 0),
    index_bytes bigint      NOT NULL DEFAULT 0 CHECK (index_bytes >= 0),
    sampled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, name, day)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON analytics.capacity_samples TO bp_app;
