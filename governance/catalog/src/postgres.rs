//! `--postgres URL`: the catalogue as tables in schema `catalog`, replaced
//! in one transaction (readers see the old catalogue or the new one), so
//! analysts can query it in SQL:
//!
//! * `catalog.datasets`: one row per physical dataset, plus one per
//!   category schema (`store = 'category_schema'`, id `category:<name>`);
//! * `catalog.fields`: their columns, with classification and a `pii` flag;
//! * `catalog.lineage`: the graph's edges, with both ends' kind and label;
//! * `catalog.source_dictionary`: where each category field comes from, per source.

use crate::error::CatalogError;
use crate::model::{Catalog, Field};
use crate::redact::redact_text;

const DDL: &str = "
create schema if not exists catalog;
drop table if exists catalog.datasets, catalog.fields, catalog.lineage, catalog.source_dictionary;
create table catalog.datasets (
    id text primary key, store text not null, kind text not null, name text not null,
    location text not null, layer text not null, category text, description text not null,
    owner text, classification text not null, freshness_sla text, pii_fields text[] not null,
    pipelines text[] not null, upstream text[] not null, downstream text[] not null,
    source_systems text[] not null
);
create table catalog.fields (
    dataset_id text not null, position integer not null, name text not null, type text not null,
    nullable boolean not null, unit boolean not null, domain text[], min double precision,
    max double precision, glossary text not null, classification text not null, pii boolean not null,
    primary key (dataset_id, name)
);
create table catalog.lineage (
    from_node text not null, from_kind text not null, from_label text not null,
    to_node text not null, to_kind text not null, to_label text not null, carries text not null
);
create table catalog.source_dictionary (
    pipeline text not null, component text not null, source_system text not null,
    category text not null, field text not null, source_from text not null, note text
);
comment on schema catalog is 'The qdp data catalogue (qdp catalog build --postgres): datasets, fields, lineage, source dictionary.';
";

/// Replaces the `catalog` schema's tables of the database at `url` with `cat`.
pub async fn load(cat: &Catalog, url: &str) -> Result<(), CatalogError> {
    let shown = redact_text(url);
    let fail = |e: tokio_postgres::Error| CatalogError::Postgres {
        url: shown.clone(),
        message: e
            .as_db_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_string()),
    };
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(fail)?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let tx = client.transaction().await.map_err(fail)?;
    tx.batch_execute(DDL).await.map_err(fail)?;
    let ds = tx
        .prepare("insert into catalog.datasets values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)")
        .await
        .map_err(fail)?;
    let fs = tx
        .prepare("insert into catalog.fields values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
        .await
        .map_err(fail)?;
    let empty: Vec<String> = Vec::new();
    for c in &cat.categories {
        let id = format!("category:{}", c.name);
        let pii: Vec<String> = c
            .fields
            .iter()
            .filter(|f| f.pii)
            .map(|f| f.name.clone())
            .collect();
        tx.execute(
            &ds,
            &[
                &id,
                &"category_schema",
                &"category",
                &c.name,
                &"qdp_sdk::schema",
                &"category",
                &Some(&c.name),
                &c.description,
                &c.owner,
                &c.classification.name(),
                &c.freshness_sla,
                &pii,
                &empty,
                &empty,
                &empty,
                &empty,
            ],
        )
        .await
        .map_err(fail)?;
        insert_fields(&tx, &fs, &id, &c.fields)
            .await
            .map_err(fail)?;
    }
    for d in &cat.datasets {
        let pii: Vec<String> = d.pii_fields().into_iter().map(str::to_string).collect();
        tx.execute(
            &ds,
            &[
                &d.id,
                &d.store.name(),
                &d.kind,
                &d.name,
                &d.location,
                &d.layer,
                &d.category,
                &d.description,
                &d.owner,
                &d.classification.name(),
                &d.freshness_sla,
                &pii,
                &d.pipelines,
                &d.upstream,
                &d.downstream,
                &d.source_systems,
            ],
        )
        .await
        .map_err(fail)?;
        insert_fields(&tx, &fs, &d.id, &d.fields)
            .await
            .map_err(fail)?;
    }
    let ls = tx
        .prepare("insert into catalog.lineage values ($1,$2,$3,$4,$5,$6,$7)")
        .await
        .map_err(fail)?;
    let node = |id: &str| {
        cat.nodes
            .iter()
            .find(|n| n.id == id)
            .map_or(("", id.to_string()), |n| (n.kind.name(), n.label.clone()))
    };
    for e in &cat.edges {
        let (fk, fl) = node(&e.from);
        let (tk, tl) = node(&e.to);
        tx.execute(&ls, &[&e.from, &fk, &fl, &e.to, &tk, &tl, &e.label])
            .await
            .map_err(fail)?;
    }
    let sd = tx
        .prepare("insert into catalog.source_dictionary values ($1,$2,$3,$4,$5,$6,$7)")
        .await
        .map_err(fail)?;
    for x in &cat.dictionary {
        tx.execute(
            &sd,
            &[
                &x.pipeline,
                &x.component,
                &x.source_system,
                &x.category,
                &x.field,
                &x.from,
                &x.note,
            ],
        )
        .await
        .map_err(fail)?;
    }
    tx.commit().await.map_err(fail)?;
    drop(client);
    let _ = task.await;
    Ok(())
}

async fn insert_fields(
    tx: &tokio_postgres::Transaction<'_>,
    st: &tokio_postgres::Statement,
    id: &str,
    fields: &[Field],
) -> Result<(), tokio_postgres::Error> {
    for (i, f) in fields.iter().enumerate() {
        let pos = i32::try_from(i).unwrap_or(i32::MAX);
        tx.execute(
            st,
            &[
                &id,
                &pos,
                &f.name,
                &f.ty,
                &f.nullable,
                &f.unit,
                &f.domain,
                &f.min,
                &f.max,
                &f.glossary,
                &f.classification.name(),
                &f.pii,
            ],
        )
        .await?;
    }
    Ok(())
}
