"""The investigation's input boxes (ipywidgets): an artifact digest, an image reference, and a
package with a version range, each above its answer.

An answer is shown once with the starting values (the notebook's parameters, so a notebook
run headless shows it too) and again whenever its box changes (on Enter, or on leaving the
box). A value the lookup refuses (not a digest, an empty package, a bad range) shows what is
wrong instead of a traceback; the values are bound as SQL parameters, never pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from attestlake.errors import InputError
from attestlake.notebook.context import Context
from attestlake.notebook.display import Note
from attestlake.notebook.investigate import find_component, find_digest, resolve_image
from attestlake.notebook.widgets import show

_LAYOUT = {"width": "640px"}
_STYLE = {"description_width": "110px"}


def _box(label: str, value: str | None, placeholder: str) -> Any:
    return widgets.Text(
        value=value or "",
        description=label,
        placeholder=placeholder,
        continuous_update=False,  # look up on Enter or leaving the box, not on every key
        layout=_LAYOUT,
        style=_STYLE,
    )


def answer(lookup: Callable[[], Any]) -> Any:
    """``lookup()``, or a note saying why it refused its input."""
    try:
        return lookup()
    except InputError as exc:
        return Note(str(exc), "problem")


def digest_answer(context: Context, digest: str) -> Any:
    if not digest.strip():
        return Note("Type an artifact digest (sha256:...) and press Enter.")
    return answer(lambda: find_digest(context, digest))


def image_answer(context: Context, image: str) -> Any:
    if not image.strip():
        return Note("Type an image reference (REPO, REPO:TAG or REPO@sha256:...).")
    return answer(lambda: resolve_image(context, image))


def package_answer(context: Context, package: str, version_range: str) -> Any:
    if not package.strip():
        return Note("Type a package name (log4j-core) or a purl (pkg:maven/...).")
    return answer(lambda: find_component(context, package, version_range.strip() or None))


class Lookups:
    """The three lookups over one lake: :attr:`digest`, :attr:`image` and :attr:`package`
    are each a box (or two) above an output that follows it."""

    def __init__(
        self,
        context: Context,
        *,
        digest: str | None = None,
        image: str | None = None,
        package: str | None = None,
        version_range: str | None = None,
    ) -> None:
        self.context = context
        self.controls: dict[str, Any] = {
            "digest": _box("Artifact digest", digest, "sha256:<64 hex digits>"),
            "image": _box("Image", image, "REPO, REPO:TAG or REPO@sha256:..."),
            "package": _box("Package", package, "log4j-core or pkg:maven/org.apache..."),
            "version_range": _box("Version range", version_range, ">=2.0,<2.18 (empty: any)"),
        }

    def _section(self, names: tuple[str, ...], view: Callable[..., Any]) -> Any:
        def render(**values: Any) -> None:
            show(view(self.context, *(str(values[n] or "") for n in names)))

        chosen = {n: self.controls[n] for n in names}
        output = widgets.interactive_output(render, chosen)
        return widgets.VBox([*chosen.values(), output])

    @property
    def digest(self) -> Any:
        """Which run built this artifact?"""
        return self._section(("digest",), digest_answer)

    @property
    def image(self) -> Any:
        """Which digests was this image attested with?"""
        return self._section(("image",), image_answer)

    @property
    def package(self) -> Any:
        """Who ships this package, in this version range?"""
        return self._section(("package", "version_range"), package_answer)
