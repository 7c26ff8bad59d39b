"""Unit tests for smsgate.core.segments, written from GSM 03.38 / 3GPP TS 23.040."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgate.core.segments import (
    GSM7_WIDE,
    UCS2_WIDE,
    Segmentation,
    gsm7_units,
    is_gsm7,
    segment,
    segment_as,
    shape,
    shape_all,
    split_parts,
)

EXTENSION = "^{}\\[~]|€\f"
# The GSM 03.38 default alphabet minus ESC (0x1B), from the standard's table.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EMOJI = "😀"  # U+1F600, a surrogate pair in UTF-16


def check_invariants(s: Segmentation, text: str) -> None:
    assert "".join(s.parts) == text
    assert s.count == len(s.parts)
    assert all(s.parts), "no empty part"


# --- alphabet -------------------------------------------------------------------------


def test_basic_table_is_gsm7_and_one_septet_each() -> None:
    assert len(BASIC) == 127
    assert is_gsm7(BASIC)
    assert gsm7_units(BASIC) == 127


@pytest.mark.parametrize("ch", list(EXTENSION))
def test_extension_chars_count_two(ch: str) -> None:
    assert is_gsm7(ch)
    assert gsm7_units(ch) == 2
    assert segment(ch) == Segmentation("gsm7", (ch,), 2)


@pytest.mark.parametrize("ch", ["Ç", "É", "Δ", "Ω", "¤", "§", "¿", "¡", "ß", "Æ"])
def test_less_common_basic_chars(ch: str) -> None:
    assert segment(ch).encoding == "gsm7"
    assert gsm7_units(ch) == 1


@pytest.mark.parametrize(
    "ch",
    # ç: 0x09 is capital Ç in GSM 03.38; lowercase ç is not in the alphabet.
    ["ç", "`", "\t", "á", "í", "ó", "ú", "ê", "â", "Ё", "\x1b", "\x00", "α", "₽"],
)
def test_non_gsm_chars_force_ucs2(ch: str) -> None:
    assert not is_gsm7(ch)
    assert not is_gsm7("hello " + ch)
    assert segment("hello " + ch).encoding == "ucs2"
    with pytest.raises(ValueError):
        gsm7_units(ch)


def test_empty_text() -> None:
    s = segment("")
    assert s == Segmentation("gsm7", (), 0)
    assert s.count == 0
    assert segment_as("", "ucs2") == Segmentation("ucs2", (), 0)
    assert is_gsm7("")
    assert gsm7_units("") == 0


# --- GSM 7-bit boundaries -------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "count"),
    [(1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_length_boundaries(n: int, count: int) -> None:
    text = "a" * n
    s = segment(text)
    check_invariants(s, text)
    assert (s.encoding, s.count, s.units) == ("gsm7", count, n)
    if count > 1:
        assert [len(p) for p in s.parts[:-1]] == [153] * (count - 1)


def test_gsm7_extension_chars_fill_single_part() -> None:
    assert segment("€" * 80).count == 1
    assert segment("€" * 80).units == 160
    assert segment("€" * 80 + "a").count == 2


def test_gsm7_extension_char_at_boundary_moves_to_next_part() -> None:
    # 152 septets then "[" (2 septets) would make 154 > 153: "[" opens part 2.
    text = "a" * 152 + "[" + "b" * 10
    s = segment(text)
    check_invariants(s, text)
    assert s.parts[0] == "a" * 152
    assert s.parts[1] == "[" + "b" * 10
    assert s.units == 152 + 2 + 10


def test_gsm7_extension_char_exactly_fitting_stays() -> None:
    text = "a" * 151 + "]" + "b" * 10
    s = segment(text)
    assert s.parts[0] == "a" * 151 + "]"
    assert s.count == 2


def test_gsm7_all_extension_chars_multipart() -> None:
    # 153 is odd: each part holds 76 extension chars (152 septets).
    text = "|" * 200  # 400 septets
    s = segment(text)
    check_invariants(s, text)
    assert [len(p) for p in s.parts] == [76, 76, 48]
    assert s.units == 400


def test_gsm7_single_part_counts_extension_chars() -> None:
    # 159 septets + one extension char = 161 septets: needs two parts.
    s = segment("a" * 159 + "~")
    assert s.units == 161
    assert s.count == 2


# --- UCS-2 boundaries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "count"),
    [(1, 1), (69, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_length_boundaries(n: int, count: int) -> None:
    text = "ж" * n
    s = segment(text)
    check_invariants(s, text)
    assert (s.encoding, s.count, s.units) == ("ucs2", count, n)
    if count > 1:
        assert [len(p) for p in s.parts[:-1]] == [67] * (count - 1)


def test_ucs2_gsm_chars_count_one_unit() -> None:
    # One non-GSM char forces the whole text to UCS-2; "€" and "[" count 1 there.
    text = "ç" + "€[" * 34 + "a"
    s = segment(text)
    assert (s.encoding, s.units, s.count) == ("ucs2", 70, 1)


def test_emoji_counts_two_units() -> None:
    assert segment(EMOJI * 35) == Segmentation("ucs2", (EMOJI * 35,), 70)
    assert segment(EMOJI * 35 + "a").count == 2


def test_surrogate_pair_at_boundary_moves_to_next_part() -> None:
    # 66 units then an emoji (2 units) would make 68 > 67: the emoji opens part 2.
    text = "ж" * 66 + EMOJI + "ж" * 10
    s = segment(text)
    check_invariants(s, text)
    assert s.parts[0] == "ж" * 66
    assert s.parts[1] == EMOJI + "ж" * 10
    assert s.units == 78


def test_all_emoji_multipart() -> None:
    text = EMOJI * 40  # 80 units; 67 is odd, so 33 emoji (66 units) per part
    s = segment(text)
    check_invariants(s, text)
    assert [len(p) for p in s.parts] == [33, 7]
    assert s.units == 80


def test_bmp_emoji_counts_one_unit() -> None:
    s = segment("☺" * 70)
    assert (s.encoding, s.units, s.count) == ("ucs2", 70, 1)


# --- scripts ------------------------------------------------------------------------


def test_cyrillic() -> None:
    text = "Ваш код подтверждения: 1234"
    s = segment(text)
    assert (s.encoding, s.units, s.count) == ("ucs2", len(text), 1)


@pytest.mark.parametrize("ch", list("әіңғүұқөһӘІҢҒҮҰҚӨҺ"))
def test_kazakh_letters_are_ucs2_bmp(ch: str) -> None:
    assert not is_gsm7(ch)
    s = segment(ch * 71)
    assert (s.encoding, s.units, s.count) == ("ucs2", 71, 2)


@pytest.mark.parametrize("ch", list("ӣӯҳҷқғӢӮҲҶҚҒ"))
def test_tajik_letters_are_ucs2_bmp(ch: str) -> None:
    assert not is_gsm7(ch)
    s = segment(ch * 70)
    assert (s.encoding, s.units, s.count) == ("ucs2", 70, 1)


def test_kazakh_sentence() -> None:
    text = "Сіздің растау кодыңыз: 4821. Оны ешкімге айтпаңыз."
    s = segment(text)
    assert (s.encoding, s.count) == ("ucs2", 1)


# --- segment_as -----------------------------------------------------------------------


def test_segment_as_ucs2_on_gsm_text() -> None:
    s = segment_as("a" * 71, "ucs2")
    assert (s.encoding, s.units, s.count) == ("ucs2", 71, 2)


def test_segment_as_gsm7_rejects_non_gsm() -> None:
    with pytest.raises(ValueError):
        segment_as("привет", "gsm7")


def test_segment_as_unknown_encoding() -> None:
    with pytest.raises(ValueError):
        segment_as("a", "latin1")  # type: ignore[arg-type]


def test_segmentation_is_frozen_and_cached() -> None:
    s = segment("hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.units = 3  # type: ignore[misc]
    assert segment("hello") is s


def test_mixed_long_text_roundtrip() -> None:
    text = ("Привет 😀 [код] ә " * 40).strip()
    s = segment(text)
    check_invariants(s, text)
    assert s.encoding == "ucs2"
    assert s.units == len(text.encode("utf-16-le")) // 2
    for p in s.parts:
        assert len(p.encode("utf-16-le")) // 2 <= 67


def test_shape_is_segment_without_the_parts() -> None:
    """The accept path's fast answer agrees with segment() on every boundary it shortcuts."""
    pieces = ["a", "€", "ж", "😀", "ç", " ", "{"]
    texts = [""]
    for n in (1, 34, 35, 36, 69, 70, 71, 79, 80, 81, 152, 153, 154, 159, 160, 161, 200):
        for a, b in itertools.product(pieces, repeat=2):
            texts += [a * n, a * (n - 1) + b, b + a * (n - 1), (a + b) * (n // 2)]
    for text in texts:
        s = segment(text)
        assert shape(text) == (s.encoding, s.count), (len(text), text[:8])


def test_is_gsm7_agrees_with_the_tables_for_every_character() -> None:
    chars = [chr(c) for c in [*range(0xD800), *range(0xE000, 0x10000), 0x1F600, 0x20000]]
    assert [c for c in chars if is_gsm7(c)] == [c for c in chars if c in BASIC + EXTENSION]
    assert is_gsm7("Dear client 1, [your] order €5 ships\n") and not is_gsm7("ok `tick`")
    assert is_gsm7("") and not is_gsm7("Привет") and not is_gsm7("smile 😀")


# --- split_parts: the one splitter (billing counts its parts, SMPP sends them) ----------


def _greedy(text: str, single: int, multi: int, width: dict[str, int]) -> tuple[str, ...]:
    """Reference: one character at a time, a character that does not fit opens a part."""
    if sum(width.get(c, 1) for c in text) <= single:
        return (text,) if text else ()
    parts, start, used = [], 0, 0
    for i, ch in enumerate(text):
        if used + width.get(ch, 1) > multi:
            parts.append(text[start:i])
            start, used = i, 0
        used += width.get(ch, 1)
    return (*parts, text[start:])


@settings(max_examples=400, deadline=None)
@given(
    st.text(st.sampled_from("ab€[😀ж\r"), max_size=500),
    st.sampled_from([(160, 153), (160, 152), (70, 67), (70, 66), (140, 134), (7, 3)]),
)
def test_split_parts_is_the_greedy_cut(text: str, limits: tuple[int, int]) -> None:
    single, multi = limits
    for wide, wide_chars in ((GSM7_WIDE, "€["), (UCS2_WIDE, "😀")):
        width = {c: 2 for c in wide_chars}
        units = sum(width.get(c, 1) for c in text)
        assert split_parts(text, units, single, multi, wide) == _greedy(text, single, multi, width)


def test_split_parts_octet_limits() -> None:
    """The 8-bit alphabets (Latin-1 and the like): one unit per character, no wide pattern."""
    assert split_parts("é" * 140, 140, 140, 134) == ("é" * 140,)
    assert split_parts("é" * 300, 300, 140, 134) == ("é" * 134, "é" * 134, "é" * 32)


def test_split_parts_empty_and_inconsistent() -> None:
    assert split_parts("", 0, 160, 153, GSM7_WIDE) == ()
    with pytest.raises(ValueError):
        split_parts("a" * 200, 201, 160, 153)  # a wide character, but no pattern to find it


def test_split_parts_wide_runs_at_part_ends() -> None:
    # 153 is odd: a run of extension characters leaves one septet unused in each full part.
    assert split_parts("a" + "€" * 100, 201, 160, 153, GSM7_WIDE) == ("a" + "€" * 76, "€" * 24)
    assert split_parts("€" * 76 + "a" * 10, 162, 160, 153, GSM7_WIDE) == ("€" * 76 + "a", "a" * 9)


# --- many texts at once -------------------------------------------------------------------
_TEXTS = st.lists(
    st.text(alphabet=BASIC + EXTENSION + "Жжя" + EMOJI + "\ud83d", max_size=90), max_size=6
)


@settings(max_examples=600, deadline=None)
@given(_TEXTS)
def test_shape_all_answers_only_what_each_text_has(texts: list[str]) -> None:
    """When shape_all answers, every text has that shape, as `shape` finds it one by one."""
    found = shape_all(texts)
    if found is not None:
        assert {shape(t) for t in texts} == {found}


def test_shape_all_of_ascii_texts_finds_each_character_as_shape_does() -> None:
    """ASCII texts are scanned another way (bytes, not the regex): each ASCII character among
    GSM ones answers GSM 7-bit exactly when `shape` says each text is ("`" and most controls
    are not)."""
    for code in range(128):
        texts = ["Dear client, your order", f"has {chr(code)} shipped"]
        gsm = all(shape(t) == ("gsm7", 1) for t in texts)
        assert shape_all(texts) == (("gsm7", 1) if gsm else None), repr(chr(code))
    assert shape_all(["a`b"]) == shape("a`b") == ("ucs2", 1)


def test_shape_all_answers_a_personalised_bulk() -> None:
    gsm = [f"Dear client {i}, your order has shipped" for i in range(1000)]
    assert shape_all(gsm) == ("gsm7", 1)
    assert shape_all([*gsm, "€" * 80]) == ("gsm7", 1)  # 160 septets: still one part
    cyrillic = [f"Уважаемый клиент {i}, заказ отправлен" for i in range(1000)]
    assert shape_all(cyrillic) == ("ucs2", 1)
    assert shape_all(["😀" * 35]) == ("ucs2", 1)  # 70 units
    # not answered: shaped one by one
    assert shape_all([*gsm, "Жж"]) is None  # GSM and UCS-2 mixed
    assert shape_all(["a" * 81]) is None  # perhaps two parts: 81 extension characters are
    assert shape_all(["Ж" * 71]) is None
    assert shape_all(["😀" * 36]) is None  # 72 units: two parts
    assert shape_all(["ok", ""]) is None  # an empty text has no part
    assert shape_all([]) is None
