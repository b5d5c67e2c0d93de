"""``docs/notebook.ipynb`` runs top to bottom in a real kernel (nbclient and
ipykernel), and shows what it says: the API in ``dir(optviz)``, the table,
the player inline, the video as an HTML5 ``<video>``."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.render

DOCS = Path(__file__).resolve().parent.parent / "docs"
NOTEBOOK = DOCS / "notebook.ipynb"


def test_the_notebook_is_kept_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_runs_top_to_bottom():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": DOCS}}
    ).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]

    def shown(source: str) -> list:
        (cell,) = [c for c in code if c.source.strip() == source]
        return cell.outputs

    (names,) = shown(code[0].source.strip())
    listed = names.data["text/plain"]
    for name in ("'run'", "'show'", "'load_config'", "'Result'"):
        assert name in listed
    table = "".join(o.get("text", "") for o in shown(code[1].source.strip()))
    assert "gd+p" in table and "max_iter" in table
    (player,) = shown("result")
    assert player.data["text/html"].startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;')
    (video,) = shown("optviz.show(result, video=True)")
    assert video.output_type == "display_data"  # shown, not returned
    assert video.data["text/html"].startswith("<video controls")
    assert "data:video/mp4;base64," in video.data["text/html"]
