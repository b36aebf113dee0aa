//! Structure from information_schema and pg_catalog: tables, columns, keys, checks, indexes,
//! sequences and declared foreign keys. Names are printed unqualified (the session's search_path is
//! the introspected schema), so that generate can recreate them in any schema.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::{IntrospectError, Session};
use crate::profile::{
    CheckConstraint, Column, ColumnKind, ForeignKey, Index, KeyConstraint, Sequence, TableStructure,
};

/// Reads the structure of every ordinary or partitioned table of the schema, by table name.
pub(crate) async fn read_tables(
    session: &Session,
    connection: &mut PgConnection,
) -> Result<BTreeMap<String, TableStructure>, IntrospectError> {
    let schema = session.schema.as_str();
    let mut tables: BTreeMap<String, TableStructure> = BTreeMap::new();

    let names: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition
                 order by 1",
    )
    .bind(schema)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| session.error(error, "listing tables"))?;
    for name in names {
        tables.insert(
            name,
            TableStructure {
                columns: Vec::new(),
                primary_key: None,
                unique_constraints: Vec::new(),
                check_constraints: Vec::new(),
                indexes: Vec::new(),
                foreign_keys: Vec::new(),
            },
        );
    }

    type ColumnRow = (
        String,
        String,
        String,
        String,
        bool,
        Option<String>,
        String,
        Option<i32>,
        Option<i32>,
        Option<i32>,
    );
    let columns: Vec<ColumnRow> = sqlx::query_as(
                "select c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod),
                        t.typname::text, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid),
                        a.attidentity::text,
                        i.character_maximum_length::int4, i.numeric_precision::int4, i.numeric_scale::int4
                 from pg_catalog.pg_attribute a
                 join pg_catalog.pg_class c on c.oid = a.attrelid
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 join pg_catalog.pg_type t on t.oid = a.atttypid
                 left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                 left join information_schema.columns i
                        on i.table_schema = n.nspname and i.table_name = c.relname and i.column_name = a.attname
                 where n.nspname = $1 and c.relkind in ('r', 'p') and not c.relispartition
                   and a.attnum > 0 and not a.attisdropped
                 order by c.relname, a.attnum",
            )
            .bind(schema)
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| session.error(error, "reading columns"))?;
    for (table, name, data_type, udt, not_null, default, identity, max_length, precision, scale) in columns {
        let Some(structure) = tables.get_mut(&table) else {
            continue;
        };
        let kind = ColumnKind::from_udt(&udt);
        let position = structure.columns.len() as u32 + 1;
        structure.columns.push(Column {
            name,
            position,
            data_type,
            kind,
            nullable: !not_null,
            default,
            identity: match identity.as_str() {
                "a" => Some("always".to_string()),
                "d" => Some("by default".to_string()),
                _ => None,
            },
            max_length: max_length.map(|v| v as u32),
            numeric_precision: if kind.is_numeric() {
                precision.map(|v| v as u32)
            } else {
                None
            },
            numeric_scale: if kind.is_numeric() {
                scale.map(|v| v as u32)
            } else {
                None
            },
        });
    }

    type ConstraintRow = (
        String,
        String,
        String,
        String,
        Vec<String>,
        Option<String>,
        Vec<String>,
    );
    let constraints: Vec<ConstraintRow> = sqlx::query_as(
                "select c.relname::text, con.conname::text, con.contype::text,
                        pg_catalog.pg_get_constraintdef(con.oid),
                        array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
                              join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num
                              order by k.ord),
                        fc.relname::text,
                        array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
                              join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num
                              order by k.ord)
                 from pg_catalog.pg_constraint con
                 join pg_catalog.pg_class c on c.oid = con.conrelid
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 left join pg_catalog.pg_class fc on fc.oid = con.confrelid
                 where n.nspname = $1 and con.contype in ('p', 'u', 'c', 'f')
                 order by c.relname, con.conname",
            )
            .bind(schema)
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| session.error(error, "reading constraints"))?;
    for (table, name, kind, definition, columns, ref_table, ref_columns) in constraints {
        let Some(structure) = tables.get_mut(&table) else {
            continue;
        };
        match kind.as_str() {
            "p" => structure.primary_key = Some(KeyConstraint { name, columns }),
            "u" => structure.unique_constraints.push(KeyConstraint { name, columns }),
            "c" => structure
                .check_constraints
                .push(CheckConstraint { name, definition }),
            "f" => structure.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: ref_table.unwrap_or_default(),
                ref_columns,
                definition,
            }),
            _ => {}
        }
    }

    let indexes: Vec<(String, String, bool, String)> = sqlx::query_as(
                "select c.relname::text, ic.relname::text, x.indisunique, pg_catalog.pg_get_indexdef(x.indexrelid)
                 from pg_catalog.pg_index x
                 join pg_catalog.pg_class c on c.oid = x.indrelid
                 join pg_catalog.pg_class ic on ic.oid = x.indexrelid
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = $1
                   and not exists (select 1 from pg_catalog.pg_constraint con where con.conindid = x.indexrelid
                                   and con.contype in ('p', 'u', 'x'))
                 order by c.relname, ic.relname",
            )
            .bind(schema)
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| session.error(error, "reading indexes"))?;
    for (table, name, unique, full) in indexes {
        let Some(structure) = tables.get_mut(&table) else {
            continue;
        };
        let definition = full
            .split_once(" USING ")
            .map(|(_, rest)| rest.to_string())
            .unwrap_or(full);
        structure.indexes.push(Index {
            name,
            unique,
            definition,
        });
    }
    Ok(tables)
}

/// Reads every sequence of the schema, with the column that owns it.
pub(crate) async fn read_sequences(
    session: &Session,
    connection: &mut PgConnection,
) -> Result<Vec<Sequence>, IntrospectError> {
    type SequenceRow = (String, String, i64, i64, i64, i64, i64, bool, Option<String>);
    let rows: Vec<SequenceRow> = sqlx::query_as(
                "select c.relname::text, pg_catalog.format_type(s.seqtypid, null), s.seqstart, s.seqincrement,
                        s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                        (select tc.relname::text || '.' || a.attname::text
                           from pg_catalog.pg_depend d
                           join pg_catalog.pg_class tc on tc.oid = d.refobjid
                           join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                          where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
                            and d.refclassid = 'pg_catalog.pg_class'::regclass and d.deptype = 'a'
                          limit 1)
                 from pg_catalog.pg_sequence s
                 join pg_catalog.pg_class c on c.oid = s.seqrelid
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = $1
                   -- identity columns recreate their own sequences
                   and not exists (select 1 from pg_catalog.pg_depend d
                                    where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid
                                      and d.deptype = 'i')
                 order by 1",
            )
            .bind(&session.schema)
            .fetch_all(&mut *connection)
            .await
            .map_err(|error| session.error(error, "reading sequences"))?;
    Ok(rows
        .into_iter()
        .map(
            |(name, data_type, start, increment, min_value, max_value, cache, cycle, owned_by)| Sequence {
                name,
                data_type,
                start,
                increment,
                min_value,
                max_value,
                cache,
                cycle,
                owned_by,
            },
        )
        .collect())
}
