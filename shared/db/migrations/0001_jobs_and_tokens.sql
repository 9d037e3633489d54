-- Jobs, their event log, and API tokens.

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text        NOT NULL,
    queue            text        NOT NULL,
    state            text        NOT NULL CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    params           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    idempotency_key  text,
    request_hash     text        NOT NULL,
    progress_fraction double precision NOT NULL DEFAULT 0,
    progress_step    bigint      NOT NULL DEFAULT 0,
    progress_total   bigint      NOT NULL DEFAULT 0,
    progress_eta     double precision NOT NULL DEFAULT -1,
    progress_message text        NOT NULL DEFAULT '',
    metrics          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    result           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error            text        NOT NULL DEFAULT '',
    attempts         integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL DEFAULT 3,
    cancel_requested boolean     NOT NULL DEFAULT false,
    worker           text        NOT NULL DEFAULT '',
    created_by       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    dispatched_at    timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    heartbeat_at     timestamptz,
    lease_expires_at timestamptz,
    not_before       timestamptz
);

CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_kind_state ON jobs (kind, state);
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'RUNNING';

CREATE TABLE job_events (
    job_id    uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq       bigint      NOT NULL,
    type      text        NOT NULL,
    state     text        NOT NULL,
    progress_fraction double precision NOT NULL,
    progress_step     bigint NOT NULL,
    progress_total    bigint NOT NULL,
    progress_eta      double precision NOT NULL,
    progress_message  text NOT NULL,
    message   text        NOT NULL DEFAULT '',
    metrics   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
