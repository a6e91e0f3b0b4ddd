-- Two-step verification (TOTP, RFC 6238) for web logins.
--
-- The secret is what the account's authenticator app holds. It must be readable to check a code,
-- so unlike session ids and tokens it cannot be stored as a hash; the service never hands it out
-- again after enrolment. `confirmed_at` is null while an enrolment waits for its first code (the
-- account does not use two-step verification until then). `last_step` is the TOTP time step of the
-- last code accepted: a code, once used, is refused for the rest of its window.
CREATE TABLE two_factor (
    user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea NOT NULL CHECK (length(secret) = 20),
    confirmed_at timestamptz,
    last_step    bigint,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Recovery codes, each good for one login when the phone is lost: SHA-256 of the account and the
-- code (about 59 random bits each), never the code itself.
CREATE TABLE recovery_codes (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- The administrator's policy: which roles must use two-step verification. One row.
CREATE TABLE security_policy (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    two_factor_roles  text[] NOT NULL DEFAULT '{}'
                      CHECK (two_factor_roles <@ ARRAY['admin', 'bureau', 'township']::text[]),
    changed_at        timestamptz NOT NULL DEFAULT now(),
    changed_by        uuid REFERENCES users (id)
);
INSERT INTO security_policy DEFAULT VALUES;

-- Each account's standing: whether it uses two-step verification, and whether the policy requires
-- it of its role. The one place these two facts are worked out; every query of accounts joins it.
CREATE VIEW account_two_factor AS
SELECT u.id AS user_id,
       EXISTS (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) AS enrolled,
       u.role = ANY (p.two_factor_roles) AS required
FROM users u CROSS JOIN security_policy p;
