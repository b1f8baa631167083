"""Language per call: lazy bilingual messages, a context variable, no race between threads."""

from __future__ import annotations

import threading

from parcours.errors import InputError
from parcours.i18n import Message, get_language, language, render, set_language, tr


def test_message_renders_in_the_language_in_force_when_shown() -> None:
    message = tr("colonne manquante", "missing column")
    assert isinstance(message, Message) and isinstance(message, str)
    assert str(message) == "colonne manquante"
    with language("en"):
        assert str(message) == "missing column"
        assert f"[{message}]" == "[missing column]"
        assert str("x: " + message + ".") == "x: missing column."
    assert render(message, "en") == "missing column"
    assert render("plain", "en") == "plain"


def test_language_context_manager_restores_and_set_language_keeps_env_default(
    monkeypatch: object,
) -> None:
    assert get_language() == "fr"
    with language("en"):
        assert get_language() == "en"
    assert get_language() == "fr"
    set_language("en")
    assert get_language() == "en"
    set_language(None)
    assert get_language() == "fr"


def test_two_threads_render_the_same_error_each_in_its_language() -> None:
    error = InputError(tr("doit être positif", "must be positive"), field="max_time", row=3)
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {"fr": [], "en": []}

    def worker(lang: str) -> None:
        with language(lang):
            barrier.wait()
            for _ in range(2000):
                results[lang].append(str(error))

    threads = [threading.Thread(target=worker, args=(lang,)) for lang in ("fr", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results["fr"]) == {"ligne 3, champ « max_time » : doit être positif"}
    assert set(results["en"]) == {"line 3, field 'max_time': must be positive"}
