"""Export jobs: a registered model version to ONNX/TorchScript and into Triton's repository.

The export is checked against the PyTorch model (parity.json beside it) and
refused if it differs. Generators also get a sampler model that runs the
whole sampling loop inside Triton. With an object store, the Triton models are
also published to the bucket's `triton/models/` (version folder, then config),
before anything asks Triton to load them. A version already in PRODUCTION is
loaded into Triton at once; others load when promoted.
"""

from __future__ import annotations

from shared.registry.store import RegistryStore
from shared.storage.artifacts import model_path, publish_export, publish_triton_model
from workers.runtime import JobContext, job_task


@job_task("serving.export")
def export_version(ctx: JobContext) -> dict:
    from shared.serving import TritonClient, export_model, write_model, write_sampler_model

    p = ctx.params
    registry = RegistryStore(ctx.store.db)
    version = registry.get_version(p["model_version_id"])
    fmt = p["format"]
    out = ctx.settings.home / "exports" / str(version["id"]) / fmt
    ctx.progress(0, 3, f"exporting {version['model_name']} v{version['version']} to {fmt}", force=True)
    try:
        result = export_model(model_path(ctx.settings, version), out, format=fmt, opset=p["opset"], overwrite=True)
    except ValueError as exc:
        from shared.errors import FailedPrecondition

        raise FailedPrecondition(f"export refused: {exc}") from exc
    ctx.progress(1, 3, f"parity max abs diff {result.parity.max_abs_diff:.2e}")
    repo = ctx.settings.triton_repository
    name, number = p["triton_model_name"], p["triton_model_version"]
    from shared.training.generators import is_gan

    # A GAN is one forward pass (the exported graph itself); only a DDPM has a sampling loop to run in Triton.
    diffusion = version["kind"] == "GENERATOR" and not is_gan(version["architecture"])
    write_model(
        repo, name, out, version=number, backend=ctx.settings.triton_backend, max_batch_size=p["max_batch_size"],
        preferred_batch_sizes=[b for b in (4, 8, 16, 32, 64) if b <= p["max_batch_size"]] or [p["max_batch_size"]],
        instance_kind=ctx.settings.triton_instance_kind, overwrite=True,
    )  # fmt: skip
    artifacts = {
        "export_dir": str(out),
        "export_format": fmt,
        "parity_max_abs_diff": result.parity.max_abs_diff,
        "triton_model": name,
        "triton_version": number,
        "max_batch_size": p["max_batch_size"],
        # With an object store, copies every node can reach, and the Triton model where a Triton reading the
        # bucket finds it.
        **publish_export(ctx.settings, version["id"], fmt, out),
        **publish_triton_model(ctx.settings, repo, name, number),
    }
    # The sampler model runs the loop inside Triton's python backend, which needs terrafake's
    # own packages: the local tritonserver has them; the official image (compose) does not,
    # so there the generation service runs the loop and calls the U-Net in Triton per step.
    in_triton_loop = ctx.settings.triton_backend == "python"
    if in_triton_loop and diffusion and fmt == "onnx" and not int(version["config"].get("num_classes", 0) or 0):
        write_sampler_model(repo, f"{name}-sampler", out, version=number, overwrite=True,
                            instance_kind=ctx.settings.triton_instance_kind)
        publish_triton_model(ctx.settings, repo, f"{name}-sampler", number)
        artifacts["triton_sampler_model"] = f"{name}-sampler"
    ctx.progress(2, 3, f"written to the Triton repository as {name}/{number}")
    version = registry.update_artifacts(version["id"], artifacts)
    loaded = False
    if version["stage"] == "PRODUCTION" and ctx.settings.triton_url:
        with TritonClient(ctx.settings.triton_url) as client:
            client.load_model(name, number)
            if "triton_sampler_model" in artifacts:
                client.load_model(artifacts["triton_sampler_model"], number)
        loaded = True
    ctx.progress(3, 3, "loaded in Triton" if loaded else "exported")
    return {**artifacts, "loaded": loaded, "parity_passed": result.parity.passed}
