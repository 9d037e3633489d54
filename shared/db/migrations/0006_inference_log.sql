-- The inference log and drift monitoring: one row per detection served (Detect, DetectStream), the
-- reference each detector evaluation leaves behind, and the findings of drift jobs that compare the two.

CREATE TABLE inference_log (
    id               bigserial PRIMARY KEY,
    created_at       timestamptz      NOT NULL DEFAULT now(),  -- when the verdict was given
    model_version_id uuid             NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    method           text             NOT NULL,                -- Detect or DetectStream
    image_sha256     text             NOT NULL,                -- of the bytes the caller sent
    p_generated      double precision NOT NULL,                -- calibrated score
    label            text             NOT NULL CHECK (label IN ('REAL', 'GENERATED', 'UNCERTAIN')),
    latency_ms       double precision NOT NULL,                -- image complete -> verdict, in the server
    crops            integer          NOT NULL,
    width            integer          NOT NULL,                -- decoded pixels
    height           integer          NOT NULL,
    num_bytes        integer          NOT NULL,                -- encoded size as sent
    brightness       double precision NOT NULL                 -- mean luma (BT.601) of the decoded image, 0..1
);
CREATE INDEX inference_log_version_time ON inference_log (model_version_id, created_at);
CREATE INDEX inference_log_time ON inference_log (created_at);  -- retention deletes by age

-- What a detector's evaluation saw, for drift checks: a sorted sample of each statistic over the images of
-- the evaluated split (clean, unperturbed), as Detect would have measured them.
CREATE TABLE drift_references (
    evaluation_id    uuid PRIMARY KEY REFERENCES evaluations (id) ON DELETE CASCADE,
    model_version_id uuid        NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    num_images       integer     NOT NULL,
    statistics       jsonb       NOT NULL,  -- {"p_generated": [...], "brightness": [...], "width": [...], ...}
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_references_version ON drift_references (model_version_id, created_at DESC);

CREATE TABLE drift_findings (
    id               uuid PRIMARY KEY,
    job_id           uuid REFERENCES jobs (id) ON DELETE SET NULL,
    model_version_id uuid        NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    evaluation_id    uuid REFERENCES evaluations (id) ON DELETE SET NULL,  -- whose reference was used
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL,
    num_detections   integer     NOT NULL,
    drifted          boolean     NOT NULL,  -- any statistic drifted
    statistics       jsonb       NOT NULL,  -- per statistic: psi, ks, ks_critical, drifted, means, sizes
    thresholds       jsonb       NOT NULL,  -- psi_threshold, ks_alpha, ks_min
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX drift_findings_job ON drift_findings (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX drift_findings_version ON drift_findings (model_version_id, created_at DESC);
