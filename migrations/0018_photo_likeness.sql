-- Each report photo's difference hash (src/domain/photo.rs, `dhash`), so that a picture sent again
-- re-saved at another quality or size is recognised as used before (evidence flag `reused` with
-- `by: likeness`). Photos filed earlier have none.
ALTER TABLE report_photos ADD COLUMN dhash bigint;
