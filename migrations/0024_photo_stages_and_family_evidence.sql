-- Before, during and after (整改前 / 整改中 / 整改后): each report photo says which it shows. Photos
-- filed before this were not marked; those of a completion report showed the finished work, those
-- of a start report the site before it, the rest the work under way.
ALTER TABLE report_photos
    ADD COLUMN stage text NOT NULL DEFAULT 'during' CHECK (stage IN ('before', 'during', 'after'));
UPDATE report_photos p SET stage = CASE r.action WHEN 'complete' THEN 'after' WHEN 'start' THEN 'before' END
FROM reports r WHERE r.id = p.report_id AND r.action IN ('complete', 'start');

-- What each family asks of the evidence: how far from the task a photo may be taken before it is
-- flagged, whether a completion needs a photo of the finished work, whether a start needs one of
-- the site before.
ALTER TABLE categories
    ADD COLUMN photo_far_m integer NOT NULL DEFAULT 500 CHECK (photo_far_m BETWEEN 10 AND 100000),
    ADD COLUMN require_after_photo boolean NOT NULL DEFAULT true,
    ADD COLUMN require_before_photo boolean NOT NULL DEFAULT false;

-- The public's copies of a photo in the sizes the pages show (a thumbnail first, the phone's and
-- the panel's), made from the original once and kept, where the service keeps photos in the
-- database (several instances); a data folder keeps them as files beside the original.
CREATE TABLE photo_copies (
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size   text NOT NULL CHECK (size IN ('thumb', 'phone')),
    bytes  bytea NOT NULL,
    PRIMARY KEY (sha256, size)
);
