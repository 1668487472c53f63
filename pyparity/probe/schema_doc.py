"""docs/probes.md's key reference, generated from the probe file's schema (`pyparity.probe.schema`):
``python -m pyparity.probe.schema_doc`` prints it; tests/probe/test_docs.py keeps the page in step."""

from __future__ import annotations

from pyparity.probe.schema import SECTIONS

PLACEHOLDERS = (
    ("$image_bgr", "the input image, 8-bit BGR as OpenFace reads it (a sequence: the frame)"),
    ("$image_rgb", "the same, RGB"),
    ("$image_gray", "the same, grayscale (cv2.cvtColor)"),
    ("$path", "the input's path"),
    ("$models", "the OpenFace model folder (--model-dir, else the model manager's)"),
    ("$shared", "the shared data folder ($PYPARITY_SHARED, else ../shared)"),
    ("$probe_dir", "the probe file's folder"),
    ("$ref:STAGE", "the reference's array of STAGE (a dump, or a pyparity: pipeline's trace of the same input)"),
)


def markdown() -> str:
    """The key reference of docs/probes.md, from the schema's models."""
    out = []
    for section, model in SECTIONS.items():
        out.append(f"#### `{section}`\n\n| key | type | default | meaning |\n|---|---|---|---|")
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra or {}
            out.append(f"| `{name}` | {extra['type_text']} | {extra['default_text']} | {info.description} |")
        out.append("")
    out.append("#### Placeholders\n\n| placeholder | value |\n|---|---|")
    out += [f"| `{p}` | {v} |" for p, v in PLACEHOLDERS]
    from pyparity.probe.transforms import INVERSE

    out.append("\n#### Transform steps, and how each is undone for injection\n\n| step | undone by |\n|---|---|")
    out += [f"| `{k}` | {v} |" for k, v in INVERSE.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown(), end="")
