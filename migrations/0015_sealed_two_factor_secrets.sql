-- TOTP secrets are stored sealed (XChaCha20-Poly1305 with the server's key file, which is neither
-- in the database nor in its backups): a 24-byte nonce, the 20-byte secret encrypted, a 16-byte
-- tag. Secrets stored before (20 bytes in the clear) are sealed by the service at its next start.
ALTER TABLE two_factor DROP CONSTRAINT two_factor_secret_check;
ALTER TABLE two_factor ADD CONSTRAINT two_factor_secret_sealed CHECK (length(secret) IN (20, 60));
