"""The schema part of a bacpac: dataclasses, parsing model.xml into them and writing them back out.

Only what a restore needs is modelled (tables, columns, keys, indexes); everything else in model.xml is counted
so that an inspection can tell a support engineer what the back-up contains.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from .errors import InvalidMetadata, UnsupportedType

NS = "http://schemas.microsoft.com/sqlserver/dac/Serialization/2012/02"
_N = "{" + NS + "}"

# Types whose data layout we know (see codec.py). "timestamp" is the old name of rowversion.
_TYPE_NAMES = """
    bigint int smallint tinyint bit decimal numeric money smallmoney float real
    datetime smalldatetime date time datetime2 datetimeoffset uniqueidentifier
    char varchar text nchar nvarchar ntext binary varbinary image xml
    rowversion timestamp sql_variant geography geometry hierarchyid sysname
"""
BUILTIN_TYPES = frozenset(_TYPE_NAMES.split())

# DacFx's ForeignKeyAction enum as it appears in OnDeleteAction / OnUpdateAction.
FK_ACTIONS = {"0": "NO ACTION", "1": "CASCADE", "2": "SET NULL", "3": "SET DEFAULT"}
_FK_ACTION_CODES = {v: k for k, v in FK_ACTIONS.items()}

FUNCTION_TYPES = frozenset(
    {
        "SqlScalarFunction",
        "SqlInlineTableValuedFunction",
        "SqlMultiStatementTableValuedFunction",
        "SqlTableValuedFunction",
        "SqlAggregate",
    }
)
# Top-level elements that belong to a table and so are not "other objects" in a summary.
_TABLE_PARTS = frozenset(
    {
        "SqlTable",
        "SqlPrimaryKeyConstraint",
        "SqlForeignKeyConstraint",
        "SqlUniqueConstraint",
        "SqlIndex",
        "SqlDefaultConstraint",
        "SqlCheckConstraint",
        "SqlUserDefinedDataType",
        "SqlSchema",
        "SqlDatabaseOptions",
        "SqlView",
        "SqlProcedure",
        *FUNCTION_TYPES,
    }
)


@dataclass
class Column:
    name: str
    sql_type: str = ""  # lower-case built-in type name ("nvarchar", "geography"); "" for computed columns
    length: int = 0
    precision: int = 0
    scale: int = 0
    is_max: bool = False
    nullable: bool = True
    identity: bool = False
    collation: str | None = None
    computed: bool = False  # computed columns are not stored in the data
    expression: str | None = None  # of a computed column
    default: str | None = None  # default constraint expression, e.g. "(getdate())"
    user_type: str | None = None  # "[dbo].[tid]" when the column used an alias type

    @property
    def type_sql(self) -> str:
        """The type as one would write it in T-SQL: ``nvarchar(100)``, ``decimal(18,2)``, ``varbinary(max)``."""
        t = self.sql_type
        if t in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
            return f"{t}(max)" if self.is_max else f"{t}({self.length})"
        if t in ("decimal", "numeric"):
            return f"{t}({self.precision},{self.scale})"
        if t in ("time", "datetime2", "datetimeoffset"):
            return f"{t}({self.scale})"
        if t == "float" and self.precision:
            return f"float({self.precision})"
        return t


@dataclass
class PrimaryKey:
    name: str | None
    columns: list[str]
    clustered: bool = True
    descending: list[str] = field(default_factory=list)


@dataclass
class UniqueConstraint:
    name: str | None
    columns: list[str]
    clustered: bool = False
    descending: list[str] = field(default_factory=list)


@dataclass
class ForeignKey:
    name: str | None
    columns: list[str]
    referenced_schema: str
    referenced_table: str
    referenced_columns: list[str]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass
class Index:
    name: str
    columns: list[str]
    unique: bool = False
    clustered: bool = False
    included_columns: list[str] = field(default_factory=list)
    descending: list[str] = field(default_factory=list)
    filter: str | None = None


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column]
    primary_key: PrimaryKey | None = None
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique_constraints: list[UniqueConstraint] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def quoted_name(self) -> str:
        return f"{quote_name(self.schema)}.{quote_name(self.name)}"

    @property
    def stored_columns(self) -> list[Column]:
        """The columns present in the data, in data order."""
        return [c for c in self.columns if not c.computed]

    @property
    def data_folder(self) -> str:
        """The folder name of this table's data parts, URI-escaped the way DacFx does it."""
        from urllib.parse import quote

        return quote(f"{self.schema}.{self.name}", safe="")


@dataclass
class Model:
    tables: list[Table]
    dsp_name: str = "Microsoft.Data.Tools.Schema.Sql.Sql150DatabaseSchemaProvider"
    collation_lcid: int = 1033
    collation_case_sensitive: bool = False
    collation: str | None = None  # the database default collation (SqlDatabaseOptions)
    object_counts: dict[str, int] = field(default_factory=dict)  # every top-level element type, counted

    def table(self, name: str | Table) -> Table:
        """Find a table by ``schema.name``, ``[schema].[name]`` or plain ``name`` (dbo first)."""
        if isinstance(name, Table):
            return name
        parts = split_name(name) if name.startswith("[") else name.split(".", 1)
        if len(parts) == 1:
            parts = ["dbo", parts[0]]
        schema, table_name = parts[0], parts[1]
        for t in self.tables:
            if t.schema == schema and t.name == table_name:
                return t
        # SQL Server identifiers compare case-insensitively under the usual collations.
        for t in self.tables:
            if t.schema.lower() == schema.lower() and t.name.lower() == table_name.lower():
                return t
        raise KeyError(f"no table {name!r} in this bacpac")

    @property
    def views(self) -> int:
        return self.object_counts.get("SqlView", 0)

    @property
    def procedures(self) -> int:
        return self.object_counts.get("SqlProcedure", 0)

    @property
    def functions(self) -> int:
        return sum(n for t, n in self.object_counts.items() if t in FUNCTION_TYPES)

    @property
    def other_objects(self) -> int:
        return sum(n for t, n in self.object_counts.items() if t not in _TABLE_PARTS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dsp_name": self.dsp_name,
            "collation": self.collation,
            "tables": [asdict(t) for t in self.tables],
            "views": self.views,
            "procedures": self.procedures,
            "functions": self.functions,
            "other_objects": self.other_objects,
            "object_counts": dict(self.object_counts),
        }


def quote_name(part: str) -> str:
    return "[" + part.replace("]", "]]") + "]"


def split_name(name: str) -> list[str]:
    """``[dbo].[Order Details].[x]`` → ``["dbo", "Order Details", "x"]`` (``]]`` is an escaped ``]``)."""
    parts: list[str] = []
    i, n = 0, len(name)
    while i < n:
        if name[i] == ".":
            i += 1
            continue
        if name[i] != "[":
            j = name.find(".", i)
            j = n if j < 0 else j
            parts.append(name[i:j])
            i = j
            continue
        i += 1
        buf = []
        while i < n:
            if name[i] == "]":
                if i + 1 < n and name[i + 1] == "]":
                    buf.append("]")
                    i += 2
                    continue
                i += 1
                break
            buf.append(name[i])
            i += 1
        parts.append("".join(buf))
    return parts


# ---------------------------------------------------------------------------------------------------- parsing


def _props(el: ET.Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in el.findall(_N + "Property"):
        name = p.get("Name", "")
        value = p.get("Value")
        if value is None:
            v = p.find(_N + "Value")
            value = v.text if v is not None and v.text is not None else ""
        out[name] = value
    return out


def _rel(el: ET.Element, name: str) -> list[ET.Element]:
    """The entries of relationship ``name``: nested Elements or References."""
    for r in el.findall(_N + "Relationship"):
        if r.get("Name") == name:
            out = []
            for entry in r.findall(_N + "Entry"):
                for child in entry:
                    if child.tag in (_N + "Element", _N + "References"):
                        out.append(child)
            return out
    return []


def _ref_names(el: ET.Element, name: str) -> list[str]:
    return [r.get("Name", "") for r in _rel(el, name)]


def _constraint_name(el: ET.Element) -> str | None:
    name = el.get("Name")
    if name is None:
        for a in el.findall(_N + "Annotation"):
            if a.get("Type") == "SqlInlineConstraintAnnotation" and a.get("Name"):
                name = a.get("Name")
                break
    return split_name(name)[-1] if name else None


def _is_true(value: str | None) -> bool:
    return value is not None and value.lower() == "true"


def _column_specs(el: ET.Element) -> tuple[list[str], list[str]]:
    columns, descending = [], []
    for spec in _rel(el, "ColumnSpecifications"):
        refs = _ref_names(spec, "Column")
        if not refs:
            continue
        col = split_name(refs[0])[-1]
        columns.append(col)
        if _props(spec).get("IsAscending", "True").lower() == "false":
            descending.append(col)
    return columns, descending


@dataclass
class _AliasType:
    base: str
    length: int
    precision: int
    scale: int
    is_max: bool
    nullable: bool


def _type_of(spec: ET.Element, aliases: dict[str, _AliasType], column_name: str) -> dict[str, Any]:
    props = _props(spec)
    refs = _ref_names(spec, "Type")
    if not refs:
        raise InvalidMetadata(f"column {column_name} has no type")
    type_name = refs[0]
    result: dict[str, Any] = {
        "length": int(props.get("Length", "0")),
        "precision": int(props.get("Precision", "0")),
        "scale": int(props.get("Scale", "0")),
        "is_max": _is_true(props.get("IsMax")),
        "user_type": None,
    }
    if type_name in aliases:
        alias = aliases[type_name]
        result.update(
            sql_type=alias.base,
            length=alias.length,
            precision=alias.precision,
            scale=alias.scale,
            is_max=alias.is_max,
            user_type=type_name,
        )
    else:
        parts = split_name(type_name)
        base = parts[-1].lower()
        if len(parts) > 2 or (len(parts) == 2 and parts[0].lower() != "sys") or base not in BUILTIN_TYPES:
            raise UnsupportedType(f"column {column_name} has type {type_name}, which is not supported")
        result["sql_type"] = base
    if result["sql_type"] == "sysname":
        result.update(sql_type="nvarchar", length=128)
    if result["sql_type"] == "timestamp":
        result["sql_type"] = "rowversion"
    if result["sql_type"] == "float" and 0 < result["precision"] <= 24:
        # float(1..24) is stored as a 4-byte real.
        result.update(sql_type="real", precision=0)
    return result


def parse_model(data: bytes) -> Model:
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        # model.xml never has a DTD; one here can only be an entity-expansion attack.
        raise InvalidMetadata("model.xml contains a DTD")
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTDs are refused above; expat fetches no external entities
    except ET.ParseError as exc:
        raise InvalidMetadata(f"model.xml is not well-formed XML: {exc}") from exc
    if root.tag != _N + "DataSchemaModel":
        raise InvalidMetadata(f"model.xml has root {root.tag}, expected DataSchemaModel")
    model_el = root.find(_N + "Model")
    if model_el is None:
        raise InvalidMetadata("model.xml has no Model element")

    elements = model_el.findall(_N + "Element")
    counts = Counter(el.get("Type", "") for el in elements)

    aliases: dict[str, _AliasType] = {}
    for el in elements:
        if el.get("Type") == "SqlUserDefinedDataType":
            props = _props(el)
            base_refs = _ref_names(el, "Type")
            base = split_name(base_refs[0])[-1].lower() if base_refs else ""
            aliases[el.get("Name", "")] = _AliasType(
                base=base,
                length=int(props.get("Length", "0")),
                precision=int(props.get("Precision", "0")),
                scale=int(props.get("Scale", "0")),
                is_max=_is_true(props.get("IsMax")),
                nullable=props.get("IsNullable", "True").lower() != "false",
            )

    collation = None
    tables: dict[str, Table] = {}
    defaults: dict[str, str] = {}
    for el in elements:
        kind = el.get("Type")
        if kind == "SqlDatabaseOptions":
            collation = _props(el).get("Collation")
        elif kind == "SqlTable":
            name = el.get("Name", "")
            parts = split_name(name)
            if len(parts) != 2:
                raise InvalidMetadata(f"table name {name!r} is not [schema].[table]")
            columns = []
            for col_el in _rel(el, "Columns"):
                col_name = split_name(col_el.get("Name", ""))[-1]
                props = _props(col_el)
                if col_el.get("Type") == "SqlComputedColumn":
                    columns.append(Column(name=col_name, computed=True, expression=props.get("ExpressionScript")))
                    continue
                if col_el.get("Type") != "SqlSimpleColumn":
                    raise UnsupportedType(f"column {name}.{col_name} is a {col_el.get('Type')}")
                specs = _rel(col_el, "TypeSpecifier")
                if not specs:
                    raise InvalidMetadata(f"column {name}.{col_name} has no TypeSpecifier")
                type_info = _type_of(specs[0], aliases, f"{name}.{col_name}")
                # Absent IsNullable means nullable (also for columns of alias types: DacFx writes it
                # explicitly whenever the column is NOT NULL).
                nullable = props.get("IsNullable", "True").lower() != "false"
                columns.append(
                    Column(
                        name=col_name,
                        nullable=nullable,
                        identity=_is_true(props.get("IsIdentity")),
                        collation=props.get("Collation"),
                        **type_info,
                    )
                )
            tables[name] = Table(schema=parts[0], name=parts[1], columns=columns)
        elif kind == "SqlDefaultConstraint":
            for_column = _ref_names(el, "ForColumn")
            if for_column:
                defaults[for_column[0]] = _props(el).get("DefaultExpressionScript", "")

    for el in elements:
        kind = el.get("Type")
        if kind in ("SqlPrimaryKeyConstraint", "SqlUniqueConstraint", "SqlForeignKeyConstraint"):
            owner = _ref_names(el, "DefiningTable")
        elif kind == "SqlIndex":
            owner = _ref_names(el, "IndexedObject")
        else:
            continue
        table = tables.get(owner[0]) if owner else None
        if table is None:
            continue  # an index on a view, for example
        props = _props(el)
        if kind == "SqlPrimaryKeyConstraint":
            cols, desc = _column_specs(el)
            table.primary_key = PrimaryKey(
                name=_constraint_name(el),
                columns=cols,
                clustered=props.get("IsClustered", "True").lower() != "false",
                descending=desc,
            )
        elif kind == "SqlUniqueConstraint":
            cols, desc = _column_specs(el)
            table.unique_constraints.append(
                UniqueConstraint(
                    name=_constraint_name(el),
                    columns=cols,
                    clustered=_is_true(props.get("IsClustered")),
                    descending=desc,
                )
            )
        elif kind == "SqlForeignKeyConstraint":
            foreign = split_name((_ref_names(el, "ForeignTable") or ["[?].[?]"])[0])
            table.foreign_keys.append(
                ForeignKey(
                    name=_constraint_name(el),
                    columns=[split_name(n)[-1] for n in _ref_names(el, "Columns")],
                    referenced_schema=foreign[0],
                    referenced_table=foreign[-1],
                    referenced_columns=[split_name(n)[-1] for n in _ref_names(el, "ForeignColumns")],
                    on_delete=FK_ACTIONS.get(props.get("OnDeleteAction", "0"), "NO ACTION"),
                    on_update=FK_ACTIONS.get(props.get("OnUpdateAction", "0"), "NO ACTION"),
                )
            )
        else:
            cols, desc = _column_specs(el)
            table.indexes.append(
                Index(
                    name=split_name(el.get("Name", ""))[-1],
                    columns=cols,
                    unique=_is_true(props.get("IsUnique")),
                    clustered=_is_true(props.get("IsClustered")),
                    included_columns=[split_name(n)[-1] for n in _ref_names(el, "IncludedColumns")],
                    descending=desc,
                    filter=props.get("FilterPredicate"),
                )
            )

    for tname, table in tables.items():
        for col in table.columns:
            col.default = defaults.get(f"{tname}.{quote_name(col.name)}")

    return Model(
        tables=list(tables.values()),
        dsp_name=root.get("DspName", ""),
        collation_lcid=int(root.get("CollationLcid", "1033")),
        collation_case_sensitive=_is_true(root.get("CollationCaseSensitive")),
        collation=collation,
        object_counts=dict(sorted(counts.items())),
    )


# ---------------------------------------------------------------------------------------------------- writing

_BUILTIN_SCHEMAS = frozenset({"dbo", "sys", "guest", "INFORMATION_SCHEMA"})


def _prop(name: str, value: str, indent: str) -> str:
    return f"{indent}<Property Name={quoteattr(name)} Value={quoteattr(value)} />\n"


def _prop_script(name: str, value: str, indent: str) -> str:
    # DacFx writes T-SQL fragments as CDATA; "]]>" cannot occur inside CDATA, so split it.
    body = value.replace("]]>", "]]]]><![CDATA[>")
    return f'{indent}<Property Name="{name}">\n{indent}\t<Value><![CDATA[{body}]]></Value>\n{indent}</Property>\n'


def _refs(rel: str, names: list[str], indent: str, builtin: bool = False) -> str:
    ext = 'ExternalSource="BuiltIns" ' if builtin else ""
    entries = "".join(
        f"{indent}\t<Entry>\n{indent}\t\t<References {ext}Name={quoteattr(n)} />\n{indent}\t</Entry>\n" for n in names
    )
    return f"{indent}<Relationship Name={quoteattr(rel)}>\n{entries}{indent}</Relationship>\n"


def _schema_ref(schema: str, indent: str) -> str:
    return _refs("Schema", [quote_name(schema)], indent, builtin=schema in _BUILTIN_SCHEMAS)


def _column_xml(table: Table, col: Column, indent: str) -> str:
    full = f"{table.quoted_name}.{quote_name(col.name)}"
    if col.computed:
        out = f'{indent}<Element Type="SqlComputedColumn" Name={quoteattr(full)}>\n'
        if col.expression is not None:
            out += _prop_script("ExpressionScript", col.expression, indent + "\t")
        return out + f"{indent}</Element>\n"
    i1 = indent + "\t"
    out = f'{indent}<Element Type="SqlSimpleColumn" Name={quoteattr(full)}>\n'
    if not col.nullable:
        out += _prop("IsNullable", "False", i1)
    if col.identity:
        out += _prop("IsIdentity", "True", i1)
    if col.collation:
        out += _prop("Collation", col.collation, i1)
    i3, i4 = i1 + "\t\t", i1 + "\t\t\t"
    spec_type = "SqlXmlTypeSpecifier" if col.sql_type == "xml" else "SqlTypeSpecifier"
    spec = ""
    if col.sql_type in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        spec += _prop("IsMax", "True", i4) if col.is_max else _prop("Length", str(col.length), i4)
    if col.sql_type in ("decimal", "numeric"):
        spec += _prop("Precision", str(col.precision), i4)
        if col.scale:
            spec += _prop("Scale", str(col.scale), i4)
    if col.sql_type == "float":
        spec += _prop("Precision", "53", i4)
    if col.sql_type in ("time", "datetime2", "datetimeoffset"):
        spec += _prop("Scale", str(col.scale), i4)
    type_name = (
        f"[sys].[{col.sql_type}]"
        if col.sql_type in ("geography", "geometry", "hierarchyid")
        else (quote_name(col.sql_type))
    )
    spec += _refs("Type", [type_name], i4, builtin=True)
    out += (
        f'{i1}<Relationship Name="TypeSpecifier">\n{i1}\t<Entry>\n'
        f'{i3}<Element Type="{spec_type}">\n{spec}{i3}</Element>\n'
        f"{i1}\t</Entry>\n{i1}</Relationship>\n"
    )
    return out + f"{indent}</Element>\n"


def _column_specs_xml(table: Table, columns: list[str], descending: list[str], indent: str) -> str:
    out = f'{indent}<Relationship Name="ColumnSpecifications">\n'
    for c in columns:
        i2 = indent + "\t\t"
        out += f'{indent}\t<Entry>\n{i2}<Element Type="SqlIndexedColumnSpecification">\n'
        if c in descending:
            out += _prop("IsAscending", "False", i2 + "\t")
        out += _refs("Column", [f"{table.quoted_name}.{quote_name(c)}"], i2 + "\t")
        out += f"{i2}</Element>\n{indent}\t</Entry>\n"
    return out + f"{indent}</Relationship>\n"


def _named(kind: str, schema: str, name: str | None) -> str:
    if name is None:
        return f'\t\t<Element Type="{kind}">\n'
    return f'\t\t<Element Type="{kind}" Name={quoteattr(quote_name(schema) + "." + quote_name(name))}>\n'


def model_to_xml(model: Model) -> bytes:
    """model.xml for ``model``: UTF-8 without BOM, like DacFx writes it."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<DataSchemaModel FileFormatVersion="1.2" SchemaVersion="2.9" DspName={quoteattr(model.dsp_name)} '
        f'CollationLcid="{model.collation_lcid}" '
        f'CollationCaseSensitive="{"True" if model.collation_case_sensitive else "False"}" xmlns="{NS}">\n',
        "\t<Model>\n",
    ]
    if model.collation:
        out.append('\t\t<Element Type="SqlDatabaseOptions">\n')
        out.append(_prop("Collation", model.collation, "\t\t\t"))
        out.append("\t\t</Element>\n")
    for schema in sorted({t.schema for t in model.tables} - _BUILTIN_SCHEMAS):
        out.append(f'\t\t<Element Type="SqlSchema" Name={quoteattr(quote_name(schema))}>\n')
        out.append(_refs("Authorizer", ["[dbo]"], "\t\t\t", builtin=True))
        out.append("\t\t</Element>\n")
    for t in model.tables:
        i3 = "\t\t\t"
        out.append(f'\t\t<Element Type="SqlTable" Name={quoteattr(t.quoted_name)}>\n')
        out.append(_prop("IsAnsiNullsOn", "True", i3))
        out.append(f'{i3}<Relationship Name="Columns">\n')
        for col in t.columns:
            out.append(f"{i3}\t<Entry>\n{_column_xml(t, col, i3 + chr(9) * 2)}{i3}\t</Entry>\n")
        out.append(f"{i3}</Relationship>\n")
        out.append(_schema_ref(t.schema, i3))
        out.append("\t\t</Element>\n")
        for col in t.columns:
            if col.default is not None:
                out.append('\t\t<Element Type="SqlDefaultConstraint">\n')
                out.append(_prop_script("DefaultExpressionScript", col.default, i3))
                out.append(_refs("DefiningTable", [t.quoted_name], i3))
                out.append(_refs("ForColumn", [f"{t.quoted_name}.{quote_name(col.name)}"], i3))
                out.append("\t\t</Element>\n")
        if t.primary_key is not None:
            pk = t.primary_key
            out.append(_named("SqlPrimaryKeyConstraint", t.schema, pk.name))
            if not pk.clustered:
                out.append(_prop("IsClustered", "False", i3))
            out.append(_column_specs_xml(t, pk.columns, pk.descending, i3))
            out.append(_refs("DefiningTable", [t.quoted_name], i3))
            out.append("\t\t</Element>\n")
        for uq in t.unique_constraints:
            out.append(_named("SqlUniqueConstraint", t.schema, uq.name))
            if uq.clustered:
                out.append(_prop("IsClustered", "True", i3))
            out.append(_column_specs_xml(t, uq.columns, uq.descending, i3))
            out.append(_refs("DefiningTable", [t.quoted_name], i3))
            out.append("\t\t</Element>\n")
        for fk in t.foreign_keys:
            out.append(_named("SqlForeignKeyConstraint", t.schema, fk.name))
            if fk.on_delete != "NO ACTION":
                out.append(_prop("OnDeleteAction", _FK_ACTION_CODES[fk.on_delete], i3))
            if fk.on_update != "NO ACTION":
                out.append(_prop("OnUpdateAction", _FK_ACTION_CODES[fk.on_update], i3))
            out.append(_refs("Columns", [f"{t.quoted_name}.{quote_name(c)}" for c in fk.columns], i3))
            out.append(_refs("DefiningTable", [t.quoted_name], i3))
            ref_table = f"{quote_name(fk.referenced_schema)}.{quote_name(fk.referenced_table)}"
            out.append(_refs("ForeignColumns", [f"{ref_table}.{quote_name(c)}" for c in fk.referenced_columns], i3))
            out.append(_refs("ForeignTable", [ref_table], i3))
            out.append("\t\t</Element>\n")
        for ix in t.indexes:
            out.append(f'\t\t<Element Type="SqlIndex" Name={quoteattr(t.quoted_name + "." + quote_name(ix.name))}>\n')
            if ix.unique:
                out.append(_prop("IsUnique", "True", i3))
            if ix.clustered:
                out.append(_prop("IsClustered", "True", i3))
            if ix.filter is not None:
                out.append(_prop_script("FilterPredicate", ix.filter, i3))
            out.append(_column_specs_xml(t, ix.columns, ix.descending, i3))
            if ix.included_columns:
                out.append(
                    _refs("IncludedColumns", [f"{t.quoted_name}.{quote_name(c)}" for c in ix.included_columns], i3)
                )
            out.append(_refs("IndexedObject", [t.quoted_name], i3))
            out.append("\t\t</Element>\n")
    out.append("\t</Model>\n</DataSchemaModel>")
    return "".join(out).encode("utf-8")


__all__ = [
    "Column",
    "ForeignKey",
    "Index",
    "Model",
    "PrimaryKey",
    "Table",
    "UniqueConstraint",
    "model_to_xml",
    "parse_model",
    "quote_name",
    "split_name",
]
