"""click's and typer's own texts (usage errors, ``--help``) in the language of the call.

click and typer write their messages in English through ``gettext`` (``_ = gettext``
bound in each module). :func:`install` replaces those ``_`` with :func:`translate`, which
gives the French of :data:`FRENCH` when the language in force is French; typer's help
panel titles, computed at import, are set by :func:`install` for the language of the call.
:func:`localise` renders the bilingual help texts (``tr(...)``) of a command tree.
"""

from __future__ import annotations

import re
from typing import Any

from parcours.i18n import Message, get_language

__all__ = ["FRENCH", "USAGE_FRENCH", "install", "localise", "translate", "translate_usage"]

#: click's and typer's messages (their msgid) in French.
FRENCH: dict[str, str] = {
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Arguments": "Arguments",
    "Commands": "Commandes",
    "Positional arguments": "Arguments positionnels",
    "Error": "Erreur",
    "Error: {message}": "Erreur : {message}",
    "Aborted!": "Interrompu !",
    "Aborted.": "Interrompu.",
    "Missing command.": "Commande manquante.",
    "Missing {param_type}": "Il manque l'{param_type}",
    "Missing option": "Il manque l'option",
    "Missing argument": "Il manque l'argument",
    "Missing parameter": "Il manque un paramètre",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "Got unexpected extra argument ({args})": "Argument en trop inattendu ({args})",
    "Got unexpected extra arguments ({args})": "Arguments en trop inattendus ({args})",
    "No such option: {name}": "Option inconnue : {name}",
    "No such option {name!r}.": "Option inconnue {name!r}.",
    "No such command {name!r}.": "Commande inconnue {name!r}.",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Did you mean one of: {possibilities}?)": "(Vouliez-vous dire l'une de : {possibilities} ?)",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "Try [blue]'{command_path} {help_option}'[/] for help.": (
        "Essayez [blue]« {command_path} {help_option} »[/] pour l'aide."
    ),
    "Option {name!r} requires an argument.": "L'option {name!r} attend une valeur.",
    "Option {name!r} requires {nargs} arguments.": "L'option {name!r} attend {nargs} valeurs.",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} prend {nargs} valeurs.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un {number_type} valide.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} n'est pas un booléen valide. Valeurs reconnues : {states}"
    ),
    "{value!r} is not one of {choices}.": "{value!r} n'est pas l'un de {choices}.",
    "{value!r} is not {choice}.": "{value!r} n'est pas {choice}.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "{value!r} does not match the format {format}.": (
        "{value!r} ne correspond pas au format {format}."
    ),
    "{value!r} does not match the formats {formats}.": (
        "{value!r} ne correspond à aucun des formats {formats}."
    ),
    "{name} {filename!r} does not exist.": "{name} {filename!r} n'existe pas.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} n'est pas lisible.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} n'est pas modifiable.",
    "Could not open file {filename!r}: {message}": (
        "Impossible d'ouvrir le fichier {filename!r} : {message}"
    ),
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "[default: {}]": "[défaut : {}]",
    "[required]": "[obligatoire]",
    "[env var: {}]": "[variable d'environnement : {}]",
    "(deprecated) ": "(obsolète) ",
    "(dynamic)": "(dynamique)",
}


#: The messages of typer's vendored click (plain f-strings, no gettext): pattern -> French.
USAGE_FRENCH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"^Missing option (.+?)\.", r"Il manque l'option \1."),
        (r"^Missing argument (.+?)\.", r"Il manque l'argument \1."),
        (r"^Missing parameter: (.+)", r"Paramètre manquant : \1"),
        (r"^Missing (\w+) (.+?)\.", r"Il manque l'\1 \2."),
        (r"^No such option: (.+?)(?=$| Did you mean)", r"Option inconnue : \1"),
        (r"^No such command '(.+?)'\.", r"Commande inconnue « \1 »."),
        (r"^Invalid value for (.+?): ", r"Valeur invalide pour \1 : "),
        (r"^Invalid value: ", r"Valeur invalide : "),
        (r"^Got unexpected extra arguments? \((.+)\)", r"Arguments en trop : \1"),
        (r"^Option '(.+?)' requires an argument\.", r"L'option « \1 » attend une valeur."),
        (r"^Option '(.+?)' requires (\d+) arguments\.", r"L'option « \1 » attend \2 valeurs."),
        (r"^Option '(.+?)' does not take a value\.", r"L'option « \1 » ne prend pas de valeur."),
        (r"Missing command\.", r"Commande manquante."),
        (r"\(Possible options: (.+)\)", r"(options possibles : \1)"),
        (r"\(?Did you mean (?:one of: )?(.+?)\?\)?$", r"Vouliez-vous dire \1 ?"),
        (r"Input should be a valid integer[^.]*", r"un nombre entier est attendu"),
        (r"Input should be a valid number[^.]*", r"un nombre est attendu"),
        (r"Input should be a valid boolean[^.]*", r"oui/non attendu (true, false, 1, 0)"),
        (r"'(.+?)' is not one of (.+)\.", r"« \1 » n'est pas l'une des valeurs \2."),
        (r"(File|Path|Directory) '(.+?)' does not exist\.", r"« \2 » n'existe pas."),
        (r"(File|Path|Directory) '(.+?)' is a directory\.", r"« \2 » est un dossier."),
        (r"(File|Path|Directory) '(.+?)' is a file\.", r"« \2 » est un fichier."),
    )
)


def translate_usage(message: str) -> str:
    """A usage error of typer's click in the language in force."""
    if get_language() != "fr":
        return message
    for pattern, french in USAGE_FRENCH:
        message = pattern.sub(french, message)
    return message


def translate(message: str) -> str:
    """Click's ``gettext``: the French of ``message`` when the language in force is French."""
    if get_language() == "fr":
        return FRENCH.get(message, message)
    return message


_TYPER_CONSTANTS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def install() -> None:
    """Route click's and typer's messages through :func:`translate` (language of the call).

    typer vendors its own copy of click (``typer._click``): both copies are patched, in
    every loaded module whose ``_`` is ``gettext.gettext``.
    """
    import gettext
    import importlib
    import sys

    importlib.import_module("typer.main")
    for name, module in list(sys.modules.items()):
        if module is None or not (name.startswith(("click", "typer.")) or name == "typer"):
            continue
        if getattr(module, "_", None) is gettext.gettext:
            module._ = translate  # type: ignore[attr-defined]
    rich_utils = sys.modules.get("typer.rich_utils")
    if rich_utils is None:
        try:
            rich_utils = importlib.import_module("typer.rich_utils")
        except ImportError:  # typer without rich
            return
    if getattr(rich_utils, "_", None) is gettext.gettext:
        rich_utils._ = translate  # type: ignore[attr-defined]
    for constant, msgid in _TYPER_CONSTANTS.items():
        if hasattr(rich_utils, constant):
            setattr(rich_utils, constant, translate(msgid))
    original = getattr(rich_utils, "_parcours_original_format_error", None)
    if original is None:
        original = rich_utils.rich_format_error
        rich_utils._parcours_original_format_error = original  # type: ignore[attr-defined]

    def rich_format_error(error: Any) -> None:
        text = translate_usage(error.format_message())
        error.format_message = lambda: text
        original(error)

    rich_utils.rich_format_error = rich_format_error  # type: ignore[attr-defined]
    _patch_usage_prefix()


def _patch_usage_prefix() -> None:
    """Typer's click writes "Usage: " itself: give it the translated prefix."""
    try:
        from typer._click.formatting import HelpFormatter
    except ImportError:
        return
    if getattr(HelpFormatter, "_parcours_patched", False):
        return
    original = HelpFormatter.write_usage

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        original(self, prog, args, f"{translate('Usage:')} " if prefix is None else prefix)

    HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]
    HelpFormatter._parcours_patched = True  # type: ignore[attr-defined]


def localise(command: Any, lang: str | None = None) -> None:
    """Render the bilingual help texts of ``command`` and its subcommands in ``lang``."""
    lang = lang or get_language()
    for attribute in ("help", "short_help", "epilog"):
        value = getattr(command, attribute, None)
        if isinstance(value, Message):
            setattr(command, attribute, value.render(lang))
    for param in command.params:
        help_text = getattr(param, "help", None)
        if isinstance(help_text, Message):
            param.help = help_text.render(lang)
    help_option = _help_option(command)
    if help_option is not None:
        help_option.help = translate("Show this message and exit.")
    for sub in (getattr(command, "commands", None) or {}).values():  # a group
        localise(sub, lang)


def _help_option(command: Any) -> Any:
    """The ``--help`` option of ``command`` (typer's click creates it once, in English)."""
    try:
        from typer._click.core import Context
    except ImportError:  # a typer that uses click itself: its gettext is patched
        return None
    try:
        return command.get_help_option(Context(command))
    except Exception:
        return None
