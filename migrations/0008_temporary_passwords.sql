-- An account whose password someone else chose (the first administrator from the command line, an
-- account an administrator creates or resets) must choose its own before anything else. Accounts
-- that exist already keep working; from now on an insert that does not say is temporary.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
ALTER TABLE users ALTER COLUMN must_change_password SET DEFAULT true;
