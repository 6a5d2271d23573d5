-- Up Migration
-- A sale's waiting room (docs/design.md, The waiting room): off, always on, or on above a
-- rate of attempts; the admission rate and how long an admission lasts; the shuffle seed of
-- the pre-queue, whose SHA-256 is published before the opening and the seed after the end.
-- The queue itself lives in Redis with the sale's stock (README, Guarantees).
ALTER TABLE flash_sales
  ADD COLUMN room_mode text NOT NULL DEFAULT 'off' CHECK (room_mode IN ('off', 'always', 'above')),
  ADD COLUMN room_admit_per_second double precision NOT NULL DEFAULT 0 CHECK (room_admit_per_second >= 0),
  ADD COLUMN room_admission_seconds integer NOT NULL DEFAULT 0 CHECK (room_admission_seconds >= 0),
  ADD COLUMN room_above_attempts_per_second double precision,
  ADD COLUMN room_pow_bits integer NOT NULL DEFAULT 0 CHECK (room_pow_bits BETWEEN 0 AND 32),
  ADD COLUMN room_seed text,
  ADD COLUMN room_seed_hash text;

-- Down Migration
ALTER TABLE flash_sales
  DROP COLUMN room_mode, DROP COLUMN room_admit_per_second, DROP COLUMN room_admission_seconds,
  DROP COLUMN room_above_attempts_per_second, DROP COLUMN room_pow_bits, DROP COLUMN room_seed, DROP COLUMN room_seed_hash;
