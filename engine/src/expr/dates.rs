//! The date functions of [`super::DATE_FUNCTIONS`], registered on each evaluation with the
//! process's calendar: dates are `YYYY-MM-DD` text, date-times are read in the calendar's zone.

use std::sync::Arc;

use cel::{Context, ExecutionError, Value};
use jiff::civil::Date;

use crate::calendar::{Calendar, Duration, Unit};

/// The local date of a date (`2026-06-18`), a local date-time or an RFC 3339 instant.
pub fn local_date(text: &str, cal: &Calendar) -> Option<Date> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(cal.local_date(t));
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return Some(dt.date());
    }
    crate::calendar::parse_date(text)
}

fn date_arg(function: &str, text: &str, cal: &Calendar) -> Result<Date, ExecutionError> {
    local_date(text, cal).ok_or_else(|| {
        ExecutionError::function_error(function, format!("`{text}` is not a date (AAAA-MM-DD) or a date-time"))
    })
}

fn date_value(d: Date) -> Value {
    Value::String(Arc::new(d.to_string()))
}

/// Registers [`DATE_FUNCTIONS`] on `ctx`, counting on `cal`.
pub(super) fn add_date_functions(ctx: &mut Context, cal: Arc<Calendar>) -> Result<(), cel::DeclarationError> {
    let c = cal.clone();
    ctx.add_function("date", move |t: Arc<String>| -> Result<Value, ExecutionError> {
        Ok(date_value(date_arg("date", &t, &c)?))
    })?;
    let c = cal.clone();
    ctx.add_function("weekday", move |t: Arc<String>| -> Result<Value, ExecutionError> {
        Ok(Value::Int(i64::from(date_arg("weekday", &t, &c)?.weekday().to_monday_one_offset())))
    })?;
    let c = cal.clone();
    ctx.add_function("add_days", move |t: Arc<String>, n: i64| -> Result<Value, ExecutionError> {
        let d = date_arg("add_days", &t, &c)?;
        let moved =
            d.checked_add(jiff::Span::new().try_days(n).map_err(|e| ExecutionError::function_error("add_days", e))?);
        moved.map(date_value).map_err(|e| ExecutionError::function_error("add_days", e))
    })?;
    let c = cal.clone();
    ctx.add_function("add_business_days", move |t: Arc<String>, n: i64| -> Result<Value, ExecutionError> {
        let d = date_arg("add_business_days", &t, &c)?;
        let longest = Duration::longest(Unit::BusinessDays);
        let amount = u32::try_from(n.unsigned_abs()).ok().filter(|a| *a <= longest.amount).ok_or_else(|| {
            ExecutionError::function_error("add_business_days", format!("{n} is more than {longest}"))
        })?;
        let span = Duration::new(amount, Unit::BusinessDays);
        let close = c.close_of(d);
        let moved = if n < 0 { c.sub(close, span) } else { c.add(close, span) };
        Ok(date_value(c.local_date(moved)))
    })?;
    let c = cal.clone();
    ctx.add_function(
        "business_days_between",
        move |a: Arc<String>, b: Arc<String>| -> Result<Value, ExecutionError> {
            let (a, b) = (date_arg("business_days_between", &a, &c)?, date_arg("business_days_between", &b, &c)?);
            // The days between are counted one by one.
            let longest = Duration::longest(Unit::Days).amount;
            if (a - b).get_days().unsigned_abs() > longest {
                let message = format!("{a} and {b} are more than {longest} days apart");
                return Err(ExecutionError::function_error("business_days_between", message));
            }
            let n = if a <= b {
                c.business_days_between(c.close_of(a), c.close_of(b))
            } else {
                -c.business_days_between(c.close_of(b), c.close_of(a))
            };
            Ok(Value::Int(n))
        },
    )?;
    let c = cal;
    ctx.add_function("is_business_day", move |t: Arc<String>| -> Result<Value, ExecutionError> {
        Ok(Value::Bool(c.is_business_day(date_arg("is_business_day", &t, &c)?)))
    })?;
    Ok(())
}
