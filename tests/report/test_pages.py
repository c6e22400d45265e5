"""The page builders joined to the site and the site's file names (territoria.report.pages)."""

from __future__ import annotations

import pytest

from territoria.evaluation import site as eval_site
from territoria.report import pages, site


def test_evaluation_pages_join_the_site():
    assert pages.joined_builders() == [eval_site.build]


def test_a_missing_optional_package_is_left_out_and_a_wrong_name_is_an_error():
    assert pages.joined_builders(("territoria_not_installed.pages:build",)) == []
    with pytest.raises(AttributeError):
        pages.joined_builders(("territoria.evaluation.site:no_such_builder",))


def test_the_site_and_the_evaluation_pages_share_one_safe_name():
    assert site.safe_name is pages.safe_name and eval_site.safe_name is pages.safe_name


@pytest.mark.parametrize("text", ["07-001", "a/b", "../x", "<b>", "x" * 100, "", "city"])
def test_safe_name_is_a_plain_file_name_and_tells_ids_apart(text):
    name = pages.safe_name(text)
    assert name and all(c.isalnum() or c in "_-" for c in name)
    plain = 0 < len(text) <= 80 and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)
    assert (name == text) == plain
    assert pages.safe_name(text + "/") != name
