//! Form validation: the input is a form file (`form: …` YAML), a NUL byte, and the submitted data
//! as a JSON object. The form goes through the loader as `tramite check` reads it; the data is
//! then validated against it as a task's completion is (fields, lists, computed fields and rules)
//! and, as data no form checks, held to the free-data caps.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tramite_engine::definition::limits::check_free_data;
use tramite_engine::definition::{self, SourceFile};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let Some((form_text, data_text)) = text.split_once('\0') else { return };
    let Ok(Value::Object(data)) = serde_json::from_str::<Value>(data_text) else { return };
    let files = [SourceFile { path: "forms/fuzz.yaml".into(), text: form_text.to_string() }];
    let (catalog, _) = definition::load(&files, BTreeMap::new());
    for form in catalog.forms.values() {
        let _ = form.validate(&data);
        for (name, value) in &data {
            if let Some(field) = form.field(name) {
                let _ = field.check(value);
            }
        }
    }
    let _ = check_free_data(&data);
});
