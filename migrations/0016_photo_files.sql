-- Report photos kept in the database, for a county running several service instances
-- (GREENLEDGER_PHOTO_STORE=database, src/store/photos.rs): every instance reads them where it
-- reads the ledger, the photo is stored in the report's own transaction, and they travel with the
-- database's backups and replicas. `public_copy` (upright, small, no metadata) is made from the
-- original the first time the public asks for it.
CREATE TABLE photo_files (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes bytea NOT NULL,
    public_copy bytea
);
-- JPEG and PNG do not compress: kept out of line without PostgreSQL trying.
ALTER TABLE photo_files ALTER COLUMN bytes SET STORAGE EXTERNAL, ALTER COLUMN public_copy SET STORAGE EXTERNAL;
