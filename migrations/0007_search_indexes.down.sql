DROP INDEX prompts.idx_intent_patterns_fts;
