-- What a load left out and why (src/decode.rs, `Quarantined`): an object that is not gzip or is too
-- large to decompress (line NULL), or a line of an object that is not an event or holds a value that
-- cannot happen (at most 20 lines per object are listed; `loaded_objects.quarantined` counts them
-- all). The object itself is recorded as loaded, so no pull meets it again; the lake keeps it.
CREATE TABLE quarantine (
    object_key        VARCHAR NOT NULL,
    tenant_id         VARCHAR,
    line              BIGINT,
    eid               VARCHAR,
    reason            VARCHAR NOT NULL,
    quarantined_at_ms BIGINT NOT NULL
);
ALTER TABLE loaded_objects ADD COLUMN quarantined BIGINT DEFAULT 0;
