"""What a user reads when the bacpac library refuses a file: its stable error codes put into the portal's words,
with the portal's own menu names (the library knows nothing about either)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backups.bacpac import BacpacError

BACPAC_MESSAGES: dict[str, str] = {
    "invalid": gettext_noop("Dit bestand is geen geldige back-up."),
    "not_a_zip": gettext_noop(
        "Dit bestand is geen .bacpac-back-up. Is het een back-up uit een ander programma (.ssb of .mdb)? "
        "Gebruik dan 'Toevoegen → Bestaande administratie'."
    ),
    "ssb_given": gettext_noop(
        "Dit is een .ssb-bestand en geen .bacpac-back-up. "
        "Gebruik 'Toevoegen → Bestaande administratie' om dit bestand in te lezen."
    ),
    "mdb_given": gettext_noop(
        "Dit is een Access-database (.mdb) en geen .bacpac-back-up. "
        "Gebruik 'Toevoegen → Bestaande administratie' om dit bestand in te lezen."
    ),
    "truncated": gettext_noop("Dit bestand is onvolledig: waarschijnlijk is het uploaden of kopiëren afgebroken."),
    "unsafe_archive": gettext_noop("Dit bestand is geweigerd: het archief bevat onveilige bestandsnamen."),
    "archive_too_large": gettext_noop(
        "Dit bestand is geweigerd: het archief is uitgepakt te groot of verdacht sterk gecomprimeerd."
    ),
    "not_a_bacpac": gettext_noop("Dit ZIP-bestand is geen .bacpac-back-up: de onderdelen van een back-up ontbreken."),
    "dacpac_given": gettext_noop(
        "Dit is een .dacpac-bestand: het bevat alleen de structuur van de database en geen gegevens. "
        "Maak een .bacpac-export."
    ),
    "unsupported_data_version": gettext_noop(
        "Deze back-up is gemaakt met een te oude versie van SQL Server-exporthulpmiddelen en kan niet "
        "worden gelezen. Maak een nieuwe export met een recente SqlPackage."
    ),
    "checksum_mismatch": gettext_noop(
        "Dit bestand is geen geldige back-up: de inhoud komt niet overeen met de controlesom."
    ),
    "row_count_mismatch": gettext_noop(
        "Dit bestand is onvolledig: het bevat minder of meer rijen dan bij het maken van de back-up zijn "
        "geteld. Maak de back-up opnieuw."
    ),
    "invalid_metadata": gettext_noop(
        "Dit bestand is geen geldige back-up: de beschrijving van de database is onleesbaar."
    ),
    "corrupt_data": gettext_noop("Dit bestand is beschadigd: de gegevens van een tabel zijn onleesbaar."),
    "unsupported_type": gettext_noop("Deze back-up bevat een kolomtype dat de portal (nog) niet kan lezen."),
}


def bacpac_message(error: BacpacError) -> str:
    """The refusal in the active language; a code this portal does not know yet reads as the general refusal."""
    return _(BACPAC_MESSAGES.get(error.code, BACPAC_MESSAGES["invalid"]))
