-- A view's viewer (`viewer_id`: its user id, else the user its anonymous id is linked to, else the
-- anonymous id) is decided in Rust when its segments are written (src/store/write.rs), and the
-- in-memory index keys viewers itself: the stored hash of it goes.
DROP VIEW views;
ALTER TABLE view_segments DROP COLUMN viewer_key;
CREATE VIEW views AS
SELECT * EXCLUDE (first_eid, counted, has_view_start, has_first_frame) FROM view_segments WHERE counted;
