-- Where the phone was when its report was written (the browser's geolocation, with the officer's
-- permission), how far that is from the task, the phone's clock when it sent the report, and the
-- report's own flags (far, clock) for the verifier (src/domain/evidence.rs, `report_flags`).
ALTER TABLE reports
    ADD COLUMN sent_lon double precision CHECK (sent_lon BETWEEN -180 AND 180),
    ADD COLUMN sent_lat double precision CHECK (sent_lat BETWEEN -90 AND 90),
    ADD COLUMN sent_accuracy_m double precision CHECK (sent_accuracy_m >= 0),
    ADD COLUMN sent_distance_m double precision CHECK (sent_distance_m >= 0),
    ADD COLUMN device_time timestamptz,
    ADD COLUMN flags jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(flags) = 'array'),
    ADD CONSTRAINT reports_position_whole CHECK ((sent_lon IS NULL) = (sent_lat IS NULL));
