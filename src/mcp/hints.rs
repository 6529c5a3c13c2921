//! Tool hints as the MCP spec defines them, and the tools a run may call.
//!
//! A server describes each tool's behaviour with `annotations` (`readOnlyHint`, `destructiveHint`,
//! `idempotentHint`, `openWorldHint`). The spec's defaults matter more than the values servers send:
//! a missing `readOnlyHint` means *false* and a missing `destructiveHint` means *true*, so a tool
//! without annotations **may be destructive**. Only `readOnlyHint: true` or an explicit
//! `destructiveHint: false` makes a tool safe to call with generated arguments; every other tool is
//! called only when the user allows it by name. A hint that is not a JSON boolean counts as absent.

use serde_json::Value;

use super::ToolInfo;

/// Why a tool may be destructive, in the terms of its `annotations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestructiveReason {
    /// The tool has no `annotations` object at all.
    NoAnnotations,
    /// `annotations.destructiveHint` is `true`.
    Declared,
    /// Annotations are present but say neither `readOnlyHint: true` nor `destructiveHint: false`.
    Defaulted,
}

impl DestructiveReason {
    /// One line for `discover` comments and `run`'s refusal.
    pub fn describe(self) -> &'static str {
        match self {
            DestructiveReason::NoAnnotations => {
                "no annotations; the MCP spec's default is destructiveHint: true"
            }
            DestructiveReason::Declared => "annotations.destructiveHint: true",
            DestructiveReason::Defaulted => {
                "neither readOnlyHint: true nor destructiveHint: false; the MCP spec's default is destructiveHint: true"
            }
        }
    }
}

/// The effective hints of one tool, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolHints {
    /// `readOnlyHint` (default false).
    pub read_only: bool,
    /// Why the tool may be destructive; `None` when it is read-only or says `destructiveHint: false`.
    pub destructive: Option<DestructiveReason>,
}

impl ToolHints {
    /// Effective hints from a tool's `annotations` (absent, or anything but an object, = none).
    pub fn from_annotations(annotations: Option<&Value>) -> ToolHints {
        let Some(a) = annotations.filter(|a| a.is_object()) else {
            return ToolHints {
                read_only: false,
                destructive: Some(DestructiveReason::NoAnnotations),
            };
        };
        let flag = |key: &str| a.get(key).and_then(Value::as_bool);
        let read_only = flag("readOnlyHint").unwrap_or(false);
        // destructiveHint is meaningful only when the tool is not read-only.
        let destructive = match (read_only, flag("destructiveHint")) {
            (true, _) | (false, Some(false)) => None,
            (false, Some(true)) => Some(DestructiveReason::Declared),
            (false, None) => Some(DestructiveReason::Defaulted),
        };
        ToolHints {
            read_only,
            destructive,
        }
    }
}

impl ToolInfo {
    /// A tool from one entry of a `tools/list` result (`None` without a string `name`).
    pub fn from_listing(t: &Value) -> Option<ToolInfo> {
        let name = t.get("name")?.as_str()?;
        let annotations = t.get("annotations").filter(|a| a.is_object()).cloned();
        Some(ToolInfo {
            name: name.to_owned(),
            description: t
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            input_schema: t.get("inputSchema").cloned().unwrap_or(Value::Null),
            destructive: ToolHints::from_annotations(annotations.as_ref())
                .destructive
                .is_some(),
            annotations,
        })
    }

    /// The tool's effective hints.
    pub fn hints(&self) -> ToolHints {
        ToolHints::from_annotations(self.annotations.as_ref())
    }

    /// Why the tool may be destructive (`None` when it is safe to call unasked). Agrees with
    /// `destructive`, also for a `ToolInfo` built by hand.
    pub fn destructive_reason(&self) -> Option<DestructiveReason> {
        if !self.destructive {
            return None;
        }
        Some(
            self.hints()
                .destructive
                .unwrap_or(DestructiveReason::Declared),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(a: Value) -> Option<DestructiveReason> {
        ToolHints::from_annotations(Some(&a)).destructive
    }

    #[test]
    fn spec_defaults_make_unannotated_tools_destructive() {
        use DestructiveReason::*;
        assert_eq!(
            ToolHints::from_annotations(None).destructive,
            Some(NoAnnotations)
        );
        assert_eq!(reason(json!("not an object")), Some(NoAnnotations));
        assert_eq!(reason(json!({})), Some(Defaulted));
        assert_eq!(reason(json!({"title": "Create"})), Some(Defaulted));
        assert_eq!(reason(json!({"readOnlyHint": false})), Some(Defaulted));
        assert_eq!(reason(json!({"destructiveHint": "false"})), Some(Defaulted));
        assert_eq!(reason(json!({"destructiveHint": true})), Some(Declared));
        assert_eq!(reason(json!({"destructiveHint": false})), None);
        assert_eq!(reason(json!({"readOnlyHint": true})), None);
        // destructiveHint is meaningless on a read-only tool.
        assert_eq!(
            reason(json!({"readOnlyHint": true, "destructiveHint": true})),
            None
        );
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z]{0,6}".prop_map(Value::String),
        ];
        let key = prop_oneof![
            Just("readOnlyHint".to_string()),
            Just("destructiveHint".to_string()),
            Just("idempotentHint".to_string()),
            Just("title".to_string()),
        ];
        leaf.prop_recursive(2, 16, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a server sends as annotations, a tool counts as safe only when it says so
        /// with a real boolean: `readOnlyHint: true` or `destructiveHint: false`.
        #[test]
        fn only_an_explicit_boolean_makes_a_tool_safe(a in any_json()) {
            let safe = ToolHints::from_annotations(Some(&a)).destructive.is_none();
            let says = a.get("readOnlyHint") == Some(&Value::Bool(true))
                || a.get("destructiveHint") == Some(&Value::Bool(false));
            proptest::prop_assert_eq!(safe, says, "{}", a);
        }
    }

    #[test]
    fn listing_entries_carry_the_effective_hint() {
        let t = ToolInfo::from_listing(&json!({"name": "create_cluster", "inputSchema": {}}))
            .expect("named");
        assert!(t.destructive);
        assert_eq!(
            t.destructive_reason(),
            Some(DestructiveReason::NoAnnotations)
        );
        let t =
            ToolInfo::from_listing(&json!({"name": "list", "annotations": {"readOnlyHint": true}}))
                .expect("named");
        assert!(!t.destructive && t.hints().read_only);
        assert_eq!(t.destructive_reason(), None);
        assert!(ToolInfo::from_listing(&json!({"name": 3})).is_none());
    }
}
