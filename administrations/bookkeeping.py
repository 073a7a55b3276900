"""The tables of a bookkeeping administration database, and a streaming generator of realistic Dutch demo data.

One SQLAlchemy Core definition serves SQLite and PostgreSQL. The demo data is generated and written in batches,
so `--lines 1000000` runs in flat memory (PostgreSQL through COPY, SQLite through executemany).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import islice

import sqlalchemy as sa

metadata = sa.MetaData()

btw_codes = sa.Table(
    "btw_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(10), nullable=False, unique=True),
    sa.Column("omschrijving", sa.String(100), nullable=False),
    sa.Column("percentage", sa.Numeric(5, 2), nullable=False),
)

grootboekrekeningen = sa.Table(
    "grootboekrekeningen",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("nummer", sa.Integer, nullable=False, unique=True),
    sa.Column("omschrijving", sa.String(100), nullable=False),
    sa.Column("soort", sa.String(20), nullable=False),
    sa.Column("btw_code_id", sa.Integer, sa.ForeignKey("btw_codes.id"), nullable=True),
)

relaties = sa.Table(
    "relaties",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.Integer, nullable=False, unique=True),
    sa.Column("naam", sa.String(200), nullable=False),
    sa.Column("plaats", sa.String(100), nullable=False),
    sa.Column("email", sa.String(200), nullable=True),
    sa.Column("iban", sa.String(34), nullable=True),
    sa.Column("is_klant", sa.Boolean, nullable=False),
    sa.Column("is_leverancier", sa.Boolean, nullable=False),
    sa.Column("aangemaakt_op", sa.DateTime, nullable=False),
)

artikelen = sa.Table(
    "artikelen",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(30), nullable=False, unique=True),
    sa.Column("omschrijving", sa.String(200), nullable=False),
    sa.Column("verkoopprijs", sa.Numeric(12, 2), nullable=False),
    sa.Column("btw_code_id", sa.Integer, sa.ForeignKey("btw_codes.id"), nullable=False),
    sa.Column("voorraad", sa.Integer, nullable=False),
)

journaalposten = sa.Table(
    "journaalposten",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("boekstuk", sa.String(20), nullable=False),
    sa.Column("datum", sa.Date, nullable=False, index=True),
    sa.Column("dagboek", sa.String(20), nullable=False),
    sa.Column("omschrijving", sa.String(200), nullable=False),
    sa.Column("relatie_id", sa.Integer, sa.ForeignKey("relaties.id"), nullable=True),
    sa.Column("geboekt_op", sa.DateTime(timezone=True), nullable=False),
)

journaalregels = sa.Table(
    "journaalregels",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("journaalpost_id", sa.Integer, sa.ForeignKey("journaalposten.id"), nullable=False, index=True),
    sa.Column("grootboekrekening_id", sa.Integer, sa.ForeignKey("grootboekrekeningen.id"), nullable=False),
    sa.Column("omschrijving", sa.String(200), nullable=False),
    sa.Column("debet", sa.Numeric(14, 2), nullable=False),
    sa.Column("credit", sa.Numeric(14, 2), nullable=False),
    sa.Column("btw_code_id", sa.Integer, sa.ForeignKey("btw_codes.id"), nullable=True),
)

facturen = sa.Table(
    "facturen",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("factuurnummer", sa.String(20), nullable=False, unique=True),
    sa.Column("relatie_id", sa.Integer, sa.ForeignKey("relaties.id"), nullable=False),
    sa.Column("factuurdatum", sa.Date, nullable=False),
    sa.Column("vervaldatum", sa.Date, nullable=False),
    sa.Column("bedrag_excl", sa.Numeric(14, 2), nullable=False),
    sa.Column("btw_bedrag", sa.Numeric(14, 2), nullable=False),
    sa.Column("betaald", sa.Boolean, nullable=False),
    sa.Column("journaalpost_id", sa.Integer, sa.ForeignKey("journaalposten.id"), nullable=False),
)

bankmutaties = sa.Table(
    "bankmutaties",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("iban", sa.String(34), nullable=False),
    sa.Column("datum", sa.Date, nullable=False),
    sa.Column("bedrag", sa.Numeric(14, 2), nullable=False),
    sa.Column("tegenrekening", sa.String(34), nullable=True),
    sa.Column("omschrijving", sa.Text, nullable=False),
    sa.Column("transactie_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("geboekt", sa.Boolean, nullable=False),
)

VAT_CODES = [
    (1, "HOOG", "BTW hoog tarief", Decimal("21.00")),
    (2, "LAAG", "BTW laag tarief", Decimal("9.00")),
    (3, "GEEN", "Geen BTW", Decimal("0.00")),
    (4, "VERL", "BTW verlegd", Decimal("0.00")),
]
LEDGER_ACCOUNTS = [
    (1, 1000, "Kas", "balans", None),
    (2, 1100, "Bank", "balans", None),
    (3, 1300, "Debiteuren", "balans", None),
    (4, 1600, "Crediteuren", "balans", None),
    (5, 1800, "Af te dragen BTW hoog", "balans", 1),
    (6, 1810, "Af te dragen BTW laag", "balans", 2),
    (7, 1820, "Te vorderen BTW", "balans", None),
    (8, 4000, "Inkoopkosten grondstoffen", "resultaat", 2),
    (9, 4100, "Huisvestingskosten", "resultaat", 1),
    (10, 4200, "Autokosten", "resultaat", 1),
    (11, 4300, "Kantoorkosten", "resultaat", 1),
    (12, 8000, "Omzet hoog", "resultaat", 1),
    (13, 8100, "Omzet laag", "resultaat", 2),
]
PLACES = ["Amsterdam", "Utrecht", "Rotterdam", "Den Haag", "Groningen", "Zwolle", "Eindhoven", "Leeuwarden", "Ede"]
NAMES = [
    "Bakker",
    "De Jong",
    "Jansen",
    "Visser",
    "Smit",
    "Meijer",
    "De Boer",
    "Mulder",
    "Dekker",
    "Brouwer",
    "Van Dijk",
    "Hendriks",
]
ITEMS = ["Volkorenbrood", "Krentenbollen", "Appeltaart", "Stroopwafels", "Roggebrood", "Tompouce", "Speculaas"]
START = dt.date(2024, 1, 1)
BATCH = 5000


def create_schema(engine: sa.Engine) -> None:
    metadata.create_all(engine)


def _ledger_rows() -> list[tuple]:
    return [(i, n, o, s, b) for i, n, o, s, b in LEDGER_ACCOUNTS]


def _relation_rows(count: int, rng: random.Random) -> Iterator[tuple]:
    for i in range(1, count + 1):
        name = f"{rng.choice(NAMES)} {rng.choice(['B.V.', 'V.O.F.', 'Holding', 'en Zn.', ''])}".strip()
        email = f"info@{name.split()[0].lower()}{i}.nl" if rng.random() > 0.2 else None
        iban = f"NL{rng.randint(10, 99)}INGB{rng.randint(0, 9_999_999_999):010d}" if rng.random() > 0.1 else None
        created = dt.datetime(2023, 1, 1) + dt.timedelta(minutes=rng.randint(0, 500_000))
        yield (i, 10000 + i, name, rng.choice(PLACES), email, iban, rng.random() > 0.3, rng.random() > 0.6, created)


def _article_rows(rng: random.Random) -> Iterator[tuple]:
    for i, item in enumerate(ITEMS, start=1):
        price = Decimal(rng.randint(95, 2995)) / 100
        yield (i, f"ART-{i:04d}", item, price, 2, rng.randint(0, 400))


def _journal(lines: int, relations: int, rng: random.Random) -> Iterator[tuple[tuple, list[tuple]]]:
    """Balanced journal entries of two lines each: (entry, [debit line, credit line])."""
    line_id = 0
    for entry_id in range(1, lines // 2 + 2):
        if line_id >= lines:
            return
        day = START + dt.timedelta(days=entry_id * 730 // max(lines // 2, 1))
        relation = rng.randint(1, relations)
        amount = Decimal(rng.randint(100, 250_000)) / 100
        sale = rng.random() < 0.6
        text = f"{'Verkoop' if sale else 'Inkoop'} {rng.choice(ITEMS).lower()}"
        posted = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 28_800))
        entry = (
            entry_id,
            f"{'VK' if sale else 'IK'}{entry_id:07d}",
            day,
            "Verkoop" if sale else "Inkoop",
            text,
            relation,
            posted,
        )
        revenue_or_cost = 12 if sale else 8
        debit_account, credit_account = (3, revenue_or_cost) if sale else (revenue_or_cost, 4)
        entry_lines = []
        for ledger, debit, credit in (
            (debit_account, amount, Decimal("0.00")),
            (credit_account, Decimal("0.00"), amount),
        ):
            line_id += 1
            if line_id > lines:
                break
            vat = 1 if ledger in (8, 12) else None
            entry_lines.append((line_id, entry_id, ledger, text, debit, credit, vat))
        yield entry, entry_lines


def _batched(rows: Iterator[tuple], size: int = BATCH) -> Iterator[list[tuple]]:
    while batch := list(islice(rows, size)):
        yield batch


def _writer(conn: sa.Connection) -> Callable[[sa.Table, list[tuple]], None]:
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None

        def copy(table: sa.Table, rows: list[tuple]) -> None:
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            with raw.cursor().copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copier:  # type: ignore[attr-defined]
                for row in rows:
                    copier.write_row(row)

        return copy

    def insert(table: sa.Table, rows: list[tuple]) -> None:
        keys = [c.name for c in table.columns]
        conn.execute(table.insert(), [dict(zip(keys, row, strict=True)) for row in rows])

    return insert


def fill(engine: sa.Engine, *, lines: int, seed: int = 12, progress: Callable[[int], None] | None = None) -> int:
    """Fill an empty administration database with `lines` journal lines and what goes with them.

    Returns the number of journal lines written.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    relation_count = max(10, min(5000, lines // 20))
    written = 0
    with engine.begin() as conn:
        write = _writer(conn)
        write(btw_codes, list(VAT_CODES))
        write(grootboekrekeningen, _ledger_rows())
        for batch in _batched(_relation_rows(relation_count, rng)):
            write(relaties, batch)
        write(artikelen, list(_article_rows(rng)))
        entries: list[tuple] = []
        entry_lines: list[tuple] = []
        invoices: list[tuple] = []
        mutations: list[tuple] = []

        def flush() -> int:
            count = len(entry_lines)
            for table, rows in (
                (journaalposten, entries),
                (journaalregels, entry_lines),
                (facturen, invoices),
                (bankmutaties, mutations),
            ):
                if rows:
                    write(table, rows)
                    rows.clear()
            return count

        for entry, new_lines in _journal(lines, relation_count, rng):
            entries.append(entry)
            entry_lines.extend(new_lines)
            entry_id, _, day, journal, _, relation, _ = entry
            if journal == "Verkoop" and entry_id % 5 == 0:
                amount = new_lines[0][4]
                vat = (amount * Decimal("0.21")).quantize(Decimal("0.01"))
                paid = rng.random() < 0.7
                invoices.append(
                    (
                        entry_id,
                        f"F{day.year}-{entry_id:07d}",
                        relation,
                        day,
                        day + dt.timedelta(days=30),
                        amount,
                        vat,
                        paid,
                        entry_id,
                    )
                )
                if paid:
                    mutations.append(
                        (
                            entry_id,
                            "NL91ABNA0417164300",
                            day + dt.timedelta(days=rng.randint(1, 40)),
                            amount + vat,
                            f"NL{rng.randint(10, 99)}RABO0{rng.randint(100_000_000, 999_999_999)}",
                            f"Betaling factuur F{day.year}-{entry_id:07d}",
                            uuid.UUID(int=rng.getrandbits(128), version=4),
                            True,
                        )
                    )
            if len(entry_lines) >= BATCH:
                # Invoices and payments point at entries: write them in the same flush, after the entries.
                written += flush()
                if progress:
                    progress(written)
        written += flush()
        if conn.dialect.name == "postgresql":
            # Rows came in with their own ids: move each id sequence past them so new inserts work.
            for table in metadata.sorted_tables:
                name = table.name  # our own table names from the metadata above, never user input
                query = f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \"{name}\""  # noqa: S608
                conn.execute(sa.text(query))
    if progress:
        progress(written)
    return written
