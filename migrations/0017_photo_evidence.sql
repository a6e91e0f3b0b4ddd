-- What each report photo says about itself, and what the service made of it when the report was
-- filed, for the verifier (src/domain/evidence.rs): the EXIF position (WGS 84) and time, the camera
-- and the software that wrote the file, the distance to the task's geometry, and the flags with
-- their numbers (far, no position, no time, before the task, old, reused, edited, GCJ-02).
-- Photos filed before this migration were not read: their `flags` stay NULL.
ALTER TABLE report_photos
    ADD COLUMN taken_at timestamptz,
    ADD COLUMN taken_lon double precision CHECK (taken_lon BETWEEN -180 AND 180),
    ADD COLUMN taken_lat double precision CHECK (taken_lat BETWEEN -90 AND 90),
    ADD COLUMN camera text,
    ADD COLUMN software text,
    ADD COLUMN distance_m double precision CHECK (distance_m >= 0),
    ADD COLUMN flags jsonb CHECK (jsonb_typeof(flags) = 'array');
