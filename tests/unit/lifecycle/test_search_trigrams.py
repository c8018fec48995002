"""Which trigrams of a search term the index is asked for: the rare ones a sample of the stored
texts shows, not the ones nearly every secret holds (whose posting lists are the whole index)."""

from __future__ import annotations

from collections import Counter

from lifecycle.store.search import Frequencies, narrowing_trigrams, tiling_trigrams, trigrams


def _sample(texts: list[str]) -> Frequencies:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(trigrams(text).keys())
    return Frequencies(counts, len(texts))


# A thousand names alike but for their number, as fleets of services name their secrets.
FLEET = _sample([f"app-{i:04d}-config\nkv\nteam-{i % 7}" for i in range(1000)])


def test_trigrams_are_distinct_with_their_first_position() -> None:
    assert trigrams("abcabcd") == {"abc": 0, "bca": 1, "cab": 2, "bcd": 4}
    assert trigrams("ab") == {}


def test_without_a_sample_the_term_is_tiled() -> None:
    assert narrowing_trigrams("app-0042-config", None) == tiling_trigrams("app-0042-config")
    assert narrowing_trigrams("app-0042-config", Frequencies(Counter(), 0)) == tiling_trigrams("app-0042-config")
    assert tiling_trigrams("app-0042-config") == ["app", "-00", "42-", "con", "fig"]


def test_the_common_words_of_a_name_are_not_asked_for() -> None:
    chosen = narrowing_trigrams("app-0042-config", FLEET)
    assert chosen and not {"app", "pp-", "-co", "con", "onf", "nfi", "fig"} & set(chosen), chosen
    assert FLEET.share(chosen[0]) < 0.02, [(g, FLEET.share(g)) for g in chosen]  # ~10 of the 1,000


def test_no_two_trigrams_asked_share_two_characters() -> None:
    for term in ("app-0042-config", "app-1234-config", "team-3"):
        chosen, positions = narrowing_trigrams(term, FLEET), trigrams(term)
        assert all(abs(positions[a] - positions[b]) > 1 for a in chosen for b in chosen if a != b), (term, chosen)


def test_a_term_every_secret_holds_asks_one_trigram_only() -> None:
    assert narrowing_trigrams("config", FLEET) == ["con"]


def test_a_trigram_absent_from_the_sample_counts_as_rare_not_as_missing() -> None:
    assert 0 < FLEET.share("zzz") < FLEET.share("042") < FLEET.share("app")
    assert narrowing_trigrams("zzz-config", FLEET)[0] == "zzz"


def test_for_pg_trgm_only_trigrams_of_letters_and_digits_are_asked_for() -> None:
    """pg_trgm keeps the trigrams of words; "42-" or "-00" are not keys of its index."""
    chosen = narrowing_trigrams("app-0042-config", FLEET, words_only=True)
    assert chosen and all(g.isalnum() for g in chosen), chosen
    assert narrowing_trigrams("a-b-c", FLEET, words_only=True) == tiling_trigrams("a-b-c")  # none: tiled
