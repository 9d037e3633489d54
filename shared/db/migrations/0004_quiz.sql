-- The real-or-generated quiz: one row per round shown to a player. The round token is only ever
-- stored hashed; the truth stays here until the round is answered (once).

CREATE TABLE quiz_rounds (
    id                 uuid PRIMARY KEY,
    token_sha256       text        NOT NULL UNIQUE,
    player             text        NOT NULL,            -- opaque id the console keeps per browser session
    nickname           text        NOT NULL DEFAULT '',
    dataset_version_id uuid        NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
    image_id           text        NOT NULL REFERENCES images (id),
    truth              text        NOT NULL CHECK (truth IN ('REAL', 'GENERATED')),
    generator          text        NOT NULL DEFAULT '', -- model version id or zoo family of a generated tile
    answer             text        CHECK (answer IN ('REAL', 'GENERATED')),
    detector_p         double precision,                -- the production detector on the same tile
    detector_label     text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    answered_at        timestamptz
);
CREATE INDEX quiz_rounds_player ON quiz_rounds (player, created_at);
CREATE INDEX quiz_rounds_generator ON quiz_rounds (generator) WHERE answered_at IS NOT NULL;
