-- The player's name (`player_name` of the event contract, e.g. hls.js, shaka-player, video.js) as a
-- dimension of each view, from its first event (src/fold/view.rs, `dimensions!`). Views stored before
-- this migration have none until they are rebuilt from the lake (move the database file away).
ALTER TABLE view_segments ADD COLUMN player_name VARCHAR;
