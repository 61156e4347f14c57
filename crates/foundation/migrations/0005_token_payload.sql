-- What a one-time token carries besides its owner: the new address of an email change.
ALTER TABLE user_tokens ADD COLUMN payload TEXT;
