-- Which pull stored each event. A pull checks the ids of its later chunks against its own earlier
-- chunks in memory (src/decode.rs, SeenIds), so its check against the database only needs the events
-- of earlier pulls; row groups written by the running pull are skipped by their zone maps. Events
-- stored before this migration, and by loads outside a pull, have pull 0.
-- (No NOT NULL: DuckDB 1.5 cannot add a column with a constraint; the default fills every row, and
-- migration 008 rebuilds the table with the column NOT NULL.)
ALTER TABLE events ADD COLUMN pull BIGINT DEFAULT 0;
CREATE SEQUENCE pull_seq START 1;
