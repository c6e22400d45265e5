"""A classroom of 3 learners on a copy of the published sample city (built once per session)."""

import shutil

import pytest


@pytest.fixture(scope="session")
def classroom(published_ws, tmp_path_factory):
    """``territoria.teaching.classroom.Classroom`` with 3 learners: the two territories the
    published fixture ran, then one chosen by the kit (its steps run here)."""
    from territoria.teaching.classroom import build_classroom

    ws, ids = published_ws
    root = tmp_path_factory.mktemp("classroom") / "ws"
    shutil.copytree(ws.root, root, ignore=shutil.ignore_patterns("site"))
    return build_classroom(root, territories=ids, learners=3, echo=lambda *_: None)
