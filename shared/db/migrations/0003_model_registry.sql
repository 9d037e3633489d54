-- The model registry: models, their versions (linked to the training job and
-- dataset version that made them) and evaluation results.

CREATE TABLE models (
    name        text PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('GENERATOR', 'DETECTOR', 'COLORIZER')),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
    id                 uuid PRIMARY KEY,
    model_name         text        NOT NULL REFERENCES models (name),
    version            integer     NOT NULL,
    architecture       text        NOT NULL,
    stage              text        NOT NULL DEFAULT 'NONE'
                                   CHECK (stage IN ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED')),
    training_job_id    uuid REFERENCES jobs (id) ON DELETE SET NULL,
    dataset_version_id uuid REFERENCES dataset_versions (id) ON DELETE SET NULL,
    config             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    hyperparameters    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    metrics            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    history            jsonb       NOT NULL DEFAULT '[]'::jsonb,
    artifacts          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    calibration        jsonb,
    description        text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    stage_changed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_name, version)
);
-- At most one production version per model.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_name) WHERE stage = 'PRODUCTION';
CREATE UNIQUE INDEX model_versions_training_job ON model_versions (training_job_id) WHERE training_job_id IS NOT NULL;

CREATE TABLE evaluations (
    id                 uuid PRIMARY KEY,
    job_id             uuid REFERENCES jobs (id) ON DELETE SET NULL,
    model_version_id   uuid        NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    dataset_version_id uuid REFERENCES dataset_versions (id) ON DELETE SET NULL,
    split              text        NOT NULL DEFAULT 'UNSPECIFIED',
    metrics            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    report             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX evaluations_job ON evaluations (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX evaluations_model_version ON evaluations (model_version_id, created_at DESC);
