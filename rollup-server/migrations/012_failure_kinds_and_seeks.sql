-- Failures by kind and seek times (event contract v2: `business_error` on errors, `seek_ms` on
-- seeks), folded per segment in src/fold/view.rs. Every fatal error stored before this migration
-- was a playback failure: v1 events carry no business flag. (DuckDB adds no column with a NOT NULL
-- constraint; the default fills every stored row and every write sets them.)
DROP VIEW views;
ALTER TABLE view_segments ADD COLUMN playback_failure BOOLEAN DEFAULT false;
ALTER TABLE view_segments ADD COLUMN business_exception BOOLEAN DEFAULT false;
ALTER TABLE view_segments ADD COLUMN seek_count BIGINT DEFAULT 0;
ALTER TABLE view_segments ADD COLUMN seek_ms BIGINT DEFAULT 0;
UPDATE view_segments SET playback_failure = fatal_error;
CREATE VIEW views AS
SELECT * EXCLUDE (first_eid, counted, has_view_start, has_first_frame) FROM view_segments WHERE counted;
