-- User profiles (issue 18): an email address for mail (sign-up, password reset, notices), a
-- display name and a line about themselves. The email is stored lower-cased by the store
-- (storage/users.py), so the unique index makes `Helen@x.org` and `helen@x.org` one address;
-- NULL (no address) is allowed for any number of users.
ALTER TABLE users ADD COLUMN email TEXT;

ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';

ALTER TABLE users ADD COLUMN about TEXT NOT NULL DEFAULT '';

CREATE UNIQUE INDEX users_by_email ON users (email);
