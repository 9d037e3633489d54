from terrafake.common.v1 import common_pb2 as _common_pb2
from terrafake.ingestion.v1 import dataset_pb2 as _dataset_pb2
from terrafake.ingestion.v1 import ingest_pb2 as _ingest_pb2
from terrafake.jobs.v1 import job_pb2 as _job_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArchiveFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARCHIVE_FORMAT_UNSPECIFIED: _ClassVar[ArchiveFormat]
    ARCHIVE_FORMAT_ZIP: _ClassVar[ArchiveFormat]
    ARCHIVE_FORMAT_TAR: _ClassVar[ArchiveFormat]
    ARCHIVE_FORMAT_TAR_GZ: _ClassVar[ArchiveFormat]
ARCHIVE_FORMAT_UNSPECIFIED: ArchiveFormat
ARCHIVE_FORMAT_ZIP: ArchiveFormat
ARCHIVE_FORMAT_TAR: ArchiveFormat
ARCHIVE_FORMAT_TAR_GZ: ArchiveFormat

class CreateDatasetRequest(_message.Message):
    __slots__ = ("name", "description", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("dataset_id",)
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    def __init__(self, dataset_id: _Optional[str] = ...) -> None: ...

class GetDatasetResponse(_message.Message):
    __slots__ = ("dataset",)
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("name_contains", "page")
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    name_contains: str
    page: _common_pb2.PageRequest
    def __init__(self, name_contains: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "page")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.Dataset]
    page: _common_pb2.PageInfo
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_pb2.Dataset, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ("dataset_id", "force")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    force: bool
    def __init__(self, dataset_id: _Optional[str] = ..., force: bool = ...) -> None: ...

class DeleteDatasetResponse(_message.Message):
    __slots__ = ("versions_deleted", "images_deleted")
    VERSIONS_DELETED_FIELD_NUMBER: _ClassVar[int]
    IMAGES_DELETED_FIELD_NUMBER: _ClassVar[int]
    versions_deleted: int
    images_deleted: int
    def __init__(self, versions_deleted: _Optional[int] = ..., images_deleted: _Optional[int] = ...) -> None: ...

class CreateDatasetVersionRequest(_message.Message):
    __slots__ = ("dataset_id", "description", "split", "label_filter", "idempotency_key")
    class LabelFilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FILTER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    description: str
    split: _dataset_pb2.SplitSpec
    label_filter: _containers.ScalarMap[str, str]
    idempotency_key: str
    def __init__(self, dataset_id: _Optional[str] = ..., description: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.SplitSpec, _Mapping]] = ..., label_filter: _Optional[_Mapping[str, str]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CreateDatasetVersionResponse(_message.Message):
    __slots__ = ("dataset_version",)
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    dataset_version: _dataset_pb2.DatasetVersion
    def __init__(self, dataset_version: _Optional[_Union[_dataset_pb2.DatasetVersion, _Mapping]] = ...) -> None: ...

class GetDatasetVersionRequest(_message.Message):
    __slots__ = ("dataset_version_id",)
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    dataset_version_id: str
    def __init__(self, dataset_version_id: _Optional[str] = ...) -> None: ...

class GetDatasetVersionResponse(_message.Message):
    __slots__ = ("dataset_version",)
    DATASET_VERSION_FIELD_NUMBER: _ClassVar[int]
    dataset_version: _dataset_pb2.DatasetVersion
    def __init__(self, dataset_version: _Optional[_Union[_dataset_pb2.DatasetVersion, _Mapping]] = ...) -> None: ...

class ListDatasetVersionsRequest(_message.Message):
    __slots__ = ("dataset_id", "page")
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    page: _common_pb2.PageRequest
    def __init__(self, dataset_id: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListDatasetVersionsResponse(_message.Message):
    __slots__ = ("dataset_versions", "page")
    DATASET_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    dataset_versions: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.DatasetVersion]
    page: _common_pb2.PageInfo
    def __init__(self, dataset_versions: _Optional[_Iterable[_Union[_dataset_pb2.DatasetVersion, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class ListImagesRequest(_message.Message):
    __slots__ = ("dataset_id", "dataset_version_id", "split", "label_filter", "page")
    class LabelFilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    dataset_id: str
    dataset_version_id: str
    split: _dataset_pb2.Split
    label_filter: _containers.ScalarMap[str, str]
    page: _common_pb2.PageRequest
    def __init__(self, dataset_id: _Optional[str] = ..., dataset_version_id: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.Split, str]] = ..., label_filter: _Optional[_Mapping[str, str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListImagesResponse(_message.Message):
    __slots__ = ("images", "page")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[_common_pb2.ImageInfo]
    page: _common_pb2.PageInfo
    def __init__(self, images: _Optional[_Iterable[_Union[_common_pb2.ImageInfo, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class GetImageRequest(_message.Message):
    __slots__ = ("image_id", "dataset_version_id")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    dataset_version_id: str
    def __init__(self, image_id: _Optional[str] = ..., dataset_version_id: _Optional[str] = ...) -> None: ...

class GetImageResponse(_message.Message):
    __slots__ = ("info", "chunk")
    INFO_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    info: _common_pb2.ImageInfo
    chunk: _common_pb2.ImageChunk
    def __init__(self, info: _Optional[_Union[_common_pb2.ImageInfo, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...

class SetImageLabelsRequest(_message.Message):
    __slots__ = ("image_ids", "set_labels", "remove_keys")
    class SetLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    SET_LABELS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_KEYS_FIELD_NUMBER: _ClassVar[int]
    image_ids: _containers.RepeatedScalarFieldContainer[str]
    set_labels: _containers.ScalarMap[str, str]
    remove_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, image_ids: _Optional[_Iterable[str]] = ..., set_labels: _Optional[_Mapping[str, str]] = ..., remove_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class SetImageLabelsResponse(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[_common_pb2.ImageInfo]
    def __init__(self, images: _Optional[_Iterable[_Union[_common_pb2.ImageInfo, _Mapping]]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("options", "geotiff", "stage_only", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    GEOTIFF_FIELD_NUMBER: _ClassVar[int]
    STAGE_ONLY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    geotiff: _ingest_pb2.GeoTiffOptions
    stage_only: bool
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., geotiff: _Optional[_Union[_ingest_pb2.GeoTiffOptions, _Mapping]] = ..., stage_only: bool = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class UploadFileHeader(_message.Message):
    __slots__ = ("image", "archive_format", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ARCHIVE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.ImageHeader
    archive_format: ArchiveFormat
    labels: _containers.ScalarMap[str, str]
    def __init__(self, image: _Optional[_Union[_common_pb2.ImageHeader, _Mapping]] = ..., archive_format: _Optional[_Union[ArchiveFormat, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UploadImagesRequest(_message.Message):
    __slots__ = ("header", "file", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    file: UploadFileHeader
    chunk: _common_pb2.ImageChunk
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., file: _Optional[_Union[UploadFileHeader, _Mapping]] = ..., chunk: _Optional[_Union[_common_pb2.ImageChunk, _Mapping]] = ...) -> None: ...

class UploadImagesResponse(_message.Message):
    __slots__ = ("job", "upload_id", "files_received", "bytes_received")
    JOB_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    upload_id: str
    files_received: int
    bytes_received: int
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ..., upload_id: _Optional[str] = ..., files_received: _Optional[int] = ..., bytes_received: _Optional[int] = ...) -> None: ...

class IngestUrlsRequest(_message.Message):
    __slots__ = ("options", "urls", "concurrency", "timeout_seconds", "user_agent", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    urls: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    timeout_seconds: float
    user_agent: str
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., urls: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ..., timeout_seconds: _Optional[float] = ..., user_agent: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IngestUrlsResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class IngestXyzTilesRequest(_message.Message):
    __slots__ = ("options", "url_template", "subdomains", "bbox", "zoom", "max_tiles", "allow_partial", "requests_per_second", "user_agent", "timeout_seconds", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    URL_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SUBDOMAINS_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    ZOOM_FIELD_NUMBER: _ClassVar[int]
    MAX_TILES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    url_template: str
    subdomains: _containers.RepeatedScalarFieldContainer[str]
    bbox: _common_pb2.BoundingBox
    zoom: int
    max_tiles: int
    allow_partial: bool
    requests_per_second: float
    user_agent: str
    timeout_seconds: float
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., url_template: _Optional[str] = ..., subdomains: _Optional[_Iterable[str]] = ..., bbox: _Optional[_Union[_common_pb2.BoundingBox, _Mapping]] = ..., zoom: _Optional[int] = ..., max_tiles: _Optional[int] = ..., allow_partial: bool = ..., requests_per_second: _Optional[float] = ..., user_agent: _Optional[str] = ..., timeout_seconds: _Optional[float] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IngestXyzTilesResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class IngestPastVuRequest(_message.Message):
    __slots__ = ("options", "geojson_polygon", "bbox", "zoom", "year_from", "year_to", "api_base_url", "max_photos", "requests_per_second", "user_agent", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    GEOJSON_POLYGON_FIELD_NUMBER: _ClassVar[int]
    BBOX_FIELD_NUMBER: _ClassVar[int]
    ZOOM_FIELD_NUMBER: _ClassVar[int]
    YEAR_FROM_FIELD_NUMBER: _ClassVar[int]
    YEAR_TO_FIELD_NUMBER: _ClassVar[int]
    API_BASE_URL_FIELD_NUMBER: _ClassVar[int]
    MAX_PHOTOS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    geojson_polygon: str
    bbox: _common_pb2.BoundingBox
    zoom: int
    year_from: int
    year_to: int
    api_base_url: str
    max_photos: int
    requests_per_second: float
    user_agent: str
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., geojson_polygon: _Optional[str] = ..., bbox: _Optional[_Union[_common_pb2.BoundingBox, _Mapping]] = ..., zoom: _Optional[int] = ..., year_from: _Optional[int] = ..., year_to: _Optional[int] = ..., api_base_url: _Optional[str] = ..., max_photos: _Optional[int] = ..., requests_per_second: _Optional[float] = ..., user_agent: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IngestPastVuResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class IngestGeoTiffRequest(_message.Message):
    __slots__ = ("options", "server_path", "upload_id", "upload_filename", "geotiff", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SERVER_PATH_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FILENAME_FIELD_NUMBER: _ClassVar[int]
    GEOTIFF_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    server_path: str
    upload_id: str
    upload_filename: str
    geotiff: _ingest_pb2.GeoTiffOptions
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., server_path: _Optional[str] = ..., upload_id: _Optional[str] = ..., upload_filename: _Optional[str] = ..., geotiff: _Optional[_Union[_ingest_pb2.GeoTiffOptions, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IngestGeoTiffResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class IngestLocalFolderRequest(_message.Message):
    __slots__ = ("options", "path", "recursive", "glob", "geotiff", "idempotency_key")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    GLOB_FIELD_NUMBER: _ClassVar[int]
    GEOTIFF_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    options: _ingest_pb2.IngestOptions
    path: str
    recursive: bool
    glob: str
    geotiff: _ingest_pb2.GeoTiffOptions
    idempotency_key: str
    def __init__(self, options: _Optional[_Union[_ingest_pb2.IngestOptions, _Mapping]] = ..., path: _Optional[str] = ..., recursive: bool = ..., glob: _Optional[str] = ..., geotiff: _Optional[_Union[_ingest_pb2.GeoTiffOptions, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class IngestLocalFolderResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _job_pb2.Job
    def __init__(self, job: _Optional[_Union[_job_pb2.Job, _Mapping]] = ...) -> None: ...

class GetIngestReportRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetIngestReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _ingest_pb2.IngestReport
    def __init__(self, report: _Optional[_Union[_ingest_pb2.IngestReport, _Mapping]] = ...) -> None: ...
