"""Generate the Python protobuf and gRPC stubs from protos/ into shared/api/.

Run with `make protos`. `--check` regenerates into a temporary folder and
fails if the committed stubs differ, which is how CI catches stale code.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "shared" / "api"
HEADER = '"""Generated protobuf package. Do not edit: run `make protos`."""\n'


def generate(out: Path) -> None:
    from grpc_tools import protoc
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    if not files:
        sys.exit("no .proto files under protos/")
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")
    # Regular packages (not namespace packages) so editable installs map them.
    for d in [out / "terrafake", *(p for p in (out / "terrafake").rglob("*") if p.is_dir())]:
        if d.name != "__pycache__":
            (d / "__init__.py").write_text(HEADER)


def tree(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if shared/api is stale")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(OUT / "terrafake", ignore_errors=True)
        generate(OUT)
        print(f"generated stubs in {OUT.relative_to(ROOT)}/terrafake")
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        want, have = tree(fresh / "terrafake"), tree(OUT / "terrafake")
        stale = sorted(set(want) ^ set(have))
        stale += sorted(k for k in set(want) & set(have) if not filecmp.cmp(want[k], have[k], shallow=False))
        if stale:
            print("generated stubs are stale; run `make protos` and commit:", file=sys.stderr)
            for name in stale:
                print(f"  shared/api/terrafake/{name}", file=sys.stderr)
            sys.exit(1)
        print("generated stubs are up to date")


if __name__ == "__main__":
    main()
