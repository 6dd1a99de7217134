DROP TABLE analytics.capacity_samples;
