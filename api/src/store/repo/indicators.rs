//! Indicators: the values cases and tasks contribute (written with each transition, in
//! `write.rs`), aggregated here per period and group through the covering index
//! `measures_values (indicator, period, grp, value)`.

use sqlx::Row;

use crate::store::{MeasureCase, MeasureTotal, StoreError};

queries! {
    /// How many values count, their sum and their mean, per period and group, for periods
    /// from `from` through `to` (period keys; they sort in time order).
    pub async fn measure_totals(&self, indicator: &str, from: &str, to: &str) -> Result<Vec<MeasureTotal>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT period, grp, COUNT(value) AS n, SUM(value) AS total, AVG(value) AS mean FROM measures \
             WHERE indicator = $1 AND period >= $2 AND period <= $3 GROUP BY period, grp ORDER BY period, grp",
        )
        .bind(indicator.to_string())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MeasureTotal {
                    period: r.try_get("period")?,
                    group: r.try_get("grp")?,
                    n: r.try_get("n")?,
                    total: r.try_get("total")?,
                    mean: r.try_get("mean")?,
                })
            })
            .collect()
    }

    /// The `offset`-th smallest value (from 0) of one period and group: read in the covering
    /// index's order, so a percentile of a group costs a walk to its rank, not a sort of the
    /// whole indicator.
    pub async fn measure_nth(&self, indicator: &str, period: &str, group: &str, offset: i64) -> Result<Option<f64>, StoreError> {
        let row = sqlx::query::<DB>(
            "SELECT value FROM measures WHERE indicator = $1 AND period = $2 AND grp = $3 AND value IS NOT NULL \
             ORDER BY value LIMIT 1 OFFSET $4",
        )
        .bind(indicator.to_string())
        .bind(period.to_string())
        .bind(group.to_string())
        .bind(offset)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("value")?),
            None => None,
        })
    }

    /// The cases behind one period and group of an indicator (the values that count), newest
    /// first.
    pub async fn measure_cases(
        &self,
        indicator: &str,
        period: &str,
        group: &str,
        limit: i64,
    ) -> Result<Vec<MeasureCase>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT m.instance_id, i.folio, m.value FROM measures m JOIN instances i ON i.id = m.instance_id \
             WHERE m.indicator = $1 AND m.period = $2 AND m.grp = $3 AND m.value IS NOT NULL \
             ORDER BY i.started_at DESC, m.instance_id LIMIT $4",
        )
        .bind(indicator.to_string())
        .bind(period.to_string())
        .bind(group.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MeasureCase {
                    instance_id: r.try_get("instance_id")?,
                    folio: r.try_get("folio")?,
                    value: r.try_get("value")?,
                })
            })
            .collect()
    }
}
