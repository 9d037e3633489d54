-- Images (content-addressed), datasets, immutable dataset versions, ingest
-- item records (for resumable jobs and reports) and staged uploads.

CREATE TABLE images (
    id           text PRIMARY KEY,                 -- sha256 hex of the stored bytes
    size_bytes   bigint      NOT NULL,
    width        integer     NOT NULL,
    height       integer     NOT NULL,
    format       text        NOT NULL,
    phash        bigint      NOT NULL,
    source_kind  text        NOT NULL,
    source_ref   text        NOT NULL,
    origin       text        NOT NULL,             -- the source item it was cut from (scene / photo)
    west         double precision,
    south        double precision,
    east         double precision,
    north        double precision,
    license      text        NOT NULL DEFAULT '',
    attribution  text        NOT NULL DEFAULT '',
    labels       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    meta         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE datasets (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dataset_images (
    dataset_id   uuid        NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    image_id     text        NOT NULL REFERENCES images (id),
    added_by_job uuid,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_id, image_id)
);
CREATE INDEX dataset_images_added ON dataset_images (dataset_id, added_at, image_id);
CREATE INDEX dataset_images_image ON dataset_images (image_id);

CREATE TABLE dataset_versions (
    id              uuid PRIMARY KEY,
    dataset_id      uuid        NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    version_number  integer     NOT NULL,
    description     text        NOT NULL DEFAULT '',
    split           jsonb,
    label_filter    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    image_count     bigint      NOT NULL,
    train_count     bigint      NOT NULL DEFAULT 0,
    val_count       bigint      NOT NULL DEFAULT 0,
    test_count      bigint      NOT NULL DEFAULT 0,
    group_count     bigint      NOT NULL DEFAULT 0,
    label_counts    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    content_hash    text        NOT NULL,
    idempotency_key text,
    request_hash    text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset_id, version_number)
);
CREATE UNIQUE INDEX dataset_versions_idem ON dataset_versions (dataset_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE dataset_version_images (
    version_id uuid NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
    image_id   text NOT NULL REFERENCES images (id),
    labels     jsonb NOT NULL DEFAULT '{}'::jsonb,
    split      text  NOT NULL DEFAULT 'UNSPECIFIED',
    group_key  text  NOT NULL DEFAULT '',
    PRIMARY KEY (version_id, image_id)
);
CREATE INDEX dataset_version_images_split ON dataset_version_images (version_id, split, image_id);
CREATE INDEX dataset_version_images_image ON dataset_version_images (image_id);

-- One row per source item an ingest job finished (level 'item') and per
-- image or tile it produced or refused (level 'image'). A re-run of the job
-- skips finished items, so nothing is fetched, stored or counted twice.
CREATE TABLE ingest_items (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    item_ref   text        NOT NULL,
    level      text        NOT NULL CHECK (level IN ('item', 'image')),
    -- 'container': an archive whose members are items of their own.
    status     text        NOT NULL CHECK (status IN ('done', 'container', 'added', 'exact_duplicate',
                                                      'near_duplicate', 'rejected')),
    reason     text        NOT NULL DEFAULT '',
    detail     text        NOT NULL DEFAULT '',
    image_id   text,
    bytes_read bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, item_ref)
);

CREATE TABLE uploads (
    id          uuid PRIMARY KEY,
    path        text        NOT NULL,
    files       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    bytes       bigint      NOT NULL DEFAULT 0,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
