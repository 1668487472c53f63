"""Examples shown at the end of each command's --help: real paths (the shared data folder beside the
checkout), runnable as written from the checkout's folder, like the README's."""

from __future__ import annotations

S = "../shared"
D = f"{S}/reference_dumps/openface-2.0.2/images"

ROOT = f"""Examples (the shared data folder beside the checkout; models fetched once):

  pyparity models fetch --from {S}/openface/model --accept-license

  pyparity run openface-image {S}/openface/samples/sample1.jpg --diff {D}/sample1.jpg

  pyparity diff REFERENCE_TRACE MY_TRACE --json report.json

  pyparity show {D}/sample1.jpg mtcnn/output/boxes

Shell completion: pyparity --install-completion (bash, zsh, fish, PowerShell)."""

COMMANDS = {
    "diff": [f"pyparity diff {D}/001.jpg {D}/002.jpg --max-rows 10",
             f"pyparity diff {D}/sample1.jpg MY_TRACE --json - --quiet"],
    "show": [f"pyparity show {D}/sample1.jpg", f"pyparity show {D}/sample1.jpg mtcnn/output/boxes"],
    "hunt": [f"pyparity hunt pymtcnn-1.2 {S}/openface/samples/image_sequence/018.jpg --reference {D}/018.jpg"],
    "record": [f"pyparity record pymtcnn-1.2 {S}/openface/samples/image_sequence/018.jpg --out port-trace"],
    "gate": [f"pyparity gate corpus/openface-clnf.toml --model-dir {S}/openface/model",
             f"pyparity gate corpus/openface-samples.toml --model-dir {S}/openface/model --executor dask --resume "
             "--results samples.jsonl --junit gate.xml"],
    "stages": ["pyparity stages 'mtcnn/pnet/**'"],
}
RUN = {
    "openface-image": [f"pyparity run openface-image {S}/openface/samples/sample1.jpg --diff {D}/sample1.jpg",
                       f"pyparity run openface-image {S}/openface/samples/sample2.jpg --from-reference {D}/sample2.jpg "
                       f"--start box --diff {D}/sample2.jpg"],
    "mtcnn": [f"pyparity run mtcnn {S}/openface/samples/sample1.jpg --diff {D}/sample1.jpg"],
    "clnf": [f"pyparity run clnf {S}/openface/samples/image_sequence/001.jpg --bbox 149.69302368164062,"
             f"178.16969299316406,190.21267700195312,195.76608276367188 --diff {D}/001.jpg"],
    "img2pose": [f"pyparity run img2pose {S}/openface/samples/sample1.jpg --synthetic --config "
                 f"{S}/reference_dumps/img2pose-upstream/images/sample1.jpg --diff "
                 f"{S}/reference_dumps/img2pose-upstream/images/sample1.jpg"],
    "pof": [f"pyparity run pof {S}/reference_dumps/pof-upstream/gcn/walk --model gcn --synthetic --diff "
            f"{S}/reference_dumps/pof-upstream/gcn/walk"],
}


def epilog(lines: list[str]) -> str:
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)


def add_examples(app, run_app) -> None:
    """Set the examples of the registered commands (typer's CommandInfo) before click builds them."""
    for group, table in ((app, COMMANDS), (run_app, RUN)):
        for info in group.registered_commands:
            if info.name in table and not info.epilog:
                info.epilog = epilog(table[info.name])
