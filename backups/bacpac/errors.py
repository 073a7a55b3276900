"""Every reason to refuse a file is its own exception type.

The portal shows ``user_message`` (Dutch, short, no jargon) to the person who uploaded the file and writes
``detail`` (English, technical) to the log that support reads.
"""

from __future__ import annotations


class BacpacError(Exception):
    user_message: str = "Dit bestand is geen geldige back-up."

    def __init__(self, detail: str, *, user_message: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if user_message is not None:
            self.user_message = user_message

    def __str__(self) -> str:
        return f"{self.user_message} ({self.detail})"


class NotAZipFile(BacpacError):
    user_message = (
        "Dit bestand is geen .bacpac-back-up. Is het een back-up uit een ander programma (.ssb of .mdb)? "
        "Gebruik dan 'Toevoegen → Bestaande administratie'."
    )


class SsbFileGiven(NotAZipFile):
    user_message = (
        "Dit is een .ssb-bestand en geen .bacpac-back-up. "
        "Gebruik 'Toevoegen → Bestaande administratie' om dit bestand in te lezen."
    )


class AccessDatabaseGiven(NotAZipFile):
    user_message = (
        "Dit is een Access-database (.mdb) en geen .bacpac-back-up. "
        "Gebruik 'Toevoegen → Bestaande administratie' om dit bestand in te lezen."
    )


class TruncatedFile(BacpacError):
    user_message = "Dit bestand is onvolledig: waarschijnlijk is het uploaden of kopiëren afgebroken."


class UnsafeArchive(BacpacError):
    user_message = "Dit bestand is geweigerd: het archief bevat onveilige bestandsnamen."


class ArchiveTooLarge(BacpacError):
    user_message = "Dit bestand is geweigerd: het archief is uitgepakt te groot of verdacht sterk gecomprimeerd."


class NotABacpac(BacpacError):
    user_message = "Dit ZIP-bestand is geen .bacpac-back-up: de onderdelen van een back-up ontbreken."


class DacpacGiven(BacpacError):
    user_message = (
        "Dit is een .dacpac-bestand: het bevat alleen de structuur van de database en geen gegevens. "
        "Maak een .bacpac-export."
    )


class UnsupportedDataVersion(BacpacError):
    user_message = (
        "Deze back-up is gemaakt met een te oude versie van SQL Server-exporthulpmiddelen en kan niet "
        "worden gelezen. Maak een nieuwe export met een recente SqlPackage."
    )


class ChecksumMismatch(BacpacError):
    user_message = "Dit bestand is geen geldige back-up: de inhoud komt niet overeen met de controlesom."


class RowCountMismatch(BacpacError):
    user_message = (
        "Dit bestand is onvolledig: het bevat minder of meer rijen dan bij het maken van de back-up zijn "
        "geteld. Maak de back-up opnieuw."
    )


class InvalidMetadata(BacpacError):
    user_message = "Dit bestand is geen geldige back-up: de beschrijving van de database is onleesbaar."


class CorruptData(BacpacError):
    user_message = "Dit bestand is beschadigd: de gegevens van een tabel zijn onleesbaar."


class UnsupportedType(BacpacError):
    user_message = "Deze back-up bevat een kolomtype dat de portal (nog) niet kan lezen."
