"""brotli-wasm beyond Brotli's own suite (which `make brotli-suite` runs): what is particular
to its guest's fixed 2 GiB memory -- data and results larger than one call into the guest
can hold, taken in pieces by compress() and decompress() as the C extension takes any size.

The package is imported from its source folder (its module built by `make brotli-wasm`).
"""

from __future__ import annotations

import random
import types
from collections.abc import Iterator

import pytest

from conftest import sample_package

# text and noise: compressed, still larger than the pieces below
_NOISE = random.Random(5)
DATA = b"".join(_NOISE.randbytes(300) + b"the quick brown fox " * 40 for _ in range(120))


@pytest.fixture
def brotli(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    yield from sample_package(monkeypatch, "brotli-wasm", "brotli", "_brotli.wasm",
                              "make brotli-wasm")


@pytest.mark.parametrize("quality", [1, 5])
def test_data_larger_than_a_piece_is_compressed_in_pieces(
        brotli: types.ModuleType, monkeypatch: pytest.MonkeyPatch, quality: int) -> None:
    monkeypatch.setattr(brotli, "_PIECE", 4096)
    assert len(brotli._pieces(DATA)) == -(-len(DATA) // 4096)
    pieces = brotli.compress(memoryview(DATA), quality=quality)
    assert brotli._one_shot(pieces) == DATA


def test_compressed_data_larger_than_a_piece_is_decompressed_in_pieces(
        brotli: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    packed = brotli.compress(DATA, quality=1)
    monkeypatch.setattr(brotli, "_PIECE", 1024)    # input and output both span pieces
    assert len(packed) > 4 * 1024
    assert brotli.decompress(packed) == DATA
    with pytest.raises(brotli.error, match="^brotli: decoder failed$"):
        brotli.decompress(packed[:-10])            # truncated
    with pytest.raises(brotli.error, match="^brotli: decoder failed$"):
        brotli.decompress(packed + b"\0" * 2048)   # trailing data
    with pytest.raises(TypeError, match="data must be a C-contiguous buffer"):
        brotli.decompress("text")


def test_results_larger_than_the_guests_memory(brotli: types.ModuleType) -> None:
    """2.2 GB of zeros, 2 MB compressed: more than the guest's 2 GiB as one call's data
    (compress) and as one call's result (decompress, whose one-shot call runs out)."""
    size = (2 << 30) + (1 << 27)
    packed = brotli.compress(bytes(size), quality=1)
    assert len(packed) < size // 1000
    out = brotli.decompress(packed)
    assert len(out) == size and out.count(0) == size
